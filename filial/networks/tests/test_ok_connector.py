"""OK connector against the OK emulator over real HTTP: publishing, page info, stats, polls, inbox, replies."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from filial.networks.base import NetworkError, PollSpec, PostPayload
from filial.networks.ok.client import graph_url, rest_url
from filial.networks.ok.connector import OKConnector
from filial.networks.registry import connector_class
from filial.networks.tests.ok_conformance import World, image, ok_world


@pytest.fixture
def world() -> Iterator[World]:
    with ok_world() as w:
        yield w


def test_registry_finds_the_connector() -> None:
    assert connector_class("ok") is OKConnector
    caps = OKConnector.capabilities
    assert caps.idempotency is False and caps.polls and caps.edit and caps.max_photos == 10


def test_base_urls() -> None:
    assert rest_url("https://api.ok.ru/fb.do") == "https://api.ok.ru/fb.do"
    assert rest_url("http://127.0.0.1:8000") == "http://127.0.0.1:8000/fb.do"
    assert graph_url("https://api.ok.ru/fb.do") == "https://api.ok.ru/graph/"
    assert graph_url("http://127.0.0.1:8000/ok/") == "http://127.0.0.1:8000/ok/graph/"


def test_verify_fills_name_link_and_audience(world: World) -> None:
    info = world.connector().verify()
    assert info.name == "Центральная библиотека"
    assert info.url == f"https://ok.ru/group/{world.gid}"
    assert info.audience == 25
    world.app.simulate("new_member", {"name": "Новый читатель"})
    assert world.connector().channel_info().audience == 26


def test_verify_refuses_a_token_of_a_non_admin(world: World) -> None:
    world.app.state["users"]["571"] = {"name": "Просто читатель"}
    world.app.state["tokens"]["tkn1reader"] = {"kind": "user", "app": world.credentials["application_key"],
                                                "uid": "571", "permissions": ["VALUABLE_ACCESS"], "status": "active"}
    with pytest.raises(NetworkError) as info:
        world.connector(access_token="tkn1reader").verify()
    assert info.value.needs_reauth and info.value.code == "not_admin"
    assert "not an administrator" in info.value.message


def test_verify_unknown_group_is_permanent(world: World) -> None:
    with pytest.raises(NetworkError) as info:
        world.connector(external_id="57999999999999").verify()
    assert info.value.permanent and not info.value.needs_reauth and info.value.code == 300


def test_verify_bot_token_of_another_group(world: World) -> None:
    other = world.app.seed(gid="57000000000777", name="Другая")
    with pytest.raises(NetworkError) as info:
        world.connector(bot_token=other["credentials"]["bot_token"]).verify()
    assert info.value.needs_reauth and info.value.code == "bot_token_group"


def test_publish_text(world: World) -> None:
    published = world.connector().publish(PostPayload(text="Новые книги\nв отделе краеведения", key="d1"))
    assert published.url == f"https://ok.ru/group/{world.gid}/topic/{published.external_id}"
    topic = world.app.state["topics"][published.external_id]
    assert topic["media"] == [{"type": "text", "text": "Новые книги\nв отделе краеведения"}]
    (post,) = world.rest("mediatopic.post")
    assert post["params"]["type"] == "GROUP_THEME" and post["params"]["gid"] == world.gid


def test_publish_photos_link_and_poll(world: World) -> None:
    post = PostPayload(text="Вечер поэзии", key="d2", photos=[image("PNG"), image("JPEG"), image("GIF")],
                       link="https://library.example/events/1",
                       poll=PollSpec("Придёте?", ["Да", "Нет", "Может быть"]))
    published = world.connector().publish(post)
    topic = world.app.state["topics"][published.external_id]
    kinds = [block["type"] for block in topic["media"]]
    assert kinds == ["text", "photo", "link", "poll"]
    photo_ids = topic["media"][1]["photo_ids"]
    assert len(photo_ids) == 3
    assert all(world.app.state["photos"][pid]["status"] == "attached" for pid in photo_ids)
    poll = world.app.state["polls"][topic["media"][3]["poll_id"]]
    assert [a["text"] for a in poll["answers"]] == ["Да", "Нет", "Может быть"]
    assert poll["options"] == ["SingleChoice", "AnonymousVoting"]
    order = [entry["method"] for entry in world.app.requests]
    assert order == ["photosV2.getUploadUrl", "uploadImage", "mediatopic.post"]
    upload = world.app.requests[1]["params"]["files"]
    assert sorted(upload) == ["pic1", "pic2", "pic3"]
    attachment = json.loads(world.rest("mediatopic.post")[0]["params"]["attachment"])
    assert attachment["media"][1]["type"] == "photo" and len(attachment["media"][1]["list"]) == 3


def test_poll_multiple_public(world: World) -> None:
    post = PostPayload(text="", key="d3", poll=PollSpec("Какие жанры?", ["Детектив", "Фэнтези"], multiple=True,
                                                        anonymous=False))
    published = world.connector().publish(post)
    topic = world.app.state["topics"][published.external_id]
    assert [block["type"] for block in topic["media"]] == ["poll"]
    assert world.app.state["polls"][topic["media"][0]["poll_id"]]["options"] == []


def test_edit_and_delete(world: World) -> None:
    connector = world.connector()
    published = connector.publish(PostPayload(text="Черновой текст", key="d4"))
    connector.edit(published.external_id, PostPayload(text="Исправленный текст", key="d4", photos=[image()]))
    topic = world.app.state["topics"][published.external_id]
    assert topic["media"][0] == {"type": "text", "text": "Исправленный текст"}
    assert topic["media"][1]["type"] == "photo"
    connector.delete(published.external_id)
    assert world.app.state["topics"][published.external_id]["deleted"] is True
    connector.delete(published.external_id)  # already gone: nothing to do
    with pytest.raises(NetworkError) as info:
        connector.edit(published.external_id, PostPayload(text="x", key="d4"))
    assert info.value.permanent and info.value.code == 300


def test_post_stats(world: World) -> None:
    connector = world.connector()
    first = connector.publish(PostPayload(text="Один", key="s1"))
    second = connector.publish(PostPayload(text="Два", key="s2"))
    world.app.simulate("like", {"topic_id": first.external_id, "count": 7})
    world.app.simulate("reshare", {"topic_id": first.external_id, "count": 2})
    world.app.simulate("view", {"topic_id": first.external_id, "count": 130})
    world.app.simulate("comment", {"topic_id": first.external_id, "text": "Спасибо"})
    stats = connector.post_stats([first.external_id, second.external_id])
    assert stats[first.external_id].likes == 7 and stats[first.external_id].reposts == 2
    assert stats[first.external_id].views == 130 and stats[first.external_id].comments == 1
    assert stats[second.external_id].likes == 0


def test_poll_results(world: World) -> None:
    connector = world.connector()
    published = connector.publish(PostPayload(text="Опрос", key="p1", photos=[image()], link="https://a.example",
                                              poll=PollSpec("Удобное время?", ["Утро", "Вечер"])))
    for uid in ("601", "602", "603"):
        world.app.simulate("vote", {"topic_id": published.external_id, "uid": uid, "answer": 1})
    world.app.simulate("vote", {"topic_id": published.external_id, "uid": "604", "answer": 0})
    results = connector.poll_results(published)
    assert results is not None
    assert results.answers == [("Утро", 1), ("Вечер", 3)] and results.total_voters == 4
    plain = connector.publish(PostPayload(text="Без опроса", key="p2"))
    assert connector.poll_results(plain) is None


def test_comments_via_polling_with_cursor_and_reply(world: World) -> None:
    connector = world.connector()
    published = connector.publish(PostPayload(text="Обсуждаем", key="c1"))
    world.app.simulate("comment", {"topic_id": published.external_id, "text": "Когда начало?", "uid": "611",
                                   "name": "Анна Смирнова"})
    page = connector.fetch_updates(None)
    assert [(i.kind, i.text, i.author_name, i.post_external_id) for i in page.items] == [
        ("comment", "Когда начало?", "Анна Смирнова", published.external_id)]
    assert connector.fetch_updates(page.cursor).items == []
    reply_id = connector.reply(page.items[0], "В 18:00", key="r1")
    stored = world.app.state["comments"][published.external_id][-1]
    assert stored["id"] == reply_id and stored["reply_to_comment_id"] == page.items[0].external_id
    assert stored["author_ref"] == f"group:{world.gid}"
    world.app.simulate("comment", {"topic_id": published.external_id, "text": "Спасибо!", "uid": "611"})
    later = connector.fetch_updates(page.cursor)
    assert [i.text for i in later.items] == ["Спасибо!"]  # our own reply is not an inbound item
    assert connector.fetch_updates(later.cursor).items == []


def test_comment_paging_follows_ok_anchors(world: World) -> None:
    connector = world.connector()
    connector.page_size = 2
    published = connector.publish(PostPayload(text="Много комментариев", key="c2"))
    for n in range(5):
        world.app.simulate("comment", {"topic_id": published.external_id, "text": f"#{n}"})
    page = connector.fetch_updates(None)
    assert [i.text for i in page.items] == ["#0", "#1", "#2", "#3", "#4"]
    calls = world.rest("discussions.getComments")
    anchors = [c["params"]["anchor"] for c in calls]
    assert len(calls) == 3 and anchors[0] == "FIRST" and len(set(anchors)) == 3


def test_messages_via_polling_and_reply(world: World) -> None:
    connector = world.connector()
    world.app.simulate("message", {"uid": "621", "name": "Мария Иванова", "text": "Есть ли книга «Дюна»?"})
    page = connector.fetch_updates(None)
    (item,) = page.items
    assert item.kind == "message" and item.author_id == "621" and item.thread_id.startswith("chat:")
    assert item.external_id.startswith("mid:")
    mid = connector.reply(item, "Да, на абонементе", key="m1")
    chat = world.app.state["chats"][item.thread_id]
    assert chat["messages"][-1]["message"] == {"text": "Да, на абонементе", "seq": chat["messages"][-1][
        "message"]["seq"], "mid": mid}
    assert connector.fetch_updates(page.cursor).items == []  # our answer is not inbound
    world.app.simulate("message", {"uid": "621", "text": "Спасибо"})
    assert [i.text for i in connector.fetch_updates(page.cursor).items] == ["Спасибо"]


def test_send_direct_message(world: World) -> None:
    connector = world.connector()
    world.app.simulate("allow_messages", {"uid": "631", "name": "Ольга"})
    mid = connector.send_message("631", "Ваша книга ждёт вас", key="dm1")
    assert mid.startswith("mid:")
    (chat,) = [c for c in world.app.state["chats"].values() if c["uid"] == "631"]
    assert chat["messages"][-1]["message"]["text"] == "Ваша книга ждёт вас"
    with pytest.raises(NetworkError) as info:
        connector.send_message("user:632", "Здравствуйте", key="dm2")
    assert info.value.permanent and info.value.code == "not_allowed"


def test_find_published(world: World) -> None:
    connector = world.connector()
    post = PostPayload(text="Уникальный анонс", key="f1", photos=[image()], link="https://x.example/1")
    assert connector.find_published(post) is None
    published = connector.publish(post)
    connector.publish(PostPayload(text="Другой пост", key="f2"))
    found = connector.find_published(post)
    assert found is not None and found.external_id == published.external_id
    assert connector.find_published(PostPayload(text="Уникальный анонс", key="f3")) is None  # no photo
