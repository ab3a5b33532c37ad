"""The statistics dashboards (the network, a unit, a page) and their CSV / XLSX exports."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _

from filial.accounts.selectors import access_for
from filial.stats import charts, exports, selectors
from filial.stats.formulas import ERR_DAYS
from filial.stats.scope import PRESETS, networks_for_filter, period_from, scope_from, units_for_filter


def _dashboard(request: HttpRequest, channel_id: int | None) -> selectors.Dashboard:
    access = access_for(request.user)
    if not access.is_member:
        raise PermissionDenied
    scope = scope_from(access, request.GET, channel_id)
    period = period_from(request.GET, timezone.localdate(timezone=scope.tz()))
    return selectors.dashboard(scope, period)


def _context(request: HttpRequest, dash: selectors.Dashboard) -> dict[str, Any]:
    scope, period = dash.scope, dash.period
    if scope.channel is not None:
        here = reverse("stats:page", args=[scope.channel.pk])
        csv_url, xlsx_url = (reverse(f"stats:page_export_{f}", args=[scope.channel.pk]) for f in ("csv", "xlsx"))
    else:
        here = reverse("stats:dashboard")
        csv_url, xlsx_url = reverse("stats:export_csv"), reverse("stats:export_xlsx")
    query = urlencode({**scope.query(), **period.query()})
    grain = {"day": _("by day"), "week": _("by week"), "month": _("by month")}[period.grain]
    audience_label = _("Audience %(grain)s, %(start)s – %(end)s") % {
        "grain": grain, "start": period.start.strftime("%d.%m.%Y"), "end": period.end.strftime("%d.%m.%Y")}
    return {
        "dash": dash,
        "tz_name": str(dash.tz),
        "here": here,
        "period_query": urlencode(period.query()),
        "presets": [(d, urlencode({**scope.query(), "days": str(d)})) for d in PRESETS],
        "units": units_for_filter(dash.scope.access) if scope.channel is None else [],
        "networks": networks_for_filter(),
        "export_csv": f"{csv_url}?{query}",
        "export_xlsx": f"{xlsx_url}?{query}",
        "err_days": ERR_DAYS,
        "audience_label": audience_label,
        "audience_chart": charts.line_chart(
            [(pt.bucket.short(period.grain), pt.value) for pt in dash.audience], audience_label,
            _("No audience was measured in this period.")),
        "kinds_chart": charts.bar_chart([(label, n) for _k, label, n in dash.kinds if n],
                                        _("Publications by kind"), _("Nothing was published in this period.")),
        "hours_chart": charts.bar_chart([(s.label, s.engagement) for s in dash.hours if s.publications],
                                        _("Mean engagement by hour of publication"),
                                        _("No publication of this period has its reactions measured.")),
        "weekdays_chart": charts.bar_chart([(s.label, s.engagement) for s in dash.weekdays],
                                           _("Mean engagement by day of the week"),
                                           _("No publication of this period has its reactions measured.")),
        "units_chart": charts.bar_chart([(g.label, g.audience) for g in dash.units[:15]],
                                        _("Audience by unit"), _("No audience was measured in this period.")),
    }


@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    dash = _dashboard(request, None)
    return render(request, "stats/dashboard.html", _context(request, dash))


@login_required
def page(request: HttpRequest, pk: int) -> HttpResponse:
    dash = _dashboard(request, pk)
    return render(request, "stats/dashboard.html", _context(request, dash))


def _export(request: HttpRequest, channel_id: int | None, fmt: str) -> HttpResponse:
    dash = _dashboard(request, channel_id)
    name = f"statistics-{dash.period.start:%Y%m%d}-{dash.period.end:%Y%m%d}"
    if fmt == "xlsx":
        response = HttpResponse(
            exports.to_xlsx(dash),
            content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    else:
        response = HttpResponse("\ufeff" + exports.to_csv(dash), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}.{fmt}"'
    return response


@login_required
def export(request: HttpRequest, fmt: str) -> HttpResponse:
    return _export(request, None, fmt)


@login_required
def page_export(request: HttpRequest, pk: int, fmt: str) -> HttpResponse:
    return _export(request, pk, fmt)
