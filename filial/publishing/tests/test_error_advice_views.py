"""Network errors on the post page and the outgoing messages: plain Russian advice, the raw answer folded under
«Подробности» (issue 14)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.urls import reverse
from django.utils import timezone

from filial.conftest import Net
from filial.outbox.models import Attempt
from filial.publishing.models import Delivery, OutgoingMessage
from filial.publishing.tests.test_engine_world import World, engine_world
from filial.publishing.tests.test_messages_views import _login, _message
from filial.publishing.tests.test_views_posts import login, make_post

pytestmark = pytest.mark.filterwarnings("ignore::ResourceWarning")


@pytest.fixture
def world(net: Net, settings: Any) -> Iterator[World]:
    yield from engine_world(net, settings)


def test_post_page_explains_a_failed_delivery_and_folds_the_raw_answer(net, client):
    post = make_post(net, "methodologist", state="scheduled")
    delivery = Delivery.objects.get(post=post)
    raw = "ok mediatopic.post [601]: Text limit reached"
    Delivery.objects.filter(pk=delivery.pk).update(state=Delivery.State.FAILED, last_error=raw,
                                                   last_error_code="601")
    Attempt.objects.create(delivery=delivery, started_at=timezone.now(), outcome=Attempt.Outcome.FAILED,
                           error_code="601", error_message=raw)
    login(client, net, "editor_branch4")
    body = client.get(reverse("publishing:post_detail", args=[post.pk]), HTTP_ACCEPT_LANGUAGE="ru").content.decode()
    assert body.count("Текст длиннее, чем разрешает эта соцсеть") == 2  # the last error and the attempt
    assert "<summary>Подробности</summary>" in body
    assert "Text limit reached" in body  # the raw answer is kept, folded
    assert body.index("Текст длиннее") < body.index("Text limit reached")


def test_outgoing_message_says_the_bot_cannot_write_first(world: World, client: Any) -> None:
    raw = ("telegram sendMessage [403]: Forbidden: bot can't initiate conversation with a user (the person must "
           "start the bot and not block it)")
    failed = _message(world, "tg", "Ваша книга готова", OutgoingMessage.State.FAILED, last_error=raw,
                      last_error_code="403")
    _login(client, world.net, "editor_central")
    html = client.get("/outgoing/", HTTP_ACCEPT_LANGUAGE="ru").content.decode()
    start = html.index(f'id="message-{failed.pk}"')
    card = html[start:html.index("</article>", start)]
    assert "Читатель ещё не писал боту — бот не может написать первым" in card
    assert "<details" in card and "bot can&#x27;t initiate conversation" in card
