"""Conformance with the VK API schema (../shared/specs/vk-api-schema): every request the connector makes in a
full scenario, every emulator answer, the emulator's own method table, and the emulator's refusals."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from emulators.networks.vk import METHODS
from filial.networks.base import NetworkError, Photo, PollSpec, PostPayload
from filial.networks.tests.vk_conformance import (
    VKEnv,
    api_records,
    check_callback_event,
    check_request,
    check_response,
    image,
    methods,
    resolve,
    vk_env,
)

pytestmark = pytest.mark.filterwarnings("ignore::ResourceWarning")


@pytest.fixture
def vk() -> Iterator[VKEnv]:
    yield from vk_env()


def _scenario(env: VKEnv) -> None:
    """Everything the connector does, including refused calls, so that error answers are recorded too."""
    saved: list[dict[str, Any]] = []
    connector = env.connector(on_credentials=saved.append)
    connector.verify()
    photos = [Photo(image("PNG"), "a.png", "image/png"), Photo(image("JPEG"), "b.jpg")]
    post = PostPayload(text="Неделя детской книги", key="delivery-1", photos=photos, link="https://lib.example/a",
                       poll=PollSpec("Что читать?", ["Сказки", "Приключения"], multiple=True))
    published = connector.publish(post)
    connector.publish(PostPayload(text="Только текст", key="delivery-2"))
    connector.edit(published.external_id, PostPayload(text="Неделя детской книги (изменено)", key="delivery-1",
                                                      photos=photos, poll=post.poll))
    env.simulate("vote", poll_id=published.extra["poll_id"], answers=[0, 1])
    connector.post_stats([published.external_id])
    connector.poll_results(published)
    connector.find_published(post)
    cursor = connector.fetch_updates(None).cursor
    env.simulate("comment", post_id=1, user_id=601, text="Спасибо!")
    env.simulate("message", user_id=602, text="Когда открыто?")
    page = connector.fetch_updates(cursor)
    for item in page.items:
        connector.reply(item, "Ответ библиотеки", key=f"reply-{item.external_id}")
    env.simulate("allow_messages", user_id=603)
    connector.send_message("603", "Книга ждёт вас", key="message-1")
    with pytest.raises(NetworkError):
        connector.send_message("604", "Нет разрешения", key="message-2")
    env.app.add_fault("wall.getById", "expire_token")
    connector.post_stats([published.external_id])  # refreshed through VK ID and repeated
    assert saved
    connector.delete(published.external_id)
    connector.delete(published.external_id)  # error 104 answer recorded
    env.app.add_fault("wall.post", "captcha")
    with pytest.raises(NetworkError):
        connector.publish(PostPayload(text="Капча", key="delivery-3"))


def test_every_request_and_answer_of_a_full_scenario_conforms(vk: VKEnv) -> None:
    _scenario(vk)
    records = api_records(vk.app)
    used = {r["method"] for r in records}
    assert used >= {"groups.getById", "photos.getWallUploadServer", "photos.saveWallPhoto", "polls.create",
                    "wall.post", "wall.edit", "wall.getById", "polls.getById", "wall.get",
                    "groups.getLongPollServer", "users.get", "wall.createComment", "messages.send",
                    "wall.delete"}
    problems = [p for r in records for p in check_request(r)]
    assert problems == []
    answers = [p for r in records for p in check_response(r)]
    assert answers == []
    errors = {r["body"]["error"]["error_code"] for r in records if r.get("body") and "error" in r["body"]}
    assert errors >= {5, 14, 104}
    # no secret is recorded: the emulator redacts it like the connector's error summaries do
    assert all(r["params"].get("access_token") == "***" for r in records)


def test_long_poll_events_and_callback_bodies_conform(vk: VKEnv) -> None:
    connector = vk.connector()
    connector.publish(PostPayload(text="Пост", key="d-1", poll=PollSpec("?", ["a", "b"])))
    cursor = connector.fetch_updates(None).cursor
    vk.simulate("comment", post_id=1, user_id=611, text="Комментарий")
    vk.simulate("message", user_id=612, text="Сообщение")
    vk.simulate("new_member", user_id=613)
    vk.simulate("leave", user_id=613)
    vk.simulate("allow_messages", user_id=614)
    vk.simulate("deny_messages", user_id=614)
    vk.simulate("vote", poll_id=1, answer=1, user_id=615)
    connector.reply(connector.fetch_updates(cursor).items[0], "Ответ", key="r-1")
    bodies = vk.app.callback_bodies(4242)
    assert {b["type"] for b in bodies} == {"wall_reply_new", "message_new", "group_join", "group_leave",
                                           "message_allow", "message_deny", "poll_vote_new"}
    assert [p for body in bodies for p in check_callback_event(body)] == []
    server = connector._lp or {}
    answer = httpx.get(server["server"], params={"act": "a_check", "key": server["key"], "ts": 1, "wait": 0}).json()
    assert isinstance(answer["ts"], str) and [p for e in answer["updates"] for p in check_callback_event(e)] == []
    lp_answer = next(r for r in api_records(vk.app) if r["method"] == "groups.getLongPollServer")
    assert check_response(lp_answer) == []


def test_the_emulator_method_table_matches_the_schema() -> None:
    spec = methods()
    problems = []
    keys = {"minimum": "minimum", "maximum": "maximum", "max_length": "maxLength", "max_items": "maxItems"}
    for name, method in METHODS.items():
        if name not in spec:
            problems.append(f"{name}: not in the schema")
            continue
        if sorted(method.tokens) != sorted(spec[name]["access_token_type"]):
            problems.append(f"{name}: tokens {method.tokens} != {spec[name]['access_token_type']}")
        params = {p["name"]: p for p in spec[name]["parameters"]}
        for pname, rule in method.params.items():
            sp = params.get(pname)
            if sp is None:
                problems.append(f"{name}.{pname}: not in the schema")
                continue
            if "$ref" in sp:
                sp = {**resolve(sp["$ref"], spec[name]["_file"])[0], **sp}
            types = sp["type"] if isinstance(sp["type"], list) else [sp["type"]]
            if rule.type not in types:
                problems.append(f"{name}.{pname}: type {rule.type} not in {types}")
            if rule.required != (sp.get("required") is True):
                problems.append(f"{name}.{pname}: required {rule.required}")
            for attr, key in keys.items():
                if getattr(rule, attr) != sp.get(key):
                    problems.append(f"{name}.{pname}: {key} {getattr(rule, attr)} != {sp.get(key)}")
            if rule.enum is not None and list(rule.enum) != sp.get("enum"):
                problems.append(f"{name}.{pname}: enum differs")
        for pname, sp in params.items():
            if sp.get("required") is True and pname not in method.params:
                problems.append(f"{name}.{pname}: required by the schema but not checked")
    assert problems == []


def _raw(env: VKEnv, method: str, token: str | None, **params: Any) -> dict[str, Any]:
    data: dict[str, Any] = {"v": "5.199", **params}
    if token is not None:
        data["access_token"] = token
    answer = httpx.post(env.api_url + method, data=data).json()
    assert isinstance(answer, dict)
    return answer


@pytest.mark.parametrize(("method", "token", "params", "code", "text"), [
    ("wall.postt", "user", {}, 3, "Unknown method passed"),
    ("wall.post", None, {"message": "x"}, 5, "no access_token passed"),
    ("wall.post", "bogus", {"message": "x"}, 5, "invalid access_token"),
    ("wall.post", "group", {"owner_id": -4242, "message": "x"}, 27, "unavailable with group auth"),
    ("wall.post", "service", {"owner_id": -4242, "message": "x"}, 28, "unavailable with service token"),
    ("wall.post", "user", {"owner_id": "-4242x", "message": "x"}, 100, "owner_id not integer"),
    ("wall.post", "user", {"owner_id": -4242, "from_group": "true", "message": "x"}, 100, "from_group"),
    ("wall.post", "user", {"owner_id": -4242}, 100, "message"),
    ("wall.post", "user", {"owner_id": -4242, "message": "я" * 16385}, 100, "too long"),
    ("wall.post", "user", {"owner_id": -4242, "attachments": "https://a.example,https://b.example"}, 100, "link"),
    ("wall.post", "user", {"owner_id": -4242, "attachments": "photo-4242_77"}, 100, "not found"),
    ("wall.post", "user", {"owner_id": -1, "message": "x"}, 100, "owner_id"),
    ("wall.edit", "user", {"owner_id": -4242, "message": "x"}, 100, "post_id is undefined"),
    ("polls.create", "user", {"owner_id": -4242, "question": "?", "add_answers": "[\"a\""}, 100, "add_answers"),
    ("polls.create", "user", {"owner_id": -4242, "question": "?", "add_answers": json.dumps(["a"] * 11)}, 100,
     "add_answers"),
    ("polls.create", "user", {"owner_id": -4242, "question": "?", "add_answers": "[\"a\",\"b\"]",
                              "end_date": 100}, 100, "end_date"),
    ("groups.getLongPollServer", "group", {"group_id": 0}, 100, "group_id"),
    ("messages.send", "group", {"peer_id": 5, "message": "x"}, 100, "random_id"),
    ("messages.send", "group", {"peer_id": 5, "random_id": 1, "message": "x"}, 113, "Invalid user id"),
    ("messages.send", "group", {"peer_ids": "1,x", "random_id": 1, "message": "x"}, 100, "not integer"),
])
def test_the_emulator_refuses_what_vk_refuses(vk: VKEnv, method: str, token: str | None, params: dict[str, Any],
                                              code: int, text: str) -> None:
    tokens = {"user": vk.page["credentials"]["access_token"], "group": vk.page["credentials"]["community_token"],
              "service": vk.page["service_token"], "bogus": "vk1.a.nope", None: None}
    answer = _raw(vk, method, tokens[token], **params)
    assert answer["error"]["error_code"] == code and text in answer["error"]["error_msg"]
    assert {"key": "method", "value": method} in answer["error"]["request_params"]
    assert all(p["key"] != "access_token" for p in answer["error"]["request_params"])


def test_the_emulator_needs_the_version_and_answers_bearer_tokens(vk: VKEnv) -> None:
    token = vk.page["credentials"]["access_token"]
    missing = httpx.post(vk.api_url + "groups.getById", data={"group_id": 4242, "access_token": token}).json()
    assert missing["error"]["error_code"] == 8
    old = httpx.post(vk.api_url + "groups.getById", data={"group_id": 4242, "access_token": token,
                                                          "v": "5.50"}).json()
    assert old["error"]["error_code"] == 8
    bearer = httpx.post(vk.api_url + "groups.getById", data={"group_id": 4242, "v": "5.199"},
                        headers={"Authorization": f"Bearer {token}"}).json()
    assert bearer["response"]["groups"][0]["is_admin"] == 1
    get = httpx.get(vk.api_url + "groups.getById", params={"group_id": 4242, "v": "5.199", "access_token": token})
    assert get.json()["response"]["groups"][0]["id"] == 4242


def test_the_emulator_view_escapes_what_readers_wrote(vk: VKEnv) -> None:
    vk.connector().publish(PostPayload(text="<img src=x onerror=alert(1)>", key="d-1"))
    vk.simulate("message", user_id=620, text="<script>alert(2)</script>")
    page = httpx.get(vk.server.url + "/_emulator/").text
    assert "<script>alert(2)" not in page and "&lt;script&gt;alert(2)" in page
    assert "<img src=x" not in page and "&lt;img src=x" in page


def test_state_survives_a_restart_from_its_file(tmp_path: Any) -> None:
    from emulators.networks.vk import VKEmulator

    path = tmp_path / "vk.json"
    first = VKEmulator(state_file=path)
    page = first.seed(group_id=77, name="Сохранённая")
    second = VKEmulator(state_file=path)
    assert second.state["groups"]["77"]["name"] == "Сохранённая"
    assert page["credentials"]["access_token"] in second.state["tokens"]
