"""Telegram errors: each class mapped to the right flags; bad input refused clearly; nothing half-published."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from filial.networks.base import NetworkError, Photo, PollSpec, PostPayload
from filial.networks.telegram.client import TelegramAPIError, TelegramClient, request_summary
from filial.networks.tests.telegram_conformance import TelegramEnv, image_bytes, telegram_env


@pytest.fixture
def env() -> Iterator[TelegramEnv]:
    with telegram_env() as environment:
        yield environment


def channel_messages(env: TelegramEnv) -> dict[str, Any]:
    return env.app.state["chats"][str(env.chat_id)]["messages"]


def photos(n: int) -> list[Photo]:
    return [Photo(image_bytes(), f"p{i}.jpg") for i in range(n)]


def raises(call: Any) -> Any:
    with pytest.raises(NetworkError) as caught:
        call()
    return caught.value


# --- error classes --------------------------------------------------------------------------------------------------
def test_revoked_token_needs_reauth(env: TelegramEnv) -> None:
    env.app.add_fault("sendMessage", "revoke_token")
    error = raises(lambda: env.connector().publish(PostPayload(text="x", key="k")))
    assert error.needs_reauth and error.permanent and error.code == 401
    assert "@BotFather" in error.message
    # and the token stays revoked: verify() says so too
    assert raises(env.connector().verify).needs_reauth


def test_expired_token_fault_acts_as_revoked(env: TelegramEnv) -> None:
    env.app.add_fault("getMe", "expire_token")
    assert raises(env.connector().verify).needs_reauth


def test_malformed_or_missing_token_is_refused_before_the_call(env: TelegramEnv) -> None:
    error = raises(env.connector(token="not-a-token").verify)
    assert error.needs_reauth and error.code == "local" and "malformed" in error.message
    empty = env.connector()
    empty.credentials = {}
    assert raises(empty.verify).needs_reauth
    assert env.app.requests == []


def test_rate_limit_gives_retry_after(env: TelegramEnv) -> None:
    env.app.add_fault("sendMessage", "rate_limit")
    error = raises(lambda: env.connector().publish(PostPayload(text="x", key="k")))
    assert error.retry_after == 5 and not error.permanent and not error.needs_reauth and error.code == 429
    assert channel_messages(env) == {}


def test_emulator_enforces_per_channel_limits() -> None:
    with telegram_env(rate_limits=True) as env:
        connector = env.connector()
        connector.publish(PostPayload(text="1", key="a"))
        connector.publish(PostPayload(text="2", key="b"))
        connector.publish(PostPayload(text="3", key="c"))
        error = raises(lambda: connector.publish(PostPayload(text="4", key="d")))  # 1/s per chat, bursts of 3
        assert error.code == 429 and error.retry_after is not None and 1 <= error.retry_after <= 3
        assert "Too Many Requests: retry after" in error.message
        assert len(channel_messages(env)) == 3


def test_emulator_enforces_twenty_messages_a_minute_per_channel() -> None:
    with telegram_env(rate_limits=True) as env:
        env.app.chat_burst = 1000  # isolate the per-minute budget
        connector = env.connector()
        connector.publish(PostPayload(text="album", key="a", photos=photos(10)))
        connector.publish(PostPayload(text="album", key="b", photos=photos(10)))
        error = raises(lambda: connector.publish(PostPayload(text="one more", key="c")))
        assert error.code == 429 and error.retry_after is not None and 50 <= error.retry_after <= 60


def test_invalid_parameter_is_permanent(env: TelegramEnv) -> None:
    env.app.conformance_exempt = "sends broken HTML and an unknown method on purpose"
    with TelegramClient(env.token, base_url=env.url) as client:
        error = raises(lambda: client.call("sendMessage", {"chat_id": env.chat_id, "text": "<b>unclosed",
                                                           "parse_mode": "HTML"}))
        assert error.permanent and not error.needs_reauth and error.code == 400
        assert "can't parse entities" in error.message
        error = raises(lambda: client.call("sendMessage", {"chat_id": -100999, "text": "x"}))
        assert error.permanent and "chat not found" in error.message
        error = raises(lambda: client.call("noSuchMethod"))
        assert error.permanent and error.code == 404


def test_timeout_after_the_change_is_outcome_unknown(env: TelegramEnv) -> None:
    env.app.add_fault("sendMessage", "timeout_after")
    connector = env.connector(timeout=0.6)
    error = raises(lambda: connector.publish(PostPayload(text="Может быть", key="k")))
    assert error.outcome_unknown and error.transient and error.code == "ReadTimeout"
    assert "may have been applied" in error.message
    assert [m["text"] for m in channel_messages(env).values()] == ["Может быть"]  # it was applied
    found = env.connector().find_published(PostPayload(text="Может быть", key="k"))
    assert found is not None and found.external_id == "1"


def test_timeout_before_the_change_looks_the_same_to_the_client(env: TelegramEnv) -> None:
    env.app.add_fault("sendMessage", "timeout_before")
    error = raises(lambda: env.connector(timeout=0.6).publish(PostPayload(text="x", key="k")))
    assert error.outcome_unknown
    assert channel_messages(env) == {}
    assert env.connector().find_published(PostPayload(text="x", key="k")) is None


def test_gateway_timeout_on_a_write_is_outcome_unknown_and_on_a_read_transient(env: TelegramEnv) -> None:
    env.app.add_fault("sendMessage", "timeout_before")
    error = raises(lambda: env.connector(timeout=3).publish(PostPayload(text="x", key="k")))
    assert error.code == 504 and error.outcome_unknown and error.transient
    env.app.add_fault("getMe", "timeout_before")
    error = raises(env.connector(timeout=3).verify)
    assert error.code == 504 and not error.outcome_unknown and error.transient


def test_server_errors_are_transient(env: TelegramEnv) -> None:
    env.app.add_fault("sendMessage", "http_500")
    error = raises(lambda: env.connector().publish(PostPayload(text="x", key="k")))
    assert error.code == 500 and error.transient and not error.outcome_unknown
    env.app.add_fault("sendMessage", "http_502")
    error = raises(lambda: env.connector().publish(PostPayload(text="x", key="k")))
    assert error.code == 502 and error.transient and "without a Bot API answer" in error.message


def test_read_timeout_on_a_read_is_transient_not_unknown(env: TelegramEnv) -> None:
    env.app.add_fault("getUpdates", "timeout_before")
    error = raises(lambda: env.connector(timeout=0.6).fetch_updates(None))
    assert error.transient and not error.outcome_unknown


def test_connect_error_is_transient_and_not_unknown() -> None:
    connector = TelegramEnv(app=None, url="http://127.0.0.1:9", seed={"chat_id": -100, "token": "1:" + "a" * 35})  # type: ignore[arg-type]
    error = raises(lambda: connector.connector(timeout=0.5).publish(PostPayload(text="x", key="k")))
    assert error.transient and not error.outcome_unknown and error.code == "ConnectError"


def test_bot_kicked_from_the_channel_needs_reauth(env: TelegramEnv) -> None:
    env.app.simulate("kick_bot", {"chat_id": env.chat_id})
    error = raises(lambda: env.connector().publish(PostPayload(text="x", key="k")))
    assert error.needs_reauth and error.code == 403 and "kicked from the channel chat" in error.message


def test_webhook_conflict_is_permanent(env: TelegramEnv) -> None:
    env.connector().set_webhook("https://filial.example/hooks/telegram/1", "s3cret_Token-1")
    error = raises(lambda: env.connector().fetch_updates(None))
    assert error.code == 409 and error.permanent and "webhook" in error.message
    assert env.connector().find_published(PostPayload(text="x", key="k")) is None  # cannot tell
    env.connector().delete_webhook()
    assert env.connector().fetch_updates(None).items == []


def test_errors_and_logs_never_carry_the_token(env: TelegramEnv, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.INFO, logger="httpx")  # settings keep it at WARNING; the filter must hold anyway
    env.app.add_fault("sendMessage", "http_500")
    error = raises(lambda: env.connector().publish(PostPayload(text="x", key="k")))
    secret = env.token.split(":", 1)[1]
    assert secret not in str(error) and secret not in repr(error.__dict__)
    assert secret not in caplog.text and "/bot<token>/sendMessage" in caplog.text
    assert isinstance(error, TelegramAPIError) and error.request["method"] == "sendMessage"
    summary = request_summary("setWebhook", {"url": "https://x", "secret_token": "abc", "text": "y" * 500})
    assert summary["params"]["secret_token"] == "<redacted>" and len(summary["params"]["text"]) < 300


def test_transport_errors_do_not_leak_the_token() -> None:
    def boom(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout(f"timed out reading {request.url}", request=request)

    token = "123456:" + "S" * 35
    with TelegramClient(token, base_url="https://api.telegram.org", transport=httpx.MockTransport(boom)) as client:
        error = raises(lambda: client.call("sendMessage", {"chat_id": 1, "text": "x"}))
    assert "S" * 35 not in str(error) and error.outcome_unknown


# --- bad input --------------------------------------------------------------------------------------------------------
def test_over_long_text_is_refused_before_the_call(env: TelegramEnv) -> None:
    error = raises(lambda: env.connector().publish(PostPayload(text="я" * 4097, key="k")))
    assert error.permanent and error.code == "local" and "4097 characters, at most 4096" in error.message
    error = raises(lambda: env.connector().publish(PostPayload(text="я" * 4090, key="k", link="https://e.org/1")))
    assert "with the link" in error.message
    assert env.app.requests == []


def test_over_long_text_is_refused_by_the_emulator_too(env: TelegramEnv) -> None:
    env.app.conformance_exempt = "sends over-long text past the connector's own checks on purpose"
    with TelegramClient(env.token, base_url=env.url) as client:
        error = raises(lambda: client.call("sendMessage", {"chat_id": env.chat_id, "text": "я" * 4097}))
        assert error.permanent and "message is too long" in error.message
        # 4096 characters after entity parsing are fine even when the HTML is longer
        client.call("sendMessage", {"chat_id": env.chat_id, "text": "<b>" + "&amp;" * 4096 + "</b>",
                                    "parse_mode": "HTML"})
        error = raises(lambda: client.call("sendPhoto", {"chat_id": env.chat_id, "caption": "c" * 1025}, files=[
            __import__("filial.networks.telegram.client", fromlist=["Upload"]).Upload("photo", "a.jpg",
                                                                                      image_bytes())]))
        assert "message caption is too long" in error.message


def test_eleven_photos_are_refused(env: TelegramEnv) -> None:
    error = raises(lambda: env.connector().publish(PostPayload(text="x", key="k", photos=photos(11))))
    assert error.permanent and "11 photos, at most 10" in error.message
    response = env.raw("sendMediaGroup", json_body={
        "chat_id": env.chat_id, "media": [{"type": "photo", "media": "attach://p"}] * 11})
    assert response.status_code == 400


def test_unsupported_image_is_refused_locally_and_by_the_emulator(env: TelegramEnv) -> None:
    not_image = Photo(b"%PDF-1.4 not an image", "scan.pdf", "application/pdf")
    error = raises(lambda: env.connector().publish(PostPayload(text="x", key="k", photos=[not_image])))
    assert error.permanent and "photo 1 (scan.pdf) is not an image" in error.message
    tiff = Photo(image_bytes("TIFF"), "scan.tiff", "image/tiff")
    assert "TIFF image" in raises(lambda: env.connector().publish(PostPayload(text="x", key="k",
                                                                              photos=[tiff]))).message
    assert env.app.requests == []
    response = env.raw("sendPhoto", data={"chat_id": str(env.chat_id)},
                       files={"photo": ("scan.pdf", b"%PDF-1.4 not an image", "application/pdf")})
    assert response.json() == {"ok": False, "error_code": 400, "description": "Bad Request: IMAGE_PROCESS_FAILED"}
    response = env.raw("sendMediaGroup", data={
        "chat_id": str(env.chat_id),
        "media": '[{"type":"photo","media":"attach://a"},{"type":"photo","media":"attach://b"}]'},
        files={"a": ("a.jpg", image_bytes(), "image/jpeg"), "b": ("b.pdf", b"%PDF", "application/pdf")})
    assert response.json()["description"] == ('Bad Request: failed to send message #2 with the error message '
                                               '"IMAGE_PROCESS_FAILED"')
    assert channel_messages(env) == {}  # a refused album sends nothing


def test_wrong_photo_dimensions_are_refused(env: TelegramEnv) -> None:
    strip = Photo(image_bytes(size=(2100, 100)), "strip.png")
    assert "ratio" in raises(lambda: env.connector().publish(PostPayload(text="", key="k", photos=[strip]))).message
    response = env.raw("sendPhoto", data={"chat_id": str(env.chat_id)},
                       files={"photo": ("strip.jpg", image_bytes(size=(2100, 100)), "image/jpeg")})
    assert response.json()["description"] == "Bad Request: PHOTO_INVALID_DIMENSIONS"


def test_poll_with_one_answer_is_refused(env: TelegramEnv) -> None:
    error = raises(lambda: env.connector().publish(PostPayload(text="", key="k", poll=PollSpec("Q?", ["один"]))))
    assert error.permanent and "a poll needs 2 to 12 answers" in error.message
    error = raises(lambda: env.connector().publish(PostPayload(text="", key="k",
                                                               poll=PollSpec("Q?", [str(i) for i in range(13)]))))
    assert "2 to 12" in error.message
    error = raises(lambda: env.connector().publish(PostPayload(text="", key="k",
                                                               poll=PollSpec("Q?", ["a", "b"], anonymous=False))))
    assert "anonymous" in error.message
    assert env.app.requests == []
    # the emulator, like Bot API 10, takes 1-12 options, refuses 13 and public polls in channels
    assert env.raw("sendPoll", json_body={"chat_id": env.chat_id, "question": "Q",
                                          "options": [{"text": str(i)} for i in range(13)]}).status_code == 400
    answer = env.raw("sendPoll", json_body={"chat_id": env.chat_id, "question": "Q", "is_anonymous": False,
                                            "options": [{"text": "a"}, {"text": "b"}]}).json()
    assert answer["description"] == "Bad Request: non-anonymous polls can't be sent to channel chats"


def test_empty_post_is_refused(env: TelegramEnv) -> None:
    assert "empty" in raises(lambda: env.connector().publish(PostPayload(text="  ", key="k"))).message


def test_nothing_stays_half_published_when_a_later_message_fails(env: TelegramEnv) -> None:
    connector = env.connector()
    env.app.add_fault("sendPoll", "http_500")
    error = raises(lambda: connector.publish(PostPayload(text="Фото и опрос", key="k", photos=photos(3),
                                                         poll=PollSpec("?", ["да", "нет"]))))
    assert error.transient and "were deleted: nothing of this post stays published" in error.message
    assert channel_messages(env) == {}
    env.app.add_fault("sendMessage", "rate_limit")
    error = raises(lambda: connector.publish(PostPayload(text="т" * 2000, key="k", photos=photos(2))))
    assert error.retry_after == 5 and channel_messages(env) == {}
    assert [r["method"] for r in env.app.requests[-3:]] == ["sendMediaGroup", "sendMessage", "deleteMessages"]


def test_uncertain_later_message_keeps_the_post_and_says_so(env: TelegramEnv) -> None:
    env.app.add_fault("sendPoll", "timeout_after")
    error = raises(lambda: env.connector(timeout=0.6).publish(PostPayload(text="Текст", key="k",
                                                                          poll=PollSpec("?", ["a", "b"]))))
    assert error.outcome_unknown and "messages [1] of this post are already published" in error.message
    assert len(channel_messages(env)) == 2


def test_undo_failure_is_reported_as_outcome_unknown(env: TelegramEnv) -> None:
    env.app.add_fault("sendPoll", "http_500")
    env.app.add_fault("deleteMessages", "http_500")
    error = raises(lambda: env.connector().publish(PostPayload(text="Текст", key="k",
                                                               poll=PollSpec("?", ["a", "b"]))))
    assert error.outcome_unknown and "half-published" in error.message


def test_reply_and_message_length_are_checked(env: TelegramEnv) -> None:
    env.app.simulate("message", {"text": "/start", "user": {"id": 9}})
    assert raises(lambda: env.connector().send_message("9", "", key="k")).permanent
    assert "4096" in raises(lambda: env.connector().send_message("9", "x" * 5000, key="k")).message


def test_webhook_secret_format_is_checked_locally(env: TelegramEnv) -> None:
    assert raises(lambda: env.connector().set_webhook("https://e.org/h", "bad secret!")).permanent
    response = env.raw("setWebhook", json_body={"url": "https://e.org/h", "secret_token": "bad secret!"})
    assert response.json()["description"] == "Bad Request: secret token contains unallowed characters"
    response = env.raw("setWebhook", json_body={"url": "http://e.org/h"})
    assert "HTTPS URL must be provided" in response.json()["description"]
