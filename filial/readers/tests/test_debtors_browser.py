"""In a real browser: the debtors' dashboard (the chart, the buckets, today's reminders whose progress bar follows
the engine through htmx polling) and the reminder template's live preview; no CSP or script errors."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from filial.circulation.models import Loan, Reader
from filial.conftest import ARTIFACTS, PASSWORD, Net
from filial.publishing.models import OutgoingMessage
from filial.readers.models import Reminder


def login(page: Any, base: str, username: str) -> None:
    from django.conf import settings

    page.context.add_cookies([{"name": settings.LANGUAGE_COOKIE_NAME, "value": "en", "url": base}])
    page.goto(f"{base}/login/")
    page.locator("#id_username").fill(username)
    page.locator("#id_password").fill(PASSWORD)
    page.locator("form button[type=submit]").last.click()
    page.wait_for_url(f"{base}/")


@pytest.mark.browser
def test_debtors_dashboard_in_the_browser(live_server: Any, transactional_db: Any, net: Net, page: Any) -> None:
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    today = timezone.localtime(timezone.now(), net.central.tz).date()
    channel = net.channels["central_vk"]
    messages = []
    for n, days in enumerate((2, 5, 12, 40)):
        reader = Reader.objects.create(system=net.system, unit=net.central, card=f"B{n}", name=f"Читатель <b>{n}</b>")
        Loan.objects.create(reader=reader, unit=net.central, barcode=f"B{n}", title="Книга",
                            issued=today - timedelta(days=days + 20), due=today - timedelta(days=days))
        message = OutgoingMessage.objects.create(channel=channel, recipient_id=str(n), text="x", purpose="reminder",
                                                 due_at=timezone.now() + timedelta(hours=1))
        Reminder.objects.create(reader=reader, unit=net.central, channel=channel, date=today, message=message)
        messages.append(message)
    base = live_server.url
    login(page, base, "admin")
    page.goto(f"{base}/circulation/debtors/?unit={net.central.pk}")
    assert page.locator("#debtors-count").inner_text() == "4"
    rows = page.locator("#debtor-buckets tbody tr")
    assert [rows.nth(i).locator("td").first.inner_text() for i in range(3)] == ["2", "1", "1"]
    assert page.locator("svg.debtors-chart rect").count() == 3
    assert "Читатель <b>0</b>" in page.get_by_role("link", name="Читатель <b>0</b>").inner_text()  # shown inert
    assert page.locator("#reminders-scheduled").inner_text() == "4"
    assert page.locator("#reminders-bar").get_attribute("value") == "0"
    # The engine sends: the bar follows without a reload.
    OutgoingMessage.objects.filter(pk__in=[m.pk for m in messages[:3]]).update(state="sent")
    OutgoingMessage.objects.filter(pk=messages[3].pk).update(state="failed")
    expect(page.locator("#reminders-bar")).to_have_attribute("value", "4", timeout=10_000)
    assert page.locator("#reminders-sent").inner_text() == "3"
    assert page.locator("#reminders-failed").inner_text() == "1"
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "debtors-dashboard.png"), full_page=True)
    # On a phone the page still fits.
    page.set_viewport_size({"width": 390, "height": 800})
    box = page.locator("#reminders-progress").bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 391
    page.set_viewport_size({"width": 1280, "height": 900})
    # The template's live preview.
    page.get_by_role("link", name="Reminder rules").click()
    page.locator("textarea[name=template]").fill("Здравствуйте, {name}! <i>{books}</i>\n{loans}")
    expect(page.locator("#reminder-preview-text")).to_contain_text("<i>2 books</i>", timeout=10_000)
    assert "Anna" in page.locator("#reminder-preview-text").inner_text()
    assert page.locator("#reminder-preview-text i").count() == 0  # escaped, not markup
    page.get_by_role("button", name="Save").click()
    page.wait_for_url("**/reminders/rules/**")
    assert "saved" in page.content()
    assert errors == []
