"""CSV and XLSX exports of what a dashboard shows (every page, not only the first rows).

One table per section (a sheet each in XLSX; in CSV the sections follow each other, each under its title row). An
unknown figure is an empty cell with its reason in the next column, never 0. Cells go through
``core/spreadsheets.py`` (formula injection).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from django.utils.translation import gettext as _

from filial.core.spreadsheets import csv_row, xlsx_append
from filial.networks import registry
from filial.stats.formulas import Figure
from filial.stats.selectors import Dashboard

Table = tuple[str, list[str], list[list[Any]]]


def _stamp(moment: datetime | None, dash: Dashboard) -> str:
    return moment.astimezone(dash.tz).strftime("%Y-%m-%d %H:%M") if moment else ""


def _fig(f: Figure) -> list[Any]:
    return [f.value, f.reason]


def tables(dash: Dashboard) -> Iterator[Table]:
    p = dash.period
    scope = dash.scope
    where = (scope.channel.name if scope.channel else scope.unit.name if scope.unit else _("All pages"))
    yield (_("Statistics"), [_("scope"), _("network"), _("from"), _("to")],
           [[where, registry.label(scope.network) if scope.network else "", p.start, p.end]])
    er_heads = [_("ERpost, %"), _("why unknown"), _("ERview, %"), _("why unknown"), _("ERR, %"), _("why unknown")]
    yield (_("Pages"),
           [_("page"), _("network"), _("unit"), _("audience"), _("measured on"), _("measured at"), _("growth"),
            _("publications"), _("publications measured"), *er_heads],
           [[r.channel.name, registry.label(r.channel.network), r.channel.unit.name, r.audience.value,
             r.audience.day or "", _stamp(r.audience.measured_at, dash), r.growth, r.published, r.measured,
             *_fig(r.er_post), *_fig(r.er_view), *_fig(r.err)] for r in dash.pages])
    yield (_("Units compared"),
           [_("unit"), _("pages"), _("audience"), _("pages measured"), _("growth"), _("publications"), *er_heads],
           [[g.label, g.pages, g.audience, g.audience_pages, g.growth, g.published, *_fig(g.er_post),
             *_fig(g.er_view), *_fig(g.err)] for g in dash.units])
    yield (_("Audience over time"), [_("from"), _("to"), _("audience"), _("pages measured"), _("measured at")],
           [[pt.bucket.lo, pt.bucket.hi, pt.value, pt.pages, _stamp(pt.measured_at, dash)] for pt in dash.audience])
    yield (_("Publications by kind"), [_("kind"), _("publications")], [[label, n] for _k, label, n in dash.kinds])
    yield (_("Best hours"), [_("hour"), _("publications"), _("mean engagement")],
           [[s.label, s.publications, s.engagement] for s in dash.hours])
    yield (_("Best days of the week"), [_("day"), _("publications"), _("mean engagement")],
           [[s.label, s.publications, s.engagement] for s in dash.weekdays])
    yield (_("Top publications"),
           [_("page"), _("published"), _("text"), _("views"), _("likes"), _("reposts"), _("comments"), _("reach"),
            _("measured at")],
           [[t.delivery.channel.name, _stamp(t.delivery.published_at, dash), (t.delivery.post.title
             or t.delivery.post.text)[:200], t.views, t.likes, t.reposts, t.comments, t.reach,
             _stamp(t.measured_at, dash)] for t in dash.top])


def to_csv(dash: Dashboard) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    for title, heads, rows in tables(dash):
        writer.writerow(csv_row([title]))
        writer.writerow(csv_row(heads))
        for row in rows:
            writer.writerow(csv_row(["" if v is None else v for v in row]))
        writer.writerow([])
    return out.getvalue()


def to_xlsx(dash: Dashboard) -> bytes:
    from openpyxl import Workbook

    book = Workbook()
    book.remove(book.active)
    for title, heads, rows in tables(dash):
        sheet = book.create_sheet(title[:31])
        xlsx_append(sheet, heads)
        for row in rows:
            xlsx_append(sheet, row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
