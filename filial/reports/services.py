"""Writes of reports: make one for a scope and period, compute its figures again, write the conclusions, publish
(the DOCX frozen as a file with its generation date). Every write checks ``Access.may_report`` and leaves an
audit entry."""

from __future__ import annotations

import base64
import hashlib
import json
import os
from datetime import date, timedelta
from typing import Any

from django.core.cache import cache
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from filial.accounts.selectors import access_for
from filial.accounts.services import audit_record
from filial.core.params import in_range
from filial.libraries.models import LibrarySystem, Unit
from filial.reports import charts, docxfile, figures, prose
from filial.reports.models import Report

# The longest period of each kind, in days (a year may be a leap year; a quarter has at most 92 days).
LONGEST = {Report.Kind.ANNUAL: 366, Report.Kind.QUARTERLY: 92, Report.Kind.MONTHLY: 31}


def check_may_report(actor: Any, system: LibrarySystem, scope: Unit | None) -> None:
    units = [u.pk for u in figures.scope_units(system, scope)]
    if actor is None:
        return
    if not access_for(actor).may_report(system.pk, units):
        raise PermissionDenied(_("Only the network's administrator or the methodologist of these units makes "
                                 "their report."))


def check_period(kind: str, start: date, end: date) -> None:
    if kind not in Report.Kind.values:
        raise ValidationError({"kind": _("Choose annual, quarterly or monthly.")})
    if not (in_range(start) and in_range(end)):
        raise ValidationError({"period_from": _("Enter dates between 1970 and 2100.")})
    if end < start:
        raise ValidationError({"period_to": _("The period ends before it starts: check the dates.")})
    if (end - start).days + 1 > LONGEST[Report.Kind(kind)]:
        raise ValidationError({"period_to": _("The period is too long for this kind of report: at most "
                                              "%(days)s days.") % {"days": LONGEST[Report.Kind(kind)]}})
    if start > timezone.localdate() + timedelta(days=1):
        raise ValidationError({"period_from": _("The period has not started yet: choose a past period.")})


def _stamp(report: Report) -> None:
    report.figures = figures.compute(report.system, report.scope, report.period_from, report.period_to)
    report.generated_at = timezone.now()


@transaction.atomic
def report_create(*, actor: Any, system: LibrarySystem, scope: Unit | None, kind: str, start: date,
                  end: date) -> Report:
    """A draft report with its figures computed now. ``actor`` None: the demo or the command line."""
    if scope is not None and scope.system_id != system.pk:
        raise ValidationError({"scope": _("This unit belongs to another library network.")})
    check_may_report(actor, system, scope)
    check_period(kind, start, end)
    report = Report(system=system, scope=scope, kind=kind, period_from=start, period_to=end,
                    created_by=actor if getattr(actor, "is_authenticated", False) else None)
    _stamp(report)
    report.save()
    audit_record(actor, "report.create", report, {"scope": scope.pk if scope else None, "kind": kind,
                                                  "from": start.isoformat(), "to": end.isoformat()},
                 system_id=system.pk)
    return report


def _draft(actor: Any, report: Report) -> None:
    check_may_report(actor, report.system, report.scope)
    if report.is_published:
        raise ValidationError(_("The report is published and frozen: make a new report to change it."))


@transaction.atomic
def report_regenerate(*, actor: Any, report: Report) -> Report:
    """Compute the figures again from the stored data (the same data gives the same numbers)."""
    report = Report.objects.select_for_update().get(pk=report.pk)
    _draft(actor, report)
    _stamp(report)
    report.save(update_fields=["figures", "generated_at", "updated_at"])
    _forget_draft_on_commit(report.pk)
    audit_record(actor, "report.regenerate", report, system_id=report.system_id)
    return report


@transaction.atomic
def report_conclusions(*, actor: Any, report: Report, text: str) -> Report:
    report = Report.objects.select_for_update().get(pk=report.pk)
    _draft(actor, report)
    text = text.strip()
    if len(text) > 20000:
        raise ValidationError({"conclusions": _("The conclusions are too long: at most 20,000 characters.")})
    report.conclusions = text
    report.save(update_fields=["conclusions", "updated_at"])
    _forget_draft_on_commit(report.pk)
    audit_record(actor, "report.conclusions", report, {"length": len(text)}, system_id=report.system_id)
    return report


def document(report: Report) -> prose.Document:
    return prose.build(report.figures, kind=report.kind, conclusions=report.conclusions,
                       generated=report.generated_at.astimezone(_tz(report)) if report.generated_at else None,
                       published=report.is_published)


def _tz(report: Report) -> Any:
    return report.scope.tz if report.scope is not None else figures.Scope(report.system, None, report.period_from,
                                                                            report.period_to).tz


# A draft's DOCX (≈ 20 s for a network of 1,500 pages) is kept as a file named by a digest of what it is made of,
# so a second download is instant; computing the figures again, editing the conclusions or publishing forgets it.
DRAFTS = "reports/drafts"
RENDERING = "2"  # bump when docxfile/prose/charts change what a draft looks like: older files are then not used


def draft_digest(report: Report) -> str:
    """A digest of everything a draft's DOCX and preview are made from."""
    payload = json.dumps({"v": RENDERING, "pk": report.pk, "kind": report.kind, "figures": report.figures,
                          "conclusions": report.conclusions, "state": report.state, "tz": str(_tz(report)),
                          "generated": report.generated_at.isoformat() if report.generated_at else None},
                         sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:32]


def _draft_files(pk: int) -> list[str]:
    try:
        names = default_storage.listdir(DRAFTS)[1]
    except (FileNotFoundError, NotImplementedError):
        return []
    return [f"{DRAFTS}/{name}" for name in names if name.startswith(f"{pk}-")]


def forget_draft(pk: int) -> None:
    """Deletes the kept DOCX and preview charts of report ``pk``."""
    for name in _draft_files(pk):
        default_storage.delete(name)
    cache.delete(f"reports:charts:{pk}")


def _forget_draft_on_commit(pk: int) -> None:
    transaction.on_commit(lambda: forget_draft(pk))


def docx_bytes(report: Report) -> bytes:
    """The DOCX: the frozen file of a published report, else the draft's kept file while its figures and
    conclusions are unchanged, else made now from the stored figures (and kept)."""
    if report.is_published and report.docx:
        with report.docx.open("rb") as fh:
            return fh.read()
    name = f"{DRAFTS}/{report.pk}-{draft_digest(report)}.docx"
    if default_storage.exists(name):
        with default_storage.open(name, "rb") as fh:
            kept: bytes = fh.read()
        return kept
    content = docxfile.render(document(report), generated=report.generated_at)
    forget_draft(report.pk)  # an older digest's file
    saved = default_storage.save(name, ContentFile(content))
    try:
        os.chmod(default_storage.path(saved), 0o600)
    except (NotImplementedError, OSError):  # a storage without local paths keeps its own permissions
        pass
    return content


def chart_sources(report: Report, doc: prose.Document) -> list[str]:
    """The preview's charts as ``data:`` URIs, one per chart block of ``doc`` in order; kept in the cache under
    the draft's digest (a network's 1,500 charts take seconds to draw)."""
    key = f"reports:charts:{report.pk}"
    digest = draft_digest(report)
    kept = cache.get(key)
    if kept is not None and kept[0] == digest:
        return list(kept[1])
    sources = ["data:image/png;base64," + base64.b64encode(charts.audience_png(block.points)).decode("ascii")
               for block in doc.blocks if block.kind == "chart"]
    cache.set(key, (digest, sources), timeout=24 * 3600)
    return sources


def file_name(report: Report) -> str:
    stamp = report.generated_at.date().isoformat() if report.generated_at else "draft"
    return f"report-{report.period_from.isoformat()}-{report.period_to.isoformat()}-{report.pk}-{stamp}.docx"


@transaction.atomic
def report_publish(*, actor: Any, report: Report) -> Report:
    """Freeze the report: its DOCX is written once as a file (readable only by Filial's user) with the generation
    date in its name and properties; nothing about the report changes after."""
    report = Report.objects.select_for_update().get(pk=report.pk)
    _draft(actor, report)
    content = docxfile.render(prose.build(report.figures, kind=report.kind, conclusions=report.conclusions,
                                          generated=report.generated_at.astimezone(_tz(report))
                                          if report.generated_at else None, published=True),
                              generated=report.generated_at)
    report.docx.save(file_name(report), ContentFile(content), save=False)
    try:
        os.chmod(report.docx.path, 0o600)
    except (NotImplementedError, OSError):  # a storage without local paths keeps its own permissions
        pass
    report.state = Report.State.PUBLISHED
    report.published_at = timezone.now()
    report.published_by = actor if getattr(actor, "is_authenticated", False) else None
    report.save(update_fields=["docx", "state", "published_at", "published_by", "updated_at"])
    _forget_draft_on_commit(report.pk)
    audit_record(actor, "report.publish", report, {"file": report.docx.name}, system_id=report.system_id)
    return report
