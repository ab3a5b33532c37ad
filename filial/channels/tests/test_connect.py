"""Connecting a page: the secrets are checked against the network (its emulator, served over real HTTP)
before anything is saved; the name, link and audience come from the network; a refusal gives the
network's reason and saves nothing. API, service and the management UI."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from filial.accounts.models import AuditEntry
from filial.channels.models import Channel
from filial.channels.services import channel_connect, channel_verify
from filial.channels.tests.emulated import AUDIENCE, Page, emulated
from filial.conftest import Net
from filial.core.tests.test_api_support import client_for, fingerprint
from filial.networks import hosting
from filial.networks.connect import base_url
from filial.stats.models import PageDay

pytestmark = [pytest.mark.django_db, pytest.mark.filterwarnings("ignore::ResourceWarning")]
NETWORKS = ["vk", "ok", "telegram", "max"]


@pytest.fixture(params=NETWORKS)
def page(request: Any) -> Iterator[Page]:
    with emulated(request.param) as p:
        yield p


@pytest.fixture
def vk() -> Iterator[Page]:
    with emulated("vk") as p:
        yield p


@pytest.fixture
def tg() -> Iterator[Page]:
    with emulated("telegram") as p:
        yield p


def closed_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def ui_client(net: Net) -> Client:
    client = Client(headers={"accept-language": "en"})
    client.force_login(net.users["admin"])
    return client


# --- API: connect ------------------------------------------------------------------------------------------
def test_api_connects_a_page_and_fills_in_what_the_network_knows(net: Net, page: Page) -> None:
    response = client_for(net, "admin").post("/api/v1/channels/", page.body(net.branch4.pk), format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["name"] == page.name and body["status"] == "active"
    assert body["audience"] == AUDIENCE[page.network] and body["audience_updated_at"]
    assert body["url"]
    assert body["has_credentials"] and "credentials" not in body
    channel = Channel.objects.get(pk=body["id"])
    assert channel.credentials == page.credentials and channel.external_id == page.external_id
    # the audience the network gave is the day's statistics (stats.PageDay, through channels.signals)
    assert list(PageDay.objects.filter(channel=channel).values_list("audience", flat=True)) == [
        AUDIENCE[page.network]]
    entry = AuditEntry.objects.get(action="channel.create", object_id=str(channel.pk))
    assert entry.changes["verified"] is True
    assert not [v for v in page.credentials.values() if str(v) in str(entry.changes)]


def test_api_keeps_a_given_name_and_a_paused_status(net: Net, tg: Page) -> None:
    response = client_for(net, "admin").post("/api/v1/channels/", tg.body(
        net.branch4.pk, name="Наш канал", status="paused"), format="json")
    assert response.status_code == 201, response.content
    assert (response.json()["name"], response.json()["status"]) == ("Наш канал", "paused")
    assert response.json()["url"] == "https://t.me/filial4_library"


def test_api_uses_the_configured_base_url(net: Net, tg: Page, settings: Any) -> None:
    settings.FILIAL_TELEGRAM_API_URL = tg.api_url
    body = tg.body(net.branch4.pk)
    del body["api_base_url"]
    response = client_for(net, "admin").post("/api/v1/channels/", body, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["api_base_url"] == "" and response.json()["audience"] == 90


def test_api_refuses_a_bad_token_with_the_networks_reason(net: Net, page: Page) -> None:
    client = client_for(net, "admin")
    credentials = dict(page.credentials)
    key = "access_token" if page.network in ("vk", "ok") else "bot_token"
    credentials[key] = "7000000001:AAbadbadbadbadbadbadbadbadbadbad" if key == "bot_token" else "tkn1wrong"
    if page.network == "vk":  # (with a refresh token at hand, the connector would get a new user token)
        credentials = {"access_token": "vk1.a.wrong"}
    before = fingerprint()
    response = client.post("/api/v1/channels/", page.body(net.branch4.pk, credentials=credentials), format="json")
    assert response.status_code == 400, response.content
    message = response.json()["credentials"][0]
    label = {"vk": "VK", "ok": "Odnoklassniki", "telegram": "Telegram", "max": "MAX"}[page.network]
    assert message.startswith(f"{label} refused the secrets (code "), message
    assert "Check the secrets" in message
    assert credentials[key] not in response.content.decode()
    assert fingerprint() == before and not PageDay.objects.exists()


def test_vk_refusal_is_said_plainly_without_the_networks_words(net: Net, vk: Page, caplog: Any) -> None:
    response = client_for(net, "admin").post("/api/v1/channels/", vk.body(
        net.branch4.pk, credentials={"access_token": "vk1.a.revoked"}), format="json")
    assert response.status_code == 400
    assert response.json()["credentials"] == [
        "VK refused the secrets (code 5). Check the secrets and that their owner administers the page."]
    # the network's own words go to the server log, without the secret
    assert "User authorization failed" in caplog.text and "vk1.a.revoked" not in caplog.text


def test_vk_user_who_is_not_an_admin_is_refused(net: Net, vk: Page) -> None:
    other = vk.app.seed(group_id=5555, name="Чужое сообщество", admin_id=777)  # type: ignore[attr-defined]
    response = client_for(net, "admin").post("/api/v1/channels/", vk.body(
        net.branch4.pk, credentials={"access_token": other["credentials"]["access_token"]}), format="json")
    assert response.status_code == 400
    assert "their owner administers the page" in response.json()["credentials"][0]
    assert not Channel.objects.filter(external_id=vk.external_id).exists()


def test_unknown_page_is_refused(net: Net, page: Page) -> None:
    wrong = {"vk": "424242", "ok": "57999999999999", "telegram": "-1009999999999", "max": "-70000000009999"}
    response = client_for(net, "admin").post("/api/v1/channels/", page.body(
        net.branch4.pk, external_id=wrong[page.network]), format="json")
    assert response.status_code == 400, response.content
    message = response.json()["credentials"][0]
    assert "(code " in message and ("Check the page's id" in message or "Check the secrets" in message), message
    assert "not found" not in message and "invalid" not in message  # the network's own words are not echoed
    assert not Channel.objects.filter(external_id=wrong[page.network]).exists()


def test_an_unreachable_network_is_said_plainly(net: Net, tg: Page) -> None:
    response = client_for(net, "admin").post("/api/v1/channels/", tg.body(
        net.branch4.pk, api_base_url=f"http://127.0.0.1:{closed_port()}"), format="json")
    assert response.status_code == 400
    message = response.json()["credentials"][0]
    assert message.startswith("Telegram cannot be reached. Check the API address") and "Errno" not in message


def test_input_errors_are_caught_before_asking_the_network(net: Net, vk: Page) -> None:
    client = client_for(net, "admin")
    cases: list[tuple[dict[str, Any], str, str]] = [
        ({"credentials": {"access_token": "x", "group_id": 1}}, "credentials", "does not use these secrets: group_id"),
        ({"credentials": {"community_token": "x"}}, "credentials", "needs these secrets to check and publish: "
                                                                   "access_token"),
        ({"credentials": {"access_token": ["x"]}}, "credentials", "must be text"),
        ({"external_id": ""}, "external_id", "Give the page's id on the network"),
        ({"external_id": "club-one"}, "external_id", "must be a number"),
        ({"url": "not a link"}, "url", ""),
        ({"network": "ok"}, "credentials", "does not use these secrets: client_id, community_token"),
    ]
    for change, field, text in cases:
        before, calls = fingerprint(), len(vk.app.requests)
        response = client.post("/api/v1/channels/", vk.body(net.branch4.pk, **change), format="json")
        assert response.status_code == 400, (change, response.content)
        assert field in response.json() and text in str(response.json()[field]), (change, response.json())
        assert fingerprint() == before
        assert len(vk.app.requests) == calls, change


def test_a_page_can_still_be_recorded_without_secrets(net: Net) -> None:
    client = client_for(net, "admin")
    response = client.post("/api/v1/channels/", {"unit": net.branch4.pk, "network": "ok", "name": "Архив"},
                           format="json")
    assert response.status_code == 201 and not response.json()["has_credentials"]
    response = client.post("/api/v1/channels/", {"unit": net.branch4.pk, "network": "ok"}, format="json")
    assert response.status_code == 400 and "name" in response.json()


def test_only_admins_connect_and_the_network_is_not_asked(net: Net, vk: Page) -> None:
    for role in ("methodologist", "editor_branch4", "viewer", "outsider"):
        response = client_for(net, role).post("/api/v1/channels/", vk.body(net.branch4.pk), format="json")
        assert response.status_code == 403, role
    assert vk.app.requests == []


# --- API: update and verify -------------------------------------------------------------------------------
def _connected(net: Net, page: Page) -> Channel:
    response = client_for(net, "admin").post("/api/v1/channels/", page.body(net.branch4.pk), format="json")
    assert response.status_code == 201, response.content
    return Channel.objects.get(pk=response.json()["id"])


def test_vk_refresh_token_rescues_an_expired_user_token(net: Net, vk: Page) -> None:
    response = client_for(net, "admin").post("/api/v1/channels/", vk.body(
        net.branch4.pk, credentials={**vk.credentials, "access_token": "vk1.a.expired"}), format="json")
    assert response.status_code == 201, response.content
    stored = Channel.objects.get(pk=response.json()["id"]).credentials
    assert stored["access_token"] not in ("vk1.a.expired", vk.credentials["access_token"])
    assert stored["refresh_token"] != vk.credentials["refresh_token"]  # rotated, and the new one is kept


def test_patch_checks_new_secrets_and_a_refusal_changes_nothing(net: Net, vk: Page, monkeypatch: Any,
                                                               django_capture_on_commit_callbacks: Any) -> None:
    tokens = {k: vk.credentials[k] for k in ("access_token", "community_token")}  # no refresh token
    response = client_for(net, "admin").post("/api/v1/channels/", vk.body(net.branch4.pk, credentials=tokens),
                                             format="json")
    channel = Channel.objects.get(pk=response.json()["id"])
    client = client_for(net, "admin")
    stored = channel.credentials
    response = client.patch(f"/api/v1/channels/{channel.pk}/", {"credentials": {"access_token": "vk1.a.nope"},
                                                                 "name": "Новое имя"}, format="json")
    assert response.status_code == 400 and "VK refused the secrets" in response.json()["credentials"][0]
    channel.refresh_from_db()
    assert channel.credentials == stored and channel.name == vk.name

    # A fresh token of the same admin is accepted; the other secrets are kept.
    with vk.app.lock:
        fresh = vk.app._new_token("user", user_id=501)  # type: ignore[attr-defined]
    Channel.objects.filter(pk=channel.pk).update(status=Channel.Status.NEEDS_REAUTH)
    resumed: list[int] = []
    monkeypatch.setattr("filial.outbox.queue.channel_resumed", resumed.append)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.patch(f"/api/v1/channels/{channel.pk}/", {"credentials": {"access_token": fresh}},
                                format="json")
    assert response.status_code == 200, response.content
    assert resumed == [channel.pk]  # its waiting deliveries are queued at once
    channel.refresh_from_db()
    assert channel.credentials == {**stored, "access_token": fresh}
    assert channel.status == "active"  # re-authorised

    # A change that does not touch the secrets, the id or the address does not ask the network.
    calls = len(vk.app.requests)
    assert client.patch(f"/api/v1/channels/{channel.pk}/", {"name": "Филиал 4"}, format="json").status_code == 200
    assert len(vk.app.requests) == calls


def test_patch_to_another_id_is_checked(net: Net, vk: Page) -> None:
    channel = _connected(net, vk)
    response = client_for(net, "admin").patch(f"/api/v1/channels/{channel.pk}/", {"external_id": "4243"},
                                              format="json")
    assert response.status_code == 400 and "VK refused the check (code 100)" in str(response.json())
    channel.refresh_from_db()
    assert channel.external_id == vk.external_id


def test_verify_action_refreshes_the_audience(net: Net, tg: Page) -> None:
    channel = _connected(net, tg)
    tg.simulate("new_member", chat_id=int(tg.external_id), user={"id": 555, "first_name": "Ира"})
    client = client_for(net, "admin")
    response = client.post(f"/api/v1/channels/{channel.pk}/verify/")
    assert response.status_code == 200, response.content
    assert response.json()["audience"] == 91
    day = PageDay.objects.get(channel=channel)  # the same day: one row, updated
    assert day.audience == 91 and day.measured_at == Channel.objects.get(pk=channel.pk).audience_updated_at
    assert AuditEntry.objects.filter(action="channel.verify", object_id=str(channel.pk)).exists()
    assert client_for(net, "viewer").post(f"/api/v1/channels/{channel.pk}/verify/").status_code == 403

    with tg.app.lock:
        tg.app.state["bots"][tg.credentials["bot_token"]]["revoked"] = True
    before = fingerprint()
    response = client.post(f"/api/v1/channels/{channel.pk}/verify/")
    message = response.json()["credentials"][0]
    assert response.status_code == 400 and message.startswith("Telegram refused the secrets (code 401).")
    assert fingerprint() == before


def test_verify_without_secrets(net: Net) -> None:
    channel = net.channels["children_tg"]
    response = client_for(net, "admin").post(f"/api/v1/channels/{channel.pk}/verify/")
    assert response.status_code == 400 and "No secrets are stored" in str(response.json())


# --- the service ------------------------------------------------------------------------------------------
def test_vk_token_refreshed_while_checking_is_stored(net: Net, vk: Page) -> None:
    credentials = {**vk.credentials, "expires_at": int((timezone.now() - timedelta(minutes=1)).timestamp())}
    with vk.app.lock:
        vk.app.state["tokens"][credentials["access_token"]]["expires_at"] = credentials["expires_at"]
    channel = channel_connect(actor=net.users["admin"], unit=net.branch4, network="vk",
                              external_id=vk.external_id, credentials=credentials, api_base_url=vk.api_url)
    stored = channel.credentials
    assert stored["access_token"] != credentials["access_token"]
    assert stored["refresh_token"] != credentials["refresh_token"]  # VK ID rotates it: the new one is kept
    assert stored["expires_at"] > credentials["expires_at"]


def test_telegram_username_becomes_the_chat_id(net: Net, tg: Page) -> None:
    channel = channel_connect(actor=net.users["admin"], unit=net.branch4, network="telegram",
                              external_id="@filial4_library", credentials=tg.credentials, api_base_url=tg.api_url)
    assert channel.external_id == tg.external_id and channel.name == tg.name


def test_service_verify_keeps_a_paused_page_paused(net: Net, vk: Page) -> None:
    channel = channel_connect(actor=net.users["admin"], unit=net.branch4, network="vk", status="paused",
                              external_id=vk.external_id, credentials=vk.credentials, api_base_url=vk.api_url)
    vk.simulate("new_member", group_id=vk.seeded["group_id"], user_id=9001)
    channel = channel_verify(actor=net.users["admin"], channel=channel)
    assert channel.status == "paused" and channel.audience == 121
    with pytest.raises(ValidationError):
        channel_verify(actor=net.users["admin"], channel=Channel.objects.get(pk=net.channels["central_vk"].pk))


def test_a_page_at_the_builtin_emulator_follows_a_configured_address(settings: Any, monkeypatch: Any) -> None:
    emulator = hosting.emulator_api_url("vk")
    assert base_url("vk", emulator) == emulator
    monkeypatch.setenv("FILIAL_VK_API_URL", "http://127.0.0.1:9/method/")
    settings.FILIAL_VK_API_URL = "http://127.0.0.1:9/method/"
    assert base_url("vk", emulator) == "http://127.0.0.1:9/method/"
    assert base_url("vk", "http://10.0.0.5:8801/method/") == "http://10.0.0.5:8801/method/"  # a page's own server
    assert base_url("ok", hosting.emulator_api_url("ok")) == hosting.emulator_api_url("ok")


# --- the management UI -------------------------------------------------------------------------------------
def _form(net: Net, page: Page, **overrides: Any) -> dict[str, Any]:
    data = {"unit": net.branch4.pk, "network": page.network, "kind": "community", "name": "",
            "external_id": page.external_id, "api_base_url": page.api_url, "status": "active"}
    prefix = {"vk": "vk", "ok": "ok", "telegram": "bot", "max": "bot"}[page.network]
    data.update({f"{prefix}_{k}": str(v) for k, v in page.credentials.items()})
    data.update(overrides)
    return data


def test_ui_connects_a_page(net: Net, page: Page) -> None:
    client = ui_client(net)
    response = client.post(reverse("channels:channel_create"), _form(net, page), follow=True)
    assert response.status_code == 200
    channel = Channel.objects.get(network=page.network, external_id=page.external_id)
    assert channel.name == page.name and channel.audience == AUDIENCE[page.network]
    assert channel.credentials == {k: str(v) for k, v in page.credentials.items()}
    assert f"Page “{page.name}” is connected" in response.content.decode()


def test_ui_shows_the_networks_reason_and_saves_nothing(net: Net, vk: Page) -> None:
    client = ui_client(net)
    before = Channel.objects.count()
    data = {k: v for k, v in _form(net, vk, vk_access_token="vk1.a.wrong").items() if k != "vk_refresh_token"}
    response = client.post(reverse("channels:channel_create"), data)
    assert response.status_code == 200
    html = response.content.decode()
    assert "VK refused the secrets (code 5)." in html and "User authorization failed" not in html
    assert "vk1.a.wrong" not in html
    assert Channel.objects.count() == before


def test_ui_check_connection(net: Net, vk: Page) -> None:
    client = ui_client(net)
    client.post(reverse("channels:channel_create"), _form(net, vk))
    channel = Channel.objects.get(network="vk", external_id=vk.external_id)
    edit = client.get(reverse("channels:channel_edit", args=[channel.pk])).content.decode()
    assert reverse("channels:channel_check", args=[channel.pk]) in edit and "Check connection" in edit

    vk.simulate("new_member", group_id=vk.seeded["group_id"], user_id=9002)
    response = client.post(reverse("channels:channel_check", args=[channel.pk]), follow=True)
    assert "audience 121" in response.content.decode()
    channel.refresh_from_db()
    assert channel.audience == 121

    with vk.app.lock:
        for token in vk.app.state["tokens"].values():
            token["revoked"] = True  # the user removed the application: its refresh tokens die too
        for refresh in vk.app.state["refresh_tokens"].values():
            refresh["valid"] = False
    response = client.post(reverse("channels:channel_check", args=[channel.pk]), follow=True)
    assert "VK refused the secrets (code 5)." in response.content.decode()
    channel.refresh_from_db()
    assert channel.status == "active" and channel.audience == 121  # nothing saved

    assert client.get(reverse("channels:channel_check", args=[channel.pk])).status_code == 405
    viewer = Client()
    viewer.force_login(net.users["viewer"])
    assert viewer.post(reverse("channels:channel_check", args=[channel.pk])).status_code == 403
