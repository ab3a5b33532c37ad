"""Reads of paid services: customers and sums by category and by the page that brought them.

A minimal version written alongside the report (the paid-services work brings the full one; the two functions
keep these names and rows)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from django.db.models import Count, Sum

from filial.paid.models import Order


@dataclass(frozen=True)
class CategoryRow:
    category: str
    code: str
    is_individual: bool
    customers: int
    orders: int
    total: Decimal


@dataclass(frozen=True)
class SourceRow:
    channel_id: int | None  # None: the order names no page (nor a page's promo code)
    channel: str
    network: str
    customers: int
    orders: int
    total: Decimal


def _orders(units: Iterable[Any], start: date, end: date) -> Any:
    ids = [u if isinstance(u, int) else u.pk for u in units]
    return Order.objects.filter(unit_id__in=ids, date__gte=start, date__lte=end)


def customer_summary(units: Iterable[Any], start: date, end: date) -> list[CategoryRow]:
    """Customers, orders and sums of the units' orders dated ``start``…``end`` by customer category."""
    rows = (
        _orders(units, start, end)
        .values("customer__category__name", "customer__category__code", "customer__category__is_individual",
                "customer__category__position")
        .annotate(customers=Count("customer", distinct=True), orders=Count("id"), total=Sum("total"))
        .order_by("customer__category__position", "customer__category__name")
    )
    return [CategoryRow(r["customer__category__name"], r["customer__category__code"],
                        r["customer__category__is_individual"], r["customers"], r["orders"],
                        r["total"] or Decimal("0")) for r in rows]


def source_summary(units: Iterable[Any], start: date, end: date) -> list[SourceRow]:
    """The same orders by the page that brought the customer: the order's page, else its promo code's page."""
    found: dict[int | None, dict[str, Any]] = {}
    rows = _orders(units, start, end).values(
        "id", "customer_id", "total", "source_channel_id", "source_channel__name", "source_channel__network",
        "promo_code__channel_id", "promo_code__channel__name", "promo_code__channel__network",
    )
    for r in rows:
        if r["source_channel_id"]:
            key, name, network = r["source_channel_id"], r["source_channel__name"], r["source_channel__network"]
        elif r["promo_code__channel_id"]:
            key, name = r["promo_code__channel_id"], r["promo_code__channel__name"]
            network = r["promo_code__channel__network"]
        else:
            key, name, network = None, "", ""
        entry = found.setdefault(key, {"name": name, "network": network, "customers": set(), "orders": 0,
                                       "total": Decimal("0")})
        entry["customers"].add(r["customer_id"])
        entry["orders"] += 1
        entry["total"] += r["total"]
    result = [SourceRow(k, v["name"], v["network"], len(v["customers"]), v["orders"], v["total"])
              for k, v in found.items()]
    return sorted(result, key=lambda row: (row.channel_id is None, -row.total, row.channel))
