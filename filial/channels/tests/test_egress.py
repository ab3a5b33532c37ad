"""Where a page's secrets may go: a changed API address needs the secrets again (the stored ones never follow it),
and an address must be one of the network's own hosts (or allowed by the installation). Checked through the
service, the API and the management form, with a loopback listener that records every connection."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse

from filial.channels.models import Channel
from filial.channels.services import channel_connect, channel_create, channel_update, channel_verify
from filial.channels.tests.emulated import Page, emulated
from filial.conftest import Net
from filial.core.tests.test_api_support import client_for
from filial.networks import egress, hosting
from filial.networks.tests.helpers import Listener, listening

pytestmark = [pytest.mark.django_db, pytest.mark.filterwarnings("ignore::ResourceWarning")]
SECRETS_AGAIN = "secrets again together with the new address"


@pytest.fixture(params=["vk", "telegram"])
def page(request: Any) -> Iterator[Page]:
    with emulated(request.param) as p:
        yield p


@pytest.fixture
def listener() -> Iterator[Listener]:
    with listening() as it:
        yield it


def connected(net: Net, page: Page) -> Channel:
    return channel_connect(actor=net.users["admin"], unit=net.branch4, network=page.network,
                           external_id=page.external_id, credentials=dict(page.credentials),
                           api_base_url=page.api_url)


def new_address(page: Page, listener: Listener) -> str:
    return listener.url + hosting.API_PATHS[page.network]


def secret_values(page: Page) -> list[str]:
    return [str(v) for v in page.credentials.values() if len(str(v)) > 6]


def test_service_refuses_an_address_change_without_secrets(net: Net, page: Page, listener: Listener) -> None:
    channel = connected(net, page)
    stored = channel.credentials_encrypted
    with pytest.raises(ValidationError) as caught:
        channel_update(actor=net.users["admin"], channel=channel, api_base_url=new_address(page, listener))
    assert SECRETS_AGAIN in " ".join(caught.value.messages)
    assert listener.connections == []  # not a single connection, so no secret either
    fresh = Channel.objects.get(pk=channel.pk)
    assert fresh.api_base_url == page.api_url and fresh.credentials_encrypted == stored


def test_a_partial_secret_does_not_carry_the_stored_ones(net: Net, listener: Listener) -> None:
    with emulated("vk") as vk:
        channel = connected(net, vk)
        with pytest.raises(ValidationError) as caught:
            channel_update(actor=net.users["admin"], channel=channel, api_base_url=new_address(vk, listener),
                           credentials={"webhook_secret": "hook-secret-1"})
    assert "access_token" in " ".join(caught.value.messages)
    assert listener.connections == []
    assert Channel.objects.get(pk=channel.pk).api_base_url == vk.api_url


def test_with_the_secrets_again_the_new_address_is_used(net: Net, page: Page) -> None:
    channel = connected(net, page)
    with emulated(page.network) as other:
        channel = channel_update(actor=net.users["admin"], channel=channel, api_base_url=other.api_url,
                                 external_id=other.external_id, credentials=dict(other.credentials))
    assert Channel.objects.get(pk=channel.pk).api_base_url == other.api_url
    assert {k: str(v) for k, v in channel.credentials.items()} == {k: str(v) for k, v in other.credentials.items()}


def test_api_refuses_an_address_change_without_secrets(net: Net, page: Page, listener: Listener) -> None:
    channel = connected(net, page)
    response = client_for(net, "admin").patch(f"/api/v1/channels/{channel.pk}/",
                                              {"api_base_url": new_address(page, listener)}, format="json")
    assert response.status_code == 400, response.content
    assert SECRETS_AGAIN in response.json()["api_base_url"][0]
    assert listener.connections == []
    assert Channel.objects.get(pk=channel.pk).api_base_url == page.api_url


def test_form_refuses_an_address_change_without_secrets(net: Net, page: Page, listener: Listener) -> None:
    channel = connected(net, page)
    client = Client(headers={"accept-language": "en"})
    client.force_login(net.users["admin"])
    data = {"unit": net.branch4.pk, "network": page.network, "kind": "community", "name": channel.name,
            "url": channel.url, "external_id": channel.external_id, "api_base_url": new_address(page, listener),
            "status": "active"}
    response = client.post(reverse("channels:channel_edit", args=[channel.pk]), data)
    assert response.status_code == 200
    assert SECRETS_AGAIN in response.content.decode()
    assert listener.connections == []
    assert Channel.objects.get(pk=channel.pk).api_base_url == page.api_url


def test_russian_message(net: Net, page: Page, listener: Listener) -> None:
    from django.utils import translation

    channel = connected(net, page)
    with translation.override("ru"), pytest.raises(ValidationError) as caught:
        channel_update(actor=net.users["admin"], channel=channel, api_base_url=new_address(page, listener))
    assert "введите секреты страницы ещё раз" in " ".join(caught.value.messages)


# --- which hosts ---------------------------------------------------------------------------------------------
def test_only_the_networks_own_hosts_unless_the_installation_allows_more(net: Net, settings: Any,
                                                                         listener: Listener) -> None:
    settings.FILIAL_EXTRA_API_HOSTS = []
    assert egress.api_url_problem("vk", "https://api.vk.ru/method/") == ""
    assert egress.api_url_problem("vk", "https://api.vk.com/method/") == ""
    assert egress.api_url_problem("telegram", "https://api.telegram.org") == ""
    assert egress.api_url_problem("max", "https://platform-api2.max.ru") == ""
    assert egress.api_url_problem("ok", "https://api.ok.ru/fb.do") == ""
    assert egress.api_url_problem("vk", hosting.emulator_api_url("vk")) == ""  # the demo's built-in emulator
    assert egress.api_url_problem("vk", "https://api.telegram.org/method/") == "host"  # another network's host
    assert egress.api_url_problem("vk", "https://evil.example/method/") == "host"
    assert egress.api_url_problem("vk", "http://api.vk.ru/method/") == "plain_http"
    assert egress.api_url_problem("vk", f"{listener.url}/method/") == "host"  # loopback on another port
    assert egress.api_url_problem("vk", "http://169.254.169.254/latest/") == "host"
    assert egress.api_url_problem("telegram", "https://bots.library.example") == "host"
    settings.FILIAL_EXTRA_API_HOSTS = ["bots.library.example"]
    assert egress.api_url_problem("telegram", "https://bots.library.example") == ""
    settings.FILIAL_EXTRA_API_HOSTS = []
    settings.FILIAL_TELEGRAM_API_URL = "https://tg-bot-api.library.example"
    assert egress.api_url_problem("telegram", "https://tg-bot-api.library.example/") == ""


def test_a_foreign_address_is_refused_before_any_request(net: Net, settings: Any, listener: Listener) -> None:
    settings.FILIAL_EXTRA_API_HOSTS = []
    with emulated("telegram") as tg:
        with pytest.raises(ValidationError) as caught:
            channel_connect(actor=net.users["admin"], unit=net.branch4, network="telegram",
                            external_id=tg.external_id, credentials=dict(tg.credentials), api_base_url=listener.url)
        assert "FILIAL_EXTRA_API_HOSTS" in " ".join(caught.value.messages)
        with pytest.raises(ValidationError):
            channel_create(actor=net.users["admin"], unit=net.branch4, network="telegram", name="x",
                           external_id="-100", api_base_url=listener.url)
        response = client_for(net, "admin").post("/api/v1/channels/", tg.body(net.branch4.pk,
                                                                              api_base_url=listener.url),
                                                  format="json")
        assert response.status_code == 400 and "api_base_url" in response.json()
    assert listener.connections == []
    assert not Channel.objects.filter(network="telegram", external_id=tg.external_id).exists()


def test_an_address_stored_around_the_services_is_not_used(net: Net, settings: Any, listener: Listener) -> None:
    """E.g. written through the admin site or by an older version: the connector registry refuses it."""
    with emulated("telegram") as tg:
        channel = connected(net, tg)
    Channel.objects.filter(pk=channel.pk).update(api_base_url=listener.url)
    settings.FILIAL_EXTRA_API_HOSTS = []
    with pytest.raises(ValidationError):
        channel_verify(actor=net.users["admin"], channel=Channel.objects.get(pk=channel.pk))
    assert listener.connections == []
