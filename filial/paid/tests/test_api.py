"""The paid-services API beyond the role matrix: sums, promo codes and pages, consent, filters, bounds."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from filial.conftest import Net
from filial.core.tests.test_api_support import client_for
from filial.paid import services
from filial.paid.models import Order
from filial.paid.tests.support import PaidWorld, paid_world


@pytest.fixture
def pw(net: Net) -> PaidWorld:
    return paid_world(net)


def _rows(body: Any) -> list[dict[str, Any]]:
    return body["results"] if isinstance(body, dict) else body  # type: ignore[no-any-return]


def test_order_with_a_promo_code_takes_its_page_and_default_sum(net: Net, pw: PaidWorld) -> None:
    services.promo_create(actor=net.users["editor_branch4"], code="PRINT5", channel=net.channels["branch4_ok"])
    client = client_for(net, "editor_branch4")
    response = client.post("/api/v1/orders/", {"service": pw.service.pk, "date": "2014-05-05", "quantity": "3",
                                               "category": pw.categories["individual"].pk,
                                               "promo_code": "print5"}, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["total"] == "15.00" and body["promo_code"] == "PRINT5"
    assert body["source_channel"] == net.channels["branch4_ok"].pk
    assert body["category"] == pw.categories["individual"].pk and body["unit"] == net.branch4.pk
    response = client.post("/api/v1/orders/", {"service": pw.service.pk, "date": "2014-05-05",
                                               "category": pw.categories["individual"].pk,
                                               "promo_code": "NOSUCH"}, format="json")
    assert response.status_code == 400 and "promo_code" in response.json()


def test_order_filters_and_update(net: Net, pw: PaidWorld) -> None:
    client = client_for(net, "methodologist")
    for day in ("2014-03-01", "2014-09-01"):
        assert client.post("/api/v1/orders/", {"service": pw.service.pk, "date": day, "total": "99.90",
                                               "customer": pw.school.pk}, format="json").status_code == 201
    rows = _rows(client.get("/api/v1/orders/?from=2014-01-01&to=2014-06-30").json())
    assert [r["date"] for r in rows] == ["2014-03-01"] and rows[0]["total"] == "99.90"
    order_id = rows[0]["id"]
    response = client.patch(f"/api/v1/orders/{order_id}/", {"quantity": "10"}, format="json")
    assert response.status_code == 200 and response.json()["total"] == "50.00"  # a new quantity: price × quantity
    assert Order.objects.get(pk=order_id).customer == pw.school
    rows = _rows(client.get(f"/api/v1/orders/?category={pw.categories['education'].pk}").json())
    assert {r["customer"] for r in rows} == {pw.school.pk}
    assert _rows(client.get(f"/api/v1/orders/?category={pw.categories['mfc'].pk}").json()) == []


@pytest.mark.parametrize("query", ["from=0001-01-01", "to=2101-01-01", "from=yesterday", "unit=0",
                                   "category=99999999999999999999"])
def test_order_filters_are_bounded(net: Net, pw: PaidWorld, query: str) -> None:
    response = client_for(net, "admin").get(f"/api/v1/orders/?{query}")
    assert response.status_code == 400, response.content


def test_customer_name_needs_consent(net: Net, pw: PaidWorld) -> None:
    client = client_for(net, "editor_branch4")
    body = {"category": pw.categories["individual"].pk, "name": "Иванова Мария"}
    response = client.post("/api/v1/customers/", body, format="json")
    assert response.status_code == 400 and "consent" in response.json()
    response = client.post("/api/v1/customers/", {**body, "consent": True}, format="json")
    assert response.status_code == 201 and response.json()["consent_at"] is not None


@pytest.mark.parametrize("body", [
    {"quantity": "0"}, {"quantity": "100001"}, {"total": "-1"}, {"date": "2199-01-01"}, {"date": "1900-01-01"},
])
def test_order_bounds(net: Net, pw: PaidWorld, body: dict[str, Any]) -> None:
    base = {"service": pw.service.pk, "date": "2014-05-05", "category": pw.categories["individual"].pk}
    before = Order.objects.count()
    response = client_for(net, "admin").post("/api/v1/orders/", {**base, **body}, format="json")
    assert response.status_code == 400, response.content
    assert Order.objects.count() == before
    assert Order.objects.get().total == Decimal("20.00")
