"""Every request a Filial connector sends to an emulator in the test suite, held to the network's official spec.

``testing.served`` calls :func:`assert_conforms` when it stops an emulator, so any test that serves one (the
connector tests, the channel and publishing tests, the engine's world) fails if a connector sent a request the
spec does not allow (VK methods.json, OK's documented methods, Telegram api.json, MAX OpenAPI) or the emulator
answered it outside the spec's response schema. A connector cannot pass by talking to a lenient fake.

Only the requests of Filial's own clients are checked: they name themselves in ``User-Agent`` ("Filial ...",
"filial-max/..."); the raw requests tests send on purpose to see the emulator refuse them are not. A test that
drives a Filial client into a malformed request on purpose sets ``app.conformance_exempt`` to its reason.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from emulators.base import EmulatorApp

AGENT_PREFIX = "filial"  # "Filial (...)", "Filial/telegram", "filial-max/0.1"


def ours(app: EmulatorApp) -> list[dict[str, Any]]:
    with app.lock:
        return [r for r in app.requests if str(r.get("agent", "")).lower().startswith(AGENT_PREFIX)]


@cache
def _telegram_spec() -> Any:
    from filial.networks.tests.helpers import load_json_spec
    from filial.networks.tests.telegram_conformance import TelegramSpec

    return TelegramSpec(load_json_spec("telegram-bot-api", "api.json"))


def problems(app: EmulatorApp) -> list[str]:
    """What in the Filial requests recorded by ``app`` (and the answers to them) does not follow the spec."""
    records = ours(app)
    if not records:
        return []
    found: list[str] = []
    if app.network == "vk":
        from filial.networks.tests import vk_conformance as vk

        for record in records:
            if record.get("kind") == "api":
                found += vk.check_request(record) + vk.check_response(record)
    elif app.network == "ok":
        from filial.networks.tests import ok_conformance as ok

        found += ok.check_requests(records) + ok.check_responses(records)
    elif app.network == "telegram":
        spec = _telegram_spec()
        for record in records:
            found += spec.check_request(record) + spec.check_response(record)
    elif app.network == "max":
        from filial.networks.tests import max_conformance as mx

        for record in records:
            if record.get("operation") != "upload":  # the upload URL the network returned: not in the OpenAPI
                found += mx.request_problems(record)
            found += mx.response_problems(record)
    return found


def assert_conforms(app: EmulatorApp) -> None:
    """Fail unless every Filial request ``app`` recorded conforms (or the test exempted itself, with a reason)."""
    if app.conformance_exempt or app.network not in ("vk", "ok", "telegram", "max"):
        return
    found = problems(app)
    if found:
        shown = "\n  ".join(dict.fromkeys(found))
        raise AssertionError(f"{app.network}: requests of Filial's connector outside the official spec:\n  {shown}")
