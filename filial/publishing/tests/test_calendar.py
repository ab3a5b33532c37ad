"""The content calendar: month and week views, local days, filters, visibility and query counts."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from django.test import Client
from django.urls import reverse

from filial.publishing import services
from filial.publishing.models import Event, Post
from filial.publishing.services import PostData

URL = "/calendar/"


def make_post(net: Any, role: str, unit: Any, channels: tuple[str, ...], when: datetime, title: str,
              state: str = "draft", kind: str = "note") -> Post:
    actor = net.users[role]
    post = services.post_create(actor=actor, data=PostData(
        unit=unit, kind=kind, text=f"{title}: текст", title=title, channels=[net.channels[c] for c in channels],
        publish_at=when,
    ))
    if state in ("pending", "scheduled"):
        post = services.post_submit(actor=actor, post=post)
    if state == "scheduled" and post.state == Post.State.PENDING:
        post = services.post_approve(actor=net.users["methodologist"], post=post)
    return post


def cell(html: str, day: str) -> str:
    """The HTML of one day's cell (``<td data-date="YYYY-MM-DD">``)."""
    match = re.search(rf'<td data-date="{day}"(.*?)</td>', html, re.S)
    assert match, f"no cell for {day}"
    return match.group(1)


def get(client: Client, **params: Any) -> Any:
    response = client.get(URL, params)
    assert response.status_code == 200
    return response


def test_login_required(net, client):
    response = client.get(URL)
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


def test_reverse_names():
    assert reverse("publishing:calendar") == URL


def test_month_puts_post_on_its_local_day_across_utc_boundary(net, client):
    # 01:00 on 15 January in Yekaterinburg (UTC+5) is 20:00 UTC on 14 January.
    when = datetime(2030, 1, 14, 20, 0, tzinfo=UTC)
    make_post(net, "methodologist", net.branch4, ("branch4_ok",), when, "Ночная афиша", state="scheduled")
    client.force_login(net.users["editor_branch4"])
    html = get(client, date="2030-01-01").content.decode()
    assert "Ночная афиша" in cell(html, "2030-01-15")
    assert "Ночная афиша" not in cell(html, "2030-01-14")
    assert "01:00" in cell(html, "2030-01-15")
    assert 'class="cal-item state-scheduled"' in cell(html, "2030-01-15")
    assert "Scheduled" in cell(html, "2030-01-15")  # the state as text, not colour alone
    # weeks start on Monday: January 2030 begins on a Tuesday, so the grid starts on 31 December 2029
    assert html.index('data-date="2029-12-31"') < html.index('data-date="2030-01-01"')
    assert "2030-02-03" in html and "2030-02-04" not in html  # the last week ends on Sunday 3 February


def test_week_view_shows_times_in_seven_columns(net, client):
    when = datetime(2030, 1, 14, 20, 0, tzinfo=UTC)
    post = make_post(net, "editor_branch4", net.branch4, ("branch4_ok",), when, "Ночная афиша")
    client.force_login(net.users["editor_branch4"])
    html = get(client, view="week", date="2030-01-16").content.decode()
    assert len(re.findall(r'<td data-date="', html)) == 7
    assert 'data-date="2030-01-14"' in html and 'data-date="2030-01-20"' in html  # Monday to Sunday
    day = cell(html, "2030-01-15")
    assert "01:00" in day and "Ночная афиша" in day
    assert reverse("publishing:post_edit", args=[post.pk]) in day  # reschedule through the edit form
    assert "Draft" in day


def test_events_are_shown(net, client):
    Event.objects.create(unit=net.children, title="Неделя детской книги",
                         starts_at=datetime(2030, 3, 25, 6, 0, tzinfo=UTC))
    client.force_login(net.users["viewer"])
    html = get(client, date="2030-03").content.decode()
    day = cell(html, "2030-03-25")
    assert "Неделя детской книги" in day and "cal-item event" in day
    assert "11:00" in day


def test_branch4_editor_does_not_see_childrens_drafts(net, client):
    when = datetime(2030, 4, 10, 6, 0, tzinfo=UTC)
    make_post(net, "editor_children", net.children, ("children_ok",), when, "Детский черновик")
    make_post(net, "editor_children", net.children, ("children_ok",), when, "Детский на согласовании",
              state="pending")
    make_post(net, "methodologist", net.children, ("children_tg",), when, "Детская афиша", state="scheduled")
    client.force_login(net.users["editor_branch4"])
    html = get(client, date="2030-04-01").content.decode()
    assert "Детская афиша" in html
    assert "Детский черновик" not in html and "Детский на согласовании" not in html
    client.force_login(net.users["methodologist"])
    html = get(client, date="2030-04-01").content.decode()
    assert "Детский черновик" in html and "Детский на согласовании" in html


def test_filters_and_navigation_keep_them(net, client):
    when = datetime(2030, 6, 5, 6, 0, tzinfo=UTC)
    make_post(net, "methodologist", net.central, ("central_vk",), when, "ВК пост", kind="book_fact")
    make_post(net, "methodologist", net.children, ("children_tg",), when, "ТГ пост", kind="afisha")
    make_post(net, "methodologist", net.branch4, ("branch4_ok",), when, "ОК пост", kind="afisha",
              state="scheduled")
    client.force_login(net.users["methodologist"])
    html = get(client, date="2030-06-01", network="telegram").content.decode()
    assert "ТГ пост" in html and "ВК пост" not in html and "ОК пост" not in html
    assert "ВК пост" in get(client, date="2030-06-01", unit=net.central.pk).content.decode()
    assert "ВК пост" not in get(client, date="2030-06-01", unit=net.branch4.pk).content.decode()
    assert "ВК пост" in get(client, date="2030-06-01", channel=net.channels["central_vk"].pk).content.decode()
    html = get(client, date="2030-06-01", kind="afisha", state="scheduled").content.decode()
    assert "ОК пост" in html and "ТГ пост" not in html
    response = get(client, date="2030-06-01", kind="afisha", state="scheduled")
    html = response.content.decode()
    nav = re.findall(r'href="(\?[^"]*)"', html)
    prev_link = next(h for h in nav if "date=2030-05-01" in h)
    next_link = next(h for h in nav if "date=2030-07-01" in h)
    for link in (prev_link, next_link):
        assert "kind=afisha" in link and "state=scheduled" in link
    week_link = next(h for h in nav if "view=week" in h)
    assert "kind=afisha" in week_link


def test_bad_parameters_fall_back_quietly(net, client):
    client.force_login(net.users["editor_branch4"])
    assert get(client, date="not-a-date", view="year", unit="abc").status_code == 200
    assert get(client, date="2030-13-45").status_code == 200


def test_compose_links_only_for_writers(net, client):
    client.force_login(net.users["viewer"])
    assert reverse("publishing:post_create") not in get(client, date="2030-01-01").content.decode()
    client.force_login(net.users["editor_branch4"])
    html = get(client, date="2030-01-01").content.decode()
    assert f'{reverse("publishing:post_create")}?date=2030-01-15' in html


def test_query_count_does_not_grow_with_posts(net, client, django_assert_max_num_queries):
    for i in range(40):
        unit, channels = [(net.central, ("central_ok", "central_vk")), (net.children, ("children_tg",)),
                          (net.branch4, ("branch4_ok",))][i % 3]
        make_post(net, "methodologist", unit, channels, datetime(2030, 8, 1 + i % 28, 6, 0, tzinfo=UTC),
                  f"Пост {i}", state="scheduled" if i % 2 else "draft")
        Event.objects.create(unit=unit, title=f"Событие {i}", starts_at=datetime(2030, 8, 1 + i % 28, 9,
                                                                                   tzinfo=UTC))
    client.force_login(net.users["methodologist"])
    for view in ("month", "week"):
        with django_assert_max_num_queries(12):
            response = get(client, date="2030-08-05", view=view)
        assert "Пост 1" in response.content.decode()
