"""GET /api/v1/channels/{id}/stats/ and /api/v1/posts/{id}/stats/: stored figures, null for unknown with the reason,
the period bounded, scoped like the rest of the API, a constant number of queries."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from filial.conftest import Net
from filial.core.tests.test_api_support import client_for
from filial.publishing.models import Delivery, Post
from filial.stats.models import PageDay, PublicationDay, Source


def published(net: Net, key: str, day: date) -> Delivery:
    channel = net.channels[key]
    at = timezone.now() - timedelta(days=(timezone.localdate() - day).days)
    post = Post.objects.create(unit=channel.unit, kind="note", text="Было", state=Post.State.PUBLISHED, publish_at=at)
    return Delivery.objects.create(post=post, channel=channel, state=Delivery.State.PUBLISHED, due_at=at,
                                   published_at=at, external_id=f"x{post.pk}")


def day_rows(net: Net, key: str, days: int, today: date) -> list[Delivery]:
    channel = net.channels[key]
    deliveries = [published(net, key, today - timedelta(days=n)) for n in range(3)]
    for n in range(days):
        day = today - timedelta(days=n)
        PageDay.objects.create(channel=channel, day=day, audience=None if n == 1 else 500 - n,
                               error="timeout" if n == 1 else "", measured_at=timezone.now(), source=Source.JOB)
        for delivery in deliveries:
            PublicationDay.objects.create(delivery=delivery, channel=channel, day=day, views=10 + n, likes=1,
                                          reposts=0, comments=None, reach=None, measured_at=timezone.now())
    return deliveries


def test_channel_stats_give_days_publications_and_reasons(net: Net) -> None:
    today = timezone.localtime(timezone.now(), net.children.tz).date()
    deliveries = day_rows(net, "children_tg", 40, today)
    channel = net.channels["children_tg"]
    response = client_for(net, "viewer").get(f"/api/v1/channels/{channel.pk}/stats/")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["from"] == (today - timedelta(days=29)).isoformat() and body["to"] == today.isoformat()
    assert len(body["days"]) == 30 and body["days"][0]["day"] == body["from"]
    gap = next(d for d in body["days"] if d["day"] == (today - timedelta(days=1)).isoformat())
    assert gap["audience"] is None and gap["error"] == "timeout"
    assert body["days"][-1]["audience"] == 500
    assert body["unknown"]["views"] and set(body["unknown"]) == {"views", "likes", "reposts", "comments", "reach"}
    assert len(body["publications"]) == 30 * 3
    row = body["publications"][-1]
    assert row["comments"] is None and row["reposts"] == 0 and row["post"] in {d.post_id for d in deliveries}


def test_channel_stats_in_russian_and_for_a_period(net: Net) -> None:
    today = timezone.localdate()
    day_rows(net, "central_max", 10, today)
    channel = net.channels["central_max"]
    client = client_for(net, "admin")
    start, end = today - timedelta(days=4), today - timedelta(days=2)
    body = client.get(f"/api/v1/channels/{channel.pk}/stats/?from={start}&to={end}",
                      HTTP_ACCEPT_LANGUAGE="ru").json()
    assert [d["day"] for d in body["days"]] == [(start + timedelta(days=n)).isoformat() for n in range(3)]
    assert body["unknown"]["likes"] == "MAX сообщает ботам только число просмотров публикации в канале"
    assert "views" not in body["unknown"]


def test_the_period_is_bounded(net: Net) -> None:
    channel = net.channels["children_ok"]
    client = client_for(net, "admin")
    for query in ("from=2014-13-01", "to=0001-01-01", "from=2010-01-01&to=2014-01-01", "from=2014-02-01&to=2014-01-01"):
        response = client.get(f"/api/v1/channels/{channel.pk}/stats/?{query}")
        assert response.status_code == 400, (query, response.content)


def test_post_stats_per_page(net: Net) -> None:
    today = timezone.localdate()
    delivery = day_rows(net, "children_ok", 5, today)[0]
    other = Delivery.objects.create(post=delivery.post, channel=net.channels["children_tg"],
                                    state=Delivery.State.PUBLISHED, due_at=delivery.due_at,
                                    published_at=delivery.published_at, external_id="99")
    body = client_for(net, "editor_children").get(f"/api/v1/posts/{delivery.post_id}/stats/").json()
    assert body["post"] == delivery.post_id
    pages = {page["delivery"]: page for page in body["pages"]}
    assert len(pages[delivery.pk]["days"]) == 5 and pages[delivery.pk]["network"] == "ok"
    assert pages[delivery.pk]["unknown"] == {"reach": pages[delivery.pk]["unknown"]["reach"]}
    assert pages[other.pk]["days"] == [] and "views" in pages[other.pk]["unknown"]
    limited = client_for(net, "admin").get(
        f"/api/v1/posts/{delivery.post_id}/stats/?from={today - timedelta(days=1)}&to={today}").json()
    assert len(next(p for p in limited["pages"] if p["delivery"] == delivery.pk)["days"]) == 2


def test_queries_do_not_grow_with_the_rows(net: Net) -> None:
    today = timezone.localdate()
    client = client_for(net, "admin")
    channel = net.channels["central_ok"]
    day_rows(net, "central_ok", 3, today)
    client.get(f"/api/v1/channels/{channel.pk}/stats/")  # warm: access, sessions
    with CaptureQueriesContext(connection) as few:
        client.get(f"/api/v1/channels/{channel.pk}/stats/")
    PageDay.objects.all().delete()
    PublicationDay.objects.all().delete()
    day_rows(net, "central_ok", 30, today)
    with CaptureQueriesContext(connection) as many:
        body: Any = client.get(f"/api/v1/channels/{channel.pk}/stats/").json()
    assert len(body["publications"]) == 3 * 30
    assert len(many.captured_queries) == len(few.captured_queries)
