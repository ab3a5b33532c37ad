"""Helpers for the MAX tests: an emulator world, test images, and checks against the official OpenAPI schema.

The schema (``../shared/specs/max-bot-api/schema_2026_07_01.json``, OpenAPI 3.0, API 0.0.32) is turned into
JSON Schema (``nullable``, ``discriminator`` mappings, ``#/components/schemas`` refs) and every request the
connector made (``MaxEmulator.requests``) is checked against its operation: path, query parameters (types,
ranges, enums, required), request body, the token in the ``Authorization`` header; every JSON answer of the
emulator is checked against the operation's response schema (errors against ``Error``).

Errata: three places where the schema contradicts the official documentation, corrected here and only here:
- ``securitySchemes.access_token`` says ``in: query``; dev.max.ru: "query tokens are no longer supported, use
  the Authorization header" (and every example in the schema uses the header);
- ``ChatType`` enumerates only ``chat``, while ``Chat.type`` documents ``chat``, ``channel`` and ``dialog``;
- ``MessageBody.required`` lists ``link``, which is not a ``MessageBody`` property (``link`` is on ``Message``).
"""

from __future__ import annotations

import copy
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from jsonschema import Draft202012Validator
from PIL import Image

from emulators.base import ServedEmulator
from emulators.networks.max import MaxEmulator
from filial.networks.max.connector import MaxConnector
from filial.networks.tests.conformance import assert_conforms
from filial.networks.tests.helpers import load_json_spec, served

SPEC = ("max-bot-api", "schema_2026_07_01.json")
DROP = {"discriminator", "readOnly", "writeOnly", "example", "xml", "externalDocs", "deprecated", "nullable",
        "format", "description", "name", "style"}
INT_KEYWORDS = {"maxItems", "minItems", "maxLength", "minLength", "maximum", "minimum"}


# --- an emulator world -----------------------------------------------------------------------------------
@dataclass
class World:
    app: MaxEmulator
    server: ServedEmulator
    seed: dict[str, Any]
    connectors: list[MaxConnector] = field(default_factory=list)

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def chat_id(self) -> int:
        return int(self.seed["chat_id"])

    def connector(self, *, token: str | None = None, chat_id: Any = None, timeout: float = 5.0,
                  base_url: str | None = None) -> MaxConnector:
        conn = MaxConnector(external_id=str(chat_id if chat_id is not None else self.chat_id),
                            credentials={"bot_token": token if token is not None else self.seed["token"]},
                            base_url=base_url or self.url, timeout=timeout)
        conn.not_ready_delays = (0.05, 0.1, 0.2, 0.4, 0.8)  # type: ignore[misc]
        self.connectors.append(conn)
        return conn

    def ops(self, *names: str) -> list[dict[str, Any]]:
        return [r for r in self.app.requests if not names or r["operation"] in names]

    def channel_posts(self, chat_id: int | None = None) -> list[dict[str, Any]]:
        order = self.app.state["order"].get(str(chat_id or self.chat_id), [])
        return [self.app.state["messages"][mid]["message"] for mid in order]


def shared_emulator() -> Iterator[tuple[MaxEmulator, ServedEmulator]]:
    """One served emulator for a test module (``yield from`` in a module-scoped fixture); ``make_world`` resets it."""
    app = MaxEmulator()
    with served(app) as server:
        yield app, server


def make_world(emulator: tuple[MaxEmulator, ServedEmulator], **options: Any) -> Iterator[World]:
    """A clean emulator with one bot administering one channel (``yield from`` in a fixture)."""
    app, server = emulator
    with app.lock:
        app.reset_state()
        app.faults.clear()
        app.limiter.reset()
        app.requests.clear()
        app.conformance_exempt = ""
        app.fault_delay, app.processing_delay, app.deliver_webhooks = 1.5, 0.05, False
    seed = app.seed(**{"title": "ЦГБ Медногорска", "chat_type": "channel", "members": 5,
                       "bot_username": "filial_bot", **options})
    w = World(app, server, seed)
    try:
        yield w
    finally:
        for conn in w.connectors:
            conn.close()
    try:
        assert_conforms(app)  # this test's requests (the module's emulator is shared and cleared per test)
    finally:
        with app.lock:
            app.requests.clear()
            app.conformance_exempt = ""


def image_bytes(fmt: str = "JPEG", size: tuple[int, int] = (40, 30), color: str = "#3a6ea5") -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, format=fmt)
    return buffer.getvalue()


# --- the OpenAPI schema as JSON Schema ----------------------------------------------------------------------
def _ref_name(ref: str) -> str:
    return ref.rsplit("/", 1)[-1]


def _convert(node: Any) -> Any:
    if isinstance(node, list):
        return [_convert(item) for item in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        return {"$ref": f"#/$defs/{_ref_name(node['$ref'])}"}
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in DROP or key.startswith("x-"):
            continue
        if key == "required" and not isinstance(value, list):
            continue  # "required": false inside a property is not JSON Schema
        if key == "properties":
            out[key] = {name: _convert(sub) for name, sub in value.items()}
        elif key in INT_KEYWORDS and isinstance(value, str):
            out[key] = int(value)
        elif key == "default":
            continue
        else:
            out[key] = _convert(value)
    if node.get("nullable") is True:
        if isinstance(out.get("type"), str):
            out["type"] = [out["type"], "null"]
        if "enum" in out:
            out["enum"] = [*out["enum"], None]
        if "type" not in out:
            out = {"anyOf": [{"type": "null"}, out]}
    return out


def _errata(spec: dict[str, Any]) -> dict[str, Any]:
    spec = copy.deepcopy(spec)
    schemas = spec["components"]["schemas"]
    schemas["ChatType"]["enum"] = ["chat", "channel", "dialog"]
    schemas["MessageBody"]["required"] = [r for r in schemas["MessageBody"]["required"] if r != "link"]
    return spec


@lru_cache(maxsize=1)
def spec_defs() -> tuple[dict[str, Any], dict[str, Any]]:
    """(the corrected OpenAPI document, its schemas as JSON Schema ``$defs``)."""
    spec = _errata(load_json_spec(*SPEC))
    schemas = spec["components"]["schemas"]
    defs = {name: _convert(schema) for name, schema in schemas.items()}
    for name, schema in schemas.items():
        disc = schema.get("discriminator")
        if not disc or not disc.get("mapping"):
            continue
        prop = disc["propertyName"]
        base = f"{name}__base"
        defs[base] = defs[name]
        branches = []
        for value, target in disc["mapping"].items():
            target_name = _ref_name(target["$ref"] if isinstance(target, dict) else target)
            branches.append({"if": {"properties": {prop: {"const": value}}, "required": [prop]},
                             "then": {"$ref": f"#/$defs/{target_name}"}})
            for part in defs[target_name].get("allOf", []):  # a mapped schema extends the base: cut the loop
                if part.get("$ref") == f"#/$defs/{name}":
                    part["$ref"] = f"#/$defs/{base}"
        defs[name] = {"allOf": [{"$ref": f"#/$defs/{base}"}, *branches]}
    return spec, defs


def validate(schema: dict[str, Any], instance: Any) -> list[str]:
    _, defs = spec_defs()
    validator = Draft202012Validator({**_convert(schema), "$defs": defs})
    return [f"{'/'.join(str(p) for p in e.absolute_path) or '(root)'}: {e.message}"
            for e in validator.iter_errors(instance)]


def _operations() -> list[tuple[str, re.Pattern[str], dict[str, Any], list[dict[str, Any]]]]:
    spec, _ = spec_defs()
    found = []
    for template, item in spec["paths"].items():
        shared = item.get("parameters", [])
        pattern = re.compile("^" + re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(template)) + "$")
        for verb, op in item.items():
            if verb == "parameters":
                continue
            found.append((verb.upper(), pattern, op, [*shared, *op.get("parameters", [])]))
    return found


def _coerce(raw: str, schema: dict[str, Any]) -> Any:
    if "$ref" in schema:
        _, defs = spec_defs()
        schema = defs[_ref_name(schema["$ref"])]
    kind = schema.get("type")
    kind = kind[0] if isinstance(kind, list) else kind
    if kind == "integer":
        return int(raw) if re.fullmatch(r"-?\d+", raw) else raw
    if kind == "boolean":
        return {"true": True, "false": False}.get(raw, raw)
    if kind == "array":
        items = schema.get("items") or {}
        return [_coerce(part, items) for part in raw.split(",")] if raw else []
    return raw


def find_operation(method: str, path: str) -> tuple[dict[str, Any], list[dict[str, Any]], dict[str, str]] | None:
    """The spec operation a request hits; among overlapping templates, the one whose path parameters fit."""
    candidates = []
    for verb, pattern, op, params in _operations():
        match = pattern.match(path)
        if verb == method and match:
            values = match.groupdict()
            fits = all(not validate(p.get("schema", {}), _coerce(values[p["name"]], p.get("schema", {})))
                       for p in params if p.get("in") == "path")
            candidates.append((fits, op, params, values))
    candidates.sort(key=lambda c: not c[0])
    if not candidates:
        return None
    _, op, params, values = candidates[0]
    return op, params, values


def request_problems(entry: dict[str, Any]) -> list[str]:
    """What in one recorded request does not follow the spec."""
    where = f"{entry['method']} {entry['path']}"
    found = find_operation(entry["method"], entry["path"])
    if found is None:
        return [f"{where}: no such operation in the spec"]
    op, params, path_values = found
    problems: list[str] = []
    if entry["operation"] != op["operationId"]:
        problems.append(f"{where}: recorded as {entry['operation']}, the spec says {op['operationId']}")
    if entry.get("authorization") is None:
        problems.append(f"{where}: no token in the Authorization header")
    if "access_token" in entry["query"]:
        problems.append(f"{where}: the token is in the query")
    declared = {p["name"] for p in params if p.get("in") == "query"} | {"v"}
    for name in entry["query"]:
        if name not in declared:
            problems.append(f"{where}: query parameter {name!r} is not in the spec")
    for param in params:
        schema = param.get("schema", {})
        raw = path_values.get(param["name"]) if param["in"] == "path" else entry["query"].get(param["name"])
        if raw is None:
            if param.get("required"):
                problems.append(f"{where}: required parameter {param['name']!r} is missing")
            continue
        problems += [f"{where}: {param['name']}: {p}" for p in validate(schema, _coerce(raw, schema))]
    body_spec = op.get("requestBody")
    if body_spec is None:
        if entry.get("body") is not None:
            problems.append(f"{where}: sends a body the operation does not take")
    elif entry.get("body") is None:
        if body_spec.get("required"):
            problems.append(f"{where}: the request body is required")
    else:
        schema = body_spec["content"]["application/json"]["schema"]
        problems += [f"{where}: body {p}" for p in validate(schema, entry["body"])]
    return problems


def response_problems(entry: dict[str, Any]) -> list[str]:
    """What in the emulator's JSON answer does not follow the operation's response schema."""
    where = f"{entry['method']} {entry['path']} -> {entry.get('status')}"
    if entry["operation"] == "upload":
        if entry.get("status") == 200 and "photos" in (entry.get("response") or {}):
            spec, _ = spec_defs()
            return [f"{where}: {p}" for p in validate({"$ref": "#/components/schemas/PhotoTokens"},
                                                       entry["response"])]
        return []
    found = find_operation(entry["method"], entry["path"])
    if found is None or "response" not in entry:
        return [] if found else [f"{where}: no such operation"]
    op, _, _ = found
    spec, _ = spec_defs()
    status = str(entry["status"])
    answer = op["responses"].get(status)
    if answer is None:
        if entry["status"] < 400:
            return [f"{where}: status {status} is not documented for {op['operationId']}"]
        answer = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
    if "$ref" in answer:
        answer = spec["components"]["responses"][_ref_name(answer["$ref"])]
    schema = answer.get("content", {}).get("application/json", {}).get("schema")
    if schema is None:
        return []
    return [f"{where}: {p}" for p in validate(schema, entry["response"])]
