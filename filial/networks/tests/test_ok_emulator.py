"""The OK emulator validates requests the way OK does: raw HTTP against it, no connector in between."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from emulators.networks.ok import OKEmulator
from filial.networks.ok.client import sign
from filial.networks.tests.helpers import served
from filial.networks.tests.ok_conformance import World, image, ok_world


@pytest.fixture
def world() -> Iterator[World]:
    with ok_world() as w:
        yield w


def _signed(world: World, method: str, token: str = "", secret: str = "", **params: str) -> dict[str, str]:
    creds = world.credentials
    data = {"method": method, "application_key": creds["application_key"], "format": "json", **params}
    data["sig"] = sign(data, token or creds["access_token"], secret or creds["application_secret_key"])
    data["access_token"] = token or creds["access_token"]
    return data


def _post(world: World, data: dict[str, str]) -> httpx.Response:
    return httpx.post(world.api_url, data=data, timeout=5)


def _error(response: httpx.Response) -> int:
    body = response.json()
    assert response.status_code == 200 and set(body) == {"error_code", "error_msg", "error_data"}
    assert response.headers["invocation-error"] == str(body["error_code"])
    return int(body["error_code"])


def test_signature_matches_the_documented_formula() -> None:
    params = {"application_key": "CBAFJIICABABABABA", "fields": "NAME,MEMBERS_COUNT", "format": "json",
              "method": "group.getInfo", "uids": "53038939046008", "access_token": "tkn1abc", "sig": "x"}
    secret = hashlib.md5(b"tkn1abc" + b"SECRETKEY", usedforsecurity=False).hexdigest()
    base = ("application_key=CBAFJIICABABABABAfields=NAME,MEMBERS_COUNTformat=jsonmethod=group.getInfo"
            "uids=53038939046008")
    expected = hashlib.md5((base + secret).encode(), usedforsecurity=False).hexdigest()
    assert sign(params, "tkn1abc", "SECRETKEY") == expected


def test_signature_covers_utf8_values(world: World) -> None:
    attachment = json.dumps({"media": [{"type": "text", "text": "Привет, «мир»"}]}, ensure_ascii=False)
    ok = _post(world, _signed(world, "mediatopic.post", gid=world.gid, type="GROUP_THEME", attachment=attachment))
    assert ok.json().isdigit()
    tampered = _signed(world, "mediatopic.post", gid=world.gid, type="GROUP_THEME", attachment=attachment)
    tampered["attachment"] = tampered["attachment"].replace("мир", "мiр")
    assert _error(_post(world, tampered)) == 104


@pytest.mark.parametrize("mutate,code", [
    (lambda d: d.update(sig="0" * 32), 104),
    (lambda d: d.update(method="mediatopic.nope"), 3),
    (lambda d: d.pop("method"), 100),
    (lambda d: d.update(application_key="CBAUNKNOWN"), 101),
    (lambda d: d.pop("access_token"), 453),
    (lambda d: d.update(access_token="tkn1garbage"), 104),
])
def test_envelope_and_auth_checks(world: World, mutate: Any, code: int) -> None:
    data = _signed(world, "group.getInfo", uids=world.gid, fields="name")
    mutate(data)
    assert _error(_post(world, data)) == code


def test_bot_token_is_not_a_rest_token(world: World) -> None:
    data = _signed(world, "group.getInfo", token=world.credentials["bot_token"], uids=world.gid, fields="name")
    assert _error(_post(world, data)) == 103


GID = "57000000000001"


@pytest.mark.parametrize("params,code", [
    ({"fields": "name"}, 100),  # uids missing
    ({"uids": GID, "fields": "name", "colour": "red"}, 100),  # unknown parameter
    ({"uids": "abc", "fields": "name"}, 100),
    ({"uids": GID, "fields": "name,favourite_book"}, 100),
    ({"uids": GID, "fields": "name", "move_to_top": "yes"}, 100),
])
def test_parameters_are_validated(world: World, params: dict[str, str], code: int) -> None:
    assert _error(_post(world, _signed(world, "group.getInfo", **params))) == code


def test_format_must_be_json(world: World) -> None:
    data = _signed(world, "users.getCurrentUser", format="xml")
    data["format"] = "xml"
    creds = world.credentials
    data["sig"] = sign(data, creds["access_token"], creds["application_secret_key"])
    assert _error(_post(world, data)) == 100


def test_get_requests_work_too(world: World) -> None:
    response = httpx.get(world.api_url, params=_signed(world, "group.getInfo", uids=world.gid,
                                                       fields="name,members_count"), timeout=5)
    assert response.json() == [{"uid": world.gid, "name": "Центральная библиотека", "members_count": 25}]


def _post_media(world: World, media: list[dict[str, Any]]) -> httpx.Response:
    attachment = json.dumps({"media": media}, ensure_ascii=False)
    return _post(world, _signed(world, "mediatopic.post", gid=world.gid, type="GROUP_THEME", attachment=attachment))


@pytest.mark.parametrize("media,code", [
    ([{"type": "poll", "question": "Q", "answers": [{"text": str(n)} for n in range(11)]}], 603),
    ([{"type": "poll", "question": "Q" * 256, "answers": [{"text": "a"}, {"text": "b"}]}], 602),
    ([{"type": "poll", "question": "Q", "answers": [{"text": "a" * 256}, {"text": "b"}]}], 604),
    ([{"type": "poll", "question": "Q", "answers": [{"text": "a"}, {"text": "b"}], "options": "Magic"}], 100),
    ([{"type": "photo", "list": [{"id": "not-a-token"}]}], 121),
    ([{"type": "link", "url": "ftp://x"}], 100),
    ([{"type": "sticker"}], 100),
    ([], 100),
])
def test_attachment_validation(world: World, media: list[dict[str, Any]], code: int) -> None:
    assert _error(_post_media(world, media)) == code
    assert world.app.state["topics"] == {}


def test_topic_in_a_group_needs_gid_and_group_theme(world: World) -> None:
    attachment = json.dumps({"media": [{"type": "text", "text": "x"}]})
    assert _error(_post(world, _signed(world, "mediatopic.post", gid=world.gid, attachment=attachment))) == 100
    assert _error(_post(world, _signed(world, "mediatopic.post", gid="57999", type="GROUP_THEME",
                                       attachment=attachment))) == 160


def _upload_url(world: World, count: int = 1) -> str:
    data = _post(world, _signed(world, "photosV2.getUploadUrl", gid=world.gid, count=str(count))).json()
    assert len(data["photo_ids"]) == count
    return str(data["upload_url"])


def test_upload_flow_and_its_checks(world: World) -> None:
    url = _upload_url(world, 2)
    assert _error(httpx.post(url, data={"x": "1"}, timeout=5)) == 21
    assert _error(httpx.post(url, files={"note": (None, b"text")}, timeout=5)) == 505
    broken = image("JPEG").content[:60]
    assert _error(httpx.post(url, files={"pic1": ("a.jpg", broken, "image/jpeg")}, timeout=5)) in (503, 504)
    assert _error(httpx.post(url, files={"pic1": ("a.jpg", b"hello", "image/jpeg")}, timeout=5)) == 503
    files = {f"pic{n}": ("a.png", image().content, "image/png") for n in (1, 2, 3)}
    assert _error(httpx.post(url, files=files, timeout=5)) == 100  # more files than reserved
    good = httpx.post(url, files={"pic1": ("a.png", image().content, "image/png"),
                                  "pic2": ("b.jpg", image("JPEG").content, "image/jpeg")}, timeout=5).json()
    tokens = [entry["token"] for entry in good["photos"].values()]
    assert len(tokens) == 2
    assert _error(httpx.post(url, files={"pic1": ("a.png", image().content, "image/png")}, timeout=5)) == 100
    published = _post_media(world, [{"type": "photo", "list": [{"id": token} for token in tokens]}]).json()
    assert published.isdigit()
    again = _post_media(world, [{"type": "photo", "list": [{"id": tokens[0]}]}])
    assert _error(again) == 121  # a photo token is used once


def test_photo_tokens_are_per_group(world: World) -> None:
    url = _upload_url(world)
    token = next(iter(httpx.post(url, files={"pic1": ("a.png", image().content, "image/png")},
                                 timeout=5).json()["photos"].values()))["token"]
    other = world.app.seed(gid="57000000000888", name="Филиал")
    attachment = json.dumps({"media": [{"type": "photo", "list": [{"id": token}]}]})
    response = _post(world, _signed(world, "mediatopic.post", gid=other["external_id"], type="GROUP_THEME",
                                    attachment=attachment))
    assert _error(response) == 121


def test_comments_anchor_paging(world: World) -> None:
    topic_id = _post_media(world, [{"type": "text", "text": "Тема"}]).json()
    for n in range(3):
        world.app.simulate("comment", {"topic_id": topic_id, "text": f"c{n}"})
    first = _post(world, _signed(world, "discussions.getComments", discussionId=topic_id,
                                 discussionType="GROUP_TOPIC", anchor="FIRST", direction="FORWARD",
                                 count="2")).json()
    assert [c["text"] for c in first["comments"]] == ["c0", "c1"] and first["has_more"] is True
    second = _post(world, _signed(world, "discussions.getComments", discussionId=topic_id,
                                  discussionType="GROUP_TOPIC", anchor=first["anchor"], direction="FORWARD",
                                  count="2")).json()
    assert [c["text"] for c in second["comments"]] == ["c2"] and second["has_more"] is False
    last = _post(world, _signed(world, "discussions.getComments", discussionId=topic_id,
                                discussionType="GROUP_TOPIC", anchor="LAST", direction="BACKWARD", count="1")).json()
    assert [c["text"] for c in last["comments"]] == ["c2"]
    bad = _post(world, _signed(world, "discussions.addDiscussionComment", entityId=topic_id,
                               entityType="GROUP_TOPIC", comment="x", reply_to_comment_id="nope"))
    assert _error(bad) == 700


def _graph(world: World, verb: str, path: str, token: str = "", body: Any = None,
           content_type: str = "application/json;charset=utf-8", **query: str) -> httpx.Response:
    params = {"access_token": token or world.credentials["bot_token"], **query}
    content = None if body is None else json.dumps(body).encode()
    headers = {"Content-Type": content_type} if content is not None else {}
    return httpx.request(verb, world.server.url + "/graph/" + path, params=params, content=content,
                         headers=headers, timeout=5)


def test_bot_api_checks(world: World) -> None:
    assert _graph(world, "GET", "me/info").json() == {"name": "Центральная библиотека",
                                                       "group_id": f"group:{world.gid}"}
    assert _error(_graph(world, "GET", "me/info", token=world.credentials["access_token"])) == 103
    assert _error(_graph(world, "GET", "me/messages/chat:Cnope")) == 705
    body = {"recipient": {"user_ids": ["user:651"]}, "message": {"text": "Hi"}}
    assert _error(_graph(world, "POST", "me/messages", body=body, content_type="text/plain")) == 100
    assert _graph(world, "POST", "me/messages", body=body).json() == {"success": [False], "chat_ids": [None]}
    assert _error(_graph(world, "POST", "me/subscribe", body={"url": "not a url"})) == 100
    assert _graph(world, "POST", "me/subscribe", body={"url": "https://filial.example/ok?secret=s"}).json() == {
        "success": True}
    subs = _graph(world, "GET", "me/subscriptions").json()["subscriptions"]
    assert [sub["url"] for sub in subs] == ["https://filial.example/ok?secret=s"]


def test_graph_messages_window(world: World) -> None:
    for n in range(3):
        world.app.simulate("message", {"uid": "661", "text": f"m{n}"})
    (chat_id,) = world.app.state["chats"]
    latest = _graph(world, "GET", f"me/messages/{chat_id}", count="2").json()["messages"]
    assert [m["message"]["text"] for m in latest] == ["m2", "m1"]
    older = _graph(world, "GET", "me/messages", chat_id=chat_id, count="5",
                   **{"from": str(latest[-1]["timestamp"] - 1)}).json()["messages"]
    assert [m["message"]["text"] for m in older] == ["m0"]


def test_page_view_escapes_everything(world: World) -> None:
    world.app.seed(gid=world.gid, name="<script>alert(1)</script>")
    _post_media(world, [{"type": "text", "text": "<b>жирный</b> & текст"}])
    world.app.simulate("message", {"uid": "671", "name": "<img src=x>", "text": "<i>hi</i>"})
    page = httpx.get(world.server.url + "/_emulator/", timeout=5).text
    assert "<script>alert(1)" not in page and "&lt;script&gt;" in page
    assert "&lt;b&gt;жирный&lt;/b&gt; &amp; текст" in page and "<img src=x>" not in page


def test_control_api_over_http() -> None:
    with served(OKEmulator(rate_limit=1000)) as server:
        seed = httpx.post(server.url + "/_emulator/simulate/seed", json={"gid": "57000000000123", "members": 3},
                          timeout=5).json()["result"]
        assert seed["external_id"] == "57000000000123" and seed["credentials"]["access_token"]
        member = httpx.post(server.url + "/_emulator/simulate/new_member", json={"name": "Пётр"}, timeout=5)
        assert member.json()["result"]["members_count"] == 4
        missing = httpx.post(server.url + "/_emulator/simulate/comment", json={"topic_id": "1", "text": "x"},
                             timeout=5)
        assert missing.status_code == 404
        fault = httpx.post(server.url + "/_emulator/faults", json={"method": "mediatopic.post", "kind": "bogus"},
                           timeout=5)
        assert fault.status_code == 400


def test_state_persists_to_a_file(tmp_path: Path) -> None:
    path = tmp_path / "ok.json"
    first = OKEmulator(state_file=path)
    first.seed(gid="57000000000321", members=5)
    second = OKEmulator(state_file=path)
    assert len(second.state["groups"]["57000000000321"]["members"]) == 5
