"""/api/v1/deliveries/: read-only; paged like every list (the published schema); scoped like the posts."""

from __future__ import annotations

from typing import Any

from filial.core.tests.test_api_support import client_for, world
from filial.publishing.models import Delivery


def test_deliveries_of_a_post_and_filters(net: Any) -> None:
    w = world(net)
    w.scheduled_ch.deliveries.filter(channel=net.channels["children_tg"]).update(
        state=Delivery.State.FAILED, attempts=3, last_error="Forbidden: bot was kicked", external_id="")
    client = client_for(net, "editor_branch4")
    page = client.get(f"/api/v1/deliveries/?post={w.scheduled_ch.pk}").json()
    assert page["count"] == 2 and page["next"] is None  # paged like every list, as the schema says
    rows = page["results"]
    by_channel = {r["channel"]: r for r in rows}
    failed = by_channel[net.channels["children_tg"].pk]
    assert (failed["state"], failed["attempts"], failed["last_error"], failed["network"]) == (
        "failed", 3, "Forbidden: bot was kicked", "telegram")
    assert failed["post"] == w.scheduled_ch.pk and failed["channel_name"] == net.channels["children_tg"].name

    paged = client.get("/api/v1/deliveries/?state=failed").json()
    assert paged["count"] == 1 and paged["results"][0]["id"] == failed["id"]
    assert client.get(f"/api/v1/deliveries/?channel={net.channels['children_ok'].pk}").json()["count"] == 1
    assert client.get("/api/v1/deliveries/?state=lost").status_code == 400
    assert client.get("/api/v1/deliveries/?post=abc").status_code == 400


def test_deliveries_cannot_be_changed(net: Any) -> None:
    w = world(net)
    delivery = w.scheduled_ch.deliveries.order_by("id")[0]
    client = client_for(net, "admin")
    assert client.patch(f"/api/v1/deliveries/{delivery.pk}/", {"state": "published"}, format="json").status_code == 405
    assert client.delete(f"/api/v1/deliveries/{delivery.pk}/").status_code == 405
    delivery.refresh_from_db()
    assert delivery.state == Delivery.State.SCHEDULED


def test_deliveries_query_count(net: Any, django_assert_max_num_queries: Any) -> None:
    world(net)
    compose_more = world(net)  # twice as many rows: the count of queries stays the same
    client = client_for(net, "viewer")
    with django_assert_max_num_queries(6):
        response = client.get("/api/v1/deliveries/")
    assert response.json()["count"] == 4
    assert compose_more.scheduled_ch.pk in {r["post"] for r in response.json()["results"]}


def test_a_delivery_not_yet_out_has_no_address(net: Any) -> None:
    w = world(net)
    rows = client_for(net, "editor_branch4").get(f"/api/v1/deliveries/?post={w.scheduled_ch.pk}").json()["results"]
    assert rows and all(r["url"] is None for r in rows)  # never "", which is no URI
