"""A real browser at the desk: the fast order form on a desktop (1366×768) and a phone (390×844), by keyboard."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from filial.conftest import ARTIFACTS, PASSWORD, Net
from filial.paid.models import Order
from filial.paid.tests.support import paid_world


@pytest.mark.browser
@pytest.mark.parametrize("size", [(1366, 768), (390, 844)], ids=["desktop", "phone"])
def test_desk_order_form(live_server: Any, transactional_db: Any, net: Net, chromium: Any,
                         size: tuple[int, int]) -> None:
    pw = paid_world(net)
    context = chromium.new_context(locale="ru-RU", viewport={"width": size[0], "height": size[1]},
                                   is_mobile=size[0] < 500, has_touch=size[0] < 500)
    context.set_default_timeout(15_000)
    page = context.new_page()
    try:
        base = live_server.url
        page.goto(f"{base}/login/")
        page.locator("#id_username").fill("ed_branch4")
        page.locator("#id_password").fill(PASSWORD)
        page.locator("form button[type=submit]").last.click()
        page.wait_for_url(f"{base}/")
        if size[0] < 500:
            page.get_by_text("Меню", exact=True).click()  # on a phone the menu is folded behind «Меню»
        assert page.get_by_role("link", name="Платные услуги").count() >= 1  # the menu entry
        page.goto(f"{base}/paid/orders/new/")
        # the service first (it has the focus order's first place), then quantity; the date keeps today
        page.locator("#id_service").select_option(str(pw.service.pk))
        page.locator("#id_quantity").fill("7")
        page.locator("#id_category").select_option(str(pw.categories["individual"].pk))
        page.locator("#id_source_channel").select_option(str(net.channels["branch4_ok"].pk))
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= size[0] + 1, f"the page scrolls sideways at {size[0]} px: {width}"
        ARTIFACTS.mkdir(exist_ok=True)
        name = "desktop" if size[0] > 500 else "phone"
        page.screenshot(path=str(ARTIFACTS / f"paid-desk-{name}.png"), full_page=True)
        page.locator("#id_quantity").press("Enter")  # Enter in a field records the order
        page.wait_for_selector(".messages")
        assert "35" in page.locator(".messages").inner_text()
        order = Order.objects.filter(unit=net.branch4).order_by("-pk").first()
        assert order is not None and order.total == Decimal("35.00") and order.quantity == Decimal(7)
        assert order.source_channel == net.channels["branch4_ok"] and order.customer.name == ""
        page.screenshot(path=str(ARTIFACTS / f"paid-desk-{name}-recorded.png"), full_page=True)
        page.goto(f"{base}/paid/report/?start=2000-01-01")
        assert page.locator("main table").count() == 2
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= size[0] + 1, f"the report scrolls sideways at {size[0]} px: {width}"
        page.screenshot(path=str(ARTIFACTS / f"paid-report-{name}.png"), full_page=True)
        page.goto(f"{base}/paid/")
        assert "Печать А4" in page.locator("main table").inner_text()
        page.screenshot(path=str(ARTIFACTS / f"paid-orders-{name}.png"), full_page=True)
        # the composer's marking section: the ERID and the reason, labelled
        page.goto(f"{base}/posts/new/")
        page.get_by_text("Маркировка рекламы").click()
        page.locator("#id_advertises").check()
        assert page.get_by_label("ERID").count() == 1
        page.screenshot(path=str(ARTIFACTS / f"paid-composer-marking-{name}.png"), full_page=True)
    finally:
        context.close()
