"""Writes for events."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from filial.accounts.selectors import access_for
from filial.accounts.services import audit_record
from filial.libraries.models import Unit
from filial.publishing.models import Event

EVENT_FIELDS = ("unit", "title", "description", "scope", "starts_at", "ends_at", "place")


def _check(actor: Any, event: Event) -> None:
    if not access_for(actor).can_write(event.unit_id):
        raise PermissionDenied(_("You cannot edit events of this unit."))
    if event.ends_at is not None and event.ends_at < event.starts_at:
        raise ValidationError({"ends_at": [_("The event ends before it starts.")]})
    event.full_clean(exclude=["created_by"])


@transaction.atomic
def event_create(*, actor: Any, unit: Unit, title: str, starts_at: datetime, **fields: Any) -> Event:
    event = Event(unit=unit, title=title, starts_at=starts_at, created_by=actor, **fields)
    _check(actor, event)
    event.save()
    audit_record(actor, "event.create", event, {"title": title, "starts_at": starts_at.isoformat()},
                 system_id=unit.system_id)
    return event


@transaction.atomic
def event_update(*, actor: Any, event: Event, **fields: Any) -> Event:
    if not access_for(actor).can_write(event.unit_id):
        raise PermissionDenied(_("You cannot edit events of this unit."))
    changes: dict[str, Any] = {}
    for name, value in fields.items():
        if name not in EVENT_FIELDS:
            raise ValueError(f"event field {name!r} cannot be changed here")
        old = getattr(event, name)
        if old != value:
            changes[name] = [str(old), str(value)]
            setattr(event, name, value)
    if changes:
        _check(actor, event)
        event.save(update_fields=[*changes.keys(), "updated_at"])
        audit_record(actor, "event.update", event, changes, system_id=event.unit.system_id)
    return event


@transaction.atomic
def event_delete(*, actor: Any, event: Event) -> None:
    if not access_for(actor).can_write(event.unit_id):
        raise PermissionDenied(_("You cannot delete events of this unit."))
    audit_record(actor, "event.delete", event, {"title": event.title}, system_id=event.unit.system_id)
    event.delete()
