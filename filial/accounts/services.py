"""Writes for users, memberships and the audit log."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import password_validation
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from filial.accounts.models import ApiToken, AuditEntry, Membership, Role, User
from filial.accounts.selectors import access_for, manages_person, user_systems
from filial.accounts.tokens import key_digest, new_key, password_mark, token_valid
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
    memberships: list[tuple[Unit, str]] | None = None, system_id: int | None = None,
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
    audit_record(actor, "user.create", user, {"username": username}, system_id=system_id)
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


# --- Staff management (the administrators' UI): permission checks and the lock-out guard -------------


def _admin_systems(actor: Any) -> frozenset[int]:
    return access_for(actor).admin_systems


def _require_system_admin(actor: Any, system_id: int) -> None:
    if system_id not in _admin_systems(actor):
        raise PermissionDenied(_("Only an administrator of the library system manages staff."))


def _shared_admin_system(actor: Any, user: User) -> int:
    """A library system that ``actor`` administers and ``user`` belongs (or belonged) to."""
    shared = sorted(_admin_systems(actor) & user_systems(user))
    if not shared:
        raise PermissionDenied(_("Only an administrator of the library system manages staff."))
    if not manages_person(actor, user):
        raise PermissionDenied(_("This user also works elsewhere: ask the administrator of that system."))
    return shared[0]


def _check_password(password: str, user: User, field: str = "password") -> None:
    try:
        password_validation.validate_password(password, user)
    except ValidationError as exc:
        raise ValidationError({field: exc.messages}) from exc


def _would_lock_out(actor: Any, membership: Membership, new_role: str | None) -> bool:
    """True if the change takes away the actor's own last admin role in the membership's system."""
    if actor is None or getattr(actor, "is_superuser", False) or membership.user_id != actor.pk:
        return False
    if membership.role != Role.ADMIN or new_role == Role.ADMIN:
        return False
    return not (
        Membership.objects.filter(user_id=actor.pk, role=Role.ADMIN, unit__system_id=membership.unit.system_id)
        .exclude(pk=membership.pk)
        .exists()
    )


@transaction.atomic
def staff_create(
    *, actor: Any, username: str, password: str, unit: Unit, role: str, email: str = "", display_name: str = ""
) -> User:
    """Create a staff user with a first membership; the password must pass Django's validators."""
    _require_system_admin(actor, unit.system_id)
    if role not in Role.values:
        raise ValidationError({"role": _("Choose a role.")})
    _check_password(password, User(username=username, email=email, display_name=display_name))
    return user_create(
        actor=actor, username=username, password=password, email=email, display_name=display_name,
        memberships=[(unit, role)], system_id=unit.system_id,
    )


@transaction.atomic
def user_update(
    *, actor: Any, user: User, display_name: str | None = None, email: str | None = None,
    is_active: bool | None = None,
) -> User:
    """Change a staff user's name, e-mail or active flag. Users are deactivated, never deleted."""
    system_id = _shared_admin_system(actor, user)
    if is_active is False and actor is not None and user.pk == actor.pk:
        raise ValidationError({"is_active": _("You cannot deactivate yourself.")})
    changes: dict[str, Any] = {}
    for name, value in (("display_name", display_name), ("email", email), ("is_active", is_active)):
        if value is not None and getattr(user, name) != value:
            changes[name] = [getattr(user, name), value]
            setattr(user, name, value)
    if not changes:
        return user
    user.full_clean(exclude=["password"])
    user.save(update_fields=list(changes))
    if not user.is_active:
        api_tokens_revoke(user=user)
    action = "user.update"
    if list(changes) == ["is_active"]:
        action = "user.activate" if user.is_active else "user.deactivate"
    audit_record(actor, action, user, changes, system_id=system_id)
    return user


@transaction.atomic
def user_set_password(*, actor: Any, user: User, password: str, field: str = "password") -> User:
    """An administrator sets a new password for a staff user (e.g. a forgotten one)."""
    system_id = _shared_admin_system(actor, user)
    _check_password(password, user, field)
    user.set_password(password)
    user.save(update_fields=["password"])
    api_tokens_revoke(user=user)
    audit_record(actor, "user.set_password", user, {}, system_id=system_id)
    return user


def password_changed(*, user: User) -> None:
    """Record that a user changed their own password (the form has already saved it); their API tokens end."""
    api_tokens_revoke(user=user)
    systems = sorted(access_for(user).systems)
    audit_record(user, "user.password_change", user, {}, system_id=systems[0] if systems else None)


@transaction.atomic
def membership_grant(*, actor: Any, user: User, unit: Unit, role: str) -> Membership:
    """Give ``user`` a role in ``unit`` (or change the role they have there)."""
    _require_system_admin(actor, unit.system_id)
    if role not in Role.values:
        raise ValidationError({"role": _("Choose a role.")})
    existing = Membership.objects.filter(user=user, unit=unit).select_related("unit").first()
    if existing is not None and _would_lock_out(actor, existing, role):
        raise ValidationError({"role": _("You cannot give up your own last administrator role.")})
    return membership_set(actor=actor, user=user, unit=unit, role=role)


@transaction.atomic
def membership_revoke(*, actor: Any, membership: Membership) -> None:
    _require_system_admin(actor, membership.unit.system_id)
    if _would_lock_out(actor, membership, None):
        raise ValidationError(_("You cannot remove your own last administrator role."))
    membership_remove(actor=actor, membership=membership)


# --- API tokens (filial/accounts/tokens.py) ---------------------------------------------------------------------

MAX_TOKENS_PER_USER = 20  # each sign-in through the API gets its own token; the oldest beyond this are removed


@transaction.atomic
def api_token_issue(*, user: User) -> tuple[str, datetime]:
    """A new token for ``user``: (the key, shown only now; when it expires). Only its digest is stored."""
    now = timezone.now()
    stale = [t.pk for t in ApiToken.objects.filter(user=user).select_related("user") if not token_valid(t, now)]
    ApiToken.objects.filter(pk__in=stale).delete()
    key = new_key()
    expires = now + timedelta(days=float(settings.FILIAL_API_TOKEN_DAYS))
    ApiToken.objects.create(user=user, digest=key_digest(key), password_mark=password_mark(user.password),
                            created_at=now, expires_at=expires)
    keep = list(ApiToken.objects.filter(user=user).order_by("-created_at", "-pk")
                .values_list("pk", flat=True)[:MAX_TOKENS_PER_USER])
    ApiToken.objects.filter(user=user).exclude(pk__in=keep).delete()
    return key, expires


def api_tokens_revoke(*, user: User) -> int:
    """End every API token of ``user`` (password changed, user deactivated). Returns how many were removed."""
    deleted, _details = ApiToken.objects.filter(user=user).delete()
    return deleted
