"""Poll results UI: the results page, its card on the post page (htmx), "refresh now", results entered by hand (a
historic or offline poll), CSV and XLSX export.

Reads come from ``poll_results.poll_report`` (scoped to the user); "refresh now" calls ``polls.poll_refresh``.

CSV: UTF-8 with a BOM and ``;`` between fields, one decision for every export: Excel in a Russian locale opens
a double-clicked CSV with the system's list separator, which is ``;`` there (the decimal separator being ``,``), and
reads it as UTF-8 only when the BOM is present; so the file opens in columns with Cyrillic intact. Shares are
written with a decimal comma for the same Excel; the XLSX carries real numbers and a percent format.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.formats import number_format
from django.utils.http import content_disposition_header, url_has_allowed_host_and_scheme
from django.utils.text import slugify
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from filial.accounts.selectors import access_for
from filial.core.spreadsheets import csv_row, xlsx_append
from filial.inbox import polls
from filial.inbox.forms import PollResultsForm
from filial.inbox.poll_results import PageResult, PollReport, Status, poll_report
from filial.networks import registry

BAR_WIDTH = 600  # the SVG's own units: the bar stretches to the width of the card
BAR_HEIGHT = 18


@dataclass
class Segment:
    x: float
    width: float
    colour: str
    label: str


@dataclass
class ChartRow:
    text: str
    figures: str
    segments: list[Segment]


def _report_or_404(request: HttpRequest, pk: int) -> PollReport:
    report = poll_report(request.user, pk)
    if report is None:
        raise Http404(_("No such poll."))
    return report


def _percent(value: float | None) -> str:
    return "—" if value is None else f"{number_format(value, 1)} %"


def chart(report: PollReport) -> dict[str, Any]:
    """Geometry of the horizontal bars (inline SVG, attributes only: the CSP forbids inline styles).

    Each answer's bar is its share of the summed voters, split into one segment per counted page in that page's
    network colour; the figures (votes and share) are printed beside it and repeated in the table."""
    scale_max = max([report.total_voters, *(a.votes for a in report.answers), 1])
    rows: list[ChartRow] = []
    for answer in report.answers:
        x = 0.0
        segments: list[Segment] = []
        for page, votes in zip(report.pages, answer.per_page, strict=True):
            if not page.in_sum or not votes:
                continue
            width = BAR_WIDTH * votes / scale_max
            segments.append(Segment(x=round(x, 2), width=round(width, 2),
                                    colour=registry.colour(page.network),
                                    label=f"{page.channel.name}: {votes}"))
            x += width
        rows.append(ChartRow(text=answer.text, figures=f"{answer.votes} · {_percent(answer.percent)}",
                             segments=segments))
    legend: dict[str, tuple[str, str, str]] = {}
    for page in report.counted_pages:  # pages come in the networks' order
        legend.setdefault(page.network, (page.network, registry.colour(page.network),
                                         str(page.channel.get_network_display())))
    return {"rows": rows, "bar_width": BAR_WIDTH, "bar_height": BAR_HEIGHT, "legend": list(legend.values())}


def _context(request: HttpRequest, report: PollReport) -> dict[str, Any]:
    access = access_for(request.user)
    may_write = access.can_write(report.post.unit_id)
    return {"report": report, "post": report.post, "poll": report.poll, "chart": chart(report),
            "can_refresh": may_write and not report.all_closed, "can_enter": may_write,
            "tz_name": report.tz_name, "Status": Status}


@login_required
@require_GET
def poll_results(request: HttpRequest, pk: int) -> HttpResponse:
    report = _report_or_404(request, pk)
    return render(request, "inbox/poll_results.html", _context(request, report))


@login_required
@require_GET
def poll_card(request: HttpRequest, pk: int) -> HttpResponse:
    """The results as a card for the post page (loaded there with htmx)."""
    report = _report_or_404(request, pk)
    return render(request, "inbox/poll_card.html", {**_context(request, report), "in_post": True})


@login_required
@require_POST
def poll_refresh(request: HttpRequest, pk: int) -> HttpResponse:
    report = _report_or_404(request, pk)
    done = polls.poll_refresh(actor=request.user, post=report.post)  # PermissionDenied → 403
    parts = []
    if done.queued:
        parts.append(ngettext("A new count of %(n)d page is queued.", "A new count of %(n)d pages is queued.",
                              done.queued) % {"n": done.queued})
    if done.waiting_for_end:
        parts.append(_("Telegram shows a poll's counts only when it closes: they come at the end time."))
    if not parts:
        parts.append(_("Nothing to refresh: the counts are final or were taken seconds ago."))
    if request.htmx:  # type: ignore[attr-defined]
        report = _report_or_404(request, pk)
        return render(request, "inbox/poll_card.html", {**_context(request, report), "notice": " ".join(parts),
                                                        "in_post": request.POST.get("in_post") == "1"})
    messages.success(request, " ".join(parts))
    target = request.POST.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()},
                                                   require_https=request.is_secure()):
        return redirect(target)
    return redirect(reverse("inbox:poll_results", args=[pk]))


@login_required
@require_http_methods(["GET", "POST"])
def poll_results_enter(request: HttpRequest, pk: int, delivery_id: int) -> HttpResponse:
    """Results of one page typed by hand from the page (a poll Filial did not count): stored closed and marked
    «внесено вручную»; the service checks who may (``polls.poll_results_enter``)."""
    report = _report_or_404(request, pk)
    page = next((p for p in report.pages if p.delivery.pk == delivery_id), None)
    if page is None:
        raise Http404(_("This poll was not published on that page."))
    answers = [a.text for a in report.answers]
    form = PollResultsForm(request.POST or None, answers=answers)
    if request.method == "POST" and form.is_valid():
        try:
            polls.poll_results_enter(actor=request.user, delivery=page.delivery, votes=form.votes(),
                                     total_voters=form.cleaned_data["total_voters"])
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, _("The results are saved and marked as entered by hand."))
            return redirect(reverse("inbox:poll_results", args=[pk]))
    return render(request, "inbox/poll_enter.html", {"report": report, "post": report.post, "poll": report.poll,
                                                     "page": page, "form": form})


# --- exports --------------------------------------------------------------------------------------------------
def _local(value: datetime | None, tz: ZoneInfo) -> datetime | None:
    return value.astimezone(tz).replace(tzinfo=None) if value is not None else None


def _page_title(page: PageResult) -> str:
    return f"{page.channel.get_network_display()}: {page.channel.name}"


def _status_text(page: PageResult) -> str:
    texts = {
        Status.COUNTED: _("closed") if page.closed else _("counted"),
        Status.STALE: _("last count failed: %(error)s") % {"error": page.error},
        Status.FAILED: _("count failed: %(error)s") % {"error": page.error},
        Status.WAITING: _("not counted yet"),
        Status.TELEGRAM_WAITS: _("counts come when the poll closes"),
        Status.NO_POLLS: _("this network has no polls"),
        Status.NOT_PUBLISHED: _("not published"),
    }
    return str(texts.get(page.status, page.status))


def export_rows(report: PollReport) -> list[list[Any]]:
    """The table both exports write: one row per answer, a column per page, then the sum and the share."""
    tz = ZoneInfo(report.tz_name)
    pages = report.pages
    rows: list[list[Any]] = [
        [_("Poll"), report.poll.question],
        [_("Post"), report.post.headline],
        [_("Ends"), _local(report.poll.ends_at, tz) or "—"],
        [_("Time zone"), report.tz_name],
        [],
        [_("Answer"), *(_page_title(p) for p in pages), _("Total"), _("Share of voters")],
    ]
    for answer in report.answers:
        rows.append([answer.text, *(v if p.in_sum else None for p, v in zip(pages, answer.per_page, strict=True)),
                     answer.votes, answer.share])
    rows.append([_("Voters"), *(p.total_voters if p.in_sum else None for p in pages), report.total_voters, None])
    rows.append([_("Counted at"), *(_local(p.counted_at, tz) for p in pages), _local(report.last_counted_at, tz),
                 None])
    rows.append([_("Status"), *(_status_text(p) for p in pages), None, None])
    return rows


def _filename(report: PollReport, ext: str) -> str:
    stamp = report.now.astimezone(ZoneInfo(report.tz_name)).strftime("%Y-%m-%d_%H-%M")
    words = slugify(report.poll.question, allow_unicode=True)[:40].strip("-")
    return f"{_('poll-results')}-{report.post.pk}{'-' + words if words else ''}-{stamp}.{ext}"


def _csv_value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):  # a share: percent with a decimal comma (see the module's docstring)
        return f"{value * 100:.1f}".replace(".", ",") + "%"
    if isinstance(value, datetime):
        return value.strftime("%d.%m.%Y %H:%M")
    return str(value)


def results_csv(report: PollReport) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    for row in export_rows(report):
        writer.writerow(csv_row(_csv_value(v) for v in row))
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def results_xlsx(report: PollReport) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    book = Workbook()
    sheet = book.active
    sheet.title = _("Results")[:31]
    rows = export_rows(report)
    header_index = 6  # the 1-based row of the column titles
    for row in rows:
        xlsx_append(sheet, row)
    bold = Font(bold=True)
    for cell in sheet[header_index]:
        cell.font = bold
    sheet["A1"].font = bold
    first, last = header_index + 1, header_index + len(report.answers)
    share_col = len(report.pages) + 3
    for r in range(first, last + 1):
        sheet.cell(row=r, column=share_col).number_format = "0.0%"
    for row_cells in sheet.iter_rows():
        for cell in row_cells:
            if isinstance(cell.value, datetime):
                cell.number_format = "DD.MM.YYYY HH:MM"
    sheet.column_dimensions["A"].width = 40
    for col in range(2, share_col + 1):
        sheet.column_dimensions[get_column_letter(col)].width = 22
    sheet.freeze_panes = sheet.cell(row=header_index + 1, column=2)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _download(content: bytes, content_type: str, filename: str) -> HttpResponse:
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = content_disposition_header(as_attachment=True, filename=filename)
    response["Cache-Control"] = "private, no-store"
    return response


@login_required
@require_GET
def poll_export_csv(request: HttpRequest, pk: int) -> HttpResponse:
    report = _report_or_404(request, pk)
    return _download(results_csv(report), "text/csv; charset=utf-8", _filename(report, "csv"))


@login_required
@require_GET
def poll_export_xlsx(request: HttpRequest, pk: int) -> HttpResponse:
    report = _report_or_404(request, pk)
    return _download(results_xlsx(report), "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                     _filename(report, "xlsx"))
