"""VK test helpers: the emulator served on loopback, a seeded community, and checks against the VK API schema.

The schema (../shared/specs/vk-api-schema, JSON Schema draft-07 with VK's own conventions) is read as data:

- requests are checked against ``<section>/methods.json``: method exists, token type allowed, required
  parameters present, no unknown parameters, values (form strings) coerced the way VK reads them — integers,
  numbers, booleans 0/1, comma-separated arrays — and held to type/minimum/maximum/maxLength/maxItems/enum;
- responses are validated against ``responses.json`` definitions with ``jsonschema``, ``$ref`` resolved
  across the schema files. VK marks required properties draft-03 style (``"required": true`` on the
  property); they are rewritten into draft-07 ``required`` lists. ``inner_type`` (a code-generation tag of the
  schema that the API never sends) is not required.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from emulators.base import ServedEmulator
from emulators.networks.vk import VKEmulator
from filial.networks.ratelimit import Limiter, Meter
from filial.networks.tests.helpers import served, spec_path
from filial.networks.vk.connector import VKConnector

SCHEMA_DIR = ("vk-api-schema",)
INT = re.compile(r"-?\d+\Z")
NUM = re.compile(r"-?\d+(\.\d+)?\Z")


# --- fixtures -----------------------------------------------------------------------------------------------
@dataclass
class VKEnv:
    app: VKEmulator
    server: ServedEmulator
    page: dict[str, Any]
    limited: bool = False  # the emulator enforces VK's rate limits; the connector takes a limiter's units per call

    @property
    def api_url(self) -> str:
        return self.server.url + "/method/"

    def connector(self, **kwargs: Any) -> VKConnector:
        options: dict[str, Any] = {"external_id": self.page["external_id"],
                                   "credentials": dict(self.page["credentials"]), "base_url": self.api_url,
                                   "timeout": 5.0, "long_poll_wait": 0}
        options.update(kwargs)
        connector = VKConnector(**options)
        if self.limited:  # a fresh limiter of the real budgets, as the outbox's shared one paces a page
            connector.meter = Meter(Limiter("memory://"))
        return connector

    def simulate(self, action: str, **data: Any) -> Any:
        with self.app.lock:
            return self.app.simulate(action, {"group_id": self.page["group_id"], **data})


def vk_env(limited: bool = False) -> Iterator[VKEnv]:
    """A seeded community served over HTTP (use as ``yield from vk_env()`` in a fixture).

    ``limited``: the emulator enforces VK's rate limits and the connector's calls take a limiter's units; off by default
    so that tests of behaviour stay fast.
    """
    app = VKEmulator(fault_delay=1.5, rate_limits=limited)
    with served(app) as server:
        page = app.seed(group_id=4242, name="Центральная библиотека <b>", screen_name="cbs_library", members=1250)
        yield VKEnv(app, server, page, limited)


def image(fmt: str = "PNG", size: tuple[int, int] = (8, 6)) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", size, (200, 30, 30)).save(buffer, format=fmt)
    return buffer.getvalue()


# --- the schema ---------------------------------------------------------------------------------------------
def _normalize(node: Any) -> Any:
    if isinstance(node, list):
        return [_normalize(item) for item in node]
    if not isinstance(node, dict):
        return node
    result = {k: _normalize(v) for k, v in node.items() if not (k == "required" and isinstance(v, bool))}
    props = node.get("properties")
    if isinstance(props, dict):
        names = list(node["required"]) if isinstance(node.get("required"), list) else []
        names += [k for k, v in props.items() if isinstance(v, dict) and v.get("required") is True]
        names = [n for n in dict.fromkeys(names) if n != "inner_type"]
        if names:
            result["required"] = names
        else:
            result.pop("required", None)
    return result


@cache
def schema_root() -> Path:
    return spec_path(*SCHEMA_DIR)


@cache
def _documents() -> dict[str, Any]:
    root = schema_root()
    docs = {}
    for path in root.rglob("*.json"):
        if path.name in ("package.json", "composer.json"):
            continue
        data = json.loads(path.read_text("utf-8"))
        data.pop("$id", None)
        docs[path.resolve().as_uri()] = _normalize(data)
    _open_allof_bases(docs)
    return docs


def _open_allof_bases(docs: dict[str, Any]) -> None:
    """VK composes objects with ``allOf`` (e.g. groups_group_full = groups_group + more properties), but
    groups_group says ``additionalProperties: false``, which in draft-07 rejects every composed object.
    The closedness of such a base is dropped: it cannot hold for the objects built on it."""
    from urllib.parse import urljoin

    def walk(node: Any, uri: str) -> Iterator[tuple[str, str]]:
        if isinstance(node, dict):
            for member in node.get("allOf", []) if isinstance(node.get("allOf"), list) else []:
                if isinstance(member, dict) and "$ref" in member:
                    yield uri, member["$ref"]
            for value in node.values():
                yield from walk(value, uri)
        elif isinstance(node, list):
            for value in node:
                yield from walk(value, uri)

    for uri, ref in [pair for doc_uri, doc in docs.items() for pair in walk(doc, doc_uri)]:
        file_part, _, pointer = ref.partition("#")
        target: Any = docs.get(urljoin(uri, file_part) if file_part else uri)
        for part in pointer.strip("/").split("/"):
            target = target.get(part) if isinstance(target, dict) else None
        if isinstance(target, dict) and target.get("additionalProperties") is False:
            del target["additionalProperties"]


@cache
def registry() -> Any:
    from referencing import Registry, Resource
    from referencing.jsonschema import DRAFT7

    return Registry().with_resources(
        (uri, Resource.from_contents(doc, default_specification=DRAFT7)) for uri, doc in _documents().items()
    )


@cache
def methods() -> dict[str, dict[str, Any]]:
    found = {}
    for path in schema_root().glob("*/methods.json"):
        for method in json.loads(path.read_text("utf-8"))["methods"]:
            method["_file"] = path.resolve().as_uri()
            found[method["name"]] = method
    return found


def resolve(ref: str, base: str) -> tuple[dict[str, Any], str]:
    """A ``$ref`` of the raw schema (relative file + JSON pointer) → the node and its file URI."""
    from urllib.parse import urljoin

    file_part, _, pointer = ref.partition("#")
    uri = urljoin(base, file_part) if file_part else base
    node: Any = _documents()[uri]
    for part in pointer.strip("/").split("/"):
        if part:
            node = node[part]
    return node, uri


def validator(ref: str) -> Any:
    from jsonschema import Draft7Validator

    return Draft7Validator({"$ref": ref}, registry=registry())


# --- requests -------------------------------------------------------------------------------------------------
def _rule(param: dict[str, Any], base: str) -> dict[str, Any]:
    """A parameter (or array item) rule with a ``$ref`` to an enum definition resolved."""
    if "$ref" in param:
        target, _ = resolve(param["$ref"], base)
        return {**target, **{k: v for k, v in param.items() if k != "$ref"}}
    return param


def _check_value(name: str, raw: str, rule: dict[str, Any], base: str) -> list[str]:
    rule = _rule(rule, base)
    types = rule.get("type", "string")
    types = types if isinstance(types, list) else [types]
    problems: list[str] = []
    value: Any = raw
    if "array" in types:
        items = raw.split(",") if raw else []
        if "maxItems" in rule and len(items) > rule["maxItems"]:
            problems.append(f"{name}: {len(items)} items > maxItems {rule['maxItems']}")
        item_rule = rule.get("items", {"type": "string"})
        for item in items:
            problems += _check_value(f"{name}[]", item, item_rule, base)
        return problems
    if "integer" in types and INT.match(raw):
        value = int(raw)
    elif "number" in types and NUM.match(raw):
        value = float(raw)
    elif "boolean" in types:
        if raw not in ("0", "1"):
            return [f"{name}: boolean must be 0 or 1, got {raw!r}"]
        value = raw == "1"
    elif "string" not in types:
        return [f"{name}: {raw!r} is not {'/'.join(types)}"]
    if isinstance(value, str) and "maxLength" in rule and len(value) > rule["maxLength"]:
        problems.append(f"{name}: longer than maxLength {rule['maxLength']}")
    if isinstance(value, int | float) and not isinstance(value, bool):
        if "minimum" in rule and value < rule["minimum"]:
            problems.append(f"{name}: {value} < minimum {rule['minimum']}")
        if "maximum" in rule and value > rule["maximum"]:
            problems.append(f"{name}: {value} > maximum {rule['maximum']}")
    if "enum" in rule and value not in rule["enum"] and str(value) not in map(str, rule["enum"]):
        problems.append(f"{name}: {value!r} not in enum")
    return problems


def check_request(record: dict[str, Any]) -> list[str]:
    """Problems of one recorded API request against methods.json (empty list: it conforms)."""
    name = record["method"]
    method = methods().get(name)
    if method is None:
        return [f"{name}: no such method in the VK API schema"]
    problems = []
    allowed = method.get("access_token_type", [])
    body = record.get("body")
    unknown_token = (record.get("token_type") is None and isinstance(body, dict)
                     and (body.get("error") or {}).get("error_code") == 5)  # not a token VK issued: no type to check
    if record.get("token_type") not in allowed and not unknown_token:
        problems.append(f"{name}: called with a {record.get('token_type')} token, allowed: {allowed}")
    params = dict(record["params"])
    if params.pop("v", None) != "5.199":
        problems.append(f"{name}: v must be 5.199")
    if params.pop("access_token", None) is None:
        problems.append(f"{name}: no access_token")
    spec_params = {p["name"]: p for p in method.get("parameters", [])}
    for param in spec_params.values():
        if param.get("required") is True and param["name"] not in params:
            problems.append(f"{name}: required parameter {param['name']} missing")
    for key, raw in params.items():
        if key not in spec_params:
            problems.append(f"{name}: unknown parameter {key}")
            continue
        problems += [f"{name}: {p}" for p in _check_value(key, raw, spec_params[key], method["_file"])]
    return problems


# --- responses ------------------------------------------------------------------------------------------------
RESPONSE_KEYS = {"messages.send": "deprecatedResponse"}  # peer_id (one recipient) answers with a message id


def response_validator(name: str) -> Any:
    method = methods()[name]
    key = RESPONSE_KEYS.get(name, "response")
    ref = method["responses"][key]["$ref"]
    _, uri = resolve(ref, method["_file"])
    return validator(uri + "#" + ref.partition("#")[2])


def check_response(record: dict[str, Any]) -> list[str]:
    body = record.get("body")
    if record.get("status") != 200 or not isinstance(body, dict):
        return []
    if "error" in body:
        errors = validator(schema_root().resolve().as_uri() + "/base/objects.json#/definitions/base_error")
        return [f"{record['method']} error: {e.message}" for e in errors.iter_errors(body["error"])]
    return [f"{record['method']}: {e.json_path}: {e.message}" for e in
            response_validator(record["method"]).iter_errors(body)]


def check_callback_event(event: dict[str, Any]) -> list[str]:
    """An event (Callback API body or Long Poll update) against callback/objects.json."""
    base = schema_root().resolve().as_uri() + "/callback/objects.json#/definitions/"
    problems = [f"event: {e.message}" for e in validator(base + "callback_base").iter_errors(event)]
    names = {"wall_reply_new": "callback_wall_reply_new", "message_new": "callback_message_new",
             "group_join": "callback_group_join", "group_leave": "callback_group_leave",
             "message_allow": "callback_message_allow", "message_deny": "callback_message_deny",
             "poll_vote_new": "callback_poll_vote_new"}
    if event.get("type") in names:
        problems += [f"{event['type']} object: {e.json_path}: {e.message}"
                     for e in validator(base + names[event["type"]]).iter_errors(event.get("object"))]
    return problems


def api_records(app: VKEmulator, predicate: Callable[[dict[str, Any]], bool] | None = None) -> list[dict[str, Any]]:
    return [r for r in app.requests if r.get("kind") == "api" and (predicate is None or predicate(r))]
