"""The daily digest to methodologists, the periodic task, and the open-question thread of a post."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from filial.conftest import PASSWORD, Net
from filial.inbox import digest, tasks
from filial.inbox.models import Conversation, InboxSettings
from filial.inbox.tests.factories import reader_comment, reader_message
from filial.publishing.models import Delivery, Post

pytestmark = pytest.mark.django_db


def test_digest_goes_to_methodologists_of_units_with_open_conversations(net: Net) -> None:
    net.users["methodologist"].email = "metodist@example.org"
    net.users["methodologist"].save()
    net.users["editor_central"].email = "editor@example.org"
    net.users["editor_central"].save()
    late = reader_message(net.channels["branch4_ok"], "Ответьте, пожалуйста")
    Conversation.objects.filter(pk=late.pk).update(due_at=datetime.now(tz=UTC) - timedelta(hours=3))
    reader_message(net.channels["central_vk"], "Вопрос")
    assert digest.send_digests() == 1
    [letter] = mail.outbox
    assert letter.to == ["metodist@example.org"]
    assert "Библиотека-филиал № 4: 1 open, 1 new, 1 overdue" in letter.body
    InboxSettings.objects.create(system=net.system, digest_enabled=False)
    assert digest.send_digests() == 0


def test_the_periodic_task_ingests_webhook_rows(net: Net) -> None:
    from filial.channels.models import InboundEvent
    from filial.channels.webhooks import item_event
    from filial.networks.base import InboundItem

    channel = net.channels["central_max"]
    item = InboundItem(kind="message", external_id="mid.9", thread_id="5", author_id="5", author_name="Ян",
                       text="Привет", at=timezone.now())
    InboundEvent.objects.create(**{f.name: getattr(item_event(channel, item), f.name)
                                   for f in InboundEvent._meta.concrete_fields if f.name != "id"})
    tasks.inbox_tick.call_local()
    assert Conversation.objects.get(channel=channel).items.get().text == "Привет"


def test_open_question_gathers_comments_from_every_page(net: Net) -> None:
    post = Post.objects.create(unit=net.central, kind=Post.Kind.POLL,
                               text="Какую книгу вы посоветуете?", author=net.users["admin"])
    for key, ext in (("central_vk", "-100001_5"), ("central_ok", "777"), ("children_tg", "12")):
        Delivery.objects.create(post=post, channel=net.channels[key], due_at=timezone.now(), external_id=ext,
                                state=Delivery.State.PUBLISHED)
    reader_comment(net.channels["central_vk"], "«Лето Господне»", post="-100001_5", name="Ольга")
    reader_comment(net.channels["central_ok"], "<b>Шмелёва</b>", post="777", name="Нина")
    reader_comment(net.channels["children_tg"], "Носова", post="12", name="Миша")
    reader_comment(net.channels["children_tg"], "Другое", post="13", name="Чужой пост")
    client = Client()
    client.login(username="metodist", password=PASSWORD)
    html = client.get(reverse("inbox:open_question", args=[post.pk])).content.decode()
    assert "«Лето Господне»" in html and "&lt;b&gt;Шмелёва&lt;/b&gt;" in html and "Носова" in html
    assert "Другое" not in html
    page = client.get(reverse("publishing:post_detail", args=[post.pk])).content.decode()
    assert reverse("inbox:open_question", args=[post.pk]) in page  # the post page leads to the thread
