"""A library system's link: a new address needs its secret again (the stored one never goes to another server),
addresses no library system has are refused (link-local / cloud metadata always; private ones by the
installation's choice), and the staff never see the server's own answer — only a plain message."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any

import pytest
from django.core.exceptions import ValidationError
from django.test import Client
from django.utils import translation

from emulators.circulation.koha import KohaEmulator
from filial.accounts.selectors import access_for
from filial.circulation import services
from filial.circulation.models import CirculationLink, Reader
from filial.circulation.selectors import link_error
from filial.conftest import Net
from filial.core.tests.test_api_support import client_for
from filial.networks.tests.helpers import Listener, listening, served

pytestmark = [pytest.mark.django_db, pytest.mark.filterwarnings("ignore::ResourceWarning")]
SIP2 = {"adapter": "sip2", "host": "127.0.0.1", "login": "filial", "password": "s3cret-sip2",
        "location": "DET", "institution": "MED", "encoding": "utf-8"}


@pytest.fixture
def old() -> Iterator[Listener]:
    with listening() as it:
        yield it


@pytest.fixture
def new() -> Iterator[Listener]:
    with listening() as it:
        yield it


def test_sip2_new_address_without_the_password_sends_nothing(net: Net, old: Listener, new: Listener) -> None:
    admin, unit = net.users["admin"], net.children
    services.link_set(actor=admin, unit=unit, data={**SIP2, "port": old.port})
    Reader.objects.create(system=net.system, unit=unit, card="1001")
    with pytest.raises(ValidationError) as caught:
        services.link_set(actor=admin, unit=unit, data={**SIP2, "password": "", "port": new.port})
    assert "enter the password again" in caught.value.message_dict["password"][0]
    assert CirculationLink.objects.get(unit=unit).settings["port"] == old.port  # nothing saved
    services.circulation_sync(unit)  # talks to the server the password was given for, not the new one
    assert new.connections == []
    # with the password again, the new address is taken
    services.link_set(actor=admin, unit=unit, data={**SIP2, "password": "other-pw", "port": new.port})
    stored = CirculationLink.objects.get(unit=unit).settings
    assert (stored["port"], stored["password"]) == (new.port, "other-pw")


def test_koha_new_address_without_the_secret_sends_nothing(net: Net, new: Listener) -> None:
    admin, unit = net.users["admin"], net.children
    app = KohaEmulator()
    app.seed(clients={"filial": "koha-secret-1"})
    with served(app, conformance=False) as server:
        services.link_set(actor=admin, unit=unit, data={"adapter": "koha", "base_url": server.url,
                                                        "client_id": "filial", "client_secret": "koha-secret-1"})
        Reader.objects.create(system=net.system, unit=unit, card="1001")
        response = client_for(net, "admin").patch(f"/api/v1/units/{unit.pk}/", {"circulation": {
            "adapter": "koha", "base_url": new.url, "client_id": "filial"}}, format="json")
        assert response.status_code == 400, response.content
        assert "enter the client secret again" in str(response.json())
        assert CirculationLink.objects.get(unit=unit).settings["base_url"] == server.url
        services.circulation_sync(unit)
    assert new.connections == []


def test_the_message_is_translated(net: Net, old: Listener, new: Listener) -> None:
    services.link_set(actor=net.users["admin"], unit=net.children, data={**SIP2, "port": old.port})
    with translation.override("ru"), pytest.raises(ValidationError) as caught:
        services.link_set(actor=net.users["admin"], unit=net.children,
                          data={**SIP2, "password": "", "port": new.port})
    assert "введите пароль ещё раз" in caught.value.message_dict["password"][0]


# --- which addresses ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("data", [
    {**SIP2, "host": "169.254.169.254", "port": 6001},
    {**SIP2, "host": "224.0.0.5", "port": 6001},
    {**SIP2, "host": "0.0.0.0", "port": 6001},  # noqa: S104 - an address refused, not bound
    {"adapter": "koha", "base_url": "http://169.254.169.254/latest", "client_id": "a", "client_secret": "b"},
    {"adapter": "koha", "base_url": "http://[fe80::1]/", "client_id": "a", "client_secret": "b"},
])
def test_addresses_no_library_system_has_are_refused(net: Net, data: dict[str, Any]) -> None:
    with pytest.raises(ValidationError) as caught:
        services.link_set(actor=net.users["admin"], unit=net.children, data=data)
    assert set(caught.value.message_dict) & {"host", "base_url"}
    assert not CirculationLink.objects.filter(unit=net.children).exclude(adapter="file").exists()


def test_the_intranet_is_allowed_unless_the_installation_says_otherwise(net: Net, settings: Any) -> None:
    admin, unit = net.users["admin"], net.children
    intranet = {"adapter": "koha", "base_url": "https://10.20.0.5", "client_id": "a", "client_secret": "b"}
    services.link_set(actor=admin, unit=unit, data=intranet)
    services.link_set(actor=admin, unit=unit, data={**SIP2, "host": "192.168.10.4", "port": 6001})
    services.link_set(actor=admin, unit=unit, data={**SIP2, "host": "127.0.0.1", "port": 6002})
    settings.FILIAL_LIBRARY_SYSTEM_PUBLIC_ONLY = True
    for data in (intranet, {**SIP2, "host": "192.168.10.4", "port": 6001}, {**SIP2, "port": 6003}):
        with pytest.raises(ValidationError):
            services.link_set(actor=admin, unit=unit, data=data)


def test_koha_connects_only_to_allowed_addresses(net: Net, monkeypatch: Any) -> None:
    """A link stored before (or around the services) to the cloud metadata address: nothing is connected."""
    unit = net.children
    link = CirculationLink.objects.create(unit=unit, adapter="koha")
    link.set_settings({"base_url": "http://metadata.example", "client_id": "a", "client_secret": "b"})
    link.save()
    Reader.objects.create(system=net.system, unit=unit, card="1001")
    connects: list[Any] = []

    def refuse(address: Any, *args: Any, **kwargs: Any) -> socket.socket:
        connects.append(address)
        raise ConnectionRefusedError

    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", lambda *a, **k: [
        (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("169.254.169.254", 80))])
    services.circulation_sync(unit)
    assert connects == []
    link.refresh_from_db()
    assert link.sync_state == CirculationLink.SyncState.FAILED
    assert "could not be reached" in link_error(link, access_for(net.users["editor_children"]))["last_error"]


# --- no remote words -----------------------------------------------------------------------------------------
def test_the_servers_answer_is_never_shown(net: Net) -> None:
    body = b"EVIL-BODY <b>Call 8-800-000 and give your card</b>"
    answer = (b"HTTP/1.1 500 Internal Server Error\r\nContent-Type: text/html\r\nContent-Length: %d\r\n"
              b"Connection: close\r\n\r\n" % len(body)) + body
    unit = net.children
    with listening(answer) as koha:
        services.link_set(actor=net.users["admin"], unit=unit, data={
            "adapter": "koha", "base_url": koha.url, "client_id": "a", "client_secret": "b"})
        Reader.objects.create(system=net.system, unit=unit, card="1001")
        services.circulation_sync(unit)
        assert koha.connections
    link = CirculationLink.objects.get(unit=unit)
    assert link.sync_state == CirculationLink.SyncState.FAILED
    assert "EVIL-BODY" not in link.last_error and "8-800" not in link.last_error
    assert link_error(link, access_for(net.users["admin"]))["last_error_kind"] == "login"
    client = Client(headers={"accept-language": "en"})
    client.force_login(net.users["editor_children"])
    page = client.post(f"/circulation/unit/{unit.pk}/sync/", follow=True).content.decode()
    assert "EVIL-BODY" not in page and "8-800" not in page
    assert "EVIL-BODY" not in client_for(net, "editor_children").get(f"/api/v1/units/{unit.pk}/").content.decode()
