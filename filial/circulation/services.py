"""Writes for circulation: the library-system link, readers, renewals and synchronisation.

Imports live in ``imports.py``. Talking to a library system never happens inside a database transaction: the
request is stored first, the system asked, then the answer applied in one transaction.
"""

from __future__ import annotations

import logging
from datetime import date
from typing import Any
from urllib.parse import urlparse

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from filial.accounts.selectors import access_for
from filial.accounts.services import audit_record
from filial.circulation.adapters.base import AdapterError, LoanRecord, UnknownReader, error_kind
from filial.circulation.adapters.registry import adapter_for
from filial.circulation.imports import import_drop_folder
from filial.circulation.models import CirculationLink, Loan, Reader, Renewal, Source
from filial.circulation.selectors import SECRET_KEYS, reader_units
from filial.libraries.models import Unit
from filial.networks import egress

log = logging.getLogger("filial.circulation")

ENCODINGS = ("utf-8", "cp1251", "cp850")
SIP2_FIELDS = ("host", "port", "login", "password", "location", "institution", "encoding")
KOHA_FIELDS = ("base_url", "client_id", "client_secret")
# why a renewal waits for a librarian when the library system failed: the same words whether it refused the request
# or did not answer (the difference is for its administrators: ``Renewal.error_kind``)
UNAVAILABLE_REASON = gettext_lazy("The library system could not be reached or refused the request; the renewal "
                                  "waits for a librarian.")


def unit_today(unit: Unit) -> date:
    return timezone.localtime(timezone.now(), unit.tz).date()


def _check_staff(actor: Any, unit: Unit) -> None:
    """Staff of the reader's unit who may write there (editors and up), or an administrator."""
    if actor is None:
        return  # the system itself (worker, CLI, the readers' dialogues)
    access = access_for(actor)
    if unit.pk not in reader_units(actor) or not (access.can_write(unit.pk) or access.is_admin_of(unit.system_id)):
        raise PermissionDenied(_("You do not work with the readers of this unit."))


# --- The library-system link -------------------------------------------------------------------------


def link_validate(data: dict[str, Any], stored: dict[str, Any] | None = None) -> tuple[str, dict[str, Any]]:
    """Check a link as given through the UI or the API; a secret left out (or blank) keeps the stored one."""
    if not isinstance(data, dict):
        raise ValidationError({"circulation": _("Expected an object with the field “adapter”.")})
    adapter = data.get("adapter")
    stored = stored or {}
    errors: dict[str, str] = {}
    unknown = set(data) - {"adapter", *SIP2_FIELDS, *KOHA_FIELDS}
    if adapter == "file":
        if set(data) - {"adapter"}:
            errors["adapter"] = _("The file adapter takes no settings.")
        clean: dict[str, Any] = {}
    elif adapter == "sip2":
        unknown |= set(data) & set(KOHA_FIELDS)
        clean = {k: data[k] for k in SIP2_FIELDS if k in data and k != "password"}
        clean["password"] = data.get("password") or stored.get("password", "")
        host = str(clean.get("host", "")).strip()
        if not host or any(c.isspace() for c in host):
            errors["host"] = _("Enter the SIP2 server's host name or address.")
        try:
            port = int(clean.get("port", 6001))
            if not 0 < port < 65536:
                raise ValueError
            clean["port"] = port
        except (TypeError, ValueError):
            errors["port"] = _("Enter a port number between 1 and 65535.")
        clean["encoding"] = str(clean.get("encoding") or "utf-8").lower()
        if clean["encoding"] not in ENCODINGS:
            errors["encoding"] = _("Choose UTF-8, cp1251 or cp850.")
        for key in ("host", "login", "location", "institution"):
            clean[key] = str(clean.get(key, "") or "").strip()
        if not clean["login"]:
            errors["login"] = _("Enter the SIP2 login.")
        if not clean["password"]:
            errors["password"] = _("Enter the SIP2 password.")
        moved = bool(stored) and (str(stored.get("host", "")) != clean["host"]
                                  or str(stored.get("port", "")) != str(clean.get("port", "")))
        if moved and not data.get("password") and "host" not in errors and "port" not in errors:
            errors["password"] = _("The SIP2 server's address changes: enter the password again together with "
                                   "the new address. A stored password is never sent to another server.")
        if (moved or not stored) and "host" not in errors and not errors.get("port"):
            _check_library_address(errors, "host", clean["host"], int(clean["port"]))
    elif adapter == "koha":
        unknown |= set(data) & set(SIP2_FIELDS)
        clean = {"base_url": str(data.get("base_url", "") or "").strip().rstrip("/"),
                 "client_id": str(data.get("client_id", "") or "").strip(),
                 "client_secret": data.get("client_secret") or stored.get("client_secret", "")}
        parsed = urlparse(clean["base_url"])
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            errors["base_url"] = _("Enter the Koha address, starting with https://.")
        if not clean["client_id"]:
            errors["client_id"] = _("Enter the OAuth2 client id.")
        if not clean["client_secret"]:
            errors["client_secret"] = _("Enter the OAuth2 client secret.")
        moved = bool(stored) and str(stored.get("base_url", "")).rstrip("/") != clean["base_url"]
        if moved and not data.get("client_secret") and "base_url" not in errors:
            errors["client_secret"] = _("The Koha address changes: enter the client secret again together with "
                                        "the new address. A stored secret is never sent to another server.")
        if (moved or not stored) and "base_url" not in errors:
            _check_library_address(errors, "base_url", parsed.hostname or "",
                                   parsed.port or (443 if parsed.scheme == "https" else 80))
    else:
        raise ValidationError({"adapter": _("Choose one of: file, sip2, koha.")})
    if unknown:
        errors.setdefault("adapter", _("Unknown settings: %(names)s.") % {"names": ", ".join(sorted(unknown))})
    if errors:
        raise ValidationError(errors)
    return adapter, clean


def _check_library_address(errors: dict[str, str], field: str, host: str, port: int) -> None:
    """A library system is the library's own server, usually on its intranet: private and loopback addresses are
    allowed, but never link-local (cloud metadata), multicast or unspecified ones — and with
    ``FILIAL_LIBRARY_SYSTEM_PUBLIC_ONLY`` only public addresses (``networks/egress.py``)."""
    problem = egress.library_address_problem(host, port)
    if problem == "unresolved":
        errors[field] = _("This name cannot be resolved: check the library system's address.")
    elif problem:
        errors[field] = _("This address is not one a library system may be reached at from this installation "
                          "(link-local, multicast or, by the installation's setting, a private network). Enter "
                          "the library system's own address.")


def link_set(*, actor: Any, unit: Unit, data: dict[str, Any]) -> CirculationLink:
    if actor is not None and not access_for(actor).is_admin_of(unit.system_id):
        raise PermissionDenied(_("Only an administrator of the library system connects it."))
    with transaction.atomic():
        link = CirculationLink.objects.select_for_update().filter(unit=unit).first()
        stored = link.settings if link is not None and link.adapter == data.get("adapter") else {}
        adapter, clean = link_validate(data, stored)
        if link is None:
            link = CirculationLink(unit=unit)
        changed = link.adapter != adapter or stored != clean
        link.adapter = adapter
        link.set_settings(clean)
        if changed:
            link.sync_state, link.last_error = CirculationLink.SyncState.NEVER, ""
            link.last_error_kind, link.last_error_at = "", None
        link.save()
        audit_record(actor, "circulation.link", link,
                     {"adapter": adapter, **{k: ("***" if k in SECRET_KEYS else v) for k, v in clean.items()}},
                     system_id=unit.system_id)
    return link


# --- Readers --------------------------------------------------------------------------------------


def reader_create(*, actor: Any, unit: Unit, card: str, name: str = "",
                  contact_preferences: dict[str, Any] | None = None) -> Reader:
    _check_staff(actor, unit)
    card = card.strip()
    if not card:
        raise ValidationError({"card": _("Enter the card number.")})
    with transaction.atomic():
        if Reader.objects.filter(system_id=unit.system_id, card=card).exists():
            raise ValidationError({"card": _("A reader with this card number already exists.")})
        reader = Reader.objects.create(system_id=unit.system_id, unit=unit, card=card, name=name.strip(),
                                       contact_preferences=contact_preferences or {})
        audit_record(actor, "circulation.reader.create", reader, {"card": card}, system_id=unit.system_id)
    return reader


def reader_update(*, actor: Any, reader: Reader, name: str | None = None,
                  contact_preferences: dict[str, Any] | None = None) -> Reader:
    _check_staff(actor, reader.unit)
    fields = []
    if name is not None:
        reader.name = name.strip()
        fields.append("name")
    if contact_preferences is not None:
        reader.contact_preferences = contact_preferences
        fields.append("contact_preferences")
    if fields:
        with transaction.atomic():
            reader.save(update_fields=[*fields, "updated_at"])
            audit_record(actor, "circulation.reader.update", reader, {"fields": fields},
                         system_id=reader.system_id)
    return reader


# --- Renewals -------------------------------------------------------------------------------------


def loan_renew(loan: Loan, *, source: str, actor: Any = None) -> Renewal:
    """Ask the unit's library system to renew; store the request and the outcome (granted, refused, or queued for
    a librarian where the unit has no online renewal or the system could not be reached)."""
    _check_staff(actor, loan.unit)
    if loan.returned is not None:
        raise ValidationError(_("This loan has already been returned."))
    if source not in Renewal.Channel.values:
        raise ValidationError(_("Unknown renewal source."))
    system_id = loan.unit.system_id
    with transaction.atomic():
        renewal = Renewal.objects.create(loan=loan, source=source,
                                         requested_by=actor if getattr(actor, "is_authenticated", False) else None)
        audit_record(actor, "circulation.renewal.request", renewal, {"loan": loan.pk, "source": source},
                     system_id=system_id)
    outcome: dict[str, Any]
    try:
        adapter = adapter_for(loan.unit)
    except AdapterError as exc:  # a link whose settings the adapter refuses: a librarian decides meanwhile
        log.warning("renewal of loan %s: library-system link unusable: %s", loan.pk, exc)
        return _apply_outcome(renewal, _failed(loan.unit, exc), actor=None, system_id=system_id)
    try:
        if not adapter.online:
            outcome = {"state": Renewal.State.QUEUED}
        else:
            try:
                result = adapter.renew(loan.reader.card, loan.barcode)
            except UnknownReader as exc:
                outcome = {"state": Renewal.State.REFUSED, "reason_code": exc.code,
                           "reason": _("The library system does not know this card.")}
            except AdapterError as exc:
                log.warning("renewal of loan %s: library system unavailable: %s", loan.pk, exc)
                outcome = _failed(loan.unit, exc)
            else:
                if result.renewed:
                    outcome = {"state": Renewal.State.GRANTED, "new_due": result.due or loan.due}
                else:
                    outcome = {"state": Renewal.State.REFUSED, "reason_code": result.reason_code or "unknown",
                               "reason": result.reason or _("The library system refused the renewal.")}
    finally:
        adapter.close()
    return _apply_outcome(renewal, outcome, actor=None, system_id=system_id)


def _failed(unit: Unit, error: AdapterError) -> dict[str, Any]:
    """The library system failed a renewal: recorded on the unit's link (what went wrong and when, for its
    administrators) and the renewal queued for a librarian with a reason that does not tell "refused" from "no
    answer" (anyone may be shown it); the precise kind and text go with it for the administrators."""
    kind = error_kind(error)
    CirculationLink.objects.filter(unit=unit).update(last_error=str(error)[:2000], last_error_kind=kind,
                                                     last_error_at=timezone.now())
    return {"state": Renewal.State.QUEUED, "reason_code": "unavailable", "reason": UNAVAILABLE_REASON,
            "error_kind": kind, "error_detail": str(error)[:500]}


def _apply_outcome(renewal: Renewal, outcome: dict[str, Any], *, actor: Any, system_id: int) -> Renewal:
    with transaction.atomic():
        loan = Loan.objects.select_for_update().get(pk=renewal.loan_id)
        renewal.state = outcome["state"]
        renewal.reason = str(outcome.get("reason", ""))[:500]
        renewal.reason_code = outcome.get("reason_code", "")
        renewal.error_kind = outcome.get("error_kind", "")
        renewal.error_detail = outcome.get("error_detail", "")
        fields = ["state", "reason", "reason_code", "error_kind", "error_detail"]
        if renewal.state in (Renewal.State.GRANTED, Renewal.State.REFUSED):
            renewal.decided_at = timezone.now()
            renewal.decided_by = actor if getattr(actor, "is_authenticated", False) else None
            fields += ["decided_at", "decided_by"]
        if renewal.state == Renewal.State.GRANTED:
            renewal.new_due = outcome["new_due"]
            fields.append("new_due")
            loan.due = outcome["new_due"]
            loan.renewals += 1
            loan.save(update_fields=["due", "renewals", "updated_at"])
        renewal.save(update_fields=fields)
        audit_record(actor, "circulation.renewal." + {"granted": "grant", "refused": "refuse"}.get(renewal.state,
                                                                                                   "queue"),
                     renewal, {"loan": loan.pk, "new_due": str(renewal.new_due or ""), "reason": renewal.reason},
                     system_id=system_id)
    renewal.loan = loan
    return renewal


def renewal_decide(*, actor: Any, renewal: Renewal, grant: bool, new_due: date | None = None,
                   reason: str = "") -> Renewal:
    """A librarian's answer to a queued renewal."""
    loan = renewal.loan
    _check_staff(actor, loan.unit)
    if actor is None:
        raise PermissionDenied(_("A librarian decides queued renewals."))
    if renewal.state != Renewal.State.QUEUED:
        raise ValidationError(_("This renewal has already been decided."))
    if grant:
        if new_due is None:
            raise ValidationError({"new_due": _("Enter the new due date.")})
        if new_due < unit_today(loan.unit) or new_due <= loan.due:
            raise ValidationError({"new_due": _("The new due date must be later than the current one and not in the "
                                                "past.")})
        outcome: dict[str, Any] = {"state": Renewal.State.GRANTED, "new_due": new_due}
    else:
        if not reason.strip():
            raise ValidationError({"reason": _("Say why the renewal is refused; the reader will see it.")})
        outcome = {"state": Renewal.State.REFUSED, "reason": reason.strip(), "reason_code": "librarian"}
    with transaction.atomic():
        if not Renewal.objects.select_for_update().filter(pk=renewal.pk, state=Renewal.State.QUEUED).exists():
            raise ValidationError(_("This renewal has already been decided."))
        return _apply_outcome(renewal, outcome, actor=actor, system_id=loan.unit.system_id)


# --- Synchronisation ------------------------------------------------------------------------------


def circulation_sync(unit: Unit, *, actor: Any = None) -> dict[str, int]:
    """Pull loans now. The file adapter imports what lies in the drop folder; SIP2 and Koha are asked about every
    reader of the unit Filial knows. The link records the state, time and error."""
    _check_staff(actor, unit)
    link, _created = CirculationLink.objects.get_or_create(unit=unit)
    CirculationLink.objects.filter(pk=link.pk).update(sync_state=CirculationLink.SyncState.RUNNING)
    counts = {"readers": 0, "loans": 0, "returned": 0, "unknown": 0, "files": 0}
    error = kind = ""
    try:
        if link.adapter == CirculationLink.Adapter.FILE:
            counts["files"] = import_drop_folder(unit)
        else:
            _sync_online(unit, link, counts)
    except AdapterError as exc:
        log.warning("circulation sync of unit %s failed: %s", unit.pk, str(exc)[:1000])
        error, kind = str(exc), error_kind(exc)  # technical, without the server's words; shown by link_error()
    except Exception:  # recorded on the link (plainly) and shown on the unit page; the details go to the log
        log.exception("circulation sync of unit %s failed", unit.pk)
        error, kind = _("Synchronisation stopped on an internal error. An administrator finds the details in the "
                        "server log."), "error"
    state = CirculationLink.SyncState.FAILED if error else CirculationLink.SyncState.OK
    now = timezone.now()
    CirculationLink.objects.filter(pk=link.pk).update(sync_state=state, last_sync_at=now, last_error=error[:2000],
                                                      last_error_kind=kind, last_error_at=now if error else None,
                                                      last_counts=counts)
    link.refresh_from_db()
    audit_record(actor, "circulation.sync", link, {**counts, "error": error[:200]}, system_id=unit.system_id)
    return counts


def _sync_online(unit: Unit, link: CirculationLink, counts: dict[str, int]) -> None:
    adapter = adapter_for(unit)
    source = Source.SIP2 if link.adapter == CirculationLink.Adapter.SIP2 else Source.KOHA
    today = unit_today(unit)
    try:
        for reader in Reader.objects.filter(unit=unit).order_by("id").iterator():
            try:
                record = adapter.reader(reader.card)
            except UnknownReader:
                counts["unknown"] += 1
                continue
            counts["readers"] += 1
            with transaction.atomic():
                if record.name and record.name != reader.name:
                    reader.name = record.name[:300]
                    reader.save(update_fields=["name", "updated_at"])
                seen = [_upsert_synced(reader, unit, loan, source, today) for loan in record.loans]
                counts["loans"] += len(seen)
                counts["returned"] += (
                    Loan.objects.filter(reader=reader, unit=unit, source=source, returned__isnull=True)
                    .exclude(pk__in=seen).update(returned=today)
                )
    finally:
        adapter.close()


def _upsert_synced(reader: Reader, unit: Unit, record: LoanRecord, source: str, today: date) -> int:
    existing = None
    if record.external_id:
        existing = Loan.objects.filter(reader=reader, external_id=record.external_id).first()
    if existing is None:
        same_item = Loan.objects.filter(reader=reader, barcode=record.barcode)
        existing = (same_item.filter(issued=record.issued).first() if record.issued
                    else same_item.filter(returned__isnull=True).first())
    values = {"title": record.title[:500], "due": record.due, "returned": record.returned,
              "renewals": record.renewals, "external_id": record.external_id, "source": source, "unit": unit}
    if existing is None:
        loan = Loan.objects.create(reader=reader, barcode=record.barcode, issued=record.issued or today, **values)
        return loan.pk
    for key, value in values.items():
        setattr(existing, key, value)
    existing.save(update_fields=[*values, "updated_at"])
    return existing.pk
