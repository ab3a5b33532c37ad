"""The phone layout, walked in a real browser (issue 14): every page a methodologist reaches from the menu (and
the pages those link to, one of each kind) on a desktop (1366×768) and a phone (390×844). On the phone nothing is
wider than the screen, the menu folds behind «Меню», filters behind «Фильтры», wide tables become cards and tap
targets are at least 44 px high; the console stays clean. Screenshots of every page, desktop and phone, go to
test-artifacts/crawl/ for a person to look at."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.utils import timezone

from filial.conftest import ARTIFACTS, PASSWORD, Net
from filial.publishing.models import Delivery
from filial.publishing.tests.test_views_posts import make_post

pytestmark = pytest.mark.browser

DESKTOP = {"width": 1366, "height": 768}
PHONE = {"width": 390, "height": 844}
SKIP = re.compile(r"logout|delete|/admin/|\.ics$|\.csv$|\.xlsx$|\.docx$|/api/|/media/|/static/|/export|/download|"
                  r"/hooks/|/i18n/", re.I)
MAX_PAGES = 45
TAPPABLE = ("button, .button, input[type=submit], select, summary, .nav-toggle-label, .mainnav a, .usermenu a, "
            "input[type=text], input[type=search], input[type=date], input[type=datetime-local], input[type=email]")
SHOTS = ARTIFACTS / "crawl"


def _shape(url: str) -> str:
    """One page of each kind: ids become N and query values are dropped (``/posts/N/?state``)."""
    parts = urlsplit(url)
    query = "&".join(sorted(p.split("=")[0] for p in parts.query.split("&") if p))
    return re.sub(r"\d+", "N", parts.path) + ("?" + query if query else "")


def _slug(url: str) -> str:
    parts = urlsplit(url)
    return re.sub(r"[^A-Za-z0-9_-]+", "_", (parts.path.strip("/") or "root") + ("_" + parts.query if parts.query
                                                                                  else ""))[:80]


def _world(net: Net) -> None:
    """Posts that fill the wide tables: a long text, several pages, a failed delivery with a long answer."""
    long_text = ("Приглашаем на вечер поэзии Серебряного века: читаем Ахматову, Цветаеву, Мандельштама. " * 6).strip()
    post = make_post(net, "methodologist", unit=net.central, channels=("central_vk", "central_ok", "central_max"),
                     state="scheduled", text=long_text, title="Вечер поэзии Серебряного века в читальном зале")
    Delivery.objects.filter(post=post, channel=net.channels["central_ok"]).update(
        state=Delivery.State.FAILED, last_error_code="601",
        last_error="ok mediatopic.post [601]: Text limit reached: " + "x" * 300, updated_at=timezone.now())
    make_post(net, "editor_branch4", state="pending", text="Новые поступления в библиотеку-филиал № 4")
    make_post(net, "editor_central", unit=net.central, channels=("central_vk",), text="Черновик заметки")


def _phone_problems(page: Any) -> list[str]:
    return page.evaluate(
        """(selector) => {
            const out = [];
            const width = document.documentElement.scrollWidth;
            if (width > window.innerWidth) {
                const wide = [...document.querySelectorAll('main *')].filter(e => e.getBoundingClientRect().right
                    > window.innerWidth + 1).slice(0, 3).map(e => e.tagName + '.' + e.className);
                out.push(`page is ${width}px wide: ${wide.join(', ')}`);
            }
            for (const e of document.querySelectorAll(selector)) {
                const r = e.getBoundingClientRect();
                if (r.width === 0 || r.height === 0) continue;  // hidden (the folded menu, a closed fold)
                if (e.closest('details:not([open])') && e.tagName !== 'SUMMARY') continue;
                if (r.height < 43.5) out.push(`tap target ${Math.round(r.height)}px high: ${e.tagName} `
                    + `«${(e.textContent || e.getAttribute('aria-label') || '').trim().slice(0, 30)}»`);
            }
            return out;
        }""", TAPPABLE)


def test_every_page_of_the_crawl_fits_the_phone(net: Net, chromium: Any, live_server: Any) -> None:
    _world(net)
    base = live_server.url
    SHOTS.mkdir(parents=True, exist_ok=True)
    desktop_context = chromium.new_context(locale="ru-RU", viewport=DESKTOP)
    desktop = desktop_context.new_page()
    errors: list[str] = []
    desktop.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    desktop.on("pageerror", lambda exc: errors.append(str(exc)))
    desktop.goto(f"{base}/login/")
    desktop.locator("input[name=username]").fill(net.users["methodologist"].username)
    desktop.locator("input[name=password]").fill(PASSWORD)
    desktop.locator("main form button[type=submit]").click()
    desktop.wait_for_url(f"{base}/")
    phone_context = chromium.new_context(locale="ru-RU", viewport=PHONE, storage_state=desktop_context.storage_state(),
                                         has_touch=True, is_mobile=True)
    phone = phone_context.new_page()
    phone.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    phone.on("pageerror", lambda exc: errors.append(str(exc)))

    # The menu: always shown on the desktop; on the phone folded behind «Меню», which opens it.
    assert desktop.locator(".nav-toggle-label").is_hidden() and desktop.locator("#mainnav").is_visible()
    menu = [a.get_attribute("href") or "" for a in desktop.locator("#mainnav a, .usermenu a").all()]
    assert len(menu) >= 6
    phone.goto(f"{base}/")
    assert phone.locator("#mainnav").is_hidden() and phone.get_by_text("Меню", exact=True).is_visible()
    phone.locator(".nav-toggle-label").click()
    assert phone.locator("#mainnav").is_visible()
    phone.screenshot(path=str(SHOTS / "00_menu_open_phone.png"), full_page=True)
    assert not _phone_problems(phone)

    queue = [base + "/"] + [base + href if href.startswith("/") else href for href in menu]
    seen: set[str] = set()
    shapes: set[str] = set()
    problems: dict[str, list[str]] = {}
    depth = {url: 0 for url in queue}
    while queue and len(seen) < MAX_PAGES:
        url = queue.pop(0).split("#")[0]
        if url in seen or not url.startswith(base) or SKIP.search(url) or _shape(url) in shapes:
            continue
        seen.add(url)
        shapes.add(_shape(url))
        errors.clear()
        response = desktop.goto(url, wait_until="networkidle")
        assert response is not None and response.status == 200, f"{url}: {response and response.status}"
        name = f"{len(seen):02d}_{_slug(url)}"
        desktop.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)
        if depth[url] < 1:
            for href in desktop.evaluate("() => [...document.querySelectorAll('main a[href]')].map(a => a.href)"):
                href = href.split("#")[0]
                if href.startswith(base) and href not in depth:
                    depth[href] = depth[url] + 1
                    queue.append(href)
        phone.goto(url, wait_until="networkidle")
        phone.screenshot(path=str(SHOTS / f"{name}_phone.png"), full_page=True)
        found = _phone_problems(phone) + [f"console: {e}" for e in errors]
        if found:
            problems[urlsplit(url).path + ("?" + urlsplit(url).query if urlsplit(url).query else "")] = found
    desktop_context.close()
    phone_context.close()
    assert len(seen) >= 12, sorted(seen)
    assert not problems, "\n".join(f"{u}: {p}" for u, p in problems.items())


def test_tables_become_cards_and_filters_fold_on_the_phone(net: Net, chromium: Any, live_server: Any) -> None:
    _world(net)
    base = live_server.url
    context = chromium.new_context(locale="ru-RU", viewport=PHONE)
    page = context.new_page()
    page.goto(f"{base}/login/")
    page.locator("input[name=username]").fill(net.users["methodologist"].username)
    page.locator("input[name=password]").fill(PASSWORD)
    page.locator("main form button[type=submit]").click()
    page.wait_for_url(f"{base}/")
    page.goto(f"{base}/posts/", wait_until="networkidle")
    summary = page.locator("details.fold-narrow > summary", has_text="Фильтры")
    assert summary.is_visible() and page.locator("form.filters").is_hidden()
    summary.click()
    assert page.locator("form.filters").is_visible()
    page.goto(f"{base}/posts/?q=поэзии", wait_until="networkidle")  # filters in use stay open
    assert page.locator("form.filters").is_visible()
    page.goto(f"{base}/posts/", wait_until="networkidle")
    cell = page.locator(".table-wrap tbody tr").first.locator("td").first
    assert cell.get_attribute("data-label")  # the column's name, shown above the value
    assert page.locator(".table-wrap thead").first.bounding_box()["width"] <= 1  # headers only for screen readers
    row = page.locator(".table-wrap tbody tr").first.bounding_box()
    assert row["width"] <= PHONE["width"]
    page.screenshot(path=str(ARTIFACTS / "phone-posts-cards.png"), full_page=True)
    # a narrow table (three columns or fewer) stays a table
    display = page.evaluate("""() => {
        const wrap = document.createElement('div');
        wrap.className = 'table-wrap';
        wrap.innerHTML = '<table><thead><tr><th>A</th><th>B</th></tr></thead><tbody><tr><td>1</td><td>2</td></tr>'
            + '</tbody></table>';
        document.querySelector('main').appendChild(wrap);
        return getComputedStyle(wrap.querySelector('tbody tr')).display;
    }""")
    assert display == "table-row"
    # The same page on a desktop keeps its table and its open filters.
    page.set_viewport_size(DESKTOP)
    page.goto(f"{base}/posts/", wait_until="networkidle")
    assert page.locator("form.filters").is_visible() and page.locator(".table-wrap thead").first.is_visible()
    context.close()
