"""In a real browser: the "Outgoing messages" page, and "it is there" / "cancel" acting in place (htmx)."""

from __future__ import annotations

from typing import Any

import pytest
from django.conf import settings
from django.utils import timezone

from filial.conftest import ARTIFACTS, PASSWORD, Net
from filial.outbox.models import Attempt
from filial.publishing.models import OutgoingMessage

S = OutgoingMessage.State


def _row(net: Net, key: str, text: str, state: str, **fields: Any) -> OutgoingMessage:
    return OutgoingMessage.objects.create(channel=net.channels[key], recipient_id="4242", text=text,
                                          purpose="reminder", due_at=timezone.now(), state=state, **fields)


@pytest.mark.browser
def test_outgoing_messages_page_in_a_browser(live_server: Any, transactional_db: Any, net: Net, page: Any) -> None:
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("dialog", lambda dialog: dialog.accept())
    sent = _row(net, "central_vk", "Книга ждёт вас до пятницы", S.SENT, external_id="901")
    unsure = _row(net, "central_max", "Ответ на вопрос о часах работы", S.UNCERTAIN,
                  last_error="no answer after the request left")
    later = _row(net, "central_vk", "Напоминание на завтра", S.SCHEDULED)
    Attempt.objects.create(message=unsure, started_at=timezone.now(), outcome=Attempt.Outcome.UNCERTAIN,
                           kind=Attempt.Kind.SEND, error_message="timed out")

    base = live_server.url
    page.context.add_cookies([{"name": settings.LANGUAGE_COOKIE_NAME, "value": "en", "url": base}])
    page.goto(f"{base}/login/")
    page.get_by_label("Username").fill(net.users["editor_central"].username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{base}/")
    page.goto(f"{base}/outgoing/")
    items = page.locator("article.message-item")
    assert items.first.get_attribute("id") == f"message-{unsure.pk}"  # the uncertain one first
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "browser-outgoing-messages.png"), full_page=True)

    card = page.locator(f"#message-{unsure.pk}")
    card.get_by_text("1 attempt").click()
    # the attempt says what to do; the network's raw answer is folded under «Details» (issue 14)
    card.locator("ol.history").get_by_text("The network did not answer after the request was sent").wait_for()
    card.locator("ol.history summary", has_text="Details").click()
    card.get_by_text("timed out").wait_for()
    card.get_by_label("The network's id of the message (optional)").fill("4242:17")
    card.get_by_role("button", name="It is there").click()
    page.locator(f"#message-{unsure.pk} .state-sent").wait_for()
    assert page.url == f"{base}/outgoing/"  # swapped in place, no page load
    assert OutgoingMessage.objects.get(pk=unsure.pk).external_id == "4242:17"

    page.locator(f"#message-{later.pk}").get_by_role("button", name="Cancel").click()
    page.locator(f"#message-{later.pk} .state-cancelled").wait_for()
    assert OutgoingMessage.objects.get(pk=later.pk).state == S.CANCELLED
    assert OutgoingMessage.objects.get(pk=sent.pk).state == S.SENT
    assert errors == []
