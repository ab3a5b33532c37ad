"""Pages (channels): the list for members, create/edit for admins, secrets encrypted and never shown."""

from __future__ import annotations

from typing import Any

import pytest
from cryptography.fernet import Fernet
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from filial.accounts.models import AuditEntry, Role
from filial.channels.forms import CREDENTIAL_GROUPS
from filial.channels.models import Channel, Network
from filial.channels.services import CREDENTIAL_KEYS
from filial.channels.tests.emulated import emulated
from filial.conftest import PASSWORD, Net, make_user
from filial.libraries.services import system_create, unit_create

pytestmark = [pytest.mark.django_db, pytest.mark.filterwarnings("ignore::ResourceWarning")]

MEMBERS = ["admin", "methodologist", "editor_central", "editor_children", "editor_branch4", "viewer"]
NOT_ADMINS = ["methodologist", "editor_central", "editor_children", "editor_branch4", "viewer", "outsider"]
VK_TOKEN = "vk1.a.SuperSecretUserToken-0123456789-WXYZ"
VK_REFRESH = "vk1.r.RefreshTokenValue-abcdef-9876"
BOT_TOKEN = "7012345678:AAH-secret-bot-token-value-QRST"


@pytest.fixture(autouse=True)
def _own_key(own_encryption_key: str) -> None:
    """Each test encrypts with a key of its own."""


def client_for(net: Net | None = None, role: str | None = None, *, csrf: bool = False) -> Client:
    client = Client(enforce_csrf_checks=csrf, headers={"accept-language": "en"})
    if net is not None and role is not None:
        client.force_login(net.users[role])
    return client


def channel_data(net: Net, **overrides: Any) -> dict[str, Any]:
    data = {"unit": net.central.pk, "network": "vk", "kind": "community", "name": "ЦГБ — новости",
            "url": "https://vk.com/cgb_news", "external_id": "200500", "started_on": "2014-03-01",
            "api_base_url": "", "status": "active"}
    data.update(overrides)
    return data


def raw_credentials(channel: Channel) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT credentials_encrypted FROM channels_channel WHERE id = %s", [channel.pk])
        return cursor.fetchone()[0]


def with_secrets(channel: Channel, secrets: dict[str, str]) -> Channel:
    channel.set_credentials(secrets)
    channel.save()
    return channel


# --- Role matrix ------------------------------------------------------------------------------------------


def test_anonymous_is_sent_to_login(net: Net) -> None:
    client = client_for()
    pk = net.channels["central_vk"].pk
    for method, url in [("get", reverse("channels:channel_list")), ("get", reverse("channels:channel_create")),
                        ("get", reverse("channels:channel_edit", args=[pk])),
                        ("post", reverse("channels:channel_credentials_remove", args=[pk]))]:
        response = getattr(client, method)(url)
        assert response.status_code == 302 and response["Location"].startswith(reverse("login")), url


@pytest.mark.parametrize("role", MEMBERS)
def test_every_member_sees_the_list(net: Net, role: str) -> None:
    response = client_for(net, role).get(reverse("channels:channel_list"))
    assert response.status_code == 200
    html = response.content.decode()
    for channel in net.channels.values():
        assert channel.name in html
    assert 'class="net net-ok"' in html and net.children.name in html
    assert ("Add page" in html) == (role == "admin")
    assert (reverse("channels:channel_edit", args=[net.channels["children_tg"].pk]) in html) == (role == "admin")


def test_outsider_cannot_see_the_list(net: Net) -> None:
    assert client_for(net, "outsider").get(reverse("channels:channel_list")).status_code == 403


@pytest.mark.parametrize("role", NOT_ADMINS)
def test_only_admins_create_and_edit_pages(net: Net, role: str) -> None:
    client = client_for(net, role)
    channel = with_secrets(net.channels["children_tg"], {"bot_token": BOT_TOKEN})
    assert client.get(reverse("channels:channel_create")).status_code == 403
    assert client.post(reverse("channels:channel_create"), channel_data(net)).status_code == 403
    hidden = 404 if role == "outsider" else 403
    assert client.get(reverse("channels:channel_edit", args=[channel.pk])).status_code == hidden
    posted = client.post(reverse("channels:channel_edit", args=[channel.pk]),
                         channel_data(net, unit=net.children.pk, network="telegram", name="Взлом"))
    assert posted.status_code == hidden
    removed = client.post(reverse("channels:channel_credentials_remove", args=[channel.pk]))
    assert removed.status_code == hidden
    channel.refresh_from_db()
    assert channel.name == "Детская библиотека Медногорска" and channel.credentials == {"bot_token": BOT_TOKEN}
    assert not Channel.objects.filter(external_id="200500").exists()


def test_admin_of_another_system_gets_404(net: Net) -> None:
    other = system_create(actor=None, name="ЦБС г. Орска")
    orsk = unit_create(actor=None, system=other, name="Библиотека Орска", kind="central")
    client = Client(headers={"accept-language": "en"})
    client.force_login(make_user("orsk_admin", [(orsk, Role.ADMIN)]))
    assert client.get(reverse("channels:channel_edit", args=[net.channels["central_vk"].pk])).status_code == 404
    html = client.get(reverse("channels:channel_list")).content.decode()
    assert net.channels["central_vk"].name not in html
    # A page cannot be created for a unit of a system one does not administer.
    response = client.post(reverse("channels:channel_create"), channel_data(net))
    assert response.status_code == 200 and not Channel.objects.filter(external_id="200500").exists()


# --- List ---------------------------------------------------------------------------------------------------


def test_list_filters_and_links(net: Net) -> None:
    net.channels["central_ok"].url = "https://ok.ru/group/561588730013"
    net.channels["central_ok"].audience = 1234
    net.channels["central_ok"].save()
    client = client_for(net, "viewer")
    html = client.get(reverse("channels:channel_list"), {"network": "ok"}).content.decode()
    assert "Детская библиотека" in html and "ЦГБ Медногорска ВКонтакте" not in html
    assert 'href="https://ok.ru/group/561588730013" target="_blank" rel="noopener noreferrer"' in html
    assert "1234" in html
    html = client.get(reverse("channels:channel_list"), {"unit": net.central.pk}).content.decode()
    assert "Медногорский винил" in html  # the automation department is inside the central library
    assert "Детская библиотека Медногорска" not in html


def test_list_query_count_does_not_grow_with_pages(net: Net, django_assert_max_num_queries: Any) -> None:
    client = client_for(net, "admin")
    with CaptureQueriesContext(connection) as few:
        client.get(reverse("channels:channel_list"))
    for i in range(30):
        unit = unit_create(actor=None, system=net.system, name=f"Филиал № {20 + i}", kind="branch")
        Channel.objects.create(unit=unit, network=Network.OK, name=f"Страница {i}", external_id=f"9{i:04d}",
                               audience=100 + i)
    with django_assert_max_num_queries(len(few)), CaptureQueriesContext(connection) as many:
        response = client.get(reverse("channels:channel_list"))
    assert len(many) <= 12
    assert "Страница 29" in response.content.decode()


# --- Create, edit and secrets --------------------------------------------------------------------------------


def test_create_page_with_secrets_stored_encrypted(net: Net) -> None:
    admin = net.users["admin"]
    with emulated("vk", group_id=200500, user_token=VK_TOKEN, client_id="51234567") as vk:
        data = channel_data(net, vk_access_token=VK_TOKEN, vk_client_id="51234567", api_base_url=vk.api_url)
        response = client_for(net, "admin").post(reverse("channels:channel_create"), data)
    assert response.status_code == 302
    channel = Channel.objects.get(external_id="200500")
    assert channel.unit == net.central and channel.network == "vk" and str(channel.started_on) == "2014-03-01"
    raw = raw_credentials(channel)
    assert raw and VK_TOKEN not in raw and "51234567" not in raw
    assert channel.credentials == {"access_token": VK_TOKEN, "client_id": "51234567"}
    entry = AuditEntry.objects.get(action="channel.create", object_id=str(channel.pk))
    assert entry.actor == admin and entry.system_id == net.system.pk
    assert entry.changes["credentials"] == ["access_token", "client_id"]
    assert VK_TOKEN not in str(list(AuditEntry.objects.values_list("changes", flat=True)))


def test_edit_page_shows_only_masked_secrets(net: Net) -> None:
    channel = with_secrets(net.channels["central_vk"], {"access_token": VK_TOKEN, "refresh_token": VK_REFRESH})
    html = client_for(net, "admin").get(reverse("channels:channel_edit", args=[channel.pk])).content.decode()
    assert VK_TOKEN not in html and VK_REFRESH not in html
    assert "••••WXYZ" in html and "••••9876" in html
    assert "access_token" in html and "Remove stored secrets" in html
    assert 'name="vk_access_token"' in html and 'autocomplete="new-password"' in html
    assert 'type="password"' in html and 'value="vk1.' not in html


def test_blank_secret_keeps_the_stored_one_and_new_ones_merge(net: Net) -> None:
    channel = with_secrets(net.channels["central_vk"], {"access_token": VK_TOKEN})
    with emulated("vk", group_id=int(channel.external_id), screen_name="cgb_news", user_token=VK_TOKEN) as vk:
        Channel.objects.filter(pk=channel.pk).update(api_base_url=vk.api_url)  # same address: the secrets stay
        data = channel_data(net, network="vk", name=channel.name, external_id=channel.external_id,
                            vk_access_token="", vk_refresh_token=VK_REFRESH, api_base_url=vk.api_url)
        response = client_for(net, "admin").post(reverse("channels:channel_edit", args=[channel.pk]), data)
    assert response.status_code == 302
    channel.refresh_from_db()
    assert channel.credentials == {"access_token": VK_TOKEN, "refresh_token": VK_REFRESH}
    assert VK_REFRESH not in raw_credentials(channel)
    entry = AuditEntry.objects.get(action="channel.update", object_id=str(channel.pk))
    assert entry.changes["credentials"] == ["refresh_token"]
    # The link is the one the network gives (here the emulator's own address for the community).
    assert entry.changes["url"] == ["", f"{vk.server.url}/cgb_news"] and entry.changes["verified"] is True
    assert channel.audience == 120


def test_edit_without_secrets_keeps_them(net: Net) -> None:
    channel = with_secrets(net.channels["children_tg"], {"bot_token": BOT_TOKEN})
    data = channel_data(net, unit=net.children.pk, network="telegram", name="Детская библиотека (Telegram)",
                        external_id=channel.external_id, status="paused")
    assert client_for(net, "admin").post(reverse("channels:channel_edit", args=[channel.pk]), data).status_code == 302
    channel.refresh_from_db()
    assert channel.status == "paused" and channel.name == "Детская библиотека (Telegram)"
    assert channel.credentials == {"bot_token": BOT_TOKEN}


def test_secrets_of_another_network_are_refused(net: Net) -> None:
    channel = net.channels["central_ok"]
    data = channel_data(net, network="ok", name=channel.name, external_id=channel.external_id,
                        vk_access_token=VK_TOKEN, ok_application_key="CBAXXXXX")
    response = client_for(net, "admin").post(reverse("channels:channel_edit", args=[channel.pk]), data)
    assert response.status_code == 200
    html = response.content.decode()
    assert "belongs to another network" in html and VK_TOKEN not in html
    channel.refresh_from_db()
    assert not channel.has_credentials and channel.url == ""


def test_bad_input_gives_form_errors_and_changes_nothing(net: Net) -> None:
    client = client_for(net, "admin")
    before = Channel.objects.count()
    for overrides in ({"external_id": "100001"}, {"url": "not a url at all"}, {"network": "myspace"},
                      {"name": ""}, {"started_on": "31.02.2014"}):
        response = client.post(reverse("channels:channel_create"), channel_data(net, **overrides))
        assert response.status_code == 200, overrides
        assert "errorlist" in response.content.decode(), overrides
    html = client.post(reverse("channels:channel_create"), channel_data(net, external_id="100001")).content.decode()
    assert "already has this external id" in html
    assert Channel.objects.count() == before
    assert not AuditEntry.objects.filter(action="channel.create").exists()


def test_remove_stored_secrets(net: Net) -> None:
    channel = with_secrets(net.channels["central_max"], {"bot_token": BOT_TOKEN})
    response = client_for(net, "admin").post(reverse("channels:channel_credentials_remove", args=[channel.pk]))
    assert response.status_code == 302
    channel.refresh_from_db()
    assert channel.credentials_encrypted == "" and channel.credentials == {}
    entry = AuditEntry.objects.get(action="channel.credentials_clear", object_id=str(channel.pk))
    assert entry.actor == net.users["admin"]
    assert client_for(net, "admin").get(reverse("channels:channel_credentials_remove", args=[channel.pk])
                                        ).status_code == 405


def test_unreadable_secrets_are_reported_not_a_500(net: Net, settings: Any) -> None:
    channel = with_secrets(net.channels["central_vk"], {"access_token": VK_TOKEN})
    settings.FILIAL_ENCRYPTION_KEYS = Fernet.generate_key().decode()  # the old key is lost
    client = client_for(net, "admin")
    url = reverse("channels:channel_edit", args=[channel.pk])
    page = client.get(url)
    assert page.status_code == 200 and "cannot be read" in page.content.decode()
    with emulated("vk", group_id=int(channel.external_id), user_token="vk1.a.new-token-1111") as vk:
        Channel.objects.filter(pk=channel.pk).update(api_base_url=vk.api_url)  # same address: merged with stored
        data = channel_data(net, network="vk", name=channel.name, external_id=channel.external_id,
                            vk_access_token="vk1.a.new-token-1111", api_base_url=vk.api_url)
        response = client.post(url, data)
        assert response.status_code == 200 and "Remove them first" in response.content.decode()
        client.post(reverse("channels:channel_credentials_remove", args=[channel.pk]))
        assert client.post(url, data).status_code == 302
    channel.refresh_from_db()
    assert channel.credentials == {"access_token": "vk1.a.new-token-1111"}


def test_the_form_offers_exactly_the_connectors_secrets() -> None:
    offered: dict[str, set[str]] = {}
    for group in CREDENTIAL_GROUPS:
        for network in group.networks:
            offered.setdefault(network, set()).update(key for key, _label in group.keys)
    assert offered == {network: set(keys) for network, keys in CREDENTIAL_KEYS.items()}


def test_csrf_is_enforced(net: Net) -> None:
    client = client_for(csrf=True)
    assert client.login(username="admin", password=PASSWORD)
    channel = with_secrets(net.channels["central_max"], {"bot_token": BOT_TOKEN})
    assert client.post(reverse("channels:channel_create"), channel_data(net)).status_code == 403
    assert client.post(reverse("channels:channel_credentials_remove", args=[channel.pk])).status_code == 403
    channel.refresh_from_db()
    assert channel.has_credentials and not Channel.objects.filter(external_id="200500").exists()
    client.get(reverse("channels:channel_create"))
    token = client.cookies["csrftoken"].value
    response = client.post(reverse("channels:channel_create"), {**channel_data(net), "csrfmiddlewaretoken": token})
    assert response.status_code == 302 and Channel.objects.filter(external_id="200500").exists()
