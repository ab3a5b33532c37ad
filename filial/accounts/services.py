"""Writes for users, memberships and the audit log."""

from __future__ import annotations

from typing import Any

from django.db import models, transaction

from filial.accounts.models import AuditEntry, Membership, Role, User
from filial.libraries.models import Unit


def audit_record(
    actor: Any,
    action: str,
    obj: models.Model,
    changes: dict[str, Any] | None = None,
    *,
    system_id: int | None = None,
    ip: str | None = None,
) -> AuditEntry:
    """Append one entry to the audit log. ``changes`` must be JSON-serialisable."""
    real_actor = actor if actor is not None and getattr(actor, "is_authenticated", False) else None
    return AuditEntry.objects.create(
        actor=real_actor,
        actor_name=real_actor.get_username() if real_actor else "system",
        system_id=system_id,
        action=action,
        object_type=obj._meta.label_lower,
        object_id=str(obj.pk),
        object_repr=str(obj)[:200],
        changes=changes or {},
        ip=ip,
    )


@transaction.atomic
def user_create(
    *, actor: Any, username: str, password: str | None, email: str = "", display_name: str = "",
    memberships: list[tuple[Unit, str]] | None = None,
) -> User:
    user = User(username=username, email=email, display_name=display_name)
    if password:
        user.set_password(password)
    else:
        user.set_unusable_password()
    user.full_clean(exclude=["password"])
    user.save()
    for unit, role in memberships or []:
        membership_set(actor=actor, user=user, unit=unit, role=role)
    audit_record(actor, "user.create", user, {"username": username})
    return user


@transaction.atomic
def membership_set(*, actor: Any, user: User, unit: Unit, role: str) -> Membership:
    if role not in Role.values:
        raise ValueError(f"unknown role {role!r}")
    membership, _created = Membership.objects.update_or_create(user=user, unit=unit, defaults={"role": role})
    audit_record(actor, "membership.set", membership, {"user": user.username, "unit": unit.pk, "role": role},
                 system_id=unit.system_id)
    return membership


@transaction.atomic
def membership_remove(*, actor: Any, membership: Membership) -> None:
    audit_record(actor, "membership.remove", membership,
                 {"user": membership.user.username, "unit": membership.unit_id, "role": membership.role},
                 system_id=membership.unit.system_id)
    membership.delete()
