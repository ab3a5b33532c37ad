"""In a real browser: the statistics dashboards on a desktop (1366×768) and a phone (390×844): the charts draw,
nothing scrolls sideways, no CSP or script error; screenshots in test-artifacts/."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from filial.conftest import ARTIFACTS, PASSWORD, Net
from filial.publishing.models import Post
from filial.stats.tests.factories import page_day, publication

SIZES = {"desktop": (1366, 768), "phone": (390, 844)}


def login(page: Any, base: str, username: str) -> None:
    page.goto(f"{base}/login/")
    page.locator("#id_username").fill(username)
    page.locator("#id_password").fill(PASSWORD)
    page.locator("form button[type=submit]").last.click()
    page.wait_for_url(f"{base}/")


def _seed(net: Net) -> None:
    today = timezone.localdate(timezone=net.central.tz)
    for key, base in (("central_vk", 900), ("central_ok", 610), ("children_tg", 1400), ("branch4_ok", 40)):
        channel = net.channels[key]
        for back in range(120):
            if back % 17 in (3, 4):  # a few days without a measurement: gaps
                continue
            page_day(channel, today - timedelta(back), base - back // 3)
        for n in range(6):
            when = timezone.now() - timedelta(days=n * 4 + 1, hours=n)
            figures: dict[str, int | None] = {"views": 300 + n * 10, "likes": 10 + n, "reposts": 2, "comments": n,
                                              "reach": 250}
            if channel.network == "telegram":
                figures = {"views": None, "likes": 10 + n, "reposts": None, "comments": None, "reach": None}
            publication(channel, when, kind=[Post.Kind.AFISHA, Post.Kind.BOOK_FACT, Post.Kind.EXHIBITION][n % 3],
                        text=f"Публикация {n} со страницы {channel.name}", figures=figures)


def _no_sideways_scroll(page: Any) -> None:
    widths = page.evaluate("[document.documentElement.scrollWidth, document.documentElement.clientWidth]")
    wide = page.evaluate("""[...document.querySelectorAll('body *')]
        .filter(e => !(e.parentElement && e.parentElement.closest('.table-wrap'))
                     && e.getBoundingClientRect().right > document.documentElement.clientWidth + 1)
        .slice(0, 8).map(e => e.tagName + '.' + e.className + ' ' + Math.round(e.getBoundingClientRect().right))""")
    assert widths[0] <= widths[1], f"the page scrolls sideways: {widths} {wide}"


@pytest.mark.browser
def test_dashboards_on_desktop_and_phone(live_server: Any, transactional_db: Any, net: Net, page: Any) -> None:
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    _seed(net)
    base = live_server.url
    login(page, base, "admin")
    ARTIFACTS.mkdir(exist_ok=True)
    urls = {
        "network": f"{base}/stats/?days=90",
        "unit": f"{base}/stats/?days=365&unit={net.central.pk}",
        "page": f"{base}/stats/pages/{net.channels['children_tg'].pk}/?days=30",
    }
    for size, (width, height) in SIZES.items():
        page.set_viewport_size({"width": width, "height": height})
        for name, url in urls.items():
            page.goto(url)
            assert page.locator("h1").inner_text().startswith("Статистика")
            chart = page.locator("svg.chart-line[role=img]")
            assert chart.count() == 1 and chart.get_attribute("aria-label")
            box = chart.bounding_box()
            assert box is not None and box["width"] <= width and box["height"] > 50
            assert page.locator("svg.chart-line polyline").count() >= 1
            _no_sideways_scroll(page)
            page.screenshot(path=str(ARTIFACTS / f"stats-{name}-{size}.png"), full_page=True)
    page.goto(urls["page"])
    assert "Telegram не сообщает ботам" in page.content()
    page.set_viewport_size({"width": 1366, "height": 768})
    page.goto(f"{base}/")
    page.get_by_role("navigation").get_by_role("link", name="Статистика").click()
    page.wait_for_url(f"{base}/stats/")
    page.locator("#stat-from").fill("2026-01-01")
    page.locator("#stat-to").fill("2026-03-31")
    page.get_by_role("button", name="Показать").click()
    page.wait_for_url("**/stats/?**from=2026-01-01**")
    assert errors == []
