"""CSV (semicolon, UTF-8 with BOM, for Excel) and XLSX files of the paid-services report and of the marked
publications for the advertising-data operator. Every cell goes through ``core.spreadsheets`` (no formulas)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.utils.translation import gettext as _

from filial.core.spreadsheets import csv_row, xlsx_append
from filial.paid.selectors import CategoryRow, SourceRow
from filial.publishing.models import Delivery, Post


def _cell(value: Any) -> Any:
    if isinstance(value, Decimal):
        return f"{value:.2f}".replace(".", ",")
    if isinstance(value, datetime):
        return value.strftime("%d.%m.%Y %H:%M")
    if isinstance(value, date):
        return value.strftime("%d.%m.%Y")
    return "" if value is None else value


def to_csv(rows: Iterable[Sequence[Any]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    for row in rows:
        writer.writerow(csv_row(_cell(v) for v in row))
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def to_xlsx(rows: Iterable[Sequence[Any]], title: str) -> bytes:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.title = title[:31]
    for row in rows:
        xlsx_append(sheet, [float(v) if isinstance(v, Decimal) else
                            (v.replace(tzinfo=None) if isinstance(v, datetime) else v) for v in row])
    sheet.column_dimensions["A"].width = 40
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def report_rows(start: date, end: date, categories: list[CategoryRow], sources: list[SourceRow]) -> list[list[Any]]:
    rows: list[list[Any]] = [[_("Paid services: customers and sums"), f"{start:%d.%m.%Y} – {end:%d.%m.%Y}"], []]
    rows.append([_("Customer category"), _("Customers"), _("Orders"), _("Sum, roubles")])
    for c in categories:
        rows.append([c.category, c.customers, c.orders, c.total])
    rows.append([_("Total"), sum(c.customers for c in categories), sum(c.orders for c in categories),
                 sum((c.total for c in categories), Decimal(0))])
    rows += [[], [_("Page that brought them"), _("Customers"), _("Orders"), _("Sum, roubles")]]
    for s in sources:
        rows.append([s.channel or _("not said"), s.customers, s.orders, s.total])
    return rows


def marked_rows(posts: Iterable[Post]) -> list[list[Any]]:
    """One row per page a marked post went to (or is meant for): what the operator (ОРД) is told."""
    rows: list[list[Any]] = [[_("ERID"), _("Advertiser"), _("INN"), _("Publication"), _("Unit"), _("Page"),
                              _("Address"), _("Published"), _("Text"), _("Not advertising, because")]]
    for post in posts:
        system = post.unit.system
        deliveries: list[Delivery | None] = [*post.deliveries.all()] or [None]
        for d in deliveries:
            rows.append([
                post.erid, system.legal_name or system.name, system.inn, post.pk, post.unit.name,
                d.channel.name if d is not None else "", d.url if d is not None else "",
                d.published_at if d is not None and d.published_at else post.publish_at,
                post.text[:1000], post.not_ad_reason,
            ])
    return rows
