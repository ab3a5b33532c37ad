"""/api/v1/channels/: credentials are write-only and stored encrypted; only admins add and edit pages.
Secrets are checked against the network (its emulator, served over HTTP) before they are stored."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from filial.accounts.models import AuditEntry
from filial.channels.models import Channel
from filial.channels.tests.emulated import Page, emulated
from filial.core.tests.test_api_support import client_for, fingerprint
from filial.libraries.services import system_create, unit_create

pytestmark = pytest.mark.filterwarnings("ignore::ResourceWarning")
SECRET = "vk1.a.very-secret-token-9876"


@pytest.fixture
def vk() -> Iterator[Page]:
    with emulated("vk", user_token=SECRET, client_id="51009876") as page:
        yield page


def test_admin_adds_page_credentials_never_come_back(net: Any, vk: Page) -> None:
    client = client_for(net, "admin")
    credentials = {"access_token": SECRET, "client_id": "51009876"}
    response = client.post("/api/v1/channels/", {
        "unit": net.branch4.pk, "network": "vk", "kind": "community", "name": "Филиал № 4 ВКонтакте",
        "url": "https://vk.com/club100004", "external_id": "100004", "audience": 120, "started_on": "2014-03-01",
        "credentials": credentials, "api_base_url": vk.api_url,
    }, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert "credentials" not in body and SECRET not in response.content.decode()
    assert body["has_credentials"] is True
    assert body["credential_hints"] == {"access_token": "••••9876", "client_id": "••••"}
    assert body["name"] == "Филиал № 4 ВКонтакте" and body["audience"] == 120  # as VK counts the members
    channel = Channel.objects.get(pk=body["id"])
    assert SECRET not in channel.credentials_encrypted
    assert channel.credentials == credentials
    entry = AuditEntry.objects.get(action="channel.create", object_id=str(channel.pk))
    assert SECRET not in str(entry.changes)

    # Everyone in the system sees the page, but not even masked hints unless they are an admin.
    for role in ("editor_branch4", "viewer"):
        seen = client_for(net, role).get(f"/api/v1/channels/{channel.pk}/").json()
        assert seen["has_credentials"] is True and seen["credential_hints"] == {}
        assert SECRET[-4:] not in str(seen)


def test_patch_merges_credentials_key_by_key(net: Any, vk: Page) -> None:
    page = net.channels["central_vk"]
    page.external_id = vk.external_id
    page.api_base_url = vk.api_url
    page.status = "needs_reauth"
    page.set_credentials({"access_token": "old-token-0000", "refresh_token": "refresh-1111"})
    page.save()
    with vk.app.lock:
        new_token = vk.app._new_token("user", user_id=501)  # type: ignore[attr-defined]
    client = client_for(net, "admin")
    response = client.patch(f"/api/v1/channels/{page.pk}/",
                            {"credentials": {"access_token": new_token, "refresh_token": ""}}, format="json")
    assert response.status_code == 200, response.content
    page.refresh_from_db()
    assert page.credentials == {"access_token": new_token, "refresh_token": "refresh-1111"}
    assert page.status == "active"  # the network accepted the new token: re-authorised
    assert response.json()["credential_hints"]["access_token"] == "••••" + new_token[-4:]


def test_channel_input_errors_write_nothing(net: Any) -> None:
    other = system_create(actor=None, name="ЦБС соседнего района")
    foreign = unit_create(actor=None, system=other, name="Центральная библиотека района")
    client = client_for(net, "admin")
    base: dict[str, Any] = {"unit": net.branch4.pk, "network": "ok", "name": "Филиал № 4 в ОК"}
    cases: list[tuple[dict[str, Any], str]] = [
        ({"network": "facebook"}, "network"),
        ({"unit": foreign.pk}, "unit"),
        ({"unit": 99999}, "unit"),
        ({"url": "not a link"}, "url"),
        ({"credentials": "token"}, "credentials"),
        ({"external_id": net.channels["branch4_ok"].external_id}, "external_id"),
        ({"audience": -5}, "audience"),
        ({"name": ""}, "name"),
    ]
    for change, field in cases:
        before = fingerprint()
        response = client.post("/api/v1/channels/", {**base, **change}, format="json")
        assert response.status_code == 400, (change, response.content)
        assert field in response.json(), (change, response.json())
        assert fingerprint() == before


def test_channel_list_filters(net: Any) -> None:
    client = client_for(net, "viewer")
    ok = client.get("/api/v1/channels/?network=ok").json()["results"]
    assert {c["id"] for c in ok} == {net.channels[k].pk for k in ("central_ok", "children_ok", "branch4_ok")}
    mine = client.get(f"/api/v1/channels/?unit={net.children.pk}").json()["results"]
    assert {c["name"] for c in mine} == {net.channels["children_ok"].name, net.channels["children_tg"].name}
    assert client.get("/api/v1/channels/?network=myspace").status_code == 400
