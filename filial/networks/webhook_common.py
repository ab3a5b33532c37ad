"""What the networks' push endpoints share: finding a header, checking a secret in it, reading a JSON body."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from typing import Any


def header(headers: Mapping[str, Any], name: str) -> str | None:
    """A header by name, whether given as HTTP headers (any case) or as WSGI ``META`` (``HTTP_X_...``)."""
    wanted = name.lower()
    meta = "HTTP_" + name.upper().replace("-", "_")
    for key, value in headers.items():
        if key == meta or key.lower().replace("_", "-") in {wanted, "http-" + wanted}:
            return str(value)
    return None


def require_secret(headers: Mapping[str, Any], header_name: str, expected: str, error: type[Exception]) -> None:
    """Raise ``error`` unless ``header_name`` carries exactly ``expected`` (constant-time comparison)."""
    if not expected:
        raise error("no webhook secret is configured for this page; refusing unauthenticated updates")
    given = header(headers, header_name)
    if given is None:
        raise error(f"the {header_name} header is missing")
    if not hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8")):
        raise error(f"the {header_name} header does not match this page's webhook secret")


def json_body(body: bytes | str | Mapping[str, Any], error: type[Exception]) -> Any:
    """The decoded JSON of a webhook body (a mapping is taken as already decoded); ``error`` if it is not JSON."""
    if isinstance(body, Mapping):
        return dict(body)
    try:
        return json.loads(body.decode("utf-8") if isinstance(body, bytes) else body)
    except (UnicodeDecodeError, ValueError) as exc:
        raise error(f"the webhook body is not JSON: {exc}") from None


def digest(raw: Any) -> str:
    """A short stable digest of a pushed update: tells repeats of one change apart when the network gives no id."""
    return hashlib.sha256(json.dumps(raw, sort_keys=True, default=str).encode()).hexdigest()[:16]
