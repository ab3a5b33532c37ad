"""The inbox copies readers' pictures only from their network's media hosts: never from loopback, private,
link-local or multicast addresses (the page's own emulator aside), with the name resolved once and the connection
made to the checked address, and redirects followed only to allowed hosts."""

from __future__ import annotations

import io
import socket
from collections.abc import Iterator
from typing import Any

import httpcore
import httpx
import pytest
from PIL import Image

from filial.conftest import Net
from filial.inbox import attachments
from filial.inbox.models import InboxItem
from filial.inbox.tests.factories import reader_message
from filial.networks import egress
from filial.networks.tests.helpers import Listener, listening

pytestmark = pytest.mark.django_db(transaction=True)


def jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (20, 10), (10, 120, 40)).save(out, "JPEG")
    return out.getvalue()


def vk_photo(url: str) -> dict[str, Any]:
    return {"type": "photo", "photo": {"id": 1, "sizes": [{"type": "x", "width": 604, "height": 400, "url": url}]}}


def vk_message(*urls: str) -> dict[str, Any]:
    return {"type": "message_new", "object": {"message": {"attachments": [vk_photo(u) for u in urls]}}}


def max_message(url: str) -> dict[str, Any]:
    return {"message": {"body": {"attachments": [{"type": "image", "payload": {"url": url}}]}}}


def copied(net: Net, page: str, raw: dict[str, Any]) -> list[dict[str, Any]]:
    conversation = reader_message(net.channels[page], "вот картинка", raw=raw)
    item: InboxItem = conversation.items.get()
    return list(item.attachments)


@pytest.fixture
def listener() -> Iterator[Listener]:
    answer = b"HTTP/1.1 200 OK\r\nContent-Type: image/jpeg\r\nContent-Length: %d\r\nConnection: close\r\n\r\n"
    body = jpeg()
    with listening(answer % len(body) + body) as it:
        yield it


@pytest.fixture
def connects(monkeypatch: Any) -> list[tuple[str, int]]:
    """Every TCP connection the process opens (refused, so nothing leaves)."""
    seen: list[tuple[str, int]] = []

    def refuse(address: tuple[str, int], *args: Any, **kwargs: Any) -> socket.socket:
        seen.append((str(address[0]), int(address[1])))
        raise ConnectionRefusedError("test: no connection")

    monkeypatch.setattr(socket, "create_connection", refuse)
    return seen


@pytest.mark.parametrize("url", [
    "http://127.0.0.1:{port}/a.jpg", "http://localhost:{port}/a.jpg", "https://127.0.0.1/a.jpg",
    "http://169.254.169.254/latest/meta-data/", "https://10.0.0.5/a.jpg", "https://192.168.1.1/a.jpg",
    "https://[::1]/a.jpg", "https://224.0.0.1/a.jpg", "https://evil.example/a.jpg",
    "https://userapi.com.evil.example/a.jpg", "http://sun9-1.userapi.com/a.jpg",
])
def test_hostile_addresses_are_never_fetched(net: Net, settings: Any, listener: Listener, url: str) -> None:
    settings.FILIAL_EXTRA_API_HOSTS = []
    kept = copied(net, "central_vk", vk_message(url.format(port=listener.port)))
    assert kept[0]["copy"] == "refused" and "stored" not in kept[0] and "source" not in kept[0]
    assert listener.connections == []


def test_a_media_host_that_resolves_to_an_internal_address_is_not_connected(
        net: Net, monkeypatch: Any, connects: list[tuple[str, int]]) -> None:
    for internal in ("127.0.0.1", "10.1.2.3", "169.254.169.254", "::ffff:127.0.0.1"):
        monkeypatch.setattr(socket, "getaddrinfo", lambda *a, _ip=internal, **k: [
            (socket.AF_INET6 if ":" in _ip else socket.AF_INET, socket.SOCK_STREAM, 6, "", (_ip, 443))])
        kept = copied(net, "central_vk", vk_message("https://sun9-1.userapi.com/a.jpg"))
        assert kept[0]["copy"] == "refused"
    assert connects == []


def test_the_connection_goes_to_the_address_that_was_checked(monkeypatch: Any,
                                                             connects: list[tuple[str, int]]) -> None:
    """No DNS rebinding window: the name is resolved once; a second answer (loopback) is never asked for."""
    answers = iter([[(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.216.34", 443))],
                    [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", 443))]])
    monkeypatch.setattr(socket, "getaddrinfo", lambda *a, **k: next(answers))
    with pytest.raises(httpcore.ConnectError):
        egress.GuardedBackend(egress.public_only).connect_tcp("sun9-1.userapi.com", 443, timeout=1)
    assert connects == [("93.184.216.34", 443)]


def test_redirects_only_to_the_networks_media_hosts(net: Net) -> None:
    seen: list[str] = []
    picture = jpeg()

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        if request.url.path == "/to-metadata.jpg":
            return httpx.Response(302, headers={"location": "http://169.254.169.254/latest/meta-data/"})
        if request.url.path == "/to-cdn.jpg":
            return httpx.Response(302, headers={"location": "https://sun9-2.userapi.com/real.jpg"})
        if request.url.path == "/loop.jpg":
            return httpx.Response(302, headers={"location": "/loop.jpg"})
        return httpx.Response(200, content=picture, headers={"content-type": "image/jpeg"})

    attachments.TRANSPORT = httpx.MockTransport(handler)
    try:
        kept = copied(net, "central_vk", vk_message("https://sun9-1.userapi.com/to-metadata.jpg",
                                                    "https://sun9-1.userapi.com/to-cdn.jpg",
                                                    "https://sun9-1.userapi.com/loop.jpg"))
    finally:
        attachments.TRANSPORT = None
    assert "http://169.254.169.254/latest/meta-data/" not in seen
    assert "https://sun9-2.userapi.com/real.jpg" in seen
    assert [a.get("copy") for a in kept] == ["refused", None, "refused"]
    assert kept[1]["stored"].startswith("inbox/")
    assert seen.count("https://sun9-1.userapi.com/loop.jpg") == attachments.MAX_REDIRECTS + 1


def test_each_network_has_its_own_media_hosts(net: Net) -> None:
    assert egress.media_url_allowed("vk", "https://sun9-1.userapi.com/x.jpg")
    assert egress.media_url_allowed("vk", "https://sun9-44.vkuserphoto.ru/s/v1/ig2/x.jpg")
    assert not egress.media_url_allowed("vk", "https://i.oneme.ru/i?r=x")  # MAX's, not VK's
    assert egress.media_url_allowed("max", "https://i.oneme.ru/i?r=x")
    assert egress.media_url_allowed("ok", "https://i.mycdn.me/i?r=x")
    assert egress.media_url_allowed("telegram", "https://api.telegram.org/file/bot1:x/photos/a.jpg")
    assert not egress.media_url_allowed("telegram", "https://api.telegram.org/bot1:x/getMe")


def test_the_pages_own_emulator_serves_its_pictures(net: Net, listener: Listener) -> None:
    """Demo and tests: a MAX page on its emulator (loopback) gets its pictures from that emulator only."""
    from filial.channels.models import Channel

    page = net.channels["central_max"]
    Channel.objects.filter(pk=page.pk).update(api_base_url=listener.url)
    kept = copied(net, "central_max", max_message(f"{listener.url}/i/1.jpg"))
    assert kept[0]["stored"].startswith("inbox/") and len(listener.connections) == 1
    with listening() as other:  # another loopback port is not the page's emulator
        kept = copied(net, "central_max", max_message(f"{other.url}/i/2.jpg"))
        assert kept[0]["copy"] == "refused" and other.connections == []
