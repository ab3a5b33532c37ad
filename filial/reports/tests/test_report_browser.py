"""In a real browser, on a desktop and on a phone: make a report through the form, read its preview (the same
blocks as the DOCX: headings, tables with captions, the audience chart), write the conclusions and publish it.
No CSP or script errors; nothing wider than the phone's screen but the tables' own scrolling boxes."""

from __future__ import annotations

from typing import Any

import pytest

from filial.conftest import ARTIFACTS, PASSWORD, Net
from filial.reports import charts
from filial.reports.models import Report
from filial.reports.tests.fixtures import YEAR, fill


def login(page: Any, base: str, username: str) -> None:
    page.goto(f"{base}/login/")
    page.locator("#id_username").fill(username)
    page.locator("#id_password").fill(PASSWORD)
    page.locator("form button[type=submit]").last.click()
    page.wait_for_url(f"{base}/")


@pytest.mark.browser
@pytest.mark.parametrize(("device", "viewport"), [("desktop", (1366, 768)), ("phone", (390, 844))])
def test_report_preview(live_server: Any, transactional_db: Any, net: Net, chromium: Any, device: str,
                        viewport: tuple[int, int]) -> None:
    fill(net)
    context = chromium.new_context(locale="ru-RU", viewport={"width": viewport[0], "height": viewport[1]})
    context.set_default_timeout(20_000)
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        base = live_server.url
        login(page, base, net.users["methodologist"].username)
        page.goto(f"{base}/reports/new/")
        page.get_by_label("По каким подразделениям").select_option(f"system:{net.system.pk}")
        page.get_by_label("Вид").select_option("annual")
        page.locator("#id_period_from").fill(f"{YEAR}-01-01")
        page.locator("#id_period_to").fill(f"{YEAR}-12-31")
        page.get_by_role("button", name="Сформировать").click()
        page.wait_for_url(f"{base}/reports/*/")
        doc = page.locator("article.report-doc")
        assert "более 600 друзей" in doc.inner_text()
        assert page.get_by_role("heading", name="1 Страницы в социальных сетях").is_visible()
        assert page.locator("article.report-doc table caption", has_text="Таблица 1").count() == 1
        chart = page.locator("figure.report-chart img").first
        assert chart.evaluate("img => img.complete && img.naturalWidth") == charts.WIDTH
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= viewport[0], f"the page is {width}px wide on a {viewport[0]}px screen"
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / f"report-preview-{device}.png"), full_page=False)
        page.get_by_label("Выводы").fill("Страница — это филиал библиотеки.")
        page.get_by_role("button", name="Сохранить выводы").click()
        page.get_by_role("button", name="Утвердить").click()
        page.wait_for_load_state()
        assert page.get_by_role("link", name="Скачать DOCX").is_visible()
        assert Report.objects.get().is_published
        assert "Страница — это филиал библиотеки." in page.locator("article.report-doc").inner_text()
        assert errors == []
    finally:
        context.close()
