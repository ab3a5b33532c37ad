"""The report's figures on a small year of rows: per page, inbox, debtors, paid services, scoping."""

from __future__ import annotations

from datetime import date
from typing import Any

from filial.reports import figures
from filial.reports.tests.fixtures import YEAR, fill


def _page(result: dict[str, Any], name: str) -> dict[str, Any]:
    return next(p for p in result["pages"] if p["name"] == name)


def test_whole_network_year(net: Any) -> None:
    filled = fill(net)
    result = figures.compute(net.system, None, date(YEAR, 1, 1), date(YEAR, 12, 31))
    names = [p["name"] for p in result["pages"]]
    assert set(names) == {"Центральная библиотека Медногорска", "Детская библиотека"}  # later pages left out
    central = _page(result, "Центральная библиотека Медногорска")
    assert central["published"] == filled.central_posts  # the next year's post is not counted
    assert central["audience_end"] == 614 and central["audience_end_day"] == f"{YEAR}-12-31"
    assert central["audience_start"] == 0 and central["growth"] == 614  # started in the period
    assert central["audience_noun"] == "friends" and central["post_noun"] == "notes"
    assert [p[1] for p in central["audience_series"]] == [85, 290, 432, 614]  # unknown day skipped
    assert {k["kind"]: k["count"] for k in central["by_kind"]}["poll"] == 1
    [poll] = central["polls"]
    assert poll["manual"] is True and poll["total_voters"] == 85
    assert [a["votes"] for a in poll["answers"]] == [48, 31, 6]
    [event] = central["events"]
    assert event["title"] == "Библионочь-2014" and event["posts"] == 2 and event["photo_reports"] == 1
    children = _page(result, "Детская библиотека")
    assert {k["kind"]: k["count"] for k in children["by_kind"]} == {"afisha": 9, "exhibition": 3}
    assert children["audience_start"] == 0 and children["growth"] == 1432
    assert result["totals"]["published"] == filled.central_posts + filled.children_posts
    assert result["totals"]["audience"] == 614 + 1432

    inbox = result["inbox"]
    assert inbox["items"] == 2 and inbox["answered"] == 1 and inbox["median_minutes"] == 30
    assert inbox["within_deadline"] == 1 and inbox["within_deadline_share"] == 100.0
    debtors = result["debtors"]
    assert debtors["reminders"] == 4  # the children's three and branch 4's one
    assert debtors["renewals"] == 2 and debtors["renewals_granted"] == 1 and debtors["returned_after_reminder"] == 1
    paid = result["paid"]
    assert [(c["category"], c["customers"]) for c in paid["categories"]] == [
        ("Учреждение образования", 1), ("Совет депутатов", 1), ("Физическое лицо", 112)]
    assert paid["total"] == "2280.00"
    assert paid["sources"][0]["channel"] == "Медногорский винил" and paid["sources"][0]["customers"] == 112
    assert result["remote"]["users"] == 1 + 2  # one answered writer, two readers (reminded or renewing)
    assert result["remote"]["requests"] == 1 + 2


def test_a_units_report_leaves_out_other_units(net: Any) -> None:
    fill(net)
    result = figures.compute(net.system, net.children, date(YEAR, 1, 1), date(YEAR, 12, 31))
    assert [p["name"] for p in result["pages"]] == ["Детская библиотека"]
    assert result["debtors"]["reminders"] == 3  # not branch 4's
    assert result["paid"]["categories"] == []  # the automation department's orders are not the children's
    assert result["scope"]["units"] == [{"id": net.children.pk, "name": net.children.name}]
    automation = figures.compute(net.system, net.central, date(YEAR, 1, 1), date(YEAR, 12, 31))
    assert automation["paid"]["customers"] == 114  # the central library's subtree has the department


def test_unknown_audience_is_none_not_zero(net: Any) -> None:
    fill(net)
    result = figures.compute(net.system, None, date(YEAR, 12, 30), date(YEAR, 12, 30))
    central = _page(result, "Центральная библиотека Медногорска")
    assert central["audience_end"] is None  # that day's measurement failed: unknown, not 0 nor an older figure
    quarter = figures.compute(net.system, None, date(YEAR, 10, 1), date(YEAR, 12, 30))
    central = _page(quarter, "Центральная библиотека Медногорска")
    assert central["audience_end"] is None  # no measurement within the quarter (September's is before it)
    assert central["growth"] is None and quarter["totals"]["audience_unknown_pages"] >= 1
