"""The OpenAPI schema at /api/schema/ lists every API path and generates without warnings."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from django.core.management import call_command

from filial.accounts.models import User

PATHS = [
    "/api/v1/auth/token/", "/api/v1/units/", "/api/v1/units/{id}/", "/api/v1/channels/", "/api/v1/channels/{id}/",
    "/api/v1/media/", "/api/v1/posts/", "/api/v1/posts/{id}/", "/api/v1/posts/{id}/submit/",
    "/api/v1/posts/{id}/approve/", "/api/v1/posts/{id}/return/", "/api/v1/posts/{id}/cancel/",
    "/api/v1/deliveries/", "/api/v1/events/", "/api/v1/events/{id}/",
]


@pytest.mark.django_db
def test_schema_is_served_with_every_path(client: Any, django_user_model: Any) -> None:
    client.force_login(django_user_model.objects.create_user("schema-reader"))  # production: signed-in users only
    response = client.get("/api/schema/")
    assert response.status_code == 200
    schema = yaml.safe_load(response.content)
    assert set(PATHS) <= set(schema["paths"])
    post = schema["components"]["schemas"]["PostRequest"]["properties"]
    assert {"kind", "text", "channels", "publish_at", "media", "link", "event", "poll"} <= set(post)
    channel_out = schema["components"]["schemas"]["Channel"]["properties"]
    assert "credentials" not in channel_out and "has_credentials" in channel_out
    assert "credentials" in schema["components"]["schemas"]["ChannelRequest"]["properties"]
    assert set(schema["paths"]["/api/v1/posts/{id}/"]) >= {"get", "patch", "delete"}
    assert "put" not in schema["paths"]["/api/v1/posts/{id}/"]


@pytest.mark.django_db
def test_schema_generates_without_warnings(tmp_path: Path) -> None:
    out = tmp_path / "schema.yaml"
    call_command("spectacular", "--fail-on-warn", "--file", str(out))
    assert "/api/v1/posts/{id}/approve/" in out.read_text()


def _schema(client: Any) -> dict[str, Any]:
    client.force_login(User.objects.create_user("schema-reader"))  # production: signed-in users only
    response = client.get("/api/schema/")
    assert response.status_code == 200
    return dict(yaml.safe_load(response.content))


def _operations(schema: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(path, method, op) for path, ops in schema["paths"].items() for method, op in ops.items()]


FILE_UPLOADS = {("/api/v1/media/", "post"), ("/api/v1/imports/", "post")}


@pytest.mark.django_db
def test_each_operation_takes_one_content_type(client: Any) -> None:
    """A generated client sends what the schema declares: JSON, or multipart where a file goes up — never the
    same body as JSON, form and multipart at once."""
    bodies = {(path, method): list(op["requestBody"]["content"])
              for path, method, op in _operations(_schema(client)) if "requestBody" in op}
    assert bodies
    wrong = {key: types for key, types in bodies.items()
             if types != (["multipart/form-data"] if key in FILE_UPLOADS else ["application/json"])}
    assert wrong == {}


@pytest.mark.django_db
def test_components_have_clean_names(client: Any) -> None:
    names = set(_schema(client)["components"]["schemas"])
    assert {"TokenRequest", "TokenResponse", "Error", "ValidationError"} <= names
    assert [n for n in names if n.endswith("RequestRequest")] == []


@pytest.mark.django_db
def test_every_operation_documents_its_error_answers(client: Any) -> None:
    schema = _schema(client)
    missing = {}
    for path, method, op in _operations(schema):
        public = path == "/api/v1/auth/token/"
        wanted = {"400", "429"} if public else {"400", "401", "403", "404", "409", "429"}
        if not wanted <= set(op["responses"]):
            missing[(path, method)] = sorted(wanted - set(op["responses"]))
    assert missing == {}
    error = schema["paths"]["/api/v1/posts/{id}/"]["get"]["responses"]["404"]["content"]["application/json"]
    assert error["schema"] == {"$ref": "#/components/schemas/Error"}
    assert schema["components"]["schemas"]["Error"]["required"] == ["detail"]


@pytest.mark.django_db
def test_a_deliverys_address_is_a_uri_or_null(client: Any) -> None:
    url = _schema(client)["components"]["schemas"]["Delivery"]["properties"]["url"]
    assert url.get("format") == "uri" and url.get("nullable") is True
