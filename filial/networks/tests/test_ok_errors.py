"""OK errors mapped onto NetworkError flags, timeouts and outcome_unknown, and bad input never half-published."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest

from filial.networks.base import NetworkError, Photo, PollSpec, PostPayload
from filial.networks.ok.client import OKClient
from filial.networks.tests.ok_conformance import World, image, ok_world


@pytest.fixture
def world() -> Iterator[World]:
    with ok_world() as w:
        yield w


def _client(world: World, **overrides: str) -> OKClient:
    creds = {**world.credentials, **overrides}
    return OKClient(api_url=world.api_url, application_key=creds["application_key"],
                    application_secret_key=creds["application_secret_key"], access_token=creds["access_token"],
                    bot_token=creds.get("bot_token", ""), timeout=5)


def _topics(world: World) -> int:
    return len(world.app.state["topics"])


# --- authorisation ------------------------------------------------------------------------------------------
def test_expired_token_needs_reauth(world: World) -> None:
    world.app.simulate("expire_token", {"token": world.credentials["access_token"]})
    with pytest.raises(NetworkError) as info:
        world.connector().publish(PostPayload(text="Текст", key="a1"))
    error = info.value
    assert error.needs_reauth and error.permanent and error.code == 102
    assert "expired" in error.message and error.method == "mediatopic.post"


def test_revoked_token_needs_reauth_and_stays_revoked(world: World) -> None:
    world.app.add_fault("mediatopic.post", "revoke_token")
    connector = world.connector()
    for _ in range(2):
        with pytest.raises(NetworkError) as info:
            connector.publish(PostPayload(text="Текст", key="a2"))
        assert info.value.needs_reauth and info.value.code == 103
    assert _topics(world) == 0


def test_expire_token_fault_on_the_bot_api(world: World) -> None:
    world.app.add_fault("graph.user.chats", "expire_token")
    with pytest.raises(NetworkError) as info:
        world.connector().fetch_updates(None)
    assert info.value.needs_reauth and info.value.code == 102


def test_wrong_secret_key_is_a_bad_signature(world: World) -> None:
    with pytest.raises(NetworkError) as info:
        world.connector(application_secret_key="WRONGSECRET").verify()
    assert info.value.needs_reauth and info.value.code == 104 and "signature" in info.value.message


def test_wrong_application_key(world: World) -> None:
    with pytest.raises(NetworkError) as info:
        world.connector(application_key="CBANOPE").verify()
    assert info.value.needs_reauth and info.value.code == 101


def test_missing_credentials_fail_before_any_request(world: World) -> None:
    with pytest.raises(NetworkError) as info:
        world.connector(access_token="").verify()
    assert info.value.needs_reauth and "access_token" in info.value.message
    assert world.app.requests == []


def test_missing_permission_needs_reauth(world: World) -> None:
    world.app.state["tokens"][world.credentials["access_token"]]["permissions"] = ["VALUABLE_ACCESS"]
    with pytest.raises(NetworkError) as info:
        world.connector().publish(PostPayload(text="Текст", key="a3"))
    assert info.value.needs_reauth and info.value.code == 10


# --- rate limits --------------------------------------------------------------------------------------------
def test_rate_limit_fault_gives_retry_after(world: World) -> None:
    world.app.add_fault("mediatopic.post", "rate_limit")
    with pytest.raises(NetworkError) as info:
        world.connector().publish(PostPayload(text="Текст", key="r1"))
    assert info.value.retry_after == 1.0 and not info.value.permanent and info.value.code == 8
    assert _topics(world) == 0
    world.connector().publish(PostPayload(text="Текст", key="r1"))  # the next try passes
    assert _topics(world) == 1


def test_real_rate_limit_per_token() -> None:
    with ok_world(rate_limit=2, rate_period=5.0) as world:
        client = _client(world)
        client.call("users.getCurrentUser")
        client.call("users.getCurrentUser")
        with pytest.raises(NetworkError) as info:
            client.call("users.getCurrentUser")
        assert info.value.retry_after and info.value.code == 8
        client.close()


def test_captcha_fault_is_ok_action_block(world: World) -> None:
    world.app.add_fault("*", "captcha")
    with pytest.raises(NetworkError) as info:
        world.connector().verify()
    assert info.value.code == 7 and info.value.retry_after == 60.0 and not info.value.permanent


# --- invalid parameters -------------------------------------------------------------------------------------
def test_invalid_parameter_is_permanent(world: World) -> None:
    world.app.conformance_exempt = "sends a malformed topic_ids on purpose"
    with _client(world) as client, pytest.raises(NetworkError) as info:
        client.call("mediatopic.getByIds", {"topic_ids": "abc"})
    assert info.value.permanent and not info.value.needs_reauth and info.value.code == 100
    assert "topic_ids" in info.value.message


def test_emulator_refuses_a_one_answer_poll_sent_raw(world: World) -> None:
    attachment = {"media": [{"type": "poll", "question": "Q?", "answers": [{"text": "Да"}]}]}
    with _client(world) as client, pytest.raises(NetworkError) as info:
        client.call("mediatopic.post", {"gid": world.gid, "type": "GROUP_THEME", "attachment": attachment})
    assert info.value.permanent and info.value.code == 100


# --- server faults and timeouts -----------------------------------------------------------------------------
@pytest.mark.parametrize("kind,status,uncertain", [("http_500", 500, False), ("http_502", 502, True)])
def test_server_errors_are_transient(world: World, kind: str, status: int, uncertain: bool) -> None:
    world.app.add_fault("mediatopic.post", kind)
    with pytest.raises(NetworkError) as info:
        world.connector().publish(PostPayload(text="Текст", key="e1"))
    assert info.value.transient and info.value.code == status
    assert info.value.outcome_unknown is uncertain  # a gateway error on a write may hide an applied post
    assert _topics(world) == 0


def test_gateway_timeout_on_a_write_is_uncertain_on_a_read_not(world: World) -> None:
    world.app.add_fault("mediatopic.post", "timeout_before")
    world.app.add_fault("mediatopic.getTopics", "timeout_before")
    with pytest.raises(NetworkError) as info:
        world.connector(timeout=2).publish(PostPayload(text="Текст", key="e2"))
    assert info.value.code == 504 and info.value.outcome_unknown
    with pytest.raises(NetworkError) as info:
        world.connector(timeout=2).find_published(PostPayload(text="Текст", key="e2"))
    assert info.value.code == 504 and not info.value.outcome_unknown


def test_timeout_before_apply_is_uncertain_and_nothing_published(world: World) -> None:
    world.app.add_fault("mediatopic.post", "timeout_before")
    post = PostPayload(text="Текст", key="t1")
    with pytest.raises(NetworkError) as info:
        world.connector(timeout=0.6).publish(post)
    assert info.value.outcome_unknown and info.value.transient
    assert _topics(world) == 0
    assert world.connector().find_published(post) is None  # checked: not there, safe to send again


def test_timeout_after_apply_is_uncertain_and_found_later(world: World) -> None:
    world.app.add_fault("mediatopic.post", "timeout_after")
    post = PostPayload(text="Опубликовано несмотря на таймаут", key="t2", photos=[image()])
    with pytest.raises(NetworkError) as info:
        world.connector(timeout=0.6).publish(post)
    assert info.value.outcome_unknown and info.value.transient and info.value.code == "timeout"
    assert _topics(world) == 1
    found = world.connector().find_published(post)
    assert found is not None and found.external_id in world.app.state["topics"]


def test_timeout_of_a_read_is_not_uncertain(world: World) -> None:
    world.app.add_fault("mediatopic.getByIds", "timeout_before")
    with pytest.raises(NetworkError) as info:
        world.connector(timeout=0.6).post_stats(["155000000000001"])
    assert info.value.transient and not info.value.outcome_unknown


def test_connection_refused_is_transient_and_certain() -> None:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    from filial.networks.ok.connector import OKConnector

    connector = OKConnector(external_id="57000000000001", base_url=f"http://127.0.0.1:{port}/fb.do", timeout=1,
                            credentials={"application_key": "K", "application_secret_key": "S",
                                         "access_token": "T"})
    with pytest.raises(NetworkError) as info:
        connector.publish(PostPayload(text="Текст", key="c1"))
    assert info.value.transient and not info.value.outcome_unknown and info.value.code == "connect"


def test_errors_carry_a_request_summary_without_secrets(world: World) -> None:
    world.app.add_fault("mediatopic.post", "http_500")
    with pytest.raises(NetworkError) as info:
        world.connector().publish(PostPayload(text="Текст", key="s1"))
    summary = getattr(info.value, "request")  # noqa: B009
    assert summary["method"] == "mediatopic.post" and summary["params"]["gid"] == world.gid
    rendered = f"{info.value} {summary}"
    assert world.credentials["access_token"] not in rendered
    assert world.credentials["application_secret_key"] not in rendered
    assert "sig" not in summary["params"] and "access_token" not in summary["params"]


def test_bot_api_errors_hide_the_group_key(world: World) -> None:
    world.app.add_fault("graph.user.messages", "http_502")
    world.app.simulate("allow_messages", {"uid": "641"})
    with pytest.raises(NetworkError) as info:
        world.connector().send_message("641", "Привет", key="b1")
    assert info.value.transient and info.value.outcome_unknown is True and info.value.code == 502
    assert world.credentials["bot_token"] not in f"{info.value} {getattr(info.value, 'request')}"  # noqa: B009


def test_no_bot_token_means_no_direct_messages(world: World) -> None:
    connector = world.connector(bot_token="")
    with pytest.raises(NetworkError) as info:
        connector.send_message("641", "Привет", key="b2")
    assert info.value.permanent and info.value.code == "no_bot_token"
    assert connector.fetch_updates(None).items == []  # comments still work without it


# --- bad input ----------------------------------------------------------------------------------------------
def test_over_long_text_is_refused_before_sending(world: World) -> None:
    with pytest.raises(NetworkError) as info:
        world.connector().publish(PostPayload(text="я" * 10_001, key="b1"))
    assert info.value.permanent and info.value.code == "local" and "10001" in info.value.message
    assert world.app.requests == []


def test_emulator_refuses_over_long_text_too(world: World) -> None:
    with _client(world) as client, pytest.raises(NetworkError) as info:
        client.call("mediatopic.post", {"gid": world.gid, "type": "GROUP_THEME",
                                        "attachment": {"media": [{"type": "text", "text": "я" * 10_001}]}})
    assert info.value.code == 601 and info.value.permanent


def test_eleven_photos_are_refused(world: World) -> None:
    with pytest.raises(NetworkError) as info:
        world.connector().publish(PostPayload(text="Фото", key="b2", photos=[image()] * 11))
    assert info.value.permanent and "11 photos" in info.value.message
    assert world.app.requests == []


def test_not_an_image_is_rejected_by_the_upload_server(world: World) -> None:
    fake = Photo(b"%PDF-1.4 definitely not a picture", "scan.jpg", "image/jpeg")
    with pytest.raises(NetworkError) as info:
        world.connector().publish(PostPayload(text="Скан", key="b3", photos=[image(), fake]))
    assert info.value.permanent and info.value.code == 503 and info.value.method == "upload"
    assert _topics(world) == 0 and world.rest("mediatopic.post") == []


def test_a_non_image_content_type_is_refused_locally(world: World) -> None:
    with pytest.raises(NetworkError) as info:
        world.connector().publish(PostPayload(text="Док", key="b4", photos=[Photo(b"abc", "a.pdf", "application/pdf")]))
    assert info.value.code == "local" and "not an image" in info.value.message


def test_poll_with_one_answer_is_refused(world: World) -> None:
    with pytest.raises(NetworkError) as info:
        world.connector().publish(PostPayload(text="Опрос", key="b5", poll=PollSpec("Вопрос?", ["Единственный"])))
    assert info.value.permanent and "2 to 10 answers" in info.value.message
    assert world.app.requests == []


def test_upload_failing_midway_publishes_nothing(world: World) -> None:
    world.app.add_fault("uploadImage", "http_500")
    with pytest.raises(NetworkError) as info:
        world.connector().publish(PostPayload(text="Фото", key="b6", photos=[image(), image("JPEG")]))
    assert info.value.transient and not info.value.outcome_unknown
    assert _topics(world) == 0 and world.rest("mediatopic.post") == []


def test_bad_link_is_refused(world: World) -> None:
    with pytest.raises(NetworkError) as info:
        world.connector().publish(PostPayload(text="Ссылка", key="b7", link="javascript:alert(1)"))
    assert info.value.code == "local" and "http(s)" in info.value.message
