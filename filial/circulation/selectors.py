"""Reads for circulation, scoped to the user. Readers' personal data (names, cards, loans) is visible only to the
staff of the reader's unit (a role on the unit or above it) and to the library system's administrators — a
methodologist who may read the whole network sees the readers of their own units only."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.db.models import Count, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from filial.accounts.selectors import Access, access_for
from filial.circulation.cards import card_key
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


# What went wrong talking to the library system (``adapters.base.ERROR_KINDS``), as its administrators are told
ERROR_TEXTS = {
    "refused": gettext_lazy("The library system refused the request: it closed the connection on the message or "
                            "could not read it. Check the link settings and the library system's log."),
    "timeout": gettext_lazy("The library system did not answer in time. Check that it is running and not "
                            "overloaded."),
    "unreachable": gettext_lazy("Cannot connect to the library system (connection refused or no route). Check the "
                                "host, the port and the network."),
    "login": gettext_lazy("The library system refused the login. Check the login and the password."),
    "invalid_reply": gettext_lazy("The library system's answers could not be read (wrong checksum, sequence number "
                                  "or format). Check the encoding and the library system's SIP2 settings."),
    "config": gettext_lazy("The link settings cannot be used. Check them on the link page."),
    "error": gettext_lazy("Talking to the library system failed."),
}
# … and as anyone else is told: "refused" and "no answer" look the same from outside
UNAVAILABLE_TEXT = gettext_lazy("The library system could not be reached or refused the request.")


def error_text(kind: str, detail: str, *, admin: bool) -> str:
    """A failure talking to the library system in words for the reader of the page: the kind and the technical
    detail for the system's administrators, one plain sentence for everyone else."""
    if not admin:
        return str(UNAVAILABLE_TEXT)
    text = str(ERROR_TEXTS.get(kind, ERROR_TEXTS["error"]))
    return f"{text} {_('Details: %(detail)s') % {'detail': detail}}" if detail else text


def link_public(link: CirculationLink | None, access: Access | None = None) -> dict[str, Any]:
    """The link as ``access`` may see it: settings without secrets, which secrets are stored, and the last error —
    its kind and technical text for the library system's administrators only."""
    if link is None:
        return {"adapter": "file", "sync_state": CirculationLink.SyncState.NEVER, "last_sync_at": None,
                "last_error": "", "last_error_at": None, "secrets_stored": []}
    stored = link.settings
    public = {k: v for k, v in stored.items() if k not in SECRET_KEYS}
    return {"adapter": link.adapter, **public, "sync_state": link.sync_state, "last_sync_at": link.last_sync_at,
            **link_error(link, access), "secrets_stored": sorted(k for k in SECRET_KEYS if stored.get(k))}


def link_error(link: CirculationLink, access: Access | None) -> dict[str, Any]:
    """``last_error`` (and, for administrators, ``last_error_kind``) and ``last_error_at`` of the link."""
    if not link.last_error:
        return {"last_error": "", "last_error_at": None}
    if link.adapter == CirculationLink.Adapter.FILE:
        return {"last_error": link.last_error, "last_error_at": link.last_error_at}  # an import's own report
    admin = access is not None and access.is_admin_of(link.unit.system_id)
    kind = link.last_error_kind or "error"
    data: dict[str, Any] = {"last_error": error_text(kind, link.last_error, admin=admin),
                            "last_error_at": link.last_error_at}
    if admin:
        data["last_error_kind"] = kind
    return data


def renewal_reason(renewal: Renewal, access: Access) -> str:
    """Why a renewal is where it is, as ``access`` may be told: the library system's failure in detail for its
    administrators, the stored plain reason for everyone else."""
    if renewal.error_kind and access.is_admin_of(renewal.loan.unit.system_id):
        return error_text(renewal.error_kind, renewal.error_detail, admin=True)
    return renewal.reason


def reader_by_card(system_id: int, typed: str) -> Reader | None:
    """The reader of the library system whose card is ``typed`` (compared by :func:`card_key`, one indexed
    lookup); when two cards share the key, the one stored exactly as typed, else none (never a guess)."""
    key = card_key(typed)
    if not key:
        return None
    found: list[Reader] = list(Reader.objects.filter(system_id=system_id, card_key=key).order_by("id")[:10])
    if len(found) == 1:
        return found[0]
    exact = [reader for reader in found if reader.card.strip() == typed.strip()]
    return exact[0] if len(exact) == 1 else None
