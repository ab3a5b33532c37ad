"""The Telegram emulator on its own: it answers like the Bot API and refuses what the Bot API refuses."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from emulators.networks.telegram import TelegramEmulator, parse_html
from filial.networks.tests.conformance import _telegram_spec
from filial.networks.tests.telegram_conformance import TelegramEnv, image_bytes, telegram_env


@pytest.fixture
def env() -> Iterator[TelegramEnv]:
    with telegram_env() as environment:
        yield environment


def test_tokens_and_methods(env: TelegramEnv) -> None:
    assert env.raw("getMe", token="garbage").json() == {
        "ok": False, "error_code": 401, "description": "Unauthorized: invalid token specified"}
    assert env.raw("getMe", token="123:" + "x" * 35).json() == {
        "ok": False, "error_code": 401, "description": "Unauthorized"}
    assert env.raw("fooBar").json() == {"ok": False, "error_code": 404, "description": "Not Found: method not found"}
    me = env.raw("getme", http_method="GET").json()  # method names are case-insensitive; GET works
    assert me["ok"] is True and me["result"]["is_bot"] is True and me["result"]["username"] == "filial_test_bot"


def test_parameters_arrive_in_all_four_ways(env: TelegramEnv) -> None:
    assert env.raw("sendMessage", params={"chat_id": env.chat_id, "text": "query"}).json()["ok"]
    assert env.raw("sendMessage", data={"chat_id": str(env.chat_id), "text": "form"}).json()["ok"]
    assert env.raw("sendMessage", json_body={"chat_id": env.chat_id, "text": "json"}).json()["ok"]
    assert env.raw("sendMessage", data={"chat_id": str(env.chat_id), "text": "multipart"},
                   files={"unused": ("a.txt", b"x", "text/plain")}).json()["ok"]
    assert [r["content_type"] for r in env.app.requests] == ["query", "form", "json", "multipart"]


def test_required_parameters_and_types(env: TelegramEnv) -> None:
    def description(method: str, body: dict[str, object]) -> str:
        return str(env.raw(method, json_body=body).json()["description"])

    assert description("sendMessage", {"text": "x"}) == "Bad Request: chat_id is empty"
    assert description("sendMessage", {"chat_id": env.chat_id}) == "Bad Request: message text is empty"
    assert description("sendMessage", {"chat_id": env.chat_id, "text": "   "}) == "Bad Request: message text is empty"
    assert description("getChatMember", {"chat_id": env.chat_id}) == 'Bad Request: parameter "user_id" is required'
    assert description("getChatMember", {"chat_id": env.chat_id, "user_id": "abc"}) == (
        'Bad Request: parameter "user_id" must be an Integer')
    assert description("sendMessage", {"chat_id": "library", "text": "x"}) == "Bad Request: chat not found"
    assert description("sendMessage", {"chat_id": env.chat_id, "text": "x", "parse_mode": "HTML",
                                       "link_preview_options": "[]"}) == (
        "Bad Request: object expected as link preview options")
    assert description("sendMessage", {"chat_id": env.chat_id, "text": "x", "parse_mode": "Klingon"}) == (
        "Bad Request: unsupported parse_mode")
    assert description("deleteMessages", {"chat_id": env.chat_id, "message_ids": list(range(1, 102))}) == (
        "Bad Request: too many message identifiers specified")
    assert description("sendMediaGroup", {"chat_id": env.chat_id, "media": []}) == (
        "Bad Request: there are no messages to send")


def test_html_parse_mode() -> None:
    text, entities = parse_html('<b>Жирный</b> и <a href="https://e.org">ссылка</a> &lt;3 &amp; 😀<i>x</i>')
    assert text == "Жирный и ссылка <3 & 😀x"
    assert entities[0] == {"type": "bold", "offset": 0, "length": 6}
    assert entities[1] == {"type": "text_link", "offset": 9, "length": 6, "url": "https://e.org"}
    assert entities[2] == {"type": "italic", "offset": 23, "length": 1}  # the emoji is two UTF-16 units
    for bad_html, message in (("a < b > c", "Unsupported start tag"), ("a < b", "Can't find end of the tag"),
                              ("<b>x", "Can't find end tag"), ("<b>x</i>", "Unmatched end tag"),
                              ("<script>x</script>", "Unsupported start tag")):
        with pytest.raises(Exception, match=message):
            parse_html(bad_html)


def test_channel_posts_and_their_automatic_forward(env: TelegramEnv) -> None:
    post = env.raw("sendMessage", json_body={"chat_id": "@filial_library", "text": "  Привет  "}).json()["result"]
    assert post["text"] == "Привет" and post["sender_chat"]["id"] == env.chat_id and "from" not in post
    group = env.app.state["chats"][str(env.seed["discussion_chat_id"])]["messages"]
    [forward] = group.values()
    assert forward["is_automatic_forward"] is True and forward["forward_origin"]["message_id"] == post["message_id"]
    updates = env.raw("getUpdates", json_body={}).json()["result"]
    assert [list(u) for u in updates] == [["update_id", "message"]]  # the bot sees the forward, not its own post


def test_rights_in_the_channel(env: TelegramEnv) -> None:
    env.app.simulate("demote_bot", {"chat_id": env.chat_id})
    answer = env.raw("sendMessage", json_body={"chat_id": env.chat_id, "text": "x"}).json()
    assert answer["description"] == "Bad Request: need administrator rights in the channel chat"
    env.app.simulate("kick_bot", {"chat_id": env.chat_id})
    answer = env.raw("sendMessage", json_body={"chat_id": env.chat_id, "text": "x"}).json()
    assert answer == {"ok": False, "error_code": 403, "description": "Forbidden: bot was kicked from the channel chat"}
    kinds = [next(k for k in u if k != "update_id") for u in env.app.state["bots"][env.token]["updates"]]
    assert kinds == ["my_chat_member"]


def test_blocking_and_unblocking_the_bot_send_my_chat_member(env: TelegramEnv) -> None:
    env.app.simulate("message", {"text": "/start", "user": {"id": 555, "first_name": "Ира"}})
    env.app.simulate("block_bot", {"user_id": 555})
    env.app.simulate("block_bot", {"user_id": 555})  # already blocked: nothing changes, no second update
    answer = env.raw("sendMessage", json_body={"chat_id": 555, "text": "x"}).json()
    assert answer == {"ok": False, "error_code": 403, "description": "Forbidden: bot was blocked by the user"}
    env.app.simulate("message", {"text": "/start", "user": {"id": 555}})  # "Restart": unblocked, then /start
    updates = env.raw("getUpdates", json_body={}).json()["result"]
    spec = _telegram_spec()
    assert spec.check(updates, spec.methods["getUpdates"]["returns"], "getUpdates.result") == []
    kinds = [next(k for k in u if k != "update_id") for u in updates]
    assert kinds == ["message", "my_chat_member", "my_chat_member", "message"]
    blocked, unblocked = updates[1]["my_chat_member"], updates[2]["my_chat_member"]
    bot = {"id": env.seed["bot_id"], "is_bot": True, "first_name": "filial test bot", "username": "filial_test_bot"}
    assert blocked["chat"] == {"id": 555, "type": "private", "first_name": "Ира"}
    assert blocked["from"] == {"id": 555, "is_bot": False, "first_name": "Ира"}
    assert blocked["old_chat_member"] == {"status": "member", "user": bot}
    assert blocked["new_chat_member"] == {"status": "kicked", "user": bot, "until_date": 0}
    assert (unblocked["old_chat_member"], unblocked["new_chat_member"]) == (
        blocked["new_chat_member"], blocked["old_chat_member"])
    assert env.raw("sendMessage", json_body={"chat_id": 555, "text": "снова можно"}).json()["ok"] is True


def test_album_rules(env: TelegramEnv) -> None:
    files = {f"p{i}": (f"p{i}.png", image_bytes("PNG"), "image/png") for i in range(2)}
    media = [{"type": "photo", "media": f"attach://p{i}", **({"caption": "<b>Альбом</b>", "parse_mode": "HTML"}
                                                            if i == 0 else {})} for i in range(2)]
    answer = env.raw("sendMediaGroup", data={"chat_id": str(env.chat_id), "media": json.dumps(media)},
                     files=files).json()
    assert answer["ok"] and len(answer["result"]) == 2
    first, second = answer["result"]
    assert first["media_group_id"] == second["media_group_id"] and first["caption"] == "Альбом"
    assert first["caption_entities"] == [{"type": "bold", "offset": 0, "length": 6}]
    missing = [{"type": "photo", "media": "attach://nothing"}, {"type": "photo", "media": "attach://p0"}]
    answer = env.raw("sendMediaGroup", data={"chat_id": str(env.chat_id), "media": json.dumps(missing)},
                     files=files).json()
    assert answer["description"] == "Bad Request: can't parse InputMedia: media not found"
    reused = [{"type": "photo", "media": first["photo"][-1]["file_id"]}, {"type": "photo", "media": "attach://p1"}]
    assert env.raw("sendMediaGroup", data={"chat_id": str(env.chat_id), "media": json.dumps(reused)},
                   files=files).json()["ok"]


def test_get_updates_offsets_and_allowed_updates(env: TelegramEnv) -> None:
    for text in ("/start", "один", "два"):
        env.app.simulate("message", {"text": text, "user": {"id": 12}})
    updates = env.raw("getUpdates", json_body={"limit": 2}).json()["result"]
    assert [u["message"]["text"] for u in updates] == ["/start", "один"]
    last = updates[-1]["update_id"]
    assert [u["message"]["text"] for u in env.raw("getUpdates", json_body={"offset": last + 1}).json()["result"]] == [
        "два"]
    assert env.raw("getUpdates", json_body={"offset": -1}).json()["result"][0]["message"]["text"] == "два"
    env.raw("getUpdates", json_body={"offset": last + 2, "allowed_updates": ["channel_post"]})
    env.app.simulate("message", {"text": "не придёт", "user": {"id": 12}})
    assert env.raw("getUpdates", json_body={}).json()["result"] == []


def test_long_polling_waits_for_an_update(env: TelegramEnv) -> None:
    import threading

    timer = threading.Timer(0.2, lambda: env.app.simulate("message", {"text": "/start", "user": {"id": 5}}))
    timer.start()
    updates = env.raw("getUpdates", json_body={"timeout": 3}).json()["result"]
    timer.join()
    assert [u["message"]["text"] for u in updates] == ["/start"]


def test_votes_and_poll_updates(env: TelegramEnv) -> None:
    poll = env.raw("sendPoll", json_body={"chat_id": env.chat_id, "question": "Q", "allows_multiple_answers": True,
                                          "options": [{"text": "a"}, {"text": "b"}]}).json()["result"]
    env.app.simulate("vote", {"chat_id": env.chat_id, "message_id": poll["message_id"], "option_ids": [0, 1],
                              "user": {"id": 3}})
    env.app.simulate("vote", {"chat_id": env.chat_id, "message_id": poll["message_id"], "option_ids": [1],
                              "user": {"id": 3}})  # a changed vote
    updates = env.raw("getUpdates", json_body={"allowed_updates": ["poll"]}).json()["result"]
    states = [u["poll"] for u in updates if "poll" in u]
    assert [o["voter_count"] for o in states[-1]["options"]] == [0, 1] and states[-1]["total_voter_count"] == 1
    stopped = env.raw("stopPoll", json_body={"chat_id": env.chat_id, "message_id": poll["message_id"]}).json()
    assert stopped["result"]["is_closed"] is True
    again = env.raw("stopPoll", json_body={"chat_id": env.chat_id, "message_id": poll["message_id"]}).json()
    assert again["description"] == "Bad Request: poll has already been closed"
    with pytest.raises(ValueError, match="closed"):
        env.app.simulate("vote", {"chat_id": env.chat_id, "message_id": poll["message_id"], "option_ids": [0]})


def test_new_members_grow_the_audience(env: TelegramEnv) -> None:
    env.app.simulate("new_member", {"chat_id": env.chat_id, "user": {"first_name": "Новый"}})
    assert env.connector().verify().audience == 1251


def test_control_api_and_page_view(env: TelegramEnv) -> None:
    import httpx

    httpx.post(f"{env.url}/_emulator/simulate/message", json={"text": "<script>alert(1)</script>",
                                                              "user": {"id": 8, "first_name": "<b>Хакер</b>"}})
    env.raw("sendMessage", json_body={"chat_id": env.chat_id, "text": "Пост <i>курсивом</i>", "parse_mode": "HTML"})
    page = httpx.get(f"{env.url}/_emulator/").text
    assert "Библиотека" in page and "Пост курсивом" in page and "1250 подписчиков" in page
    assert "<script>alert" not in page and "&lt;script&gt;" in page and "&lt;b&gt;Хакер" in page
    assert httpx.post(f"{env.url}/_emulator/faults", json={"method": "getMe", "kind": "http_500"}).json()["ok"]
    assert env.raw("getMe").status_code == 500
    assert httpx.post(f"{env.url}/_emulator/simulate/nonsense", json={}).status_code == 404
    seeded = httpx.post(f"{env.url}/_emulator/simulate/seed", json={"username": "second_library"}).json()["result"]
    assert seeded["chat_id"] != env.chat_id and seeded["token"] != env.token
    assert all(r["token"] == "<redacted>" for r in env.app.requests)
    assert env.token not in json.dumps(env.app.requests)


def test_state_persists_to_a_json_file(tmp_path: Path) -> None:
    state_file = tmp_path / "telegram.json"
    app = TelegramEmulator(state_file=state_file, rate_limits=False)
    seed = app.seed()
    app.simulate("message", {"text": "/start", "user": {"id": 4}})
    app.save()
    again = TelegramEmulator(state_file=state_file)
    assert again.state["bots"][seed["token"]]["started"] == [4]
    assert str(seed["chat_id"]) in again.state["chats"]
