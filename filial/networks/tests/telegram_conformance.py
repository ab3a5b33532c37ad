"""Helpers for the Telegram tests: images, a served emulator with a seeded channel, and a small validator of
requests and responses against the Bot API spec (``../shared/specs/telegram-bot-api/api.json``).

The spec lists, per method and type, fields with ``required`` and ``types`` ("Integer", "String", "Boolean",
"Float", "True", "InputFile", "Array of X", type names; a type with ``subtypes`` is a union); limits live in the
descriptions ("1-4096 characters", "2-10 items", "1-100 identifiers").
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx
from PIL import Image

from emulators.base import EmulatorApp, ServedEmulator
from emulators.networks.telegram import TelegramEmulator, parse_html
from filial.networks.telegram.connector import TelegramConnector
from filial.networks.tests.helpers import served

# --- test data ----------------------------------------------------------------------------------------------------


def image_bytes(fmt: str = "JPEG", size: tuple[int, int] = (64, 48),
                color: tuple[int, int, int] = (200, 30, 30)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, fmt)
    return buffer.getvalue()


@dataclass
class TelegramEnv:
    app: TelegramEmulator
    url: str
    seed: dict[str, Any]

    @property
    def chat_id(self) -> int:
        return int(self.seed["chat_id"])

    @property
    def token(self) -> str:
        return str(self.seed["token"])

    def connector(self, *, timeout: float = 5.0, external_id: str | None = None,
                  token: str | None = None) -> TelegramConnector:
        return TelegramConnector(external_id=external_id or str(self.chat_id),
                                 credentials={"bot_token": token or self.token}, base_url=self.url, timeout=timeout)

    def raw(self, method: str, *, json_body: Any = None, data: dict[str, Any] | None = None,
            files: Any = None, token: str | None = None, http_method: str = "POST",
            params: dict[str, Any] | None = None) -> httpx.Response:
        """A request straight to the emulator, bypassing the client (to test what the emulator refuses)."""
        url = f"{self.url}/bot{token if token is not None else self.token}/{method}"
        return httpx.request(http_method, url, json=json_body, data=data, files=files, params=params, timeout=5)


@contextmanager
def served_quietly(app: EmulatorApp) -> Iterator[ServedEmulator]:
    """``testing.served`` that first lets a request sleeping in an injected timeout finish."""
    with served(app) as server:
        try:
            yield server
        finally:
            if isinstance(app, TelegramEmulator):
                app.wait_idle()


@contextmanager
def telegram_env(*, rate_limits: bool = False, fault_delay: float = 1.5, **seed: Any) -> Iterator[TelegramEnv]:
    app = TelegramEmulator(rate_limits=rate_limits, fault_delay=fault_delay)
    info = app.seed(**seed)
    with served_quietly(app) as server:
        yield TelegramEnv(app=app, url=server.url, seed=info)


# --- the spec validator ----------------------------------------------------------------------------------------------
_RANGE_CHARS = re.compile(r"(\d+)-(\d+) characters")
_RANGE_ITEMS = re.compile(r"(\d+)-(\d+) (?:items|identifiers|answer options)")
PRIMITIVES = {"Integer", "String", "Boolean", "Float", "True", "InputFile"}


class TelegramSpec:
    def __init__(self, spec: dict[str, Any]) -> None:
        self.methods: dict[str, Any] = spec["methods"]
        self.types: dict[str, Any] = spec["types"]

    # values -------------------------------------------------------------------------------------------------------
    def check(self, value: Any, types: list[str], path: str, *, form: bool = False,
              files: dict[str, Any] | None = None) -> list[str]:
        """Errors of ``value`` against any of ``types`` (empty list: it conforms)."""
        best: list[str] | None = None
        for type_name in types:
            errors = self._check_one(value, type_name, path, form=form, files=files or {})
            if not errors:
                return []
            if best is None or len(errors) < len(best):
                best = errors
        return best or [f"{path}: no type given"]

    def _check_one(self, value: Any, type_name: str, path: str, *, form: bool,
                   files: dict[str, Any]) -> list[str]:
        if type_name.startswith("Array of "):
            inner = type_name[len("Array of "):]
            if form and isinstance(value, str):
                try:
                    value = json.loads(value)
                except ValueError:
                    return [f"{path}: not JSON for {type_name}"]
            if not isinstance(value, list):
                return [f"{path}: expected {type_name}, got {type(value).__name__}"]
            errors: list[str] = []
            for index, item in enumerate(value):
                errors += self.check(item, [inner], f"{path}[{index}]", files=files)
            return errors
        if type_name == "Integer":
            if isinstance(value, int) and not isinstance(value, bool):
                return []
            if form and isinstance(value, str) and re.fullmatch(r"-?\d+", value):
                return []
            return [f"{path}: expected Integer, got {value!r}"]
        if type_name == "Float":
            ok = isinstance(value, int | float) and not isinstance(value, bool)
            return [] if ok else [f"{path}: expected Float, got {value!r}"]
        if type_name == "String":
            return [] if isinstance(value, str) else [f"{path}: expected String, got {value!r}"]
        if type_name in ("Boolean", "True"):
            if isinstance(value, bool) and (type_name == "Boolean" or value is True):
                return []
            if form and value in ("true", "false"):
                return []
            return [f"{path}: expected {type_name}, got {value!r}"]
        if type_name == "InputFile":
            name = path.rsplit(".", 1)[-1]
            return [] if name in files else [f"{path}: expected an uploaded file"]
        spec = self.types.get(type_name)
        if spec is None:
            return [f"{path}: unknown type {type_name}"]
        if form and isinstance(value, str):
            try:
                value = json.loads(value)
            except ValueError:
                return [f"{path}: not JSON for {type_name}"]
        if spec.get("subtypes"):
            return self.check(value, spec["subtypes"], path, files=files)
        if not isinstance(value, dict):
            return [f"{path}: expected {type_name} object, got {type(value).__name__}"]
        return self._check_fields(value, spec.get("fields", []), f"{path}<{type_name}>", files=files)

    def _check_fields(self, value: dict[str, Any], fields: list[dict[str, Any]], path: str, *,
                      files: dict[str, Any], form: bool = False) -> list[str]:
        errors: list[str] = []
        known = {f["name"]: f for f in fields}
        for name in value:
            if name not in known:
                errors.append(f"{path}.{name}: not a field of the spec")
        for name, field_spec in known.items():
            if name not in value:
                if field_spec["required"]:
                    errors.append(f"{path}.{name}: required field missing")
                continue
            errors += self.check(value[name], field_spec["types"], f"{path}.{name}", form=form, files=files)
            errors += self._check_limits(value, name, field_spec, path)
        return errors

    @staticmethod
    def _check_limits(value: dict[str, Any], name: str, field_spec: dict[str, Any], path: str) -> list[str]:
        item = value[name]
        description = field_spec.get("description", "")
        errors: list[str] = []
        chars = _RANGE_CHARS.search(description)
        if chars and isinstance(item, str):
            text = item
            mode_key = {"text": "parse_mode", "caption": "parse_mode"}.get(name)
            if mode_key and str(value.get(mode_key, "")).lower() == "html":
                text = parse_html(item)[0].strip()
            low, high = int(chars.group(1)), int(chars.group(2))
            if not low <= len(text) <= high:
                errors.append(f"{path}.{name}: {len(text)} characters, spec allows {low}-{high}")
        items = _RANGE_ITEMS.search(description)
        if items:
            parsed = item
            if isinstance(parsed, str):
                try:
                    parsed = json.loads(parsed)
                except ValueError:
                    parsed = None
            low, high = int(items.group(1)), int(items.group(2))
            if isinstance(parsed, list) and not low <= len(parsed) <= high:
                errors.append(f"{path}.{name}: {len(parsed)} items, spec allows {low}-{high}")
        return errors

    # requests and responses ------------------------------------------------------------------------------------------
    def check_request(self, record: dict[str, Any]) -> list[str]:
        method = record["method"]
        where = f"{method} request"
        if method not in self.methods:
            return [f"{where}: no such Bot API method"]
        if record.get("token_kind") != "bot":
            return [f"{where}: not a bot token"]
        spec = self.methods[method]
        form = record.get("content_type") in ("multipart", "form", "query")
        files = record.get("files") or {}
        params = dict(record.get("params") or {})
        for name in files:
            params.setdefault(name, "<file>")
        known = {f["name"] for f in spec.get("fields", [])}
        errors: list[str] = []
        # multipart parts named by attach:// are files, not parameters
        attached = {name for name in files if name not in known}
        for name in attached:
            params.pop(name, None)
            if not any(f"attach://{name}" in json.dumps(v) for v in (record.get("params") or {}).values()):
                errors.append(f"{where}: uploaded part {name} is not referenced by attach://")
        errors += self._check_fields(params, spec.get("fields", []), where, files=files, form=form)
        for value in (record.get("params") or {}).values():
            for ref in re.findall(r"attach://([A-Za-z0-9_]+)", json.dumps(value)):
                if ref not in files:
                    errors.append(f"{where}: attach://{ref} has no uploaded part")
        return errors

    def check_response(self, record: dict[str, Any]) -> list[str]:
        method = record["method"]
        body = record.get("response")
        where = f"{method} response"
        if record.get("status") in (502, 504) and body is None:
            return []  # a gateway's HTML page (injected fault), not a Bot API answer
        if not isinstance(body, dict) or not isinstance(body.get("ok"), bool):
            return [f"{where}: not a Bot API envelope"]
        extra = set(body) - {"ok", "result", "description", "error_code", "parameters"}
        if extra:
            return [f"{where}: unexpected envelope keys {sorted(extra)}"]
        if not body["ok"]:
            errors = []
            if not isinstance(body.get("error_code"), int) or not isinstance(body.get("description"), str):
                errors.append(f"{where}: error without integer error_code and string description")
            if "parameters" in body:
                errors += self.check(body["parameters"], ["ResponseParameters"], f"{where}.parameters")
            if record.get("status") != body.get("error_code"):
                errors.append(f"{where}: HTTP status {record.get('status')} != error_code {body.get('error_code')}")
            return errors
        if "result" not in body:
            return [f"{where}: ok without result"]
        returns = self.methods[method].get("returns") or []
        return self.check(body["result"], returns, f"{where}.result")
