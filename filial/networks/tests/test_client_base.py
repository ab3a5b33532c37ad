"""The clients' shared base (``networks/client_base.py``): one log filter for every network's secrets, and which
failed requests may have been applied."""

from __future__ import annotations

import logging

import httpx
import pytest

from filial.networks import client_base
from filial.networks.ok import client as ok_client  # noqa: F401 - registers OK's redaction
from filial.networks.telegram import client as telegram_client  # noqa: F401 - registers Telegram's redaction
from filial.networks.vk import client as vk_client  # noqa: F401 - registers VK's redaction


def test_one_httpx_filter_cuts_every_networks_secrets_out_of_request_lines(caplog: pytest.LogCaptureFixture) -> None:
    filters = [f for f in logging.getLogger("httpx").filters if type(f).__name__ == "_RedactSecrets"]
    assert len(filters) == 1
    log = logging.getLogger("httpx")
    with caplog.at_level(logging.INFO, logger="httpx"):
        log.info("HTTP Request: %s %s", "GET", httpx.URL("https://api.ok.ru/graph/me/messages?access_token=tkn1SECRET"))
        log.info("HTTP Request: %s %s", "POST", httpx.URL("https://api.telegram.org/bot123:AAsecretSECRET/sendMessage"))
        log.info("HTTP Request: %s %s", "GET", httpx.URL("https://lp.vk.com/wh1?act=a_check&key=SECRETKEY&ts=1"))
    text = caplog.text
    assert "SECRET" not in text
    # Each line keeps its address, the secret replaced (whichever network's rule matched first).
    assert "messages?access_token=" in text and "/bot<token>/sendMessage" in text and "key=***&ts=1" in text


@pytest.mark.parametrize(("exc", "never", "sent"), [
    (httpx.ConnectError("refused"), True, False),
    (httpx.ConnectTimeout("slow"), True, False),
    (httpx.ReadTimeout("no answer"), False, True),
    (httpx.RemoteProtocolError("dropped"), False, True),
    (httpx.UnsupportedProtocol("ftp"), False, False),
])
def test_a_failed_request_is_known_sent_or_not(exc: httpx.HTTPError, never: bool, sent: bool) -> None:
    assert client_base.never_sent(exc) is never
    assert client_base.sent_then_failed(exc) is sent
