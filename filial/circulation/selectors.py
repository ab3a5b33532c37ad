"""Reads for circulation, scoped to the user. Readers' personal data (names, cards, loans) is visible only to the
staff of the reader's unit (a role on the unit or above it) and to the library system's administrators — a
methodologist who may read the whole network sees the readers of their own units only."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from filial.accounts.selectors import access_for
from filial.circulation.models import CirculationLink, ImportJob, Loan, Reader, Renewal
from filial.libraries.models import Unit


def reader_units(user: Any) -> frozenset[int]:
    """Units whose readers the user may see (``Access.reader_units``): the subtrees of the user's own memberships,
    and all units of the systems they administer."""
    return access_for(user).reader_units


def circulation_units(user: Any) -> QuerySet[Unit]:
    return Unit.objects.filter(id__in=reader_units(user)).select_related("system", "circulation_link").order_by("path")


def readers_visible(user: Any, *, unit_id: int | None = None, card: str = "", q: str = "") -> QuerySet[Reader]:
    qs = Reader.objects.filter(unit_id__in=reader_units(user)).select_related("unit")
    if unit_id is not None:
        qs = qs.filter(unit_id=unit_id)
    if card:
        qs = qs.filter(card=card.strip())
    if q:
        q = q.strip()
        qs = qs.filter(Q(card__istartswith=q) | Q(name__icontains=q))
    return qs.annotate(open_loans=Count("loans", filter=Q(loans__returned__isnull=True)))


def reader_get(user: Any, pk: int) -> Reader | None:
    return Reader.objects.filter(pk=pk, unit_id__in=reader_units(user)).select_related("unit", "system").first()


def loans_visible(user: Any, *, reader_id: int | None = None, unit_id: int | None = None, overdue: bool = False,
                  open_only: bool = False, today: date | None = None) -> QuerySet[Loan]:
    units = reader_units(user)
    qs = Loan.objects.filter(Q(unit_id__in=units) | Q(reader__unit_id__in=units)).select_related("reader", "unit")
    if reader_id is not None:
        qs = qs.filter(reader_id=reader_id)
    if unit_id is not None:
        qs = qs.filter(unit_id=unit_id)
    if open_only or overdue:
        qs = qs.filter(returned__isnull=True)
    if overdue:
        qs = qs.filter(due__lt=today or timezone.localdate())
    return qs.order_by("due", "id")


def loan_get(user: Any, pk: int) -> Loan | None:
    return loans_visible(user).filter(pk=pk).first()


def imports_visible(user: Any, *, unit_id: int | None = None) -> QuerySet[ImportJob]:
    qs = ImportJob.objects.filter(unit_id__in=reader_units(user)).select_related("unit", "created_by")
    if unit_id is not None:
        qs = qs.filter(unit_id=unit_id)
    return qs


def import_get(user: Any, pk: int) -> ImportJob | None:
    return imports_visible(user).filter(pk=pk).first()


def renewal_queue(user: Any, *, unit_id: int | None = None) -> QuerySet[Renewal]:
    access = access_for(user)
    units = reader_units(user) & access.write_units
    qs = Renewal.objects.filter(state=Renewal.State.QUEUED, loan__unit_id__in=units)
    if unit_id is not None:
        qs = qs.filter(loan__unit_id=unit_id)
    return qs.select_related("loan", "loan__reader", "loan__unit", "requested_by").order_by("requested_at", "id")


def link_for(unit: Unit) -> CirculationLink | None:
    return CirculationLink.objects.filter(unit=unit).first()


SECRET_KEYS = frozenset({"password", "client_secret"})


def link_public(link: CirculationLink | None) -> dict[str, Any]:
    """The link as anyone who may see the unit is shown it: settings without secrets, which secrets are stored."""
    if link is None:
        return {"adapter": "file", "sync_state": CirculationLink.SyncState.NEVER, "last_sync_at": None,
                "last_error": "", "secrets_stored": []}
    stored = link.settings
    public = {k: v for k, v in stored.items() if k not in SECRET_KEYS}
    return {"adapter": link.adapter, **public, "sync_state": link.sync_state, "last_sync_at": link.last_sync_at,
            "last_error": link.last_error, "secrets_stored": sorted(k for k in SECRET_KEYS if stored.get(k))}
