"""VK Callback API: confirmation, secret check and parsing of the bodies the emulator would POST."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from filial.networks.base import PostPayload
from filial.networks.tests.vk_conformance import VKEnv, vk_env
from filial.networks.vk.webhooks import CALLBACK_OK, WebhookError, handle_callback, parse_event

pytestmark = pytest.mark.filterwarnings("ignore::ResourceWarning")


@pytest.fixture
def vk() -> Iterator[VKEnv]:
    yield from vk_env()


def _handle(env: VKEnv, body: object) -> object:
    raw = body if isinstance(body, bytes | str) else json.dumps(body)
    return handle_callback(raw, group_id=env.page["external_id"], secret=env.page["secret"],
                           confirmation_code=env.page["confirmation_code"])


def test_confirmation_answers_the_code(vk: VKEnv) -> None:
    result = _handle(vk, {"type": "confirmation", "group_id": 4242})
    assert result.response == vk.page["confirmation_code"] and result.items == []  # type: ignore[attr-defined]
    with pytest.raises(WebhookError):
        _handle(vk, {"type": "confirmation", "group_id": 1})  # another community
    with pytest.raises(WebhookError):
        _handle(vk, {"type": "confirmation", "group_id": 4242, "secret": "wrong"})


def test_comments_and_messages_arrive_as_in_long_poll(vk: VKEnv) -> None:
    connector = vk.connector()
    published = connector.publish(PostPayload(text="Пост", key="d-1"))
    cursor = connector.fetch_updates(None).cursor
    vk.simulate("comment", post_id=1, user_id=701, text="<script>Комментарий</script>")
    vk.simulate("message", user_id=702, text="Сообщение")
    vk.simulate("new_member", user_id=703)
    vk.simulate("allow_messages", user_id=704)
    polled = connector.fetch_updates(cursor).items
    bodies = vk.app.callback_bodies(4242)
    results = [_handle(vk, body) for body in bodies]
    assert all(r.response == CALLBACK_OK for r in results)  # type: ignore[attr-defined]
    assert [r.event_type for r in results] == [  # type: ignore[attr-defined]
        "wall_reply_new", "message_new", "group_join", "message_allow"]
    items = [item for r in results for item in r.items]  # type: ignore[attr-defined]
    assert [(i.kind, i.external_id, i.text, i.author_id) for i in items] == [
        (p.kind, p.external_id, p.text, p.author_id) for p in polled]
    comment, message = items
    assert comment.text == "<script>Комментарий</script>" and comment.post_external_id == published.external_id
    assert (message.thread_id, message.text) == ("702", "Сообщение")
    assert results[0].event_id and results[0].event_id != results[1].event_id  # type: ignore[attr-defined]


def test_wrong_or_missing_secret_is_refused(vk: VKEnv) -> None:
    vk.simulate("message", user_id=710, text="Привет")
    body = vk.app.callback_bodies(4242)[0]
    with pytest.raises(WebhookError, match="secret") as wrong:
        _handle(vk, {**body, "secret": "not-it"})
    assert wrong.value.status == 403
    with pytest.raises(WebhookError, match="secret"):
        _handle(vk, {k: v for k, v in body.items() if k != "secret"})
    with pytest.raises(WebhookError, match="no Callback API secret"):
        handle_callback(json.dumps(body), group_id=4242, secret="", confirmation_code="x")
    with pytest.raises(WebhookError, match="4243"):
        _handle(vk, {**body, "group_id": 4243})
    with pytest.raises(WebhookError) as garbage:
        _handle(vk, b"\xff not json")
    assert garbage.value.status == 400
    with pytest.raises(WebhookError):
        _handle(vk, {"object": {}})


def test_parse_event_ignores_the_community_own_comments_and_outgoing_messages() -> None:
    own = {"type": "wall_reply_new", "group_id": 5, "object": {"id": 3, "from_id": -5, "post_id": 1,
                                                                "owner_id": -5, "text": "ответ", "date": 1}}
    out = {"type": "message_new", "group_id": 5, "object": {"message": {"id": 9, "out": 1, "peer_id": 2,
                                                                         "from_id": -5, "text": "x", "date": 1}}}
    reply = {"type": "wall_reply_new", "group_id": 5, "object": {"id": 4, "from_id": 7, "post_id": 1,
                                                                  "owner_id": -5, "text": "ок", "date": 1,
                                                                  "reply_to_comment": 3}}
    assert parse_event(own, 5) == [] and parse_event(out, "club5") == []
    (item,) = parse_event(reply, 5)
    assert (item.external_id, item.reply_to, item.thread_id) == ("-5_4", "-5_3", "-5_1")
