"""Reads for paid services, scoped by ``Access.paid_units``; the summaries the report page and the annual report use
(``customer_summary``, ``source_summary``) and the marked publications for the advertising-data operator."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from django.db.models import Count, Q, QuerySet, Sum

from filial.accounts.selectors import access_for
from filial.libraries.models import LibrarySystem, Unit
from filial.paid.models import Customer, CustomerCategory, Order, PromoCode, Service, ShortLink
from filial.publishing.models import Post


def paid_units(user: Any) -> QuerySet[Unit]:
    """Units whose paid services the user sees (``Access.paid_units``)."""
    return Unit.objects.filter(id__in=access_for(user).paid_units).select_related("system")


def selling_units(user: Any) -> QuerySet[Unit]:
    """Units the user records orders for (the desk)."""
    return Unit.objects.filter(id__in=access_for(user).write_units).select_related("system")


def paid_systems(user: Any) -> QuerySet[LibrarySystem]:
    return LibrarySystem.objects.filter(units__id__in=access_for(user).paid_units).distinct()


def services_visible(user: Any, *, unit_id: int | None = None, active_only: bool = False) -> QuerySet[Service]:
    qs = Service.objects.filter(unit_id__in=access_for(user).paid_units).select_related("unit")
    if unit_id is not None:
        qs = qs.filter(unit_id=unit_id)
    if active_only:
        qs = qs.filter(active=True)
    return qs.order_by("unit__path", "name")


def categories_for(user: Any) -> QuerySet[CustomerCategory]:
    return CustomerCategory.objects.filter(system__in=paid_systems(user)).order_by("system_id", "position", "name")


def customers_visible(user: Any, *, category_id: int | None = None, query: str = "") -> QuerySet[Customer]:
    qs = Customer.objects.filter(system__in=paid_systems(user)).select_related("category").annotate(
        order_count=Count("orders"), order_total=Sum("orders__total"))
    if category_id is not None:
        qs = qs.filter(category_id=category_id)
    if query:
        qs = qs.filter(Q(name__icontains=query) | Q(inn__startswith=query))
    return qs.order_by("category__position", "name", "id")


def orders_visible(user: Any, *, unit_id: int | None = None, start: date | None = None, end: date | None = None,
                   category_id: int | None = None, service_id: int | None = None,
                   source_id: int | None = None) -> QuerySet[Order]:
    qs = Order.objects.filter(unit_id__in=access_for(user).paid_units).select_related(
        "unit", "service", "customer", "customer__category", "promo_code", "source_channel")
    if unit_id is not None:
        qs = qs.filter(unit_id=unit_id)
    if start is not None:
        qs = qs.filter(date__gte=start)
    if end is not None:
        qs = qs.filter(date__lte=end)
    if category_id is not None:
        qs = qs.filter(customer__category_id=category_id)
    if service_id is not None:
        qs = qs.filter(service_id=service_id)
    if source_id is not None:
        qs = qs.filter(source_channel_id=source_id)
    return qs.order_by("-date", "-id")


def links_visible(user: Any) -> QuerySet[ShortLink]:
    return ShortLink.objects.filter(system__in=paid_systems(user)).select_related("channel", "post")


def link_target(code: str) -> str | None:
    """The stored address of the tracked link ``code`` (public: no scope), without counting a visit."""
    return ShortLink.objects.filter(code=code[:32]).values_list("target", flat=True).first()


def promos_visible(user: Any) -> QuerySet[PromoCode]:
    return PromoCode.objects.filter(system__in=paid_systems(user)).select_related("channel", "post").annotate(
        order_count=Count("orders"))


# --- the summaries (the report page, its exports, the annual report) --------------------------------------


@dataclass(frozen=True)
class CategoryRow:
    category: str  # the category's name
    code: str
    is_individual: bool
    customers: int  # distinct customers with an order in the period
    orders: int
    total: Decimal


@dataclass(frozen=True)
class SourceRow:
    channel_id: int | None  # None: no page named (walk-in, word of mouth)
    channel: str  # the page's name, "" for none
    network: str
    customers: int
    orders: int
    total: Decimal


# The units whose orders a summary counts: a queryset of units, their ids, or None for every unit.
UnitScope = QuerySet[Unit] | Sequence[int] | None


def _period_orders(units: UnitScope, start: date, end: date) -> QuerySet[Order]:
    qs = Order.objects.filter(date__gte=start, date__lte=end)
    if units is not None:
        qs = qs.filter(unit__in=units)
    return qs


def customer_summary(units: UnitScope, start: date, end: date) -> list[CategoryRow]:
    """Customers, orders and sums by customer category for the orders of ``units`` (None: every unit) dated
    ``start`` … ``end`` inclusive. Every category of the systems concerned is listed, with zeros where it had no
    order (a zero here is a count, not an unknown). One query for the figures, one for the categories."""
    figures: dict[int, dict[str, Any]] = {
        row["customer__category_id"]: dict(row)
        for row in _period_orders(units, start, end).values("customer__category_id").annotate(
            customers=Count("customer_id", distinct=True), orders=Count("id"), total=Sum("total"))
    }
    if units is not None:
        categories = CustomerCategory.objects.filter(system__units__in=units).distinct()
    else:
        categories = CustomerCategory.objects.all()
    categories = categories.order_by("system_id", "position", "name")
    rows = []
    for cat in categories:
        f: dict[str, Any] = figures.get(cat.pk, {})
        rows.append(CategoryRow(category=cat.name, code=cat.code, is_individual=cat.is_individual,
                                customers=int(f.get("customers") or 0), orders=int(f.get("orders") or 0),
                                total=Decimal(f.get("total") or 0)))
    return rows


def source_summary(units: UnitScope, start: date, end: date) -> list[SourceRow]:
    """Customers, orders and sums by the page that brought them (the order's page, or its promo code's page),
    largest sum first; orders with no page form the last row (``channel_id`` None)."""
    rows = []
    for row in _period_orders(units, start, end).values(
            "source_channel_id", "source_channel__name", "source_channel__network").annotate(
            customers=Count("customer_id", distinct=True), orders=Count("id"), total=Sum("total")):
        rows.append(SourceRow(channel_id=row["source_channel_id"], channel=row["source_channel__name"] or "",
                              network=row["source_channel__network"] or "", customers=row["customers"],
                              orders=row["orders"], total=Decimal(row["total"] or 0)))
    rows.sort(key=lambda r: (r.channel_id is None, -r.total, r.channel))
    return rows


# --- marked publications (the export for the advertising-data operator) ------------------------------------


def marked_posts(user: Any, start: date | None = None, end: date | None = None) -> QuerySet[Post]:
    """Posts that advertise a paid service (marked, or marked as not advertising), of the units the user reads."""
    qs = Post.objects.filter(advertises=True, unit_id__in=access_for(user).read_units).select_related(
        "unit", "unit__system").prefetch_related("deliveries__channel")
    if start is not None:
        qs = qs.filter(publish_at__date__gte=start)
    if end is not None:
        qs = qs.filter(publish_at__date__lte=end)
    return qs.order_by("publish_at", "id")
