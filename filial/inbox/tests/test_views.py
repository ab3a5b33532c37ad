"""The inbox pages: readers' texts are inert (escaped, links as text, no remote images), filters and search,
pagination without N+1, permissions, the navigation counter, quick replies, deadlines settings."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from filial.conftest import PASSWORD, Net
from filial.inbox.models import Conversation, InboxSettings, OpeningHours, ReplyTemplate
from filial.inbox.tests.factories import reader_comment, reader_message

pytestmark = pytest.mark.django_db

XSS = [
    '<script>alert("x")</script>',
    '<a href="javascript:alert(1)">нажми</a> и ещё javascript:alert(2)',
    '<img src="https://evil.example/x.png" onerror="alert(3)">',
    "Смотрите https://evil.example/phish и <iframe src=//evil.example>",
]


def login(net: Net, who: str = "admin") -> Client:
    client = Client()
    assert client.login(username=net.users[who].username, password=PASSWORD)
    return client


def test_hostile_texts_are_rendered_inert(net: Net) -> None:
    channel = net.channels["central_vk"]
    conversation = None
    for text in XSS:
        conversation = reader_message(channel, text, person="666", name='<b onmouseover="x()">Злоумышленник</b>')
    reader_comment(channel, XSS[2], name="<script>n()</script>")
    assert conversation is not None
    client = login(net)
    for url in (reverse("inbox:inbox"), reverse("inbox:conversation", args=[conversation.pk])):
        html = client.get(url).content.decode()
        for raw in ("<script>alert", "<img", "onerror=\"", "<iframe", "href=\"javascript:", "<b onmouseover",
                    "href=\"https://evil", "src=\"https://evil"):
            assert raw not in html, (url, raw)
    html = client.get(reverse("inbox:conversation", args=[conversation.pk])).content.decode()
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in html
    assert "https://evil.example/phish" in html  # shown as text, not a link


def test_list_queries_do_not_grow_with_rows(net: Net, django_assert_max_num_queries: Any) -> None:
    client = login(net)
    for n in range(3):
        reader_message(net.channels["central_vk"], f"Вопрос {n}")
    with CaptureQueriesContext(connection) as few:
        assert client.get(reverse("inbox:inbox")).status_code == 200
    for n in range(25):
        reader_message(net.channels["central_ok" if n % 2 else "children_tg"], f"Ещё вопрос {n}")
        reader_comment(net.channels["branch4_ok"], f"Комментарий {n}", post=f"post{n}")
    with django_assert_max_num_queries(len(few)):
        response = client.get(reverse("inbox:inbox"))
    assert response.status_code == 200
    assert response.context["page_obj"].paginator.count == 53
    assert len(response.context["conversations"]) == 30  # one page


def test_detail_queries_do_not_grow_with_items(net: Net, django_assert_max_num_queries: Any) -> None:
    client = login(net)
    conversation = reader_message(net.channels["central_vk"], "Первый", person="77")
    url = reverse("inbox:conversation", args=[conversation.pk])
    with CaptureQueriesContext(connection) as few:
        assert client.get(url).status_code == 200
    for n in range(20):
        reader_message(net.channels["central_vk"], f"Сообщение {n}", person="77")
    with django_assert_max_num_queries(len(few)):
        assert client.get(url).status_code == 200


def test_filters_and_search(net: Net) -> None:
    client = login(net)
    a = reader_message(net.channels["central_vk"], "Где взять «Войну и мир»?", name="Анна Петрова")
    b = reader_message(net.channels["children_tg"], "Когда утренник?", name="Борис")
    c = reader_comment(net.channels["branch4_ok"], "Спасибо за выставку", name="Вера")
    Conversation.objects.filter(pk=c.pk).update(due_at=datetime.now(tz=UTC) - timedelta(hours=1))
    Conversation.objects.filter(pk=b.pk).update(assignee=net.users["admin"], state="in_progress")

    def ids(**query: Any) -> set[int]:
        response = client.get(reverse("inbox:inbox"), query)
        return {conv.pk for conv in response.context["conversations"]}

    assert ids() == {a.pk, b.pk, c.pk}
    assert ids(q="войну") == {a.pk}  # any case, any alphabet
    assert ids(q="петрова") == {a.pk}  # the author
    assert ids(network="telegram") == {b.pk}
    assert ids(unit=net.branch4.pk) == {c.pk}
    assert ids(channel=net.channels["central_vk"].pk) == {a.pk}
    assert ids(overdue="on") == {c.pk}
    assert ids(mine="on") == {b.pk}
    assert ids(state="new") == {a.pk, c.pk}
    Conversation.objects.filter(pk=a.pk).update(state="closed")
    assert ids() == {b.pk, c.pk}  # open ones by default
    assert ids(state="") == {a.pk, b.pk, c.pk}


def test_overdue_rows_are_highlighted(net: Net) -> None:
    c = reader_message(net.channels["central_vk"], "Ау?")
    Conversation.objects.filter(pk=c.pk).update(due_at=datetime.now(tz=UTC) - timedelta(minutes=5))
    html = login(net).get(reverse("inbox:inbox")).content.decode()
    assert 'class="overdue"' in html and "overdue" in html


def test_units_are_scoped(net: Net) -> None:
    central = reader_message(net.channels["central_vk"], "В центральную")
    children = reader_message(net.channels["children_tg"], "В детскую")
    client = login(net, "editor_children")
    listed = {c.pk for c in client.get(reverse("inbox:inbox")).context["conversations"]}
    assert listed == {children.pk}
    assert client.get(reverse("inbox:conversation", args=[central.pk])).status_code == 404
    viewer = login(net, "viewer")
    assert viewer.get(reverse("inbox:conversation", args=[central.pk])).status_code == 200
    viewer.post(reverse("inbox:state", args=[central.pk]), {"state": "closed"})
    central.refresh_from_db()
    assert central.state == "new"  # a viewer changes nothing
    outsider = login(net, "outsider")
    assert outsider.get(reverse("inbox:conversation", args=[central.pk])).status_code == 404


def test_nav_counter_is_one_query(net: Net) -> None:
    reader_message(net.channels["central_vk"], "Новое")
    overdue = reader_message(net.channels["central_vk"], "Просрочено")
    Conversation.objects.filter(pk=overdue.pk).update(state="in_progress",
                                                      due_at=datetime.now(tz=UTC) - timedelta(hours=2))
    answered = reader_message(net.channels["central_vk"], "Отвечено")
    Conversation.objects.filter(pk=answered.pk).update(state="answered")
    client = login(net)
    response = client.get(reverse("inbox:inbox"))
    [item] = [i for i in response.context["nav_items"] if i["url"] == reverse("inbox:inbox")]
    assert item["badge"] == 2
    from filial.accounts.selectors import access_for
    from filial.inbox.selectors import nav_badge

    access = access_for(net.users["admin"])
    with CaptureQueriesContext(connection) as queries:
        assert nav_badge(access) == 2
    assert len(queries) == 1


def test_assign_state_note_and_urgent(net: Net) -> None:
    conversation = reader_message(net.channels["central_vk"], "Вопрос")
    client = login(net, "editor_central")
    client.post(reverse("inbox:assign", args=[conversation.pk]), {"assignee": net.users["editor_central"].pk})
    client.post(reverse("inbox:note", args=[conversation.pk]), {"text": "Позвонить <b>завтра</b>"})
    conversation.refresh_from_db()
    assert conversation.assignee == net.users["editor_central"] and conversation.state == "in_progress"
    due = conversation.due_at
    client.post(reverse("inbox:state", args=[conversation.pk]), {"urgent": "1"})
    conversation.refresh_from_db()
    assert conversation.urgent and conversation.due_at is not None and due is not None and conversation.due_at < due
    html = client.get(reverse("inbox:conversation", args=[conversation.pk])).content.decode()
    assert "Позвонить &lt;b&gt;завтра&lt;/b&gt;" in html
    client.post(reverse("inbox:state", args=[conversation.pk]), {"state": "closed"})
    conversation.refresh_from_db()
    assert conversation.state == "closed" and conversation.due_at is None
    # Someone who cannot answer for the unit cannot be assigned.
    client.post(reverse("inbox:assign", args=[conversation.pk]), {"assignee": net.users["editor_children"].pk})
    conversation.refresh_from_db()
    assert conversation.assignee == net.users["editor_central"]


def test_quick_replies_are_managed_by_methodologists(net: Net) -> None:
    editor = login(net, "editor_central")
    editor.post(reverse("inbox:templates"), {"unit": net.central.pk, "title": "Часы", "text": "Мы открыты 9-18"})
    assert not ReplyTemplate.objects.exists()
    methodologist = login(net, "methodologist")
    methodologist.post(reverse("inbox:templates"), {"unit": net.central.pk, "title": "Часы",
                                                    "text": "Мы открыты с 9 до 18"})
    [template] = ReplyTemplate.objects.all()
    conversation = reader_message(net.channels["central_vk"], "Когда вы открыты?")
    html = editor.get(reverse("inbox:conversation", args=[conversation.pk])).content.decode()
    assert 'data-text="Мы открыты с 9 до 18"' in html
    methodologist.post(reverse("inbox:templates"), {"delete": template.pk})
    assert not ReplyTemplate.objects.exists()


def test_deadline_settings_and_opening_hours(net: Net) -> None:
    admin = login(net)
    response = admin.post(reverse("inbox:settings"), {"normal_hours": 9, "urgent_hours": 3,
                                                      "urgent_keywords": "жалоба", "digest_enabled": "on"})
    assert response.status_code == 302
    settings_row = InboxSettings.objects.get(system=net.system)
    assert (settings_row.normal_hours, settings_row.urgent_hours, settings_row.keywords) == (9, 3, ["жалоба"])
    data = {f"opens_{d}": "10:00" for d in range(1, 6)} | {f"closes_{d}": "19:00" for d in range(1, 6)}
    assert admin.post(reverse("inbox:opening_hours", args=[net.branch4.pk]), data).status_code == 302
    assert sorted(OpeningHours.objects.filter(unit=net.branch4).values_list("weekday", flat=True)) == [1, 2, 3, 4, 5]
    assert login(net, "editor_central").get(reverse("inbox:settings")).status_code == 403
    c = reader_message(net.channels["branch4_ok"], "Жалоба на шум", at=datetime(2026, 11, 28, 12, 0, tzinfo=UTC))
    # Saturday 17:00 in Yekaterinburg: two hours until 19:00, then Tuesday from 10:00; urgent = 3 working hours.
    assert c.urgent and c.due_at == datetime(2026, 12, 1, 6, 0, tzinfo=UTC)


def test_attachments_are_metadata_only(net: Net) -> None:
    raw = {"message": {"photo": [{"file_id": "a", "file_size": 1200}], "document": {
        "file_name": "<script>.pdf", "file_size": 5000, "mime_type": "application/pdf"}}}
    conversation = reader_message(net.channels["children_tg"], "[photo]", raw=raw)
    item = conversation.items.get()
    assert [a["type"] for a in item.attachments] == ["photo", "document"]
    assert all("url" not in a and "file_id" not in a for a in item.attachments)
    html = login(net).get(reverse("inbox:conversation", args=[conversation.pk])).content.decode()
    assert "&lt;script&gt;.pdf" in html and "<img" not in html.split('id="thread-h"')[1]


def test_reply_delivery_states_are_shown(net: Net) -> None:
    from django.utils import timezone

    from filial.inbox.models import InboxItem
    from filial.publishing.models import OutgoingMessage

    conversation = reader_message(net.channels["children_tg"], "Вопрос")
    for state, error in (("failed", "Forbidden: bot was blocked by the user"), ("uncertain", "timeout")):
        message = OutgoingMessage.objects.create(channel=net.channels["children_tg"], kind="reply", recipient_id="1",
                                                 text="Ответ", purpose="inbox_reply", due_at=timezone.now(),
                                                 state=state, last_error=error)
        InboxItem.objects.create(conversation=conversation, channel=net.channels["children_tg"], direction="out",
                                 kind="message", text=f"Ответ {state}", at=timezone.now(), outgoing=message)
    html = login(net).get(reverse("inbox:conversation", args=[conversation.pk])).content.decode()
    assert "Forbidden: bot was blocked by the user" in html and "Try again" in html
    assert reverse("publishing:message_list") in html  # where an uncertain reply is confirmed or sent again
