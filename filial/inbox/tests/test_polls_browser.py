"""Reading poll results in a real browser: the post page loads the results card (htmx), the results page shows
the chart and the numbers, "refresh now" answers in place; no CSP violation in the console. Screenshots go to
test-artifacts/polls-*.png."""

from __future__ import annotations

from typing import Any

import pytest

from filial.conftest import Net
from filial.core.tests.test_browser_flow import _login, _shot, console_errors, en_page  # noqa: F401
from filial.inbox.tests.test_polls_views import counted_post

pytestmark = pytest.mark.browser


def test_methodologist_reads_poll_results(
    live_server: Any, transactional_db: Any, net: Net, en_page: Any, console_errors: list[str],  # noqa: F811
    settings: Any,
) -> None:
    # "Refresh now" runs the counts at once (Huey immediate in tests): these pages have no emulator behind them,
    # so point every network at a closed loopback port; the counts then fail, and the page must say so.
    for name in ("FILIAL_VK_API_URL", "FILIAL_OK_API_URL", "FILIAL_TELEGRAM_API_URL", "FILIAL_MAX_API_URL"):
        setattr(settings, name, "http://127.0.0.1:9/")
    settings.FILIAL_NETWORK_TIMEOUT = 2
    ch = net.channels
    post = counted_post(net, [
        (ch["central_vk"], [12, 7, 3], ""),
        (ch["central_ok"], [4, 6, 1], ""),
        (ch["children_tg"], None, "Bad Gateway"),
        (ch["central_max"], None, ""),
    ], question="Какой жанр читать летом?")
    page = en_page
    base = live_server.url
    _login(page, base, net.users["methodologist"].username)

    page.goto(f"{base}/posts/{post.pk}/")
    card = page.locator("#poll-results")
    card.wait_for()
    assert "33 voters on 2 of 4 pages" in " ".join(card.inner_text().split())
    _shot(page, "polls-post-page.png")

    page.get_by_role("link", name="Open the results page").click()
    page.wait_for_url(f"{base}/inbox/polls/{post.pk}/")
    chart = page.get_by_role("figure", name="Votes per answer, all pages together: Какой жанр читать летом?")
    assert chart.is_visible()
    table = page.locator("table.poll-table")
    row = table.get_by_role("row", name="Классика")
    cells = [c.strip() for c in row.locator("td").all_inner_texts()]
    assert cells == ["16", "48.5 %", "12", "4", "—", "—"]
    pages = page.locator("table.poll-pages")
    failed = pages.get_by_role("row").filter(has_text="Детская библиотека").locator(".state")
    assert failed.inner_text() == "Count failed"
    _shot(page, "polls-results.png")

    page.get_by_role("button", name="Refresh now").click()
    page.locator("#poll-results [role=status]").wait_for()
    assert "queued" in page.locator("#poll-results [role=status]").inner_text()
    # The counts could not be taken: the older ones stay, marked as failed, and the sum still has them.
    assert page.locator("table.poll-pages .state", has_text="Count failed").count() == 3
    assert "33 voters on 2 of 4 pages" in " ".join(page.locator("#poll-results").inner_text().split())
    page.set_viewport_size({"width": 390, "height": 844})  # a phone
    _shot(page, "polls-results-phone.png")
    assert console_errors == []
