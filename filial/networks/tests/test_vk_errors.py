"""VK errors: bad input refused before any call, each VK error class mapped to the right flags, timeouts."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import httpx
import pytest

from filial.networks.base import NetworkError, Photo, PollSpec, PostPayload
from filial.networks.tests.vk_conformance import VKEnv, api_records, image, vk_env
from filial.networks.vk.client import VKClient, VKError

pytestmark = pytest.mark.filterwarnings("ignore::ResourceWarning")


@pytest.fixture
def vk() -> Iterator[VKEnv]:
    yield from vk_env()


@pytest.fixture
def vk_limited() -> Iterator[VKEnv]:
    yield from vk_env(limited=True)


def _posts(env: VKEnv) -> list[dict[str, Any]]:
    return [p for p in env.app.state["groups"]["4242"]["posts"].values() if not p["deleted"]]


def _user_client(env: VKEnv) -> tuple[VKClient, str]:
    return VKClient(env.api_url, timeout=5.0), env.page["credentials"]["access_token"]


# --- bad input: a clear error before the network is called ----------------------------------------------
@pytest.mark.parametrize(("post", "reason"), [
    (PostPayload(text="я" * 16385, key="k"), "16385 characters, at most 16384"),
    (PostPayload(text="x", key="k", photos=[Photo(image(), f"{n}.png") for n in range(11)]), "11 photos"),
    (PostPayload(text="x", key="k", photos=[Photo(b"%PDF-1.4 not an image", "scan.pdf", "application/pdf")]),
     "scan.pdf: not a JPG, PNG or GIF image"),
    (PostPayload(text="x", key="k", poll=PollSpec("Один вариант?", ["Да"])), "2 to 10 answers"),
    (PostPayload(text="x", key="k", poll=PollSpec("Много?", [str(n) for n in range(11)])), "2 to 10 answers"),
    (PostPayload(text="x", key="k", photos=[Photo(image(), f"{n}.png") for n in range(9)],
                 poll=PollSpec("Q", ["a", "b"]), link="https://lib.example"), "11 attachments"),
    (PostPayload(text="x", key="k", link="javascript:alert(1)"), "not an http(s) address"),
    (PostPayload(text="  ", key="k"), "the post is empty"),
])
def test_bad_posts_are_refused_before_any_call(vk: VKEnv, post: PostPayload, reason: str) -> None:
    with pytest.raises(NetworkError) as caught:
        vk.connector().publish(post)
    assert caught.value.permanent and reason in caught.value.message
    assert vk.app.requests == []


def test_the_emulator_rejects_a_file_that_is_not_an_image(vk: VKEnv) -> None:
    client, token = _user_client(vk)
    server = client.call("photos.getWallUploadServer", {"group_id": 4242}, token=token)
    with pytest.raises(VKError) as caught:
        client.upload_photo(server["upload_url"], Photo(b"GIF89a but then garbage", "fake.gif", "image/gif"))
    assert caught.value.permanent and "fake.gif" in caught.value.message
    answer = httpx.post(server["upload_url"], files={"photo": ("x.txt", b"hello", "text/plain")}).json()
    assert answer["photo"] == "[]"  # VK's upload server answers an empty list for a file it cannot read
    with pytest.raises(VKError) as saved:
        client.call("photos.saveWallPhoto", {"group_id": 4242, **answer}, token=token)
    assert saved.value.code == 100 and "photos_list is invalid" in saved.value.message
    with pytest.raises(VKError) as forged:
        client.call("photos.saveWallPhoto", {"group_id": 4242, "photo": answer["photo"], "server": 1,
                                             "hash": answer["hash"]}, token=token)
    assert forged.value.code == 121


def test_a_failed_upload_midway_posts_nothing(vk: VKEnv) -> None:
    calls = {"n": 0}
    take = vk.app.take_fault

    def second_save_fails(method: str) -> str | None:
        if method == "photos.saveWallPhoto":
            calls["n"] += 1
            if calls["n"] == 2:
                return "http_502"
        return take(method)

    vk.app.take_fault = second_save_fails  # type: ignore[method-assign]
    photos = [Photo(image(), f"{n}.png") for n in range(3)]
    with pytest.raises(NetworkError) as caught:
        vk.connector().publish(PostPayload(text="Три фото", key="d-1", photos=photos))
    assert caught.value.transient and caught.value.code == 502 and not caught.value.outcome_unknown
    assert _posts(vk) == [] and not api_records(vk.app, lambda r: r["method"] == "wall.post")


def test_an_over_long_message_and_comment_reply_are_refused(vk: VKEnv) -> None:
    client = VKClient(vk.api_url)
    vk.simulate("allow_messages", user_id=901)
    with pytest.raises(VKError) as caught:
        client.call("messages.send", {"peer_id": 901, "random_id": 5, "message": "я" * 4097},
                    token=vk.page["credentials"]["community_token"], actor="group")
    assert caught.value.code == 914 and caught.value.permanent


# --- each VK error class -------------------------------------------------------------------------------------
def test_revoked_token_needs_reauth(vk: VKEnv) -> None:
    vk.app.add_fault("groups.getById", "revoke_token")
    with pytest.raises(NetworkError) as caught:
        vk.connector().verify()
    error = caught.value
    assert error.needs_reauth and error.permanent and error.code == 5 and error.method == "groups.getById"
    token = vk.page["credentials"]["access_token"]
    assert token not in str(error) and token not in repr(getattr(error, "request", ""))
    assert error.request["params"] == {"group_id": "4242", "fields": "members_count"}  # type: ignore[attr-defined]


def test_community_token_where_a_user_token_is_needed(vk: VKEnv) -> None:
    vk.app.conformance_exempt = "a community token given as the user token: wall.post with the wrong token type"
    wrong = {**vk.page["credentials"], "access_token": vk.page["credentials"]["community_token"]}
    with pytest.raises(NetworkError) as caught:
        vk.connector(credentials=wrong).publish(PostPayload(text="x", key="k"))
    assert caught.value.code == 27 and caught.value.needs_reauth
    assert "method is unavailable with group auth" in caught.value.message


def test_too_many_requests_per_second_gives_retry_after(vk: VKEnv, monkeypatch: pytest.MonkeyPatch) -> None:
    from filial.networks.vk import client as client_module

    slept: list[float] = []
    monkeypatch.setattr(client_module, "time", SimpleNamespace(sleep=slept.append, monotonic=time.monotonic))
    vk.app.add_fault("groups.getById", "rate_limit", times=2)  # the client repeats error 6 once, then gives up
    with pytest.raises(NetworkError) as caught:
        vk.connector().verify()
    assert caught.value.code == 6 and caught.value.transient and caught.value.retry_after == 1.0
    vk.app.add_fault("groups.getById", "rate_limit")  # once: repeated after a second, then it works
    assert vk.connector().verify().name
    assert slept == [1.0, 1.0]


def test_the_emulator_enforces_vk_rate_limits(vk_limited: VKEnv) -> None:
    # The emulator's clock stands still, so the requests fall in one second however slowly a busy machine sends them.
    vk_limited.app.limiter.clock = lambda: 1000.0
    credentials = vk_limited.page["credentials"]
    url = vk_limited.api_url + "groups.getById"
    user = [httpx.post(url, data={"group_id": 4242, "access_token": credentials["access_token"], "v": "5.199"})
            .json() for _ in range(4)]
    assert ["error" in answer for answer in user] == [False, False, False, True]
    assert user[3]["error"]["error_code"] == 6 and user[3]["error"]["error_msg"] == "Too many requests per second"
    group = [httpx.post(url, data={"access_token": credentials["community_token"], "v": "5.199"}).json()
             for _ in range(21)]
    assert sum("error" in answer for answer in group) == 1 and group[20]["error"]["error_code"] == 6


def test_flood_control_gives_a_longer_retry_after(vk: VKEnv) -> None:
    vk.app.posts_per_day = 1
    connector = vk.connector()
    connector.publish(PostPayload(text="Первый", key="d-1"))
    with pytest.raises(NetworkError) as caught:
        connector.publish(PostPayload(text="Второй", key="d-2"))
    assert caught.value.code == 9 and caught.value.transient and (caught.value.retry_after or 0) >= 60


def test_captcha_is_transient_and_asks_for_a_person(vk: VKEnv) -> None:
    vk.app.add_fault("wall.post", "captcha")
    with pytest.raises(NetworkError) as caught:
        vk.connector().publish(PostPayload(text="x", key="d-1"))
    error = caught.value
    assert error.code == 14 and error.transient and error.retry_after and "person must act" in error.message
    assert error.captcha_sid and "captcha.php" in error.captcha_img  # type: ignore[attr-defined]
    assert _posts(vk) == []


def test_invalid_parameter_is_permanent(vk: VKEnv) -> None:
    vk.app.conformance_exempt = "sends from_group=yes on purpose"
    client, token = _user_client(vk)
    with pytest.raises(VKError) as caught:
        client.call("wall.post", {"owner_id": "-4242", "from_group": "yes", "message": "x"}, token=token)
    assert caught.value.code == 100 and caught.value.permanent and not caught.value.needs_reauth
    with pytest.raises(VKError) as poll:
        vk.connector().poll_results(type("P", (), {"extra": {"poll_id": 999}, "external_id": "-4242_1"})())
    assert poll.value.code == 251 and poll.value.permanent


@pytest.mark.parametrize(("kind", "status"), [("http_500", 500), ("http_502", 502)])
def test_server_errors_are_transient(vk: VKEnv, kind: str, status: int) -> None:
    vk.app.add_fault("wall.post", kind)
    with pytest.raises(NetworkError) as caught:
        vk.connector().publish(PostPayload(text="x", key="d-1"))
    assert caught.value.transient and caught.value.code == status and not caught.value.outcome_unknown
    assert _posts(vk) == []
    assert vk.connector().publish(PostPayload(text="x", key="d-1")).external_id == "-4242_1"


def test_vk_internal_error_10_is_transient() -> None:
    from filial.networks.vk.client import api_error

    error = api_error({"error_code": 10, "error_msg": "Internal server error"}, "wall.post", {})
    assert error.transient and not error.needs_reauth


# --- timeouts -------------------------------------------------------------------------------------------------
def test_timeout_after_the_post_was_applied_is_outcome_unknown_and_found_later(vk: VKEnv) -> None:
    vk.app.add_fault("wall.post", "timeout_after")
    post = PostPayload(text="Дошёл ли пост?", key="d-1", photos=[Photo(image(), "a.png")])
    with pytest.raises(NetworkError) as caught:
        vk.connector(timeout=0.6).publish(post)
    assert caught.value.outcome_unknown and caught.value.transient and caught.value.method == "wall.post"
    assert len(_posts(vk)) == 1  # VK did apply it
    found = vk.connector().find_published(post)
    assert found is not None and found.external_id == "-4242_1"
    # repeating with the same key cannot double-post: VK's guid returns the same post
    assert vk.connector().publish(post).external_id == "-4242_1" and len(_posts(vk)) == 1


def test_timeout_before_anything_was_applied(vk: VKEnv) -> None:
    vk.app.add_fault("wall.post", "timeout_before")
    post = PostPayload(text="Не дошёл", key="d-1")
    with pytest.raises(NetworkError) as caught:
        vk.connector(timeout=0.6).publish(post)
    assert caught.value.outcome_unknown  # the client cannot tell; checking settles it
    assert vk.connector().find_published(post) is None and _posts(vk) == []


def test_a_gateway_timeout_answer_on_a_write_is_outcome_unknown(vk: VKEnv) -> None:
    vk.app.add_fault("wall.post", "timeout_before")
    with pytest.raises(NetworkError) as caught:
        vk.connector(timeout=2.0).publish(PostPayload(text="x", key="d-1"))
    assert caught.value.code == 504 and caught.value.outcome_unknown


def test_timeout_on_a_read_is_just_transient(vk: VKEnv) -> None:
    vk.app.add_fault("wall.getById", "timeout_after")
    with pytest.raises(NetworkError) as caught:
        vk.connector(timeout=0.6).post_stats(["-4242_1"])
    assert caught.value.transient and not caught.value.outcome_unknown


def test_connection_refused_is_transient_and_not_sent() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    from filial.networks.vk.connector import VKConnector

    connector = VKConnector(external_id="1", credentials={"access_token": "t"},
                            base_url=f"http://127.0.0.1:{port}/method/", timeout=1.0)
    with pytest.raises(NetworkError) as caught:
        connector.publish(PostPayload(text="x", key="k"))
    assert caught.value.transient and not caught.value.outcome_unknown and caught.value.code == "ConnectError"


def test_upload_server_failure_and_long_poll_failure_are_transient(vk: VKEnv) -> None:
    vk.app.add_fault("upload", "http_500")
    with pytest.raises(NetworkError) as caught:
        vk.connector().publish(PostPayload(text="x", key="k", photos=[Photo(image(), "a.png")]))
    assert caught.value.transient and _posts(vk) == []
    vk.app.add_fault("a_check", "http_502")
    with pytest.raises(NetworkError) as lp:
        vk.connector().fetch_updates(None)
    assert lp.value.transient and lp.value.method == "a_check"


def test_vk_id_errors(vk: VKEnv) -> None:
    vk.app.add_fault("oauth", "http_500")
    with pytest.raises(NetworkError) as caught:
        vk.connector().refresh_credentials()
    assert caught.value.transient and not caught.value.needs_reauth
    with pytest.raises(NetworkError) as wrong_device:
        vk.connector(credentials={**vk.page["credentials"], "device_id": "another"}).refresh_credentials()
    assert wrong_device.value.needs_reauth and wrong_device.value.code == "invalid_grant"
    with pytest.raises(NetworkError) as no_client:
        vk.connector(credentials={**vk.page["credentials"], "client_id": "1"}).refresh_credentials()
    assert no_client.value.needs_reauth and no_client.value.code == "invalid_client"
    refresh = vk.page["credentials"]["refresh_token"]
    assert all(refresh not in str(e.value) for e in (caught, wrong_device, no_client))
