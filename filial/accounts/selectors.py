"""What a user may see and do, computed once per request from their memberships."""

from __future__ import annotations

import zoneinfo
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db.models import Prefetch, Q, QuerySet

from filial.accounts.models import ApiToken, AuditEntry, Membership, Role, User
from filial.accounts.tokens import key_digest
from filial.libraries.models import LibrarySystem, Unit


@dataclass(frozen=True)
class Access:
    """Unit ids (and system ids) the user may read, write for, approve for and manage.

    ``reader_units``: units whose readers' personal data the user may see (reader records, loans, and the private
    correspondence with one person: direct-message conversations, reminders, the readers' dialogue, replies to
    them): the subtrees of the user's own memberships, and every unit of the systems they administer. A
    methodologist reads the whole network's posts and comments, but only their own units' readers.
    """

    user_id: int | None
    superuser: bool = False
    systems: frozenset[int] = field(default_factory=frozenset)
    read_units: frozenset[int] = field(default_factory=frozenset)
    write_units: frozenset[int] = field(default_factory=frozenset)
    approve_units: frozenset[int] = field(default_factory=frozenset)
    admin_systems: frozenset[int] = field(default_factory=frozenset)
    reader_units: frozenset[int] = field(default_factory=frozenset)

    def can_read(self, unit_id: int) -> bool:
        return unit_id in self.read_units

    def may_see_readers(self, unit_id: int) -> bool:
        """Readers' personal data of this unit (see the class's doc)."""
        return unit_id in self.reader_units

    def may_see_correspondence(self, unit_id: int, private: bool) -> bool:
        """A conversation or message of this unit's pages: public ones (comments under posts, replies to them)
        with the unit's posts, private ones (with one person) with its readers."""
        return self.may_see_readers(unit_id) if private else self.can_read(unit_id)

    @property
    def public_only_units(self) -> frozenset[int]:
        """Units whose public correspondence the user reads but whose readers they may not see."""
        return self.read_units - self.reader_units

    def can_write(self, unit_id: int) -> bool:
        return unit_id in self.write_units

    def can_approve(self, unit_id: int) -> bool:
        return unit_id in self.approve_units

    def is_admin_of(self, system_id: int) -> bool:
        return system_id in self.admin_systems

    def may_publish_directly(self, unit: Unit, page_units: Iterable[int] = ()) -> bool:
        """Whether a post of ``unit`` for pages of ``page_units`` (unit ids) is scheduled without approval: the
        unit does not require approval, or the user approves for the unit and for every page's unit. The one place
        this is decided (the services, the composer's button and the edits of published posts ask here)."""
        if not unit.approval_required:
            return True
        return self.can_approve(unit.pk) and all(self.can_approve(u) for u in page_units)

    def can_erase(self, unit_id: int) -> bool:
        """Export and erase a person's data (a reader's, or someone who only wrote to a page): the unit's
        methodologist (the unit in their subtree) or the system's administrator, not an editor or a viewer."""
        return unit_id in self.approve_units

    def may_report(self, system_id: int, unit_ids: Iterable[int]) -> bool:
        """Make, read and publish the report of these units (a unit's subtree, or every unit of the network): the
        system's administrator, or a methodologist who approves for every one of them. Editors and viewers do
        not: a report is the methodologist's account of the network."""
        if self.is_admin_of(system_id):
            return True
        units = list(unit_ids)
        return bool(units) and system_id in self.systems and all(self.can_approve(u) for u in units)

    @property
    def paid_units(self) -> frozenset[int]:
        """Units whose paid services, orders and customers the user sees and sells for (the desk): where they
        write (editors of the unit), approve (methodologists) or administer. Viewers do not see the customers."""
        return self.write_units | self.approve_units

    def may_sell(self, unit_id: int) -> bool:
        """Record, change and import the orders of this unit (the desk)."""
        return unit_id in self.write_units

    def may_price(self, unit_id: int) -> bool:
        """Change the unit's catalogue of paid services and prices: its methodologist or the administrator."""
        return unit_id in self.approve_units

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
        return Access(user.pk, True, systems, all_units, all_units, all_units, systems, all_units)
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
    readers: set[int] = set()
    for role, _unit_id, system_id, path in memberships:
        in_system = {uid for uid, sid, _p in units if sid == system_id}
        subtree = {uid for uid, sid, p in units if sid == system_id and p.startswith(path)}
        readers |= in_system if role == Role.ADMIN else subtree
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
        user.pk, False, systems, frozenset(read), frozenset(write), frozenset(approve), frozenset(admin_systems),
        frozenset(readers),
    )


def system_timezone(access: Access) -> zoneinfo.ZoneInfo:
    """The zone of the user's (first) library system: network-wide calendars and date filters use it."""
    name = (
        LibrarySystem.objects.filter(id__in=access.systems).order_by("id").values_list("timezone", flat=True).first()
    )
    return zoneinfo.ZoneInfo(name or settings.TIME_ZONE)


def units_administered(access: Access) -> Any:
    """Units of the library systems the user administers."""
    return Unit.objects.filter(system_id__in=access.admin_systems)


def units_for(user: Any, how: str = "read") -> Any:
    """Units the user may ``read``, ``write`` for or ``approve`` for, as a queryset."""
    access = access_for(user)
    ids = {"read": access.read_units, "write": access.write_units, "approve": access.approve_units}[how]
    return Unit.objects.filter(id__in=ids).select_related("system")


# --- Staff and audit log (the administrators' UI) -----------------------------------------------------

MEMBERSHIP_ACTIONS = ("membership.set", "membership.remove")


def user_systems(user: Any) -> set[int]:
    """Library systems the user belongs to, or belonged to (created there, or once had a role there).

    Users are never deleted, and a user whose roles were all removed must stay manageable by the
    administrators of the system they came from (and only by them).
    """
    systems = set(Membership.objects.filter(user=user).values_list("unit__system_id", flat=True))
    systems |= set(
        AuditEntry.objects.filter(
            action="user.create", object_type="accounts.user", object_id=str(user.pk), system_id__isnull=False
        ).values_list("system_id", flat=True)
    )
    systems |= set(
        AuditEntry.objects.filter(
            action__in=MEMBERSHIP_ACTIONS, changes__user=user.username, system_id__isnull=False
        ).values_list("system_id", flat=True)
    )
    return {s for s in systems if s is not None}


def staff_visible(actor: Any) -> QuerySet[User]:
    """Staff users of the systems ``actor`` administers, each with ``system_memberships`` prefetched."""
    systems = access_for(actor).admin_systems
    if not systems:
        return User.objects.none()
    ids = set(Membership.objects.filter(unit__system_id__in=systems).values_list("user_id", flat=True))
    created = AuditEntry.objects.filter(
        action="user.create", object_type="accounts.user", system_id__in=systems
    ).values_list("object_id", flat=True)
    ids |= {int(pk) for pk in created if pk.isdigit()}
    names = AuditEntry.objects.filter(action__in=MEMBERSHIP_ACTIONS, system_id__in=systems).values_list(
        "changes__user", flat=True
    )
    usernames = {n for n in names if isinstance(n, str)}
    memberships = (
        Membership.objects.filter(unit__system_id__in=systems)
        .select_related("unit", "unit__system")
        .order_by("unit__path", "pk")
    )
    return (
        User.objects.filter(Q(pk__in=ids) | Q(username__in=usernames))
        .prefetch_related(Prefetch("memberships", queryset=memberships, to_attr="system_memberships"))
        .order_by("username")
    )


def staff_get(actor: Any, pk: int) -> User | None:
    return staff_visible(actor).filter(pk=pk).first()


def audit_systems(user: Any) -> frozenset[int]:
    """Systems whose audit log the user may read: administrators, and methodologists (read-only)."""
    access = access_for(user)
    if access.superuser or not access.systems:
        return access.systems if access.superuser else frozenset()
    methodologist = Membership.objects.filter(user=user, role=Role.METHODOLOGIST).values_list(
        "unit__system_id", flat=True
    )
    return access.admin_systems | frozenset(methodologist)


def audit_entries(user: Any) -> QuerySet[AuditEntry]:
    return AuditEntry.objects.filter(system_id__in=audit_systems(user)).select_related("system")


# Audit entries whose object's name and changes carry readers' personal data (a card number and name, a network
# person id): an entry has no unit, so only the system's administrators read them in full.
READER_DATA_TYPES = frozenset({
    "circulation.reader", "circulation.loan", "circulation.renewal", "readers.readeridentity",
    "readers.readerconsent", "readers.linkcode", "inbox.conversation", "publishing.outgoingmessage",
})
REDACTED = "—"


def audit_shown(access: Access, entry: AuditEntry) -> AuditEntry:
    """The entry as this reader of the audit log may see it: about readers' data, without the object's name and
    the changes unless they administer the system (``READER_DATA_TYPES``)."""
    if entry.object_type in READER_DATA_TYPES and not (access.superuser or access.is_admin_of(entry.system_id or 0)):
        entry.object_repr, entry.changes = REDACTED, {}
    return entry


def manages_person(actor: Any, user: Any) -> bool:
    """May ``actor`` change ``user``'s name, e-mail, password or active flag?

    Only if every system the user belongs (or belonged) to is one the actor administers: an admin of one
    network must not take over an account that also works in another. Superusers are left to superusers.
    """
    access = access_for(actor)
    if access.superuser:
        return True
    if getattr(user, "is_superuser", False):
        return False
    systems = user_systems(user)
    return bool(systems) and systems <= access.admin_systems


def api_token_for_key(key: str) -> ApiToken | None:
    """The stored token whose digest matches ``key`` (with its user), valid or not."""
    return ApiToken.objects.select_related("user").filter(digest=key_digest(key)).first()
