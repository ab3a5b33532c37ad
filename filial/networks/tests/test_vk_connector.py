"""VKConnector against the VK emulator over real HTTP: publishing, page info, stats, inbox, replies, refresh."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest

from filial.networks.base import NetworkError, Photo, PollSpec, PostPayload
from filial.networks.tests.vk_conformance import VKEnv, api_records, image, vk_env
from filial.networks.vk.connector import VKConnector, random_id_for
from filial.networks.vk.oauth import DEFAULT_OAUTH_URL, oauth_url_for

pytestmark = pytest.mark.filterwarnings("ignore::ResourceWarning")


@pytest.fixture
def vk() -> Iterator[VKEnv]:
    yield from vk_env()


@pytest.fixture
def vk_limited() -> Iterator[VKEnv]:
    yield from vk_env(limited=True)


def _group(env: VKEnv) -> dict[str, Any]:
    return env.app.state["groups"][str(env.page["group_id"])]


def _post_id(external_id: str) -> int:
    return int(external_id.split("_")[1])


# --- the page -------------------------------------------------------------------------------------------------
def test_verify_gives_name_link_and_audience(vk: VKEnv) -> None:
    info = vk.connector().verify()
    assert info.external_id == "4242"
    assert info.name == "Центральная библиотека <b>"
    assert info.url == f"{vk.server.url}/cbs_library"
    assert info.audience == 1251  # the admin plus 1250 members
    vk.simulate("new_member", user_id=9001)
    assert vk.connector().channel_info().audience == 1252


def test_verify_refuses_a_user_who_is_not_an_editor(vk: VKEnv) -> None:
    with vk.app.lock:
        vk.app._user(3333)
        stranger = vk.app._new_token("user", user_id=3333)
    connector = vk.connector(credentials={"access_token": stranger})
    with pytest.raises(NetworkError) as caught:
        connector.verify()
    assert caught.value.needs_reauth and "editor or administrator" in caught.value.message


def test_verify_refuses_a_community_token_of_another_community(vk: VKEnv) -> None:
    other = vk.app.seed(group_id=5555, name="Другая")
    connector = vk.connector(credentials={**vk.page["credentials"],
                                          "community_token": other["credentials"]["community_token"]})
    with pytest.raises(NetworkError) as caught:
        connector.verify()
    assert caught.value.needs_reauth and "5555" in caught.value.message


def test_verify_with_only_a_community_token(vk: VKEnv) -> None:
    info = vk.connector(credentials={"community_token": vk.page["credentials"]["community_token"]}).verify()
    assert (info.name, info.audience) == ("Центральная библиотека <b>", 1251)


# --- publishing ------------------------------------------------------------------------------------------------
def test_publish_text_is_idempotent_by_key(vk: VKEnv) -> None:
    connector = vk.connector()
    first = connector.publish(PostPayload(text="Сегодня открыта выставка", key="delivery-1"))
    again = connector.publish(PostPayload(text="Сегодня открыта выставка", key="delivery-1"))
    assert first.external_id == again.external_id == "-4242_1"
    assert first.url == f"{vk.server.url}/wall-4242_1"
    posts = [p for p in _group(vk)["posts"].values() if not p["deleted"]]
    assert len(posts) == 1 and posts[0]["from_id"] == -4242 and posts[0]["text"] == "Сегодня открыта выставка"
    wall_posts = api_records(vk.app, lambda r: r["method"] == "wall.post")
    assert [r["params"]["guid"] for r in wall_posts] == ["delivery-1", "delivery-1"]
    assert all(r["params"]["from_group"] == "1" and r["params"]["owner_id"] == "-4242" for r in wall_posts)
    # the post is viewable on the emulator's page, escaped
    page = httpx.get(first.url).text
    assert "Сегодня открыта выставка" in page
    assert "<b>" not in httpx.get(f"{vk.server.url}/club4242").text.split("<body>")[1].split("</h2>")[0]


def test_publish_photos_link_and_poll(vk: VKEnv) -> None:
    photos = [Photo(image("PNG"), "a.png", "image/png"), Photo(image("JPEG"), "b.jpg"),
              Photo(image("GIF"), "c.gif", "image/gif")]
    post = PostPayload(text="Фото с праздника", key="d-2", photos=photos, link="https://lib.example/a,b?x=1",
                       poll=PollSpec("Придёте?", ["Да", "Нет", "Может быть"], multiple=True, anonymous=False))
    published = vk.connector().publish(post)
    stored = _group(vk)["posts"][str(_post_id(published.external_id))]
    kinds = [a.split("-")[0] if a.startswith(("photo", "poll")) else "link" for a in stored["attachments"]]
    assert kinds == ["photo", "photo", "photo", "poll", "link"]
    assert stored["attachments"][-1] == "https://lib.example/a%2Cb?x=1"  # a comma would split the list
    poll = _group(vk)["polls"][str(published.extra["poll_id"])]
    assert poll["question"] == "Придёте?" and [a["text"] for a in poll["answers"]] == ["Да", "Нет", "Может быть"]
    assert poll["multiple"] and not poll["anonymous"]
    photo = _group(vk)["photos"][stored["attachments"][0].split("_")[1]]
    assert (photo["width"], photo["height"], photo["owner_id"]) == (8, 6, -4242)
    served = httpx.get(f"{vk.server.url}/photos/-4242_{photo['id']}")
    assert served.content == photos[0].content
    uploads = [r for r in vk.app.requests if r["kind"] == "upload"]
    assert [r["files"] for r in uploads] == [{"photo": len(p.content)} for p in photos]


def test_publish_ten_photos_within_the_real_rate_limit(vk_limited: VKEnv) -> None:
    started = time.monotonic()
    photos = [Photo(image(), f"{n}.png", "image/png") for n in range(10)]
    published = vk_limited.connector().publish(PostPayload(text="", key="d-10", photos=photos))
    stored = _group(vk_limited)["posts"][str(_post_id(published.external_id))]
    assert len(stored["attachments"]) == 10 and stored["text"] == ""
    # 12 user-token calls at VK's 3 requests per second, none refused with error 6
    assert time.monotonic() - started >= 3.0
    assert all(r["body"] and "error" not in r["body"] for r in api_records(vk_limited.app))


def test_edit_changes_text_and_link_and_keeps_photos_and_poll(vk: VKEnv) -> None:
    connector = vk.connector()
    photos = [Photo(image(), "a.png", "image/png")]
    published = connector.publish(PostPayload(text="Было", key="d-3", photos=photos,
                                              poll=PollSpec("Вопрос", ["1", "2"])))
    before = list(_group(vk)["posts"][str(_post_id(published.external_id))]["attachments"])
    connector.edit(published.external_id, PostPayload(text="Стало", key="d-3", photos=photos,
                                                      link="https://lib.example/new",
                                                      poll=PollSpec("Вопрос", ["1", "2"])))
    stored = _group(vk)["posts"][str(_post_id(published.external_id))]
    assert stored["text"] == "Стало" and stored["edited"]
    assert stored["attachments"] == [*before, "https://lib.example/new"]
    assert not any(r["method"] == "photos.saveWallPhoto" for r in api_records(vk.app)[-3:])
    # a different number of photos is uploaded anew
    connector.edit(published.external_id, PostPayload(text="Стало", key="d-3", photos=photos * 2))
    assert len([a for a in stored["attachments"] if a.startswith("photo")]) == 2
    assert stored["attachments"][-1].startswith("poll")  # the poll stays


def test_delete_is_done_even_when_repeated(vk: VKEnv) -> None:
    connector = vk.connector()
    published = connector.publish(PostPayload(text="Удалить", key="d-4"))
    connector.delete(published.external_id)
    connector.delete(published.external_id)  # e.g. a repeat after a timeout: VK says 104, the post is gone
    assert _group(vk)["posts"]["1"]["deleted"]
    assert httpx.get(published.url).status_code == 404
    assert connector.post_stats([published.external_id]) == {}


def test_post_stats_and_poll_results(vk: VKEnv) -> None:
    connector = vk.connector()
    published = connector.publish(PostPayload(text="Голосуем", key="d-5", poll=PollSpec("Жанр?", ["Детектив",
                                                                                               "Фэнтези"])))
    other = connector.publish(PostPayload(text="Второй", key="d-6"))
    post_id = _post_id(published.external_id)
    vk.simulate("view", post_id=post_id, count=40)
    vk.simulate("like", post_id=post_id, count=3)
    vk.simulate("repost", post_id=post_id, count=2)
    vk.simulate("comment", post_id=post_id, text="Детектив!")
    for answer in (0, 0, 1):
        vk.simulate("vote", poll_id=published.extra["poll_id"], answer=answer)
    stats = connector.post_stats([published.external_id, other.external_id, "-4242_999"])
    assert stats[published.external_id].views == 40
    assert (stats[published.external_id].likes, stats[published.external_id].reposts,
            stats[published.external_id].comments) == (3, 2, 1)
    assert stats[other.external_id].views == 0 and "-4242_999" not in stats
    results = connector.poll_results(published)
    assert results is not None and results.answers == [("Детектив", 2), ("Фэнтези", 1)]
    assert results.total_voters == 3
    # without the poll id at hand the post is read to find its poll
    assert connector.poll_results(type(published)(external_id=published.external_id)) == results
    assert connector.poll_results(other) is None


def test_find_published_matches_text_and_attachments(vk: VKEnv) -> None:
    connector = vk.connector()
    post = PostPayload(text="Ищем этот пост", key="d-7", link="https://lib.example/x")
    assert connector.find_published(post) is None
    published = connector.publish(post)
    connector.publish(PostPayload(text="Другой пост", key="d-8"))
    found = connector.find_published(post)
    assert found is not None and found.external_id == published.external_id
    assert connector.find_published(PostPayload(text="Ищем этот пост", key="d-9")) is None  # no link


# --- inbox -----------------------------------------------------------------------------------------------------
def test_long_poll_delivers_comments_and_messages_with_names(vk: VKEnv) -> None:
    connector = vk.connector()
    published = connector.publish(PostPayload(text="Обсуждаем", key="d-10"))
    vk.simulate("comment", post_id=1, text="Старое событие")  # before the inbox is connected
    first = connector.fetch_updates(None)  # without a cursor the inbox starts from now
    assert first.items == []
    vk.simulate("comment", post_id=1, user_id=801, first_name="Иван", last_name="Петров", text="Когда начало?")
    vk.simulate("message", user_id=802, first_name="Мария", last_name="Ильина", text="Продлите книгу")
    vk.simulate("new_member", user_id=803)
    page = connector.fetch_updates(first.cursor)
    comment, message = page.items
    assert (comment.kind, comment.text, comment.author_id, comment.author_name) == (
        "comment", "Когда начало?", "801", "Иван Петров")
    assert comment.post_external_id == comment.thread_id == published.external_id
    assert comment.external_id.startswith("-4242_")
    assert (message.kind, message.thread_id, message.author_name, message.text) == (
        "message", "802", "Мария Ильина", "Продлите книгу")
    assert int(page.cursor) > int(first.cursor)
    # the same cursor gives the same events again (the caller saves it only after committing)
    assert [i.external_id for i in connector.fetch_updates(first.cursor).items] == [
        comment.external_id, message.external_id]
    assert connector.fetch_updates(page.cursor).items == []


def test_long_poll_failed_answers_are_handled(vk: VKEnv) -> None:
    connector = vk.connector()
    cursor = connector.fetch_updates(None).cursor
    vk.simulate("message", user_id=811, text="раз")
    vk.simulate("expire_lp_key")  # failed: 2 → new key, same ts: nothing lost
    page = connector.fetch_updates(cursor)
    assert [i.text for i in page.items] == ["раз"]
    vk.simulate("message", user_id=811, text="два")
    vk.simulate("lose_history")  # failed: 3 → new key and ts
    assert connector.fetch_updates(page.cursor).items == []
    vk.app.lp_history = 1
    for text in ("три", "четыре"):
        vk.simulate("message", user_id=811, text=text)
    stale = connector.fetch_updates("1")  # failed: 1 → continue from VK's ts
    assert stale.items == [] and int(stale.cursor) > 1


def test_reply_to_comment_and_message(vk: VKEnv) -> None:
    connector = vk.connector()
    connector.publish(PostPayload(text="Пост", key="d-11"))
    cursor = connector.fetch_updates(None).cursor
    vk.simulate("comment", post_id=1, user_id=821, text="Вопрос")
    vk.simulate("message", user_id=822, text="Здравствуйте")
    page = connector.fetch_updates(cursor)
    comment, message = page.items
    reply_id = connector.reply(comment, "Ответ в комментариях", key="reply-1")
    assert connector.reply(comment, "Ответ в комментариях", key="reply-1") == reply_id  # guid
    stored = _group(vk)["comments"][reply_id.split("_")[1]]
    assert (stored["from_id"], stored["reply_to_comment"], stored["text"]) == (
        -4242, int(comment.external_id.split("_")[1]), "Ответ в комментариях")
    message_id = connector.reply(message, "Ответ в сообщениях", key="reply-2")
    assert connector.reply(message, "Ответ в сообщениях", key="reply-2") == message_id  # random_id
    sent = [m for m in _group(vk)["messages"] if m["out"]]
    assert len(sent) == 1 and sent[0]["peer_id"] == 822 and sent[0]["random_id"] == random_id_for("reply-2")
    # the community's own comment comes back through Long Poll but is not an inbox item
    assert connector.fetch_updates(page.cursor).items == []
    calls = api_records(vk.app, lambda r: r["method"] in ("wall.createComment", "messages.send"))
    assert {r["token_type"] for r in calls} == {"group"}


def test_direct_message_only_to_people_who_allowed_it(vk: VKEnv) -> None:
    connector = vk.connector()
    vk.simulate("deny_messages", user_id=831)  # a VK user who has not allowed messages from the community
    with pytest.raises(NetworkError) as caught:
        connector.send_message("831", "Ваша книга ждёт", key="msg-1")
    assert caught.value.permanent and caught.value.code == 901
    # No pre-check: one messages.send call, refused by VK itself with error 901.
    assert [r["method"] for r in api_records(vk.app)] == ["messages.send"]
    vk.simulate("allow_messages", user_id=831)
    message_id = connector.send_message("831", "Ваша книга ждёт", key="msg-1")
    assert connector.send_message("831", "Ваша книга ждёт", key="msg-1") == message_id
    assert len([m for m in _group(vk)["messages"] if m["out"]]) == 1
    with pytest.raises(NetworkError) as too_long:
        connector.send_message("831", "я" * 4097, key="msg-2")
    assert too_long.value.permanent


# --- VK ID token refresh ---------------------------------------------------------------------------------------
def test_token_is_refreshed_before_it_expires(vk: VKEnv) -> None:
    saved: list[dict[str, Any]] = []
    credentials = {**vk.page["credentials"], "expires_at": int(time.time()) + 120}
    connector = vk.connector(credentials=credentials, on_credentials=saved.append,
                             refresh_margin=timedelta(minutes=10))
    connector.publish(PostPayload(text="После обновления", key="d-12"))
    assert len(saved) == 1 and connector.updated_credentials == saved[0]
    new = saved[0]
    assert new["access_token"] != credentials["access_token"]
    assert new["refresh_token"] != credentials["refresh_token"]
    assert (new["client_id"], new["device_id"], new["community_token"]) == (
        credentials["client_id"], credentials["device_id"], credentials["community_token"])
    assert new["expires_at"] >= int(time.time()) + 3500
    oauth = [r for r in vk.app.requests if r["kind"] == "oauth"]
    assert oauth[0]["params"]["grant_type"] == "refresh_token" and oauth[0]["params"]["refresh_token"] == "***"
    assert len(oauth[0]["params"]["state"]) >= 32
    # the old refresh token was rotated away: a connector still holding it must be re-authorised
    stale = vk.connector(credentials={**credentials, "expires_at": int(time.time()) - 10})
    with pytest.raises(NetworkError) as caught:
        stale.refresh_credentials()
    assert caught.value.needs_reauth and "invalid_grant" in caught.value.message


def test_expired_token_is_refreshed_and_the_call_repeated(vk: VKEnv) -> None:
    vk.app.add_fault("groups.getById", "expire_token")
    saved: list[dict[str, Any]] = []
    info = vk.connector(on_credentials=saved.append).verify()
    assert info.name and len(saved) == 1


def test_revoked_token_needs_reauthorisation(vk: VKEnv) -> None:
    vk.app.add_fault("wall.post", "revoke_token")
    with pytest.raises(NetworkError) as caught:
        vk.connector().publish(PostPayload(text="x", key="d-13"))
    assert caught.value.needs_reauth and caught.value.permanent
    assert not [p for p in _group(vk)["posts"].values()]


def test_no_refresh_possible_without_refresh_token(vk: VKEnv) -> None:
    credentials = {"access_token": vk.page["credentials"]["access_token"], "expires_at": int(time.time()) - 5}
    vk.app.state["tokens"][credentials["access_token"]]["expires_at"] = int(time.time()) - 5
    with pytest.raises(NetworkError) as caught:
        vk.connector(credentials=credentials).verify()
    assert caught.value.needs_reauth and caught.value.code == 5


def test_oauth_address_follows_the_api_address(monkeypatch: pytest.MonkeyPatch, settings: Any) -> None:
    monkeypatch.delenv("FILIAL_VK_OAUTH_URL", raising=False)
    settings.FILIAL_VK_OAUTH_URL = DEFAULT_OAUTH_URL
    assert oauth_url_for("https://api.vk.ru/method/") == DEFAULT_OAUTH_URL
    assert oauth_url_for("http://127.0.0.1:8101/method/") == "http://127.0.0.1:8101/oauth2/auth"
    settings.FILIAL_VK_OAUTH_URL = "http://vkid.test/oauth2/auth"
    assert oauth_url_for("http://127.0.0.1:8101/method/") == "http://vkid.test/oauth2/auth"
    monkeypatch.setenv("FILIAL_VK_OAUTH_URL", "http://other.test/oauth2/auth")
    assert oauth_url_for("https://api.vk.ru/method/") == "http://other.test/oauth2/auth"


def test_registry_builds_the_connector(settings: Any) -> None:
    from filial.networks.connect import connector_for

    connector = connector_for("vk", external_id="club77", credentials={"access_token": "t"},
                              api_base_url="http://127.0.0.1:9/method/")
    assert isinstance(connector, VKConnector) and connector.group_id == 77 and connector.owner_id == -77
