"""The dashboards: figures from the stored snapshots, gaps shown as gaps, scoping, exports, bounded queries."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime, time, timedelta
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from filial.accounts.selectors import access_for
from filial.publishing.models import Post
from filial.stats import charts
from filial.stats.scope import Period, Scope
from filial.stats.selectors import dashboard
from filial.stats.tests.factories import measure, page_day, publication

pytestmark = pytest.mark.django_db


def _client(net: Any, role: str) -> Client:
    client = Client(headers={"accept-language": "ru"})
    client.force_login(net.users[role])
    return client


def _today(net: Any) -> date:
    return timezone.localdate(timezone=net.central.tz)


def _at(net: Any, day: date, hour: int) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=net.central.tz)


@pytest.fixture
def figures(net: Any) -> dict[str, Any]:
    """The central VK page: audience measured over ten days with a gap (no rows on days 4–6 back, an unknown on
    day 7 back), two measured publications; the children's Telegram page: its audience and one publication whose
    views and reposts Telegram does not give."""
    today = _today(net)
    vk, tg = net.channels["central_vk"], net.channels["children_tg"]
    for back in range(10):
        if back in (4, 5, 6):
            continue
        day = today - timedelta(back)
        if back == 7:
            page_day(vk, day, None, error="VK: 5 User authorization failed")
        else:
            page_day(vk, day, 1000 - back)
    page_day(tg, today, 250)
    first = publication(vk, _at(net, today - timedelta(3), 10), kind=Post.Kind.AFISHA, text="Вечер поэзии",
                        figures={"views": 400, "likes": 20, "reposts": 5, "comments": 5, "reach": 300})
    measure(first, today - timedelta(1), views=500, likes=30, reposts=5, comments=5, reach=400)  # the latest wins
    publication(vk, _at(net, today - timedelta(2), 18), kind=Post.Kind.BOOK_FACT, text="=HYPERLINK(\"x\")",
                figures={"views": 300, "likes": 8, "reposts": 1, "comments": 1, "reach": 200})
    publication(tg, _at(net, today - timedelta(1), 10), kind=Post.Kind.AFISHA, text="Канал",
                figures={"views": None, "likes": 12, "reposts": None, "comments": None, "reach": None})
    return {"vk": vk, "tg": tg, "today": today}


def _dash(net: Any, role: str = "admin", **scope: Any) -> Any:
    today = _today(net)
    return dashboard(Scope(access_for(net.users[role]), **scope), Period(today - timedelta(29), today, 30))


def test_page_figures_and_rates(net: Any, figures: dict[str, Any]) -> None:
    dash = _dash(net, channel=figures["vk"])
    [row] = dash.pages
    assert row.audience.value == 1000 and row.audience.day == figures["today"]
    assert row.audience.measured_at is not None
    assert row.published == 2 and row.measured == 2
    # the first publication's latest figures (500 views, 40 reactions), the second's (300 views, 10 reactions)
    assert row.er_post.value == round((40 + 10) / 2 / 1000 * 100, 2)
    assert row.er_view.value == round(50 / 800 * 100, 2)
    assert row.err.value == round((400 + 200) / 2 / 1000 * 100, 2)
    assert row.growth == 1000 - 991
    assert [(k, n) for k, _label, n in dash.kinds if n] == [("afisha", 1), ("book_fact", 1)]
    assert dash.top[0].delivery.post.text == "Вечер поэзии" and dash.top[0].engagement == 40
    best = dash.best_hour
    assert best is not None and best.key == 10


def test_unknown_figures_stay_unknown_with_the_networks_reason(net: Any, figures: dict[str, Any]) -> None:
    dash = _dash(net, channel=figures["tg"])
    [row] = dash.pages
    assert row.audience.value == 250
    assert row.er_view.value is None and "Telegram" in row.er_view.reason
    assert row.err.value is None and "Telegram" in row.err.reason
    response = _client(net, "admin").get(reverse("stats:page", args=[figures["tg"].pk]))
    text = response.content.decode()
    assert "Telegram не сообщает ботам" in text
    assert "ERview" in text and "—" in text and "Figure(" not in text
    assert '<span class="stat-why">Telegram не сообщает ботам число просмотров</span>' in text
    vk = _client(net, "admin").get(reverse("stats:page", args=[figures["vk"].pk])).content.decode()
    assert "2,50&nbsp;%" in vk and "Figure(" not in vk


def test_gaps_are_gaps_not_zeros(net: Any, figures: dict[str, Any]) -> None:
    dash = _dash(net, channel=figures["vk"])
    today = figures["today"]
    by_day = {pt.bucket.lo: pt.value for pt in dash.audience}
    assert by_day[today] == 1000 and by_day[today - timedelta(3)] == 997
    for back in (4, 5, 6, 7):  # no row, and a row whose audience is unknown
        assert by_day[today - timedelta(back)] is None
    assert by_day[today - timedelta(8)] == 992
    svg = charts.line_chart([(pt.bucket.label, pt.value) for pt in dash.audience], "Аудитория", "нет")
    assert svg.count("<polyline") == 2  # two runs of known days, not one line through zeros
    assert 'role="img"' in svg and 'aria-label="Аудитория"' in svg and "<title>Аудитория</title>" in svg


def test_network_dashboard_adds_up_pages(net: Any, figures: dict[str, Any]) -> None:
    dash = _dash(net)
    assert dash.total.pages == 7
    assert dash.total.audience == 1250 and dash.total.audience_pages == 2
    assert dash.total.published == 3
    assert {g.label for g in dash.units} >= {net.central.name, net.children.name}
    today = {pt.bucket.lo: pt for pt in dash.audience}[figures["today"]]
    assert today.value == 1250 and today.pages == 2


def test_editor_of_branch4_does_not_see_the_central_page(net: Any, figures: dict[str, Any]) -> None:
    client = _client(net, "editor_branch4")
    response = client.get(reverse("stats:dashboard"))
    assert response.status_code == 200
    text = response.content.decode()
    assert figures["vk"].name not in text and net.central.name not in text and "Вечер поэзии" not in text
    assert client.get(reverse("stats:page", args=[figures["vk"].pk])).status_code == 404
    assert client.get(reverse("stats:dashboard"), {"unit": net.central.pk}).status_code == 404
    assert client.get(reverse("stats:page_export_csv", args=[figures["vk"].pk])).status_code == 404
    exported = client.get(reverse("stats:export_csv")).content.decode("utf-8-sig")
    assert figures["vk"].name not in exported
    dash = _dash(net, "editor_branch4")
    assert [r.channel.name for r in dash.pages] == [net.channels["branch4_ok"].name]


def test_outsider_and_bad_parameters(net: Any) -> None:
    assert _client(net, "outsider").get(reverse("stats:dashboard")).status_code == 403
    client = _client(net, "admin")
    assert client.get(reverse("stats:dashboard"), {"days": "8"}).status_code == 400
    assert client.get(reverse("stats:dashboard"), {"from": "1812-01-01"}).status_code == 400
    assert client.get(reverse("stats:dashboard"), {"network": "myspace"}).status_code == 400
    assert client.get(reverse("stats:dashboard"), {"unit": "99999999999999999999"}).status_code == 400


def test_csv_export_has_what_the_dashboard_shows(net: Any, figures: dict[str, Any]) -> None:
    response = _client(net, "admin").get(reverse("stats:page_export_csv", args=[figures["vk"].pk]))
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    page = next(r for r in rows if len(r) > 10 and r[0] == figures["vk"].name)
    assert page[3] == "1000" and page[7] == "2"
    assert page[9] == "2.5"  # ERpost
    top = [r for r in rows if len(r) > 2 and r[2].startswith("'=HYPERLINK")]
    assert top, "a formula-like text is written as text"


def test_csv_export_unknown_is_empty_with_reason(net: Any, figures: dict[str, Any]) -> None:
    response = _client(net, "admin").get(reverse("stats:page_export_csv", args=[figures["tg"].pk]))
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    page = next(r for r in rows if len(r) > 10 and r[0] == figures["tg"].name)
    er_view, reason = page[11], page[12]
    assert er_view == "" and "Telegram" in reason


def test_xlsx_export(net: Any, figures: dict[str, Any]) -> None:
    response = _client(net, "admin").get(reverse("stats:export_xlsx"), {"days": "90"})
    assert response.status_code == 200
    book = load_workbook(io.BytesIO(response.content))
    assert "Страницы" in book.sheetnames and "Аудитория по времени" in book.sheetnames
    pages = list(book["Страницы"].iter_rows(values_only=True))
    vk = next(r for r in pages if r[0] == figures["vk"].name)
    assert vk[3] == 1000
    texts = [c for row in book["Лучшие публикации"].iter_rows(values_only=True) for c in row if isinstance(c, str)]
    assert "'=HYPERLINK(\"x\")" in texts


def _queries(client: Client, url: str, data: dict[str, str] | None = None) -> int:
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url, data or {})
    assert response.status_code == 200
    return len(ctx.captured_queries)


def test_query_count_does_not_grow_with_pages_or_rows(net: Any, figures: dict[str, Any]) -> None:
    client = _client(net, "admin")
    url = reverse("stats:dashboard")
    before = _queries(client, url)
    today = figures["today"]
    for key in ("central_ok", "children_ok", "branch4_ok", "automation_vk"):
        channel = net.channels[key]
        for back in range(30):
            page_day(channel, today - timedelta(back), 100 + back)
        for n in range(3):
            publication(channel, _at(net, today - timedelta(n + 1), 9 + n),
                        figures={"views": 10, "likes": 1, "reposts": 0, "comments": 0})
    after = _queries(client, url)
    assert after == before
    assert after <= 20
    assert _queries(client, reverse("stats:page", args=[figures["vk"].pk]), {"days": "365"}) <= 20
    assert _queries(client, reverse("stats:export_csv")) <= 20


def test_navigation_and_links(net: Any, figures: dict[str, Any]) -> None:
    client = _client(net, "viewer")
    text = client.get(reverse("libraries:dashboard")).content.decode()
    assert reverse("stats:dashboard") in text and "Статистика" in text
    pages = client.get(reverse("channels:channel_list")).content.decode()
    assert reverse("stats:page", args=[figures["vk"].pk]) in pages


def test_postgresql_grouping_sets_agree_with_the_portable_queries(net: Any, figures: dict[str, Any],
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """PostgreSQL groups the publications per page and per (hour, weekday) in one pass and folds the hours and
    weekdays in Python; the portable queries (SQLite's) group each separately: both give the same dashboard."""
    if connection.vendor != "postgresql":
        pytest.skip("the grouping sets are PostgreSQL's (set FILIAL_DATABASE_URL to a PostgreSQL database)")
    from filial.stats import selectors

    today = figures["today"]
    publication(figures["vk"], _at(net, today - timedelta(5), 10), kind=Post.Kind.AFISHA, text="Ещё одна",
                figures={"views": 120, "likes": 3, "reposts": 0, "comments": 2, "reach": 90})
    publication(figures["vk"], _at(net, today - timedelta(9), 23), kind=Post.Kind.AFISHA, text="Поздняя",
                figures={"views": 70, "likes": None, "reposts": None, "comments": None, "reach": None})

    def seen(dash: Any) -> Any:
        return ([(s.key, s.publications, s.engagement) for s in dash.hours],
                [(s.key, s.publications, s.engagement) for s in dash.weekdays],
                [(t.delivery.pk, t.views, t.engagement) for t in dash.top],
                [(r.channel.pk, r.measured, r.engagement_sum, r.engagement_posts, r.views_sum, r.engagement_viewed,
                  r.reach_sum, r.reach_posts, r.measured_at) for r in dash.pages])

    together = seen(_dash(net))
    monkeypatch.setattr(selectors, "GROUPING_SETS", False)
    apart = seen(_dash(net))
    assert together == apart
    hours = {key: (n, eng) for key, n, eng in together[0]}
    assert hours[10] == (3, (40 + 5) / 2)  # the Telegram post's engagement is unknown (no reposts): not averaged
    assert hours[23] == (1, None)
