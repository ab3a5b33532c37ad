"""The report pages: the list, «Сформировать отчёт», the preview (the same blocks as the DOCX), the conclusions,
computing again, publishing, and the DOCX download. Thin: services write, selectors read."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from filial.accounts.forms import add_service_errors
from filial.reports import charts, selectors, services
from filial.reports.forms import ConclusionsForm, ReportForm
from filial.reports.models import Report

CHART_SIZE = {"chart_width": charts.WIDTH, "chart_height": charts.HEIGHT}


def _get(request: HttpRequest, pk: int) -> Report:
    report = selectors.report_get(request.user, pk)
    if report is None:
        raise Http404
    return report


@login_required
def report_list(request: HttpRequest) -> HttpResponse:
    systems, units = selectors.reportable_scopes(request.user)
    if not systems and not units:
        raise PermissionDenied(_("Reports are made by the network's administrator and the methodologists."))
    reports = list(selectors.reports_visible(request.user).order_by("-period_to", "-id")[:200])
    return render(request, "reports/report_list.html", {"reports": reports})


@login_required
@require_http_methods(["GET", "POST"])
def report_create(request: HttpRequest) -> HttpResponse:
    form = ReportForm(request.POST or None, user=request.user)
    if not form.fields["scope"].choices:  # type: ignore[attr-defined]
        raise PermissionDenied(_("Reports are made by the network's administrator and the methodologists."))
    if request.method == "POST" and form.is_valid():
        system, scope = form.scope_value()
        try:
            report = services.report_create(actor=request.user, system=system, scope=scope,
                                            kind=form.cleaned_data["kind"], start=form.cleaned_data["period_from"],
                                            end=form.cleaned_data["period_to"])
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("The report is ready. Read it, write the conclusions and publish it."))
            return redirect("reports:report_detail", pk=report.pk)
    return render(request, "reports/report_form.html", {"form": form})


def _blocks(report: Report) -> tuple[Any, list[dict[str, Any]]]:
    doc = services.document(report)
    sources = iter(services.chart_sources(report, doc))
    blocks = []
    for block in doc.blocks:
        entry: dict[str, Any] = {"b": block}
        if block.kind == "chart":
            entry["src"] = next(sources)
        blocks.append(entry)
    return doc, blocks


@login_required
def report_detail(request: HttpRequest, pk: int) -> HttpResponse:
    report = _get(request, pk)
    doc, blocks = _blocks(report)
    form = ConclusionsForm(initial={"conclusions": report.conclusions})
    return render(request, "reports/report_detail.html",
                  {"report": report, "doc": doc, "blocks": blocks, "form": form, **CHART_SIZE})


@login_required
@require_POST
def report_conclusions(request: HttpRequest, pk: int) -> HttpResponse:
    report = _get(request, pk)
    form = ConclusionsForm(request.POST)
    if form.is_valid():
        try:
            services.report_conclusions(actor=request.user, report=report, text=form.cleaned_data["conclusions"])
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("The conclusions are saved."))
            return redirect("reports:report_detail", pk=report.pk)
    doc, blocks = _blocks(report)
    return render(request, "reports/report_detail.html",
                  {"report": report, "doc": doc, "blocks": blocks, "form": form, **CHART_SIZE}, status=400)


def _action(request: HttpRequest, pk: int, action: Any, done: str) -> HttpResponse:
    report = _get(request, pk)
    try:
        action(actor=request.user, report=report)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, done)
    return redirect("reports:report_detail", pk=report.pk)


@login_required
@require_POST
def report_regenerate(request: HttpRequest, pk: int) -> HttpResponse:
    return _action(request, pk, services.report_regenerate, _("The figures are computed again from the data."))


@login_required
@require_POST
def report_publish(request: HttpRequest, pk: int) -> HttpResponse:
    return _action(request, pk, services.report_publish,
                   _("The report is published: its file is frozen and can be downloaded."))


DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


@login_required
def report_docx(request: HttpRequest, pk: int) -> HttpResponse:
    report = _get(request, pk)
    response = HttpResponse(services.docx_bytes(report), content_type=DOCX)
    response["Content-Disposition"] = f'attachment; filename="{services.file_name(report)}"'
    response["Cache-Control"] = "private, no-store"
    return response
