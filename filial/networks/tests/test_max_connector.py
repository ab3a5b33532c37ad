"""MaxConnector against the MAX emulator over real HTTP: posts, photos, readers, errors and bad input."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import httpx
import pytest

from emulators.base import ServedEmulator
from emulators.networks.max import MaxEmulator
from filial.networks.base import NetworkError, Photo, PollSpec, PostPayload
from filial.networks.max.connector import MaxConnector
from filial.networks.tests.max_conformance import World, image_bytes, make_world, shared_emulator


@pytest.fixture(scope="module")
def emulator() -> Iterator[tuple[MaxEmulator, ServedEmulator]]:
    yield from shared_emulator()


@pytest.fixture
def world(emulator: tuple[MaxEmulator, ServedEmulator]) -> Iterator[World]:
    yield from make_world(emulator)


@pytest.fixture
def group(emulator: tuple[MaxEmulator, ServedEmulator]) -> Iterator[World]:
    yield from make_world(emulator, chat_type="chat", title="Клуб любителей чтения", members=3)


def photo(n: int = 1, fmt: str = "JPEG") -> Photo:
    ext = {"JPEG": "jpg", "PNG": "png"}.get(fmt, fmt.lower())
    return Photo(image_bytes(fmt, color=f"#{(n * 40) % 255:02x}6e{(n * 70) % 255:02x}"), f"photo-{n}.{ext}",
                 f"image/{ext}")


def post(text: str = "Встреча клуба «Книжная полка» в субботу в 12:00", **kw: object) -> PostPayload:
    return PostPayload(text=text, key=str(kw.pop("key", "delivery-1")), **kw)  # type: ignore[arg-type]


# --- the page ---------------------------------------------------------------------------------------------
def test_verify_gives_name_link_and_audience(world: World) -> None:
    info = world.connector().verify()
    assert info.name == "ЦГБ Медногорска"
    assert info.external_id == str(world.chat_id)
    assert info.url == world.seed["link"]
    assert info.audience == 7  # owner, bot and five readers
    assert world.connector().channel_info().audience == 7
    for request in world.ops():
        assert request["authorization"] == "<redacted>" and "access_token" not in request["query"]


def test_audience_follows_new_members(world: World) -> None:
    world.app.simulate("new_member", {"chat_id": world.chat_id, "first_name": "Анна"})
    assert world.connector().channel_info().audience == 8


def test_verify_bad_token_needs_reauth_without_leaking_it(world: World) -> None:
    with pytest.raises(NetworkError) as caught:
        world.connector(token="wrong-token-123").verify()
    assert caught.value.needs_reauth and caught.value.permanent
    assert caught.value.code == "verify.token"
    assert "wrong-token-123" not in str(caught.value) + str(getattr(caught.value, "request", ""))


def test_verify_missing_token_is_a_clear_error(world: World) -> None:
    with pytest.raises(NetworkError, match="no MAX bot token") as caught:
        world.connector(token="").verify()
    assert caught.value.needs_reauth
    assert world.ops() == []


def test_verify_bot_that_is_not_admin(world: World) -> None:
    world.app.seed(token=world.seed["token"], chat_id=world.chat_id, bot_admin=False)
    with pytest.raises(NetworkError, match="not an administrator") as caught:
        world.connector().verify()
    assert caught.value.needs_reauth


def test_verify_bot_admin_without_right_to_post(world: World) -> None:
    world.app.seed(token=world.seed["token"], chat_id=world.chat_id, permissions=["read_all_messages"])
    with pytest.raises(NetworkError, match="may not post") as caught:
        world.connector().verify()
    assert caught.value.needs_reauth


def test_unknown_chat_is_permanent(world: World) -> None:
    with pytest.raises(NetworkError) as caught:
        world.connector(chat_id=-123456).channel_info()
    assert caught.value.permanent and not caught.value.needs_reauth and caught.value.code == "chat.not.found"


def test_chat_id_must_be_a_number(world: World) -> None:
    with pytest.raises(NetworkError, match="must be a number"):
        world.connector(chat_id="@library").channel_info()


# --- publishing -----------------------------------------------------------------------------------------------
def test_publish_text(world: World) -> None:
    published = world.connector().publish(post())
    assert published.external_id.startswith("mid.")
    assert published.url.endswith(published.external_id)
    [message] = world.channel_posts()
    assert message["body"]["text"] == "Встреча клуба «Книжная полка» в субботу в 12:00"
    [send] = world.ops("sendMessage")
    assert send["query"] == {"chat_id": str(world.chat_id)}
    assert send["body"] == {"text": "Встреча клуба «Книжная полка» в субботу в 12:00", "attachments": None,
                            "link": None, "notify": True}


def test_text_is_sent_as_written_without_formatting(world: World) -> None:
    text = "<b>не жирный</b> & **не жирный** — как написано"
    world.connector().publish(post(text))
    [message] = world.channel_posts()
    assert message["body"]["text"] == text
    assert "format" not in world.ops("sendMessage")[0]["body"]


def test_publish_photos_through_the_upload_flow(world: World) -> None:
    conn = world.connector()
    published = conn.publish(post(photos=[photo(1), photo(2, "PNG"), photo(3)]))
    assert len(world.ops("getUploadUrl")) == 3
    uploads = world.ops("upload")
    assert [u["files"]["data"]["filename"] for u in uploads] == ["photo-1.jpg", "photo-2.png", "photo-3.jpg"]
    assert all(u["query"]["sig"] == "<redacted>" and u["authorization"] is None for u in uploads)
    [message] = world.channel_posts()
    images = [a for a in message["body"]["attachments"] if a["type"] == "image"]
    assert len(images) == 3 and message["body"]["mid"] == published.external_id
    sent = world.ops("sendMessage")[-1]["body"]
    assert [a["type"] for a in sent["attachments"]] == ["image"] * 3
    assert all("photos" in a["payload"] for a in sent["attachments"])


def test_message_waits_while_the_upload_is_processed(world: World) -> None:
    world.app.processing_delay = 0.2
    world.connector().publish(post(photos=[photo()]))
    statuses = [(r["status"], (r.get("response") or {}).get("code")) for r in world.ops("sendMessage")]
    assert statuses[0] == (400, "attachment.not.ready")
    assert statuses[-1][0] == 200 and len(world.channel_posts()) == 1


def test_upload_never_ready_gives_up_after_bounded_retries(world: World) -> None:
    world.app.processing_delay = 60
    conn = world.connector()
    conn.not_ready_delays = (0.01, 0.01)  # type: ignore[misc]
    with pytest.raises(NetworkError) as caught:
        conn.publish(post(photos=[photo()]))
    assert caught.value.code == "attachment.not.ready" and caught.value.transient and caught.value.retry_after
    assert len(world.ops("sendMessage")) == 3 and world.channel_posts() == []


def test_publish_link_goes_on_its_own_line_and_gets_a_preview(world: World) -> None:
    world.connector().publish(post("Новые поступления", link="https://library.example/new"))
    [message] = world.channel_posts()
    assert message["body"]["text"] == "Новые поступления\n\nhttps://library.example/new"
    assert message["body"]["attachments"][0]["type"] == "share"
    world.connector().publish(post("Сайт: https://library.example/", link="https://library.example/", key="2"))
    assert world.channel_posts()[-1]["body"]["text"] == "Сайт: https://library.example/"


def test_link_only_post(world: World) -> None:
    world.connector().publish(post("", link="https://library.example/afisha"))
    assert world.channel_posts()[0]["body"]["text"] == "https://library.example/afisha"


def test_polls_are_refused_before_any_request(world: World) -> None:
    conn = world.connector()
    assert conn.capabilities.polls is False
    for answers in (["Да", "Нет"], ["Только один"]):
        with pytest.raises(NetworkError, match="polls are not supported") as caught:
            conn.publish(post(poll=PollSpec("Придёте?", answers)))
        assert caught.value.permanent
    assert conn.poll_results(conn.publish(post())) is None
    assert world.ops("getUploadUrl", "upload") == [] and len(world.channel_posts()) == 1


def test_edit_replaces_text_and_photos(world: World) -> None:
    conn = world.connector()
    published = conn.publish(post(photos=[photo(1), photo(2)]))
    conn.edit(published.external_id, post("Перенесено на воскресенье", photos=[photo(3)]))
    [message] = world.channel_posts()
    assert message["body"]["text"] == "Перенесено на воскресенье"
    assert [a["type"] for a in message["body"]["attachments"]] == ["image"]
    conn.edit(published.external_id, post("Без фото"))
    assert world.channel_posts()[0]["body"]["attachments"] is None
    assert world.ops("editMessage")[-1]["query"] == {"message_id": published.external_id}


def test_edit_unknown_message_is_permanent(world: World) -> None:
    with pytest.raises(NetworkError) as caught:
        world.connector().edit("mid.0000000000000000", post())
    assert caught.value.permanent and not caught.value.needs_reauth and caught.value.code == "not.found"


def test_delete_is_idempotent(world: World) -> None:
    conn = world.connector()
    published = conn.publish(post())
    conn.delete(published.external_id)
    assert world.channel_posts() == []
    conn.delete(published.external_id)  # already gone: nothing to do
    assert conn.post_stats([published.external_id]) == {}


def test_post_stats_views(world: World) -> None:
    conn = world.connector()
    first, second = conn.publish(post()), conn.publish(post("Второй пост", key="2"))
    world.app.simulate("view", {"mid": first.external_id, "count": 42})
    stats = conn.post_stats([first.external_id, second.external_id, "mid.ffffffffffffffff"])
    assert stats[first.external_id].views == 42 and stats[second.external_id].views == 0
    assert stats[first.external_id].likes is None and "mid.ffffffffffffffff" not in stats
    [request] = world.ops("getMessages")
    assert request["query"]["message_ids"] == f"{first.external_id},{second.external_id},mid.ffffffffffffffff"


# --- readers -------------------------------------------------------------------------------------------------
def test_direct_messages_and_channel_comments_by_long_polling(world: World) -> None:
    conn = world.connector()
    published = conn.publish(post())
    world.app.simulate("message", {"first_name": "Мария", "last_name": "Петрова", "text": "Есть ли «Лето»?"})
    world.app.simulate("comment", {"chat_id": world.chat_id, "post_id": published.external_id,
                                   "first_name": "Олег", "text": "Приду!"})
    page = conn.fetch_updates(None)
    by_kind = {item.kind: item for item in page.items}
    assert set(by_kind) == {"message", "comment"}
    message, comment = by_kind["message"], by_kind["comment"]
    assert message.text == "Есть ли «Лето»?" and message.author_name == "Мария Петрова"
    assert message.thread_id == message.author_id
    assert comment.thread_id == comment.post_external_id == published.external_id
    assert page.cursor

    world.app.simulate("message", {"user_id": int(message.author_id), "text": "Спасибо"})
    second = conn.fetch_updates(page.cursor)
    assert [i.text for i in second.items] == ["Спасибо"]
    again = conn.fetch_updates(page.cursor)  # the caller did not save the new cursor: the same items come again
    assert [i.external_id for i in again.items] == [i.external_id for i in second.items]
    assert conn.fetch_updates(second.cursor).items == []
    assert world.ops("getUpdates")[0]["query"] == {"limit": "100", "timeout": "0"}


def test_group_chat_messages_are_comments_and_replies_go_back(group: World) -> None:
    conn = group.connector()
    published = conn.publish(post())
    group.app.simulate("comment", {"chat_id": group.chat_id, "reply_to": published.external_id, "text": "Во сколько?"})
    group.app.simulate("comment", {"chat_id": group.chat_id, "text": "Всем привет"})
    items = conn.fetch_updates(None).items
    assert [(i.kind, i.post_external_id) for i in items] == [("comment", published.external_id), ("comment", "")]
    assert items[1].thread_id == str(group.chat_id)
    reply_mid = conn.reply(items[0], "В 12:00", key="r1")
    answer = group.app.state["messages"][reply_mid]["message"]
    assert answer["link"]["type"] == "reply" and answer["link"]["message"]["mid"] == items[0].external_id
    assert answer["recipient"]["chat_id"] == group.chat_id


def test_reply_to_a_direct_message(world: World) -> None:
    conn = world.connector()
    world.app.simulate("message", {"first_name": "Ирина", "text": "Вы работаете в понедельник?"})
    [item] = conn.fetch_updates(None).items
    mid = conn.reply(item, "Да, с 10 до 18", key="r1")
    message = world.app.state["messages"][mid]["message"]
    assert message["recipient"]["chat_type"] == "dialog" and message["link"]["message"]["mid"] == item.external_id
    assert world.ops("sendMessage")[-1]["query"] == {"user_id": item.author_id}


def test_channel_comment_cannot_be_answered_by_the_api(world: World) -> None:
    conn = world.connector()
    published = conn.publish(post())
    world.app.simulate("comment", {"chat_id": world.chat_id, "post_id": published.external_id, "text": "?"})
    [item] = conn.fetch_updates(None).items
    with pytest.raises(NetworkError, match="no method to answer a channel comment") as caught:
        conn.reply(item, "Ответ", key="r")
    assert caught.value.permanent


def test_send_message_to_someone_who_started_the_bot(world: World) -> None:
    started = world.app.simulate("bot_started", {"first_name": "Павел"})
    mid = world.connector().send_message(str(started["user_id"]), "Ваша книга ждёт вас", key="m1")
    assert world.app.state["messages"][mid]["message"]["body"]["text"] == "Ваша книга ждёт вас"


def test_send_message_to_someone_who_did_not_allow_it(world: World) -> None:
    stopped = world.app.simulate("bot_stopped", {"first_name": "Пётр"})
    for user_id in (str(stopped["user_id"]), str(world.app._new_user(first_name="Незнакомец"))):
        with pytest.raises(NetworkError, match="does not accept messages") as caught:
            world.connector().send_message(user_id, "Здравствуйте", key="m1")
        assert caught.value.permanent and not caught.value.needs_reauth and caught.value.code == "chat.denied"


def test_send_message_checks_text_and_user_id_locally(world: World) -> None:
    conn = world.connector()
    with pytest.raises(NetworkError, match="at most 4000"):
        conn.send_message("100001", "я" * 4001, key="k")
    with pytest.raises(NetworkError, match="is a number"):
        conn.send_message("masha", "Здравствуйте", key="k")
    assert world.ops() == []


# --- errors ----------------------------------------------------------------------------------------------------
def test_revoked_token_needs_reauth_and_nothing_is_posted(world: World) -> None:
    conn = world.connector()
    world.app.add_fault("sendMessage", "revoke_token")
    with pytest.raises(NetworkError) as caught:
        conn.publish(post())
    assert caught.value.needs_reauth and caught.value.code == "verify.token"
    with pytest.raises(NetworkError) as again:
        conn.verify()
    assert again.value.needs_reauth
    assert world.channel_posts() == []


def test_expired_token_behaves_like_a_revoked_one(world: World) -> None:
    world.app.add_fault("getChat", "expire_token")
    with pytest.raises(NetworkError) as caught:
        world.connector().channel_info()
    assert caught.value.needs_reauth


def test_no_right_to_post_needs_reauth(world: World) -> None:
    world.app.seed(token=world.seed["token"], chat_id=world.chat_id, permissions=["read_all_messages"])
    with pytest.raises(NetworkError) as caught:
        world.connector().publish(post())
    assert caught.value.needs_reauth and caught.value.code == "chat.denied"


def test_rate_limit_fault_gives_retry_after(world: World) -> None:
    world.app.add_fault("sendMessage", "rate_limit")
    with pytest.raises(NetworkError) as caught:
        world.connector().publish(post())
    assert caught.value.retry_after == 1.0 and caught.value.transient and not caught.value.outcome_unknown
    assert caught.value.code == "too.many.requests" and world.channel_posts() == []


def test_thirty_requests_per_second_are_enforced(world: World) -> None:
    client = world.connector().client
    with pytest.raises(NetworkError) as caught:
        for _ in range(40):
            client.get_me()
    assert caught.value.retry_after == 1.0 and caught.value.code == "too.many.requests"
    assert len([r for r in world.ops("getMyInfo") if r["status"] == 200]) == 30


def test_retry_after_header_is_honoured() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(429, headers={"Retry-After": "7"}, json={"code": "too.many.requests", "message": "x"})

    conn = MaxConnector(external_id="-1", credentials={"bot_token": "t"}, base_url="https://platform-api2.max.ru",
                        transport=httpx.MockTransport(handler))
    with pytest.raises(NetworkError) as caught:
        conn.channel_info()
    assert caught.value.retry_after == 7.0


def test_invalid_parameter_is_permanent(world: World) -> None:
    world.app.conformance_exempt = "asks for count=500 on purpose"
    client = world.connector().client
    with pytest.raises(NetworkError) as caught:
        client.get_messages(chat_id=world.chat_id, count=500)
    assert caught.value.permanent and caught.value.code == "proto.payload" and not caught.value.needs_reauth
    assert "count" in caught.value.message
    assert getattr(caught.value, "request", "") == f"GET /messages chat_id={world.chat_id} count=500"


@pytest.mark.parametrize("kind", ["http_500", "http_502"])
def test_server_errors_are_transient(world: World, kind: str) -> None:
    world.app.add_fault("sendMessage", kind)
    with pytest.raises(NetworkError) as caught:
        world.connector().publish(post())
    assert caught.value.transient and not caught.value.outcome_unknown and not caught.value.needs_reauth
    assert caught.value.code == ("internal.error" if kind == "http_500" else "502")


def test_timeout_after_the_change_is_outcome_unknown_and_found_later(world: World) -> None:
    world.app.add_fault("sendMessage", "timeout_after")
    conn = world.connector(timeout=0.6)
    payload = post(photos=[photo()])
    world.app.processing_delay = 0
    with pytest.raises(NetworkError) as caught:
        conn.publish(payload)
    assert caught.value.outcome_unknown and caught.value.transient
    found = world.connector().find_published(payload)
    assert found is not None and found.external_id == world.channel_posts()[0]["body"]["mid"]
    assert world.connector().find_published(post("Другой текст")) is None


def test_timeout_before_the_change_is_outcome_unknown_and_not_found(world: World) -> None:
    world.app.add_fault("sendMessage", "timeout_before")
    with pytest.raises(NetworkError) as caught:
        world.connector(timeout=0.6).publish(post())
    assert caught.value.outcome_unknown
    assert world.connector().find_published(post()) is None


def test_timeout_of_a_read_is_just_transient(world: World) -> None:
    world.app.add_fault("getChat", "timeout_before")
    with pytest.raises(NetworkError) as caught:
        world.connector(timeout=0.6).channel_info()
    assert caught.value.transient and not caught.value.outcome_unknown


def test_connect_error_is_transient_and_certainly_not_sent() -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    conn = MaxConnector(external_id="-1", credentials={"bot_token": "t"}, base_url=f"http://127.0.0.1:{port}",
                        timeout=0.5)
    with pytest.raises(NetworkError) as caught:
        conn.publish(post())
    assert caught.value.transient and not caught.value.outcome_unknown and caught.value.code == "network"


def test_webhook_subscription_stops_long_polling(world: World) -> None:
    conn = world.connector()
    conn.set_webhook("https://filial.example/hooks/max", "s3cret-value")
    with pytest.raises(NetworkError, match="webhook") as caught:
        conn.fetch_updates(None)
    assert caught.value.permanent
    conn.remove_webhook("https://filial.example/hooks/max")
    assert conn.fetch_updates(None).items == []


# --- bad input -----------------------------------------------------------------------------------------------------
def test_over_long_text_is_refused_before_sending(world: World) -> None:
    conn = world.connector()
    with pytest.raises(NetworkError, match="4001 characters, at most 4000") as caught:
        conn.publish(post("я" * 4001))
    assert caught.value.permanent and caught.value.code == "local"
    with pytest.raises(NetworkError, match="at most 4000"):
        conn.publish(post("я" * 3990, link="https://library.example/a"))  # the link counts too
    conn.publish(post("я" * 4000))
    assert len(world.channel_posts()) == 1 and len(world.ops()) == 1


def test_eleven_photos_are_refused_before_uploading(world: World) -> None:
    with pytest.raises(NetworkError, match="11 photos, at most 10"):
        world.connector().publish(post(photos=[photo(n) for n in range(11)]))
    assert world.ops() == []


def test_empty_post_is_refused(world: World) -> None:
    with pytest.raises(NetworkError, match="empty"):
        world.connector().publish(post("   "))


@pytest.mark.parametrize("bad", [
    Photo(b"%PDF-1.4 not an image", "scan.jpg", "image/jpeg"),
    Photo(b"plain text", "notes.txt", "text/plain"),
    Photo(image_bytes("WEBP"), "cover.webp", "image/webp"),
])
def test_unsupported_image_stops_the_post(world: World, bad: Photo) -> None:
    with pytest.raises(NetworkError) as caught:
        world.connector().publish(post(photos=[photo(1), bad, photo(3)]))
    assert caught.value.permanent and caught.value.code == "upload.error"
    assert world.ops("sendMessage") == [] and world.channel_posts() == []
    assert len(world.ops("upload")) == 2  # the third photo is never sent


def test_failed_upload_midway_posts_nothing(world: World) -> None:
    world.app.add_fault("upload", "http_500")
    with pytest.raises(NetworkError) as caught:
        world.connector().publish(post(photos=[photo(1), photo(2)]))
    assert caught.value.transient and world.channel_posts() == [] and world.ops("sendMessage") == []
