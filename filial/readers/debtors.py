"""Reads for the debtors' dashboard of one unit: debtors by days overdue, today's reminders, renewals, and
returns after a reminder. A fixed number of queries whatever the number of debtors."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from django.db.models import Count, F, Min, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from filial.circulation.models import Loan, Renewal
from filial.circulation.selectors import circulation_units, reader_units
from filial.libraries.models import Unit
from filial.readers.models import ReaderIdentity, Reminder
from filial.readers.reminders import rule_for

BUCKETS = (("b1", _("1–7 days"), 1, 7), ("b2", _("8–30 days"), 8, 30), ("b3", _("31 days and more"), 31, None))
RENEWALS_DAYS = 30
CHART_WIDTH = 300
TOP = 50


@dataclass
class Bucket:
    key: str
    label: str
    loans: int
    readers: int
    width: int = 0  # of the chart's bar, in SVG units


@dataclass
class Dashboard:
    unit: Unit
    today: date
    buckets: list[Bucket]
    debtors: int
    overdue_loans: int
    reminders: dict[str, int]
    reminders_total: int
    reminders_done: int
    renewals: dict[str, int]
    returns_after_reminder: int
    return_window_days: int
    linked: int
    top: list[dict[str, Any]] = field(default_factory=list)

    @property
    def running(self) -> bool:
        return bool(self.reminders.get("scheduled", 0) + self.reminders.get("sending", 0))

    @property
    def percent(self) -> int:
        return int(self.reminders_done * 100 / self.reminders_total) if self.reminders_total else 0


def dashboard_units(user: Any) -> list[Unit]:
    return list(circulation_units(user))


def default_unit(units: list[Unit]) -> Unit:
    """The first of ``units`` that lends books (has loans not returned), else the first: a dashboard of zeros for
    a unit without readers is not where a librarian should land."""
    lending = set(Loan.objects.filter(unit_id__in=[u.pk for u in units], returned__isnull=True)
                  .values_list("unit_id", flat=True).distinct())
    return next((u for u in units if u.pk in lending), units[0])


def dashboard(user: Any, unit: Unit) -> Dashboard | None:
    """The unit's dashboard, or None when the user does not see its readers."""
    if unit.pk not in reader_units(user):
        return None
    today = timezone.localtime(timezone.now(), unit.tz).date()
    overdue = Loan.objects.filter(unit=unit, returned__isnull=True, due__lt=today)
    counts: dict[str, Any] = {"debtors": Count("reader_id", distinct=True), "overdue": Count("id")}
    for key, _label, low, high in BUCKETS:
        span = Q(due__lte=today - timedelta(days=low))
        if high is not None:
            span &= Q(due__gte=today - timedelta(days=high))
        counts[key] = Count("id", filter=span)
        counts[key + "_readers"] = Count("reader_id", filter=span, distinct=True)
    agg = overdue.aggregate(**counts)
    buckets = [Bucket(key, str(label), agg[key] or 0, agg[key + "_readers"] or 0) for key, label, _l, _h in BUCKETS]
    biggest = max((b.loans for b in buckets), default=0)
    for bucket in buckets:
        bucket.width = round(bucket.loans * CHART_WIDTH / biggest) if biggest else 0

    states = dict(Reminder.objects.filter(unit=unit, date=today).values_list("message__state")
                  .annotate(n=Count("id")).values_list("message__state", "n"))
    reminders = {str(k or "scheduled"): v for k, v in states.items()}
    total = sum(reminders.values())
    done = sum(reminders.get(s, 0) for s in ("sent", "failed", "cancelled", "uncertain"))

    since = timezone.now() - timedelta(days=RENEWALS_DAYS)
    renewals = Renewal.objects.filter(loan__unit=unit, requested_at__gte=since).aggregate(
        requested=Count("id"), granted=Count("id", filter=Q(state=Renewal.State.GRANTED)),
        refused=Count("id", filter=Q(state=Renewal.State.REFUSED)),
        queued=Count("id", filter=Q(state=Renewal.State.QUEUED)))

    window = rule_for(unit).return_window_days
    returns = (Loan.objects.filter(unit=unit, returned__gte=today - timedelta(days=RENEWALS_DAYS),
                                   reminders__date__lte=F("returned"))
               .filter(returned__lte=F("reminders__date") + timedelta(days=window))
               .values("id").distinct().count())
    linked = ReaderIdentity.objects.filter(reader__unit=unit).count()
    top: list[dict[str, Any]] = [dict(row) for row in overdue.values("reader_id", "reader__card", "reader__name")
               .annotate(loans=Count("id"), oldest=Min("due")).order_by("oldest", "reader_id")[:TOP]]
    for row in top:
        row["days"] = (today - row["oldest"]).days
    return Dashboard(unit=unit, today=today, buckets=buckets, debtors=agg["debtors"] or 0,
                     overdue_loans=agg["overdue"] or 0, reminders=reminders, reminders_total=total,
                     reminders_done=done, renewals={k: v or 0 for k, v in renewals.items()},
                     returns_after_reminder=returns, return_window_days=window, linked=linked, top=top)
