"""Every network error a person can meet has plain Russian advice (issue 14).

The codes are read from the connectors' sources (``code=…`` in ``client.py`` / ``connector.py`` / ``rules.py``,
the clients' code tables) and from what the emulators can answer; a code without a rule of its network or a
general one (``networks/advice.py``) fails here, so a new code needs its advice.
"""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest
from django.utils import translation

from filial.networks import registry
from filial.networks.advice import TEXTS, Kind
from filial.networks.ok import client as ok_client
from filial.networks.vk import client as vk_client

NETWORKS = ("vk", "ok", "telegram", "max")
LITERAL_CODE = re.compile(r"\bcode=(-?\d+|\"[^\"]+\")")
EMULATOR_CODE = re.compile(r"ApiError\((\d+)")
MAX_EMULATOR_CODE = re.compile(r"(?:ApiError|_error)\(\d+, \"([a-z.]+)\"")
TELEGRAM_BAD = re.compile(r"\bbad\(\s*(?:f?\"([^\"]+)\"|f?'([^']+)')")


def _source(network: str, module: str) -> str:
    package = importlib.import_module(f"filial.networks.{network}")
    path = Path(package.__file__ or "").parent / f"{module}.py"
    return path.read_text(encoding="utf-8") if path.exists() else ""


def _emulator_source(network: str) -> str:
    """The network's emulator (``emulators/networks/<network>.py``, outside the product package): it must exist."""
    module = importlib.import_module(f"emulators.networks.{network}")
    return Path(module.__file__ or "").read_text(encoding="utf-8")


def reachable_codes(network: str) -> set[str]:
    """The codes a connector of ``network`` can raise or its emulator can answer."""
    codes: set[str] = set()
    for module in ("client", "connector", "rules"):
        codes |= {m.strip('"') for m in LITERAL_CODE.findall(_source(network, module))}
    emulator = _emulator_source(network)
    if network == "max":
        codes |= set(MAX_EMULATOR_CODE.findall(emulator))
    else:
        codes |= set(EMULATOR_CODE.findall(emulator))
    if network == "vk":
        codes |= {str(c) for c in vk_client.AUTH_ERRORS | vk_client.TRANSIENT_ERRORS | set(vk_client.RETRY_AFTER)}
    if network == "ok":
        codes |= {str(c) for c in set(ok_client.ERROR_NAMES) | ok_client.REAUTH_CODES | set(ok_client.RATE_LIMIT_WAIT)
                  | ok_client.TRANSIENT_CODES}
    return codes


def test_the_sources_are_read() -> None:
    """The scan finds what it should (a changed source format would otherwise make the next test vacuous)."""
    assert {"5", "214", "901", "14", "no_token", "local"} <= reachable_codes("vk")
    assert {"102", "601", "454", "not_allowed"} <= reachable_codes("ok")
    assert {"401", "403", "429", "local"} <= reachable_codes("telegram")
    assert {"chat.denied", "verify.token", "attachment.not.ready", "network"} <= reachable_codes("max")


@pytest.mark.parametrize("network", NETWORKS)
def test_every_reachable_code_has_advice(network: str) -> None:
    connector = registry.spec(network).connector_class()
    missing = sorted(code for code in reachable_codes(network) if connector.error_advice(code, "") is Kind.UNKNOWN)
    assert not missing, f"{network}: no advice for codes {missing} (add them to its rules.py error_codes)"


def test_every_telegram_description_the_emulator_gives_has_advice() -> None:
    """The Bot API's 400s differ only by their description: each must find its advice by its words."""
    connector = registry.spec("telegram").connector_class()
    descriptions = [a or b for a, b in TELEGRAM_BAD.findall(_emulator_source("telegram"))]
    assert len(descriptions) > 30
    unknown = [d for d in descriptions if connector.error_advice("400", f"Bad Request: {d}") is Kind.UNKNOWN]
    assert not unknown


@pytest.mark.parametrize(("network", "code", "raw", "kind"), [
    ("telegram", "403", "telegram sendMessage [403]: Forbidden: bot can't initiate conversation with a user "
     "(the person must start the bot and not block it)", Kind.RECIPIENT_NOT_STARTED),
    ("telegram", "403", "Forbidden: bot was blocked by the user", Kind.RECIPIENT_BLOCKED),
    ("telegram", "403", "Forbidden: bot is not a member of the channel chat: the bot must be an administrator",
     Kind.NO_RIGHTS),
    ("telegram", "400", "Bad Request: message is too long", Kind.TOO_LONG),
    ("telegram", "400", "Bad Request: message is not modified: specified new message content", Kind.NOT_MODIFIED),
    ("telegram", "ReadTimeout", "no answer after the request was sent (ReadTimeout: x); it may have been "
     "applied: check before repeating", Kind.OUTCOME_UNKNOWN),
    ("vk", "901", "Can't send messages for users without permission: the person has not allowed messages from "
     "the community", Kind.RECIPIENT_NO_CONSENT),
    ("vk", "14", "VK asks for a captcha (Captcha needed); nothing was done.", Kind.CAPTCHA),
    ("vk", "5", "VK refused the credentials: User authorization failed", Kind.NEEDS_REAUTH),
    ("vk", "500", "VK server error (HTTP 500)", Kind.SERVER),
    ("ok", "500", "HTTP 500 from OK", Kind.SERVER),
    ("ok", "500", "photo.jpg: the image is too large", Kind.PHOTO_REJECTED),
    ("ok", "601", "Text limit reached", Kind.TOO_LONG),
    ("max", "local", "polls are not supported", Kind.POLL_UNSUPPORTED),
    ("max", "local", "text is 5000 characters, at most 4000", Kind.TOO_LONG),
    ("max", "chat.denied", "error.dialog.suspended", Kind.RECIPIENT_BLOCKED),
    ("max", "chat.denied", "You don't have permission to post in this channel", Kind.NO_RIGHTS),
    ("vk", "lease_expired", "the worker stopped before it finished", Kind.WORKER_LOST),
    ("vk", "", "vk wall.post [214]: Access to adding post denied", Kind.NO_RIGHTS),  # a code inside the text
    ("nosuchnet", "connect", "cannot reach", Kind.CONNECTION),
    ("vk", "", "", Kind.UNKNOWN),
])
def test_advice_of_known_answers(network: str, code: str, raw: str, kind: Kind) -> None:
    advice = registry.explain_error(network, code, raw)
    assert advice.kind is kind
    assert advice.raw == raw


def test_every_advice_is_russian() -> None:
    with translation.override("ru"):
        for kind in Kind:
            text = str(TEXTS[kind])
            assert re.search("[а-яё]", text, re.IGNORECASE), f"{kind}: no Russian: {text}"
        assert "бот не может написать первым" in registry.explain_error(
            "telegram", "403", "Forbidden: bot can't initiate conversation with a user").text
