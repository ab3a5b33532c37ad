"""What a user may see and do, computed once per request from their memberships."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from filial.accounts.models import Membership, Role
from filial.libraries.models import Unit


@dataclass(frozen=True)
class Access:
    """Unit ids (and system ids) the user may read, write for, approve for and manage."""

    user_id: int | None
    superuser: bool = False
    systems: frozenset[int] = field(default_factory=frozenset)
    read_units: frozenset[int] = field(default_factory=frozenset)
    write_units: frozenset[int] = field(default_factory=frozenset)
    approve_units: frozenset[int] = field(default_factory=frozenset)
    admin_systems: frozenset[int] = field(default_factory=frozenset)

    def can_read(self, unit_id: int) -> bool:
        return unit_id in self.read_units

    def can_write(self, unit_id: int) -> bool:
        return unit_id in self.write_units

    def can_approve(self, unit_id: int) -> bool:
        return unit_id in self.approve_units

    def is_admin_of(self, system_id: int) -> bool:
        return system_id in self.admin_systems

    @property
    def is_admin(self) -> bool:
        return bool(self.admin_systems)

    @property
    def is_member(self) -> bool:
        return bool(self.systems)


def _subtree(units: list[tuple[int, int, str]], root_path: str) -> set[int]:
    return {uid for uid, _sid, path in units if path.startswith(root_path)}


def access_for(user: Any) -> Access:
    """The user's access, cached on the user object for the request."""
    cached = getattr(user, "_filial_access", None)
    if cached is not None:
        return cached
    access = _compute_access(user)
    if user is not None and getattr(user, "is_authenticated", False):
        user._filial_access = access
    return access


def _compute_access(user: Any) -> Access:
    if user is None or not user.is_authenticated or not user.is_active:
        return Access(user_id=None)
    if user.is_superuser:
        pairs = list(Unit.objects.values_list("id", "system_id"))
        all_units = frozenset(u for u, _s in pairs)
        systems = frozenset(s for _u, s in pairs)
        return Access(user.pk, True, systems, all_units, all_units, all_units, systems)
    memberships = list(
        Membership.objects.filter(user=user).values_list("role", "unit_id", "unit__system_id", "unit__path")
    )
    systems = frozenset(m[2] for m in memberships)
    if not systems:
        return Access(user_id=user.pk)
    units = list(Unit.objects.filter(system_id__in=systems).values_list("id", "system_id", "path"))
    read: set[int] = set()
    write: set[int] = set()
    approve: set[int] = set()
    admin_systems: set[int] = set()
    for role, _unit_id, system_id, path in memberships:
        in_system = {uid for uid, sid, _p in units if sid == system_id}
        subtree = _subtree(units, path)
        if role == Role.ADMIN:
            admin_systems.add(system_id)
            read |= in_system
            write |= in_system
            approve |= in_system
        elif role == Role.METHODOLOGIST:
            read |= in_system
            write |= subtree
            approve |= subtree
        elif role == Role.EDITOR:
            read |= subtree
            write |= subtree
        else:
            read |= subtree
    return Access(
        user.pk, False, systems, frozenset(read), frozenset(write), frozenset(approve), frozenset(admin_systems)
    )


def units_for(user: Any, how: str = "read") -> Any:
    """Units the user may ``read``, ``write`` for or ``approve`` for, as a queryset."""
    access = access_for(user)
    ids = {"read": access.read_units, "write": access.write_units, "approve": access.approve_units}[how]
    return Unit.objects.filter(id__in=ids).select_related("system")
