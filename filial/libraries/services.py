"""Writes for library systems and units. Keeps each unit's materialised path right."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from filial.accounts.selectors import access_for
from filial.accounts.services import audit_record
from filial.libraries.models import LibrarySystem, Unit

UNIT_FIELDS = ("name", "short_name", "kind", "timezone", "address", "approval_required", "position", "parent")


def _path_for(unit: Unit) -> str:
    prefix = unit.parent.path if unit.parent_id and unit.parent else ""
    return f"{prefix}{unit.pk:05d}/"


def _check_parent(unit: Unit) -> None:
    parent = unit.parent
    if parent is None:
        return
    if parent.system_id != unit.system_id:
        raise ValidationError({"parent": _("The parent unit belongs to another library system.")})
    if unit.pk and (parent.pk == unit.pk or parent.path.startswith(unit.path)):
        raise ValidationError({"parent": _("A unit cannot be placed inside itself.")})


@transaction.atomic
def system_create(*, actor: Any, name: str, short_name: str = "", timezone: str = "Asia/Yekaterinburg"
                  ) -> LibrarySystem:
    system = LibrarySystem(name=name, short_name=short_name, timezone=timezone)
    system.full_clean()
    system.save()
    audit_record(actor, "system.create", system, {"name": name}, system_id=system.pk)
    return system


@transaction.atomic
def unit_create(*, actor: Any, system: LibrarySystem, **fields: Any) -> Unit:
    unit = Unit(system=system, **fields)
    _check_parent(unit)
    unit.full_clean(exclude=["path"])
    unit.save()
    unit.path = _path_for(unit)
    unit.save(update_fields=["path"])
    audit_record(actor, "unit.create", unit, {"name": unit.name}, system_id=system.pk)
    return unit


@transaction.atomic
def unit_update(*, actor: Any, unit: Unit, **fields: Any) -> Unit:
    changes: dict[str, Any] = {}
    for name, value in fields.items():
        if name not in UNIT_FIELDS:
            raise ValueError(f"unit field {name!r} cannot be changed here")
        old = getattr(unit, name)
        if old != value:
            changes[name] = [str(old) if old is not None else None, str(value) if value is not None else None]
            setattr(unit, name, value)
    if not changes:
        return unit
    _check_parent(unit)
    unit.full_clean(exclude=["path"])
    old_path = unit.path
    unit.save(update_fields=[*changes.keys()])
    if "parent" in changes:
        new_path = _path_for(unit)
        for child in Unit.objects.filter(path__startswith=old_path).select_for_update():
            child.path = new_path + child.path[len(old_path):]
            child.save(update_fields=["path"])
        unit.path = new_path
    audit_record(actor, "unit.update", unit, changes, system_id=unit.system_id)
    return unit


# --- The administrators' UI: the same writes, with the permission check -------------------------------


def _require_admin(actor: Any, system_id: int) -> None:
    if not access_for(actor).is_admin_of(system_id):
        raise PermissionDenied(_("Only an administrator of the library system manages units."))


def unit_create_checked(*, actor: Any, system: LibrarySystem, **fields: Any) -> Unit:
    """``unit_create`` for an administrator of ``system`` (anyone else gets PermissionDenied)."""
    _require_admin(actor, system.pk)
    return unit_create(actor=actor, system=system, **fields)


def unit_update_checked(*, actor: Any, unit: Unit, **fields: Any) -> Unit:
    """``unit_update`` for an administrator of the unit's system; a move under a descendant is refused."""
    _require_admin(actor, unit.system_id)
    return unit_update(actor=actor, unit=unit, **fields)
