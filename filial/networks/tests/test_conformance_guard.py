"""The suite-wide guard: when a served emulator stops, every request a Filial client sent it is held to the
network's official spec, so any test anywhere that makes a connector send a non-conforming request fails."""

from __future__ import annotations

import httpx
import pytest

from emulators.networks.max import MaxEmulator
from emulators.networks.ok import OKEmulator
from emulators.networks.telegram import TelegramEmulator
from emulators.networks.vk import VKEmulator
from filial.networks.base import NetworkError
from filial.networks.max.client import MaxClient
from filial.networks.ok.client import OKClient
from filial.networks.telegram.client import TelegramClient
from filial.networks.tests.conformance import problems
from filial.networks.tests.helpers import served
from filial.networks.vk.client import VKClient

pytestmark = pytest.mark.filterwarnings("ignore::ResourceWarning")


def test_a_vk_request_outside_the_schema_fails_the_test_that_made_it() -> None:
    app = VKEmulator(rate_limits=False)
    with pytest.raises(AssertionError, match=r"wall\.post: from_group: boolean must be 0 or 1"):
        with served(app) as server:
            page = app.seed(group_id=4343, name="ЦБС", screen_name="cbs", members=3)
            client = VKClient(server.url + "/method/", timeout=5.0)
            with pytest.raises(NetworkError):
                client.call("wall.post", {"owner_id": "-4343", "from_group": "yes", "message": "x"},
                            token=page["credentials"]["access_token"])


def test_raw_requests_of_a_test_and_conforming_ones_pass() -> None:
    app = VKEmulator(rate_limits=False)
    with served(app) as server:
        page = app.seed(group_id=4344, name="ЦБС", screen_name="cbs2", members=3)
        token = page["credentials"]["access_token"]
        # a test's own malformed request (no Filial User-Agent) is the emulator's business, not the guard's
        answer = httpx.post(server.url + "/method/wall.post", data={"owner_id": "-4344", "from_group": "yes",
                                                                    "access_token": token, "v": "5.199"}).json()
        assert answer["error"]["error_code"] == 100
        VKClient(server.url + "/method/", timeout=5.0).call("groups.getById", {"group_id": 4344},
                                                                        token=token)
    assert [r["agent"].lower().startswith("filial") for r in app.requests] == [False, True]
    assert problems(app) == []


def test_a_telegram_request_outside_api_json_is_caught() -> None:
    app = TelegramEmulator(rate_limits=False)
    seeded = app.seed()
    with served(app, conformance=False) as server, TelegramClient(seeded["token"], base_url=server.url) as client:
        with pytest.raises(NetworkError):
            client.call("sendMessage", {"chat_id": seeded["chat_id"], "text": "я" * 4097})
    assert any("4097 characters" in p for p in problems(app))


def test_an_ok_request_outside_the_documented_method_is_caught() -> None:
    app = OKEmulator(rate_limit=1000)
    with served(app, conformance=False) as server:
        creds = app.seed(members=1, name="ЦБС", shortname="cbs")["credentials"]
        client = OKClient(api_url=server.url + "/fb.do", application_key=creds["application_key"],
                          application_secret_key=creds["application_secret_key"],
                          access_token=creds["access_token"], timeout=5)
        with client, pytest.raises(NetworkError):
            client.call("mediatopic.getByIds", {"topic_ids": "abc"})
    assert any("topic_ids" in p for p in problems(app))


def test_a_max_request_outside_the_openapi_is_caught() -> None:
    app = MaxEmulator()
    with served(app, conformance=False) as server:
        token = app.seed(title="ЦБС")["token"]
        with MaxClient(token, base_url=server.url, timeout=5) as client, pytest.raises(NetworkError):
            client.call("getChat", "GET", "/chats/not-a-number", params={"colour": "red"})
    found = problems(app)
    assert any("'colour' is not in the spec" in p for p in found), found


def test_an_exempted_test_says_why() -> None:
    app = VKEmulator(rate_limits=False)
    app.conformance_exempt = "sends from_group=yes on purpose"
    with served(app) as server:
        page = app.seed(group_id=4345, name="ЦБС", screen_name="cbs3", members=3)
        with pytest.raises(NetworkError):
            VKClient(server.url + "/method/", timeout=5.0).call(
                "wall.post", {"owner_id": "-4345", "from_group": "yes", "message": "x"},
                token=page["credentials"]["access_token"])
    assert problems(app)  # still found, but the test opted out with its reason
