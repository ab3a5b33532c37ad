"""/api/v1/conversations/: list with filters, a conversation with its items, reply (through the engine to the
emulator), assign and state; scoped to the user's units."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from rest_framework.test import APIClient

from filial.conftest import Net
from filial.inbox import pipeline
from filial.inbox.models import Conversation
from filial.inbox.tests.factories import reader_comment, reader_message
from filial.inbox.tests.world import World, message
from filial.publishing.tests.test_engine_world import engine_world


def api(net: Net, who: str = "admin") -> APIClient:
    client = APIClient()
    client.force_authenticate(net.users[who])
    return client


@pytest.mark.django_db
def test_list_filters_and_detail(net: Net) -> None:
    a = reader_message(net.channels["central_vk"], "Вопрос про <script>", name="Анна")
    b = reader_comment(net.channels["children_tg"], "Комментарий", name="Борис")
    client = api(net)
    body = client.get("/api/v1/conversations/").json()
    assert {row["id"] for row in body["results"]} == {a.pk, b.pk}
    assert [r["id"] for r in client.get("/api/v1/conversations/?network=telegram").json()["results"]] == [b.pk]
    assert [r["id"] for r in client.get("/api/v1/conversations/?search=анна").json()["results"]] == [a.pk]
    assert client.get("/api/v1/conversations/?state=bogus").status_code == 400
    detail = client.get(f"/api/v1/conversations/{a.pk}/").json()
    assert detail["items"][0]["text"] == "Вопрос про <script>" and detail["state"] == "new"
    assert "raw" not in detail["items"][0]
    # Scoped: the children's editor sees only the children's library.
    other = api(net, "editor_children")
    assert [r["id"] for r in other.get("/api/v1/conversations/").json()["results"]] == [b.pk]
    assert other.get(f"/api/v1/conversations/{a.pk}/").status_code == 404
    assert api(net, "viewer").post(f"/api/v1/conversations/{a.pk}/state/", {"state": "closed"},
                                   format="json").status_code == 403


@pytest.mark.django_db
def test_assign_and_state(net: Net) -> None:
    a = reader_message(net.channels["central_vk"], "Вопрос")
    client = api(net, "editor_central")
    answer = client.post(f"/api/v1/conversations/{a.pk}/assign/", {"assignee": net.users["editor_central"].pk},
                         format="json")
    assert answer.status_code == 200 and answer.json()["state"] == "in_progress"
    assert client.post(f"/api/v1/conversations/{a.pk}/assign/", {"assignee": net.users["editor_children"].pk},
                       format="json").status_code == 400
    answer = client.post(f"/api/v1/conversations/{a.pk}/state/", {"state": "closed"}, format="json")
    assert answer.status_code == 200 and answer.json()["state"] == "closed"


@pytest.fixture
def world(net: Net, settings: Any) -> Iterator[World]:
    yield from engine_world(net, settings)


@pytest.mark.django_db(transaction=True)
def test_reply_through_the_api(world: World, net: Net) -> None:
    channel = world.channels["max"]
    pipeline.poll_page(channel.pk)
    message(world, "max", "Как записаться в библиотеку?", first_name="Пётр")
    pipeline.poll_page(channel.pk)
    conversation = Conversation.objects.get(channel=channel)
    answer = api(net).post(f"/api/v1/conversations/{conversation.pk}/reply/",
                           {"text": "Приходите с паспортом"}, format="json")
    assert answer.status_code == 201, answer.content
    body = api(net).get(f"/api/v1/conversations/{conversation.pk}/").json()
    assert body["state"] == "answered"
    assert [(i["direction"], i["delivery_state"]) for i in body["items"]] == [("in", None), ("out", "sent")]
    texts = [m["message"]["body"]["text"] for m in world.mx.state["messages"].values()]
    assert "Приходите с паспортом" in texts
    assert api(net).post(f"/api/v1/conversations/{conversation.pk}/reply/", {"text": ""},
                         format="json").status_code == 400


@pytest.mark.django_db
def test_list_and_detail_queries_do_not_grow(net: Net, django_assert_max_num_queries: Any) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = api(net)
    first = reader_message(net.channels["central_vk"], "Вопрос", person="1")
    with CaptureQueriesContext(connection) as few_list:
        client.get("/api/v1/conversations/")
    with CaptureQueriesContext(connection) as few_detail:
        client.get(f"/api/v1/conversations/{first.pk}/")
    for n in range(15):
        reader_message(net.channels["children_tg"], f"Ещё {n}", person=str(100 + n))
        reader_message(net.channels["central_vk"], f"Снова {n}", person="1")
    with django_assert_max_num_queries(len(few_list)):
        assert client.get("/api/v1/conversations/").status_code == 200
    with django_assert_max_num_queries(len(few_detail)):
        assert len(client.get(f"/api/v1/conversations/{first.pk}/").json()["items"]) == 16
