"""Readers' pictures: our own re-encoded copy of a small allowed image, served only to staff of the unit; anything
else stays metadata. No address of the network is ever rendered or returned by the API."""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from django.test import Client
from django.urls import reverse
from PIL import Image

from filial.conftest import PASSWORD, Net
from filial.inbox import attachments
from filial.inbox.tests.factories import reader_message

pytestmark = pytest.mark.django_db(transaction=True)


def jpeg_with_exif() -> bytes:
    out = io.BytesIO()
    image = Image.new("RGB", (40, 30), (200, 40, 40))
    exif = Image.Exif()
    exif[0x010E] = "secret GPS-ish description"
    image.save(out, "JPEG", exif=exif)
    return out.getvalue()


FILES = {
    "/ok.jpg": (jpeg_with_exif(), "image/jpeg"),
    "/fake.jpg": (b"<html><script>alert(1)</script></html>", "image/jpeg"),
    "/big.jpg": (b"\xff\xd8" + b"0" * (2 * 1024 * 1024), "image/jpeg"),
}


@pytest.fixture
def cdn() -> Iterator[list[str]]:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        body, content_type = FILES.get(request.url.path, (b"", "text/plain"))
        return httpx.Response(200 if body else 404, content=body, headers={"content-type": content_type})

    attachments.TRANSPORT = httpx.MockTransport(handler)
    yield seen
    attachments.TRANSPORT = None


def vk_photo(url: str) -> dict[str, Any]:
    return {"type": "photo", "photo": {"id": 1, "sizes": [{"type": "x", "width": 604, "height": 400, "url": url}]}}


def test_small_pictures_are_copied_the_rest_stays_metadata(net: Net, cdn: list[str]) -> None:
    raw = {"type": "message_new", "object": {"message": {"attachments": [
        vk_photo("https://sun9-1.userapi.com/ok.jpg"), vk_photo("https://sun9-1.userapi.com/fake.jpg"),
        vk_photo("https://sun9-1.userapi.com/big.jpg"), {"type": "doc", "doc": {"title": "list.pdf", "size": 900}}]}}}
    conversation = reader_message(net.channels["central_vk"], "Вот фото обложки", raw=raw)
    item = conversation.items.get()
    assert len(cdn) == 3
    kept = item.attachments
    assert [a.get("stored", "")[:6] for a in kept] == ["inbox/", "", "", ""]
    assert [a.get("copy") for a in kept] == [None, "refused", "refused", None]
    assert all("source" not in a for a in kept)  # the network's address is dropped once handled
    with Image.open(attachments.default_storage.open(kept[0]["stored"])) as copy:
        assert copy.format == "JPEG" and not copy.getexif()  # re-encoded: pixels only
    client = Client()
    client.login(username="ed_central", password=PASSWORD)
    url = reverse("inbox:attachment", args=[conversation.pk, item.pk, 0])
    html = client.get(reverse("inbox:conversation", args=[conversation.pk])).content.decode()
    assert f'src="{url}"' in html and "userapi.com" not in html
    response = client.get(url)
    assert response.status_code == 200 and response["Content-Type"] == "image/jpeg"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert client.get(reverse("inbox:attachment", args=[conversation.pk, item.pk, 1])).status_code == 404
    other = Client()
    other.login(username="ed_children", password=PASSWORD)
    assert other.get(url).status_code == 404
    from rest_framework.test import APIClient

    api = APIClient()
    api.force_authenticate(net.users["admin"])
    body = api.get(f"/api/v1/conversations/{conversation.pk}/").content.decode()
    assert "userapi.com" not in body and "inbox/" not in body
