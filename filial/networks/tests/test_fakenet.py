"""A fifth network is one package: the suite's fake network (``networks/tests/fakenet/``), registered only here,
publishes, receives a comment and shows in the composer's previews with no line changed outside its package."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from filial.channels.models import Channel
from filial.conftest import Net
from filial.inbox import pipeline
from filial.inbox.models import InboxItem
from filial.networks import ratelimit, registry
from filial.networks.tests import fakenet
from filial.networks.tests.fakenet import connector as fake
from filial.outbox.tests.helpers import run_row
from filial.publishing.jobs import DELIVERY
from filial.publishing.models import Delivery, Post
from filial.publishing.previews import PreviewInput, page_preview
from filial.publishing.services import PostData, post_create, post_submit


@pytest.fixture
def fakenet_page(net: Net, settings: Any) -> Iterator[Channel]:
    registry.register(fakenet.SPEC)
    ratelimit.reset_limiter()  # a new limiter knows the new network's budgets
    settings.FILIAL_FAKENET_API_URL = fakenet.SPEC.real_api_url
    channel = Channel(unit=net.central, network="fakenet", kind=Channel.Kind.CHANNEL, name="Библиотека на FakeNet",
                      external_id="lib-1", status=Channel.Status.ACTIVE)
    channel.set_credentials({"token": "fake-token"})
    channel.save()
    try:
        yield channel
    finally:
        registry.unregister("fakenet")
        ratelimit.reset_limiter()
        fake.WALLS.clear()
        fake.COMMENTS.clear()


def test_the_fake_network_is_not_registered_outside_its_tests() -> None:
    assert "fakenet" not in registry.names()


def test_a_fake_network_page_publishes_receives_a_comment_and_shows_in_previews(
        net: Net, fakenet_page: Channel) -> None:
    editor = net.users["admin"]
    post = post_create(actor=editor, data=PostData(
        unit=net.central, kind=Post.Kind.NOTE, text="Книжная выставка «Осень» открыта", channels=[fakenet_page],
        link="https://library.example/autumn", publish_at=timezone.now() + timedelta(hours=1)))
    post = post_submit(actor=editor, post=post)
    past = timezone.now() - timedelta(seconds=1)
    Post.objects.filter(pk=post.pk).update(publish_at=past)
    post.deliveries.update(due_at=past)
    delivery = Delivery.objects.get(post=post, channel=fakenet_page)

    assert run_row(DELIVERY, delivery.pk) == "published"
    delivery.refresh_from_db()
    assert delivery.state == Delivery.State.PUBLISHED and delivery.external_id == "1"
    assert fake.WALLS["lib-1"][0]["text"] == "Книжная выставка «Осень» открыта https://library.example/autumn"

    fake.add_comment("lib-1", delivery.external_id, "Приду в субботу!")
    assert pipeline.poll_page(fakenet_page.pk) == "ok: 1 new"
    item = InboxItem.objects.get(channel=fakenet_page)
    assert item.text == "Приду в субботу!" and item.conversation.delivery_id == delivery.pk

    page = page_preview(fakenet_page, PreviewInput(text="а" * 290, link="https://library.example/autumn"))
    assert page.network_name == "FakeNet" and page.link_in_text and not page.link_card
    assert page.limit == 280 and page.length == 290 + 1 + len("https://library.example/autumn")
    assert any("FakeNet takes at most 280" in w for w in page.warnings)
