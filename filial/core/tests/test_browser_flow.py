"""The whole approval path in a real browser (Playwright driving Debian's Chromium).

An editor composes a post with a photo for two pages and submits it; the methodologist approves it from the
approvals queue; the post is then on the calendar. Screenshots go to test-artifacts/browser-*.png, and the
browser console must stay clean (a CSP violation by an inline script or style would be reported there).
The UI is driven in English (language cookie) so the selectors do not depend on the Russian catalogue.
"""

from __future__ import annotations

import re
import zoneinfo
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from PIL import Image

from filial.conftest import ARTIFACTS, PASSWORD, Net
from filial.publishing.models import Delivery, Post

pytestmark = pytest.mark.browser

TITLE = "Осенняя афиша детской библиотеки"


@pytest.fixture
def en_page(page: Any, live_server: Any) -> Any:
    """The ``page`` fixture with English chosen through Django's language cookie."""
    page.context.add_cookies([{"name": settings.LANGUAGE_COOKIE_NAME, "value": "en", "url": live_server.url}])
    return page


@pytest.fixture
def console_errors(page: Any) -> list[str]:
    """Errors the page reports: console.error (CSP violations, failed loads) and uncaught exceptions."""
    errors: list[str] = []

    def on_console(msg: Any) -> None:
        if msg.type == "error":
            errors.append(f"console: {msg.text} ({msg.location.get('url', '')})")

    page.on("console", on_console)
    page.on("pageerror", lambda exc: errors.append(f"pageerror: {exc}"))
    return errors


def _shot(page: Any, name: str, full_page: bool = True) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / name), full_page=full_page)


def _login(page: Any, base: str, username: str) -> None:
    page.goto(f"{base}/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{base}/")
    page.get_by_role("heading", level=1, name="Network overview").wait_for()


def _logout(page: Any, base: str) -> None:
    page.get_by_role("banner").get_by_role("button", name="Log out").click()
    page.wait_for_url(re.compile(re.escape(base) + r"/login/"))


def _photo(tmp_path: Path) -> Path:
    path = tmp_path / "afisha.jpg"
    Image.new("RGB", (800, 600), (200, 120, 40)).save(path, "JPEG", quality=85)
    return path


def test_editor_submits_methodologist_approves_calendar_shows(
    live_server: Any,
    transactional_db: Any,
    net: Net,
    en_page: Any,
    console_errors: list[str],
    tmp_path: Path,
) -> None:
    page, base = en_page, live_server.url
    editor, methodologist = net.users["editor_children"], net.users["methodologist"]
    tz = zoneinfo.ZoneInfo(net.children.tz_name)
    when = (datetime.now(tz) + timedelta(days=3)).replace(hour=11, minute=30, second=0, microsecond=0)

    # 1. The editor composes and submits.
    _login(page, base, editor.username)
    page.goto(f"{base}/posts/new/")
    page.get_by_label("Kind").select_option("afisha")
    page.get_by_label("Title").fill(TITLE)
    page.get_by_label("Text:", exact=True).fill("Приходите на осенние чтения!\nВход свободный.")
    pages = page.get_by_role("group", name="Pages")
    pages.get_by_role("checkbox", name="OK Детская библиотека", exact=True).check()
    pages.get_by_role("checkbox", name="TG Детская библиотека Медногорска", exact=True).check()
    page.get_by_label("Publish at").fill(when.strftime("%Y-%m-%dT%H:%M"))
    page.get_by_label("Add photos").set_input_files(str(_photo(tmp_path)))
    page.get_by_role("button", name="Submit for approval").click()
    page.wait_for_url(re.compile(r"/posts/\d+/$"))
    page.get_by_role("heading", level=1, name=TITLE).wait_for()
    assert page.locator(".spread .state").inner_text() == "Awaiting approval"
    assert page.get_by_role("status").inner_text().strip() == "The post is waiting for approval."
    thumb = page.get_by_role("list", name="Photos").get_by_role("img")
    assert thumb.count() == 1
    assert thumb.evaluate("img => img.complete && img.naturalWidth > 0"), "the photo thumbnail did not load"
    post = Post.objects.get(title=TITLE)
    assert post.state == Post.State.PENDING and post.author == editor and post.post_media.count() == 1
    _shot(page, "browser-1-submitted.png")

    # 2. The methodologist approves it from the queue (htmx, in place).
    _logout(page, base)
    _login(page, base, methodologist.username)
    page.get_by_role("navigation", name="Main menu").get_by_role("link", name="Approvals").click()
    page.get_by_role("heading", level=1, name="Approvals").wait_for()
    card = page.get_by_role("article", name=TITLE)
    card.get_by_role("button", name="Approve").click()
    card.get_by_role("status").filter(has_text="Approved: the post is scheduled.").wait_for()
    card.get_by_role("link", name=TITLE).click()
    page.wait_for_url(f"{base}/posts/{post.pk}/")
    assert page.locator(".spread .state").inner_text() == "Scheduled"
    rows = page.get_by_role("region", name="Deliveries").locator("tbody tr")
    assert rows.count() == 2
    assert rows.locator(".state-scheduled").all_inner_texts() == ["Scheduled", "Scheduled"]
    assert sorted(rows.locator("td:first-child").all_inner_texts()) == [
        "Детская библиотека",
        "Детская библиотека Медногорска",
    ]
    deliveries = Delivery.objects.filter(post=post)
    assert deliveries.count() == 2
    assert {d.state for d in deliveries} == {Delivery.State.SCHEDULED}
    assert {d.channel_id for d in deliveries} == {net.channels["children_ok"].pk, net.channels["children_tg"].pk}
    assert {d.due_at for d in deliveries} == {when}
    _shot(page, "browser-2-approved.png")

    # 3. The calendar: the post on its day.
    page.get_by_role("navigation", name="Main menu").get_by_role("link", name="Calendar").click()
    page.get_by_role("heading", level=1, name="Calendar").wait_for()
    system_today = datetime.now(zoneinfo.ZoneInfo(net.system.timezone)).date()
    if (when.year, when.month) != (system_today.year, system_today.month):
        page.get_by_role("link", name="Next month →").click()
    page.get_by_role("heading", level=2, name=when.strftime("%B %Y")).wait_for()
    cell = page.locator(f'td[data-date="{when.date().isoformat()}"]')
    item = cell.get_by_role("link", name=re.compile(re.escape(TITLE)))
    item.wait_for()
    assert "11:30" in item.inner_text()
    assert item.get_attribute("class") == "cal-item state-scheduled"
    assert page.locator("table.cal-month").get_by_role("link", name=re.compile(re.escape(TITLE))).count() == 1
    _shot(page, "browser-3-calendar.png")
    page.set_viewport_size({"width": 390, "height": 844})
    item.wait_for()
    _shot(page, "browser-4-calendar-phone.png")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390, "the calendar overflows a phone screen"

    # 4. Nothing went wrong in the browser (CSP violations, script errors, failed loads).
    assert console_errors == []


def test_keyboard_only_login(
    live_server: Any, transactional_db: Any, net: Net, en_page: Any, console_errors: list[str]
) -> None:
    page, base = en_page, live_server.url
    page.goto(f"{base}/login/")
    username = page.get_by_label("Username")
    username.focus()
    assert username.evaluate("el => el === document.activeElement")
    page.keyboard.type(net.users["editor_children"].username)
    page.keyboard.press("Tab")
    assert page.get_by_label("Password").evaluate("el => el === document.activeElement"), (
        "Tab from the username does not reach the password"
    )
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(f"{base}/")
    page.get_by_role("heading", level=1, name="Network overview").wait_for()
    assert console_errors == []
