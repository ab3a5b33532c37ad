"""Reads of reports, scoped by ``Access.may_report``: the reports of the units a person may report on."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from filial.accounts.selectors import access_for
from filial.libraries.models import LibrarySystem, Unit
from filial.reports.models import Report


def reportable_scopes(user: Any) -> tuple[set[int], set[int]]:
    """(systems whose whole-network report the user may make, units whose report they may make)."""
    access = access_for(user)
    units = list(Unit.objects.filter(system_id__in=access.systems).values_list("id", "system_id", "path"))
    systems: set[int] = set()
    allowed: set[int] = set()
    for system_id in access.systems:
        in_system = [u for u in units if u[1] == system_id]
        if access.may_report(system_id, [u[0] for u in in_system]):
            systems.add(system_id)
        for uid, _sid, path in in_system:
            subtree = [u[0] for u in in_system if u[2].startswith(path)]
            if access.may_report(system_id, subtree):
                allowed.add(uid)
    return systems, allowed


def reports_visible(user: Any) -> QuerySet[Report]:
    systems, units = reportable_scopes(user)
    whole = Report.objects.filter(system_id__in=systems, scope__isnull=True)
    return (whole | Report.objects.filter(scope_id__in=units)).select_related("system", "scope", "created_by")


def report_get(user: Any, pk: int) -> Report | None:
    return reports_visible(user).filter(pk=pk).first()


def scope_choices(user: Any) -> tuple[list[Any], list[Unit]]:
    """The systems (whole network) and units the user may choose as a report's scope."""
    systems, units = reportable_scopes(user)
    return (list(LibrarySystem.objects.filter(id__in=systems).order_by("name")),
            list(Unit.objects.filter(id__in=units).select_related("system").order_by("system_id", "path")))
