"""The published OpenAPI schema (/api/schema/): every operation's error answers, as the API really gives them.

``filial.core.api.exception_handler`` answers every error with an object: ``{"detail": "…"}`` (401, 403, 404,
405, 409, 415, 429, and a 400 for a body that is not JSON), or, for a 400 on the input, the fields' messages
``{"field": ["…"], "non_field_errors": ["…"]}`` (a nested field: an object of its own fields' messages).
A postprocessing hook (``SPECTACULAR_SETTINGS["POSTPROCESSING_HOOKS"]``) adds them to each operation, so a
client generated from the schema knows every answer it can get.
"""

from __future__ import annotations

from typing import Any

ERROR = "Error"
VALIDATION_ERROR = "ValidationError"

COMPONENTS: dict[str, dict[str, Any]] = {
    ERROR: {
        "type": "object",
        "description": "An error: what went wrong and what to do, in the user's language.",
        "properties": {"detail": {"type": "string"}},
        "required": ["detail"],
    },
    VALIDATION_ERROR: {
        "type": "object",
        "description": "The input was refused: each field's messages (a list of strings; an object of its own "
                       "fields' messages for a nested field), `non_field_errors` for the input as a whole, or "
                       "`detail` when the body could not be read at all.",
        "properties": {
            "non_field_errors": {"type": "array", "items": {"type": "string"}},
            "detail": {"type": "string"},
        },
        "additionalProperties": {},
    },
}

ANSWERS: dict[str, tuple[str, str]] = {
    "400": (VALIDATION_ERROR, "The input (body, query or path) was refused; nothing changed."),
    "401": (ERROR, "No or wrong credentials: send `Authorization: Token <key>`."),
    "403": (ERROR, "You may not do this (your role in the unit)."),
    "404": (ERROR, "No such object, or not one you may see."),
    "405": (ERROR, "This method is not allowed here."),
    "409": (ERROR, "The object changed meanwhile (for example, a post already went out): reload and try again."),
    "415": (ERROR, "The body's content type is not the one this operation takes."),
    "429": (ERROR, "Too many requests: wait for the `Retry-After` seconds."),
}
PUBLIC = {"400", "405", "415", "429"}  # what an operation without authentication can answer


def error_responses(result: dict[str, Any], generator: Any, request: Any, public: bool) -> dict[str, Any]:
    """drf-spectacular postprocessing hook: the error components and each operation's error answers."""
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    schemas.update(COMPONENTS)
    for operations in result.get("paths", {}).values():
        for operation in operations.values():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            anonymous = operation.get("security") == [{}] or {} in operation.get("security", [])
            body = "requestBody" in operation
            for code, (component, description) in ANSWERS.items():
                if anonymous and code not in PUBLIC:
                    continue
                if code == "415" and not body:
                    continue
                operation["responses"].setdefault(code, {
                    "description": description,
                    "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{component}"}}},
                })
    return result
