"""The small HTML view of each emulated page (``/_emulator/``) shows what Filial published there (text, photos,
poll) and what readers sent (a direct message), escaped."""

from __future__ import annotations

import io
import re
from typing import Any

import httpx
import pytest
from PIL import Image

from filial.channels.tests.emulated import emulated
from filial.networks.base import Photo, PollSpec, PostPayload
from filial.networks.connect import connector_for
from filial.networks.hosting import NETWORKS

pytestmark = pytest.mark.filterwarnings("ignore::ResourceWarning")

READER: dict[str, dict[str, Any]] = {  # a reader writing to the page, as each emulator's "message" simulation takes it
    "vk": {"user_id": 7101, "first_name": "Вера"},
    "ok": {"uid": "580000007101", "name": "Вера"},
    "telegram": {"user": {"id": 7101, "first_name": "Вера"}},
    "max": {"user_id": 7101, "first_name": "Вера"},
}


def _jpeg() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (32, 24), (20, 120, 200)).save(buffer, format="JPEG")
    return buffer.getvalue()


@pytest.mark.parametrize("network", NETWORKS)
def test_the_view_shows_what_was_published_and_received(network: str) -> None:
    with emulated(network) as page:
        connector = connector_for(network, external_id=page.external_id, credentials=page.credentials,
                                  api_base_url=page.api_url)
        poll = PollSpec("Что почитать летом?", ["Стихи", "Прозу"]) if connector.capabilities.polls else None
        connector.publish(PostPayload(text="Неделя <детской> книги", key="view-1",
                                      photos=[Photo(_jpeg(), "cover.jpg")], poll=poll))
        data: dict[str, Any] = {**READER[network], "text": "Когда открыта библиотека?"}
        if network == "vk":
            data["group_id"] = page.seeded["group_id"]
        page.simulate("message", **data)
        view = httpx.get(page.server.url + "/_emulator/", timeout=5).text
        sources = re.findall(r"<img [^>]*src='([^']+)'", view)
        assert len(sources) == 1, sources
        shown = httpx.get(page.server.url + sources[0], timeout=5)
    assert "Неделя &lt;детской&gt; книги" in view and "<детской>" not in view
    assert shown.status_code == 200 and shown.headers["content-type"].startswith("image/")
    with Image.open(io.BytesIO(shown.content)) as image:
        assert image.size == (32, 24)  # the photo that was published, as the network keeps it
    assert "Когда открыта библиотека?" in view
    if poll is not None:
        assert "Что почитать летом?" in view and "Стихи" in view
