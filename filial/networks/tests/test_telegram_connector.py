"""The Telegram connector against the emulator served over real HTTP: publishing, editing, the page, the inbox."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from filial.networks.base import Photo, PollSpec, PostPayload
from filial.networks.registry import connector_class
from filial.networks.telegram.connector import TelegramConnector, compose_external_id, parse_external_id
from filial.networks.tests.telegram_conformance import TelegramEnv, image_bytes, telegram_env


@pytest.fixture
def env() -> Iterator[TelegramEnv]:
    with telegram_env() as environment:
        yield environment


def channel_messages(env: TelegramEnv) -> dict[str, Any]:
    return env.app.state["chats"][str(env.chat_id)]["messages"]


def photos(n: int) -> list[Photo]:
    return [Photo(image_bytes(color=(i * 20 % 255, 80, 160)), f"p{i}.jpg") for i in range(n)]


def test_registry_finds_the_connector() -> None:
    assert connector_class("telegram") is TelegramConnector
    caps = TelegramConnector.capabilities
    assert (caps.text_limit, caps.caption_limit, caps.max_photos, caps.poll_max_answers) == (4096, 1024, 10, 12)
    assert caps.idempotency is False and caps.native_scheduling is False and caps.formatting == "html"


def test_verify_gives_name_link_and_audience(env: TelegramEnv) -> None:
    info = env.connector().verify()
    assert info.name == "Библиотека"
    assert info.url == "https://t.me/filial_library"
    assert info.audience == 1250
    assert info.external_id == str(env.chat_id)
    # by @username too
    assert env.connector(external_id="@filial_library").verify().external_id == str(env.chat_id)


def test_verify_says_clearly_when_the_bot_cannot_post() -> None:
    with telegram_env(can_post_messages=False) as env:
        with pytest.raises(Exception) as caught:
            env.connector().verify()
        assert caught.value.needs_reauth  # type: ignore[attr-defined]
        assert "administrator with the right to post messages" in str(caught.value)
    with telegram_env() as env:
        env.app.simulate("demote_bot", {"chat_id": env.chat_id})
        with pytest.raises(Exception, match="is member in"):
            env.connector().verify()


def test_publish_text_escapes_html_and_adds_the_link_preview(env: TelegramEnv) -> None:
    text = "Вечер <поэзии> & музыки — «R&B» в 18:00"
    published = env.connector().publish(PostPayload(text=text, key="d1", link="https://lib.example/events/7"))
    assert published.external_id == "1"
    assert published.url == "https://t.me/filial_library/1"
    message = channel_messages(env)["1"]
    assert message["text"] == text + "\n\nhttps://lib.example/events/7"
    assert message["link_preview_options"] == {"url": "https://lib.example/events/7"}
    assert {"type": "url", "offset": len(text) + 2, "length": 28} in message["entities"]
    sent = env.app.requests[-1]
    assert sent["method"] == "sendMessage" and sent["params"]["parse_mode"] == "HTML"
    assert "&lt;поэзии&gt; &amp; музыки" in sent["params"]["text"]


def test_link_already_in_the_text_is_not_repeated(env: TelegramEnv) -> None:
    env.connector().publish(PostPayload(text="Запись: https://lib.example/r", key="d", link="https://lib.example/r"))
    assert channel_messages(env)["1"]["text"] == "Запись: https://lib.example/r"


def test_publish_one_photo_with_caption(env: TelegramEnv) -> None:
    published = env.connector().publish(PostPayload(text="Новые книги", key="d2", photos=photos(1)))
    message = channel_messages(env)[published.external_id]
    assert message["caption"] == "Новые книги" and len(message["photo"]) >= 1
    assert env.app.requests[-1]["method"] == "sendPhoto"
    assert env.app.requests[-1]["content_type"] == "multipart" and "photo" in env.app.requests[-1]["files"]


def test_publish_album_of_ten_with_caption_on_the_first(env: TelegramEnv) -> None:
    published = env.connector().publish(PostPayload(text="Фотоотчёт", key="d3", photos=photos(10)))
    assert published.external_id == "1:a1-10"
    assert published.extra["album_message_ids"] == list(range(1, 11))
    messages = channel_messages(env)
    assert messages["1"]["caption"] == "Фотоотчёт" and "caption" not in messages["2"]
    assert len({m["media_group_id"] for m in messages.values()}) == 1
    request = env.app.requests[-1]
    assert request["method"] == "sendMediaGroup" and sorted(request["files"]) == sorted(f"photo{i}" for i in range(10))


def test_long_text_with_photos_follows_the_album(env: TelegramEnv) -> None:
    text = "Длинный рассказ о выставке. " * 60  # ~1700 characters: more than a caption holds
    published = env.connector().publish(PostPayload(text=text, key="d4", photos=photos(2)))
    assert published.external_id == "1:a1-2,t3"
    messages = channel_messages(env)
    assert "caption" not in messages["1"] and messages["3"]["text"] == text.strip()
    assert published.extra["text_message_id"] == 3


def test_publish_poll_alone_and_after_text(env: TelegramEnv) -> None:
    connector = env.connector()
    alone = connector.publish(PostPayload(text="", key="p1", poll=PollSpec("Какой жанр?", ["Роман", "Поэзия"])))
    assert alone.external_id == "1"
    poll = channel_messages(env)["1"]["poll"]
    assert poll["question"] == "Какой жанр?" and [o["text"] for o in poll["options"]] == ["Роман", "Поэзия"]
    assert poll["is_anonymous"] is True and poll["allows_multiple_answers"] is False
    both = connector.publish(PostPayload(text="Голосуем!", key="p2",
                                         poll=PollSpec("Когда?", ["Утром", "Вечером", "Днём"], multiple=True)))
    assert both.external_id == "2:t2,p3"
    assert channel_messages(env)["3"]["poll"]["allows_multiple_answers"] is True


def test_poll_results_close_the_poll_with_final_counts(env: TelegramEnv) -> None:
    connector = env.connector()
    published = connector.publish(PostPayload(text="Опрос", key="p", poll=PollSpec("Что читать?", ["А", "Б", "В"])))
    poll_message = published.extra["poll_message_id"]
    for user_id, options in ((11, [0]), (12, [2]), (13, [2])):
        env.app.simulate("vote", {"chat_id": env.chat_id, "message_id": poll_message, "option_ids": options,
                                  "user": {"id": user_id}})
    results = connector.poll_results(published)
    assert results is not None
    assert results.answers == [("А", 1), ("Б", 0), ("В", 2)] and results.total_voters == 3
    assert channel_messages(env)[str(poll_message)]["poll"]["is_closed"] is True
    # the engine may know only the external id
    from filial.networks.base import Published

    text_only = connector.publish(PostPayload(text="Без опроса", key="t"))
    assert connector.poll_results(Published(external_id=text_only.external_id)) is None
    with pytest.raises(Exception, match="already been closed"):
        connector.poll_results(Published(external_id=published.external_id))


def test_edit_text_caption_and_split_posts(env: TelegramEnv) -> None:
    connector = env.connector()
    text_post = connector.publish(PostPayload(text="Было", key="e1"))
    connector.edit(text_post.external_id, PostPayload(text="Стало <лучше>", key="e1"))
    assert channel_messages(env)["1"]["text"] == "Стало <лучше>" and "edit_date" in channel_messages(env)["1"]
    connector.edit(text_post.external_id, PostPayload(text="Стало <лучше>", key="e1"))  # not modified: fine
    photo_post = connector.publish(PostPayload(text="Подпись", key="e2", photos=photos(2)))
    connector.edit(photo_post.external_id, PostPayload(text="Новая подпись", key="e2", photos=photos(2)))
    assert channel_messages(env)["2"]["caption"] == "Новая подпись"
    with pytest.raises(Exception, match="caption") as caught:
        connector.edit(photo_post.external_id, PostPayload(text="x" * 2000, key="e2", photos=photos(2)))
    assert caught.value.permanent  # type: ignore[attr-defined]
    long_post = connector.publish(PostPayload(text="y" * 1500, key="e3", photos=photos(1)))
    connector.edit(long_post.external_id, PostPayload(text="z" * 1600, key="e3", photos=photos(1)))
    ids = parse_external_id(long_post.external_id)
    assert channel_messages(env)[str(ids.text)]["text"] == "z" * 1600
    single_photo = connector.publish(PostPayload(text="", key="e4", photos=photos(1)))
    connector.edit(single_photo.external_id, PostPayload(text="Подпись позже", key="e4", photos=photos(1)))
    assert channel_messages(env)[single_photo.external_id]["caption"] == "Подпись позже"


def test_edit_falls_back_when_telegram_says_the_message_has_no_text(env: TelegramEnv) -> None:
    connector = env.connector()
    single_photo = connector.publish(PostPayload(text="Фото", key="f", photos=photos(1)))
    # the payload lost its photos (e.g. the photo was removed from the post): Telegram's answer decides
    connector.edit(single_photo.external_id, PostPayload(text="Только текст", key="f"))
    assert channel_messages(env)[single_photo.external_id]["caption"] == "Только текст"
    assert [r["method"] for r in env.app.requests[-2:]] == ["editMessageText", "editMessageCaption"]


def test_delete_removes_every_message_of_the_post(env: TelegramEnv) -> None:
    connector = env.connector()
    published = connector.publish(PostPayload(text="t" * 1500, key="x", photos=photos(3),
                                              poll=PollSpec("?", ["да", "нет"])))
    assert len(channel_messages(env)) == 5
    connector.delete(published.external_id)
    assert channel_messages(env) == {}
    connector.delete(published.external_id)  # already gone: deleteMessages skips missing messages


def test_old_posts_cannot_be_deleted_without_the_right() -> None:
    with telegram_env() as env:
        connector = env.connector()
        published = connector.publish(PostPayload(text="Старый пост", key="o"))
        member = env.app.state["chats"][str(env.chat_id)]["members"][str(env.seed["bot_id"])]
        member["can_delete_messages"] = False
        env.app.simulate("age_message", {"chat_id": env.chat_id, "message_id": 1, "seconds": 49 * 3600})
        with pytest.raises(Exception, match="message can't be deleted") as caught:
            connector.delete(published.external_id)
        assert caught.value.permanent and not caught.value.needs_reauth  # type: ignore[attr-defined]


def test_post_stats_are_unknown_on_telegram(env: TelegramEnv) -> None:
    stats = env.connector().post_stats(["1", "2:a2-3"])
    assert set(stats) == {"1", "2:a2-3"}
    assert all(s.views is None and s.likes is None and s.reposts is None and s.comments is None
               for s in stats.values())


def test_comments_and_direct_messages_through_get_updates(env: TelegramEnv) -> None:
    connector = env.connector()
    post = connector.publish(PostPayload(text="Обсудим?", key="c"))
    comment = env.app.simulate("comment", {"chat_id": env.chat_id, "post_id": int(post.external_id),
                                           "text": "Отличная идея", "user": {"id": 301, "first_name": "Анна",
                                                                              "last_name": "К."}})
    env.app.simulate("comment", {"chat_id": env.chat_id, "post_id": int(post.external_id), "text": "Согласен",
                                 "reply_to": comment["message_id"], "user": {"id": 302, "first_name": "Пётр"}})
    env.app.simulate("message", {"text": "/start", "user": {"id": 401, "first_name": "Ольга"}})
    env.app.simulate("message", {"text": "Когда открыта библиотека?", "user": {"id": 401}})
    env.app.simulate("channel_post", {"chat_id": env.chat_id, "text": "Пост другого админа"})

    page = connector.fetch_updates(None)
    kinds = [(i.kind, i.text) for i in page.items]
    assert kinds == [("comment", "Отличная идея"), ("comment", "Согласен"), ("message", "/start"),
                     ("message", "Когда открыта библиотека?")]
    first, reply = page.items[0], page.items[1]
    assert first.post_external_id == post.external_id and first.thread_id == post.external_id
    assert first.author_name == "Анна К." and first.author_id == "301" and first.reply_to == ""
    assert reply.post_external_id == post.external_id and reply.reply_to == first.external_id
    direct = page.items[3]
    assert direct.thread_id == "401" and direct.author_id == "401"
    # the cursor is last update_id + 1; not saving it means the same updates come again
    assert connector.fetch_updates(None).items == page.items
    assert connector.fetch_updates(page.cursor).items == []
    assert env.app.state["bots"][env.token]["updates"] == []  # confirmed by the offset
    env.app.simulate("message", {"text": "Спасибо!", "user": {"id": 401}})
    again = connector.fetch_updates(page.cursor)
    assert [i.text for i in again.items] == ["Спасибо!"] and int(again.cursor) == int(page.cursor) + 1


def test_reply_to_a_comment_and_to_a_message(env: TelegramEnv) -> None:
    connector = env.connector()
    post = connector.publish(PostPayload(text="Пост", key="r"))
    env.app.simulate("comment", {"chat_id": env.chat_id, "post_id": int(post.external_id), "text": "Вопрос?",
                                 "user": {"id": 77}})
    env.app.simulate("message", {"text": "/start", "user": {"id": 78}})
    items = connector.fetch_updates(None).items
    comment_reply = connector.reply(items[0], "Ответ <библиотеки>", key="rep-1")
    group = env.app.state["chats"][str(env.seed["discussion_chat_id"])]["messages"]
    group_chat, group_message = comment_reply.split(":")
    assert int(group_chat) == env.seed["discussion_chat_id"]
    answer = group[group_message]
    assert answer["text"] == "Ответ <библиотеки>"
    assert answer["reply_to_message"]["message_id"] == int(items[0].external_id.split(":")[1])
    assert answer["message_thread_id"] == items[0].raw["message"]["message_thread_id"]
    message_reply = connector.reply(items[1], "Здравствуйте!", key="rep-2")
    assert message_reply.startswith("78:")


def test_direct_message_only_to_people_who_started_the_bot(env: TelegramEnv) -> None:
    connector = env.connector()
    env.app.simulate("message", {"text": "/start", "user": {"id": 555, "first_name": "Ира"}})
    assert connector.send_message("555", "Ваша книга пришла", key="dm-1").startswith("555:")
    env.app.simulate("message", {"text": "hello", "user": {"id": 556}})  # never sent /start
    with pytest.raises(Exception, match="can't initiate conversation") as caught:
        connector.send_message("556", "Здравствуйте", key="dm-2")
    error: Any = caught.value
    assert error.code == 403 and error.permanent and not error.needs_reauth
    env.app.simulate("block_bot", {"user_id": 555})
    with pytest.raises(Exception, match="blocked by the user") as caught:
        connector.send_message("555", "Ещё", key="dm-3")
    assert not caught.value.needs_reauth  # type: ignore[attr-defined]


def test_blocking_and_unblocking_the_bot_come_as_consent_changes(env: TelegramEnv) -> None:
    connector = env.connector()
    env.app.simulate("message", {"text": "/start", "user": {"id": 555, "first_name": "Ира"}})
    env.app.simulate("block_bot", {"user_id": 555})
    page = connector.fetch_updates(None)
    assert [i.text for i in page.items] == ["/start"]
    [blocked] = page.consents
    assert (blocked.person_id, blocked.allowed) == ("555", False)
    assert blocked.at.tzinfo is not None and blocked.at >= page.items[0].at
    env.app.simulate("message", {"text": "/start", "user": {"id": 555}})  # "Restart": unblocks, then /start
    page = connector.fetch_updates(page.cursor)
    assert [(c.person_id, c.allowed) for c in page.consents] == [("555", True)]
    assert [i.text for i in page.items] == ["/start"]
    assert connector.fetch_updates(page.cursor).consents == []  # confirmed: not again


def test_the_bot_kicked_from_the_channel_is_no_consent_and_no_item(env: TelegramEnv) -> None:
    connector = env.connector()
    env.app.simulate("kick_bot", {"chat_id": env.chat_id})
    page = connector.fetch_updates(None)
    assert page.items == [] and page.consents == [] and page.cursor  # only moves the cursor
    assert "my_chat_member" in env.app.requests[-1]["params"]["allowed_updates"]


def test_find_published_sees_the_post_through_the_discussion_group(env: TelegramEnv) -> None:
    connector = env.connector()
    payload = PostPayload(text="Неуверенная отправка", key="u1", photos=photos(2),
                          poll=PollSpec("Придёте?", ["Да", "Нет"]))
    published = connector.publish(payload)
    found = connector.find_published(payload)
    assert found is not None and found.external_id == published.external_id == "1:a1-2,p3"
    assert found.url == "https://t.me/filial_library/1"
    long = PostPayload(text="Текст " * 300, key="u2", photos=photos(1))
    assert connector.find_published(long) is None
    published_long = connector.publish(long)
    assert connector.find_published(long) == type(found)(external_id=published_long.external_id,
                                                         url=published_long.url,
                                                         extra={"message_ids": [4, 5], "found_in_updates": True})
    assert connector.find_published(PostPayload(text="Не публиковали", key="u3")) is None


def test_find_published_cannot_tell_without_a_discussion_group() -> None:
    with telegram_env(discussion=False) as env:
        connector = env.connector()
        payload = PostPayload(text="Пост без обсуждения", key="n")
        connector.publish(payload)
        assert connector.find_published(payload) is None


def test_external_ids_round_trip() -> None:
    assert compose_external_id([("t", [42])]) == "42"
    assert compose_external_id([("a", [5, 6, 7, 9]), ("t", [10]), ("p", [11])]) == "5:a5-7+9,t10,p11"
    parsed = parse_external_id("5:a5-7+9,t10,p11")
    assert (parsed.main, parsed.album, parsed.text, parsed.poll) == (5, [5, 6, 7, 9], 10, 11)
    assert parsed.all == [5, 6, 7, 9, 10, 11]
    assert TelegramConnector.message_ids("42") == [42]
    with pytest.raises(Exception, match="not a Telegram post id"):
        parse_external_id("abc")


def test_private_channel_links() -> None:
    with telegram_env(username=None) as env:
        connector = env.connector()
        info = connector.verify()
        assert info.url.startswith("https://t.me/+")
        published = connector.publish(PostPayload(text="Закрытый канал", key="p"))
        assert published.url == f"https://t.me/c/{str(env.chat_id)[4:]}/1"
