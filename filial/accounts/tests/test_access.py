"""Unit tests of filial/accounts/selectors.py: who may read, write, approve and manage which units."""

from __future__ import annotations

from typing import Any

import pytest

from filial.accounts.models import Role, User
from filial.accounts.selectors import access_for, audit_systems, staff_visible, units_for, user_systems
from filial.accounts.services import audit_record, membership_remove, membership_set
from filial.conftest import Net, make_user
from filial.libraries.services import system_create, unit_create

pytestmark = pytest.mark.django_db


def ids(*units: Any) -> frozenset[int]:
    return frozenset(u.pk for u in units)


def all_units(net: Net) -> frozenset[int]:
    return ids(net.central, net.automation, net.children, net.branch4)


def test_editor_reads_and_writes_only_its_subtree(net: Net) -> None:
    access = access_for(net.users["editor_central"])
    assert access.read_units == ids(net.central, net.automation)
    assert access.write_units == ids(net.central, net.automation)
    assert access.approve_units == frozenset()
    assert not access.is_admin
    assert access.systems == {net.system.pk}


def test_editor_of_a_leaf_unit_gets_only_that_unit(net: Net) -> None:
    access = access_for(net.users["editor_branch4"])
    assert access.read_units == ids(net.branch4)
    assert access.can_write(net.branch4.pk)
    assert not access.can_write(net.children.pk)
    assert not access.can_read(net.children.pk)


def test_subtree_follows_deeper_units(net: Net) -> None:
    sub = unit_create(actor=None, system=net.system, name="Сектор", kind="department", parent=net.automation)
    editor = make_user("deep", [(net.automation, Role.EDITOR)])
    access = access_for(editor)
    assert access.read_units == ids(net.automation, sub)
    assert net.central.pk not in access.read_units


def test_methodologist_reads_all_but_approves_only_its_subtrees(net: Net) -> None:
    only_children = make_user("met_children", [(net.children, Role.METHODOLOGIST)])
    access = access_for(only_children)
    assert access.read_units == all_units(net)
    assert access.write_units == ids(net.children)
    assert access.approve_units == ids(net.children)
    assert not access.is_admin


def test_viewer_reads_its_subtree_and_writes_nothing(net: Net) -> None:
    access = access_for(net.users["viewer"])
    assert access.read_units == ids(net.central, net.automation)
    assert access.write_units == frozenset()
    assert access.approve_units == frozenset()


def test_admin_has_the_whole_system_even_from_one_unit(net: Net) -> None:
    access = access_for(net.users["admin"])
    assert access.read_units == access.write_units == access.approve_units == all_units(net)
    assert access.admin_systems == {net.system.pk}
    assert access.is_admin_of(net.system.pk)


def test_two_systems_are_isolated(net: Net) -> None:
    other = system_create(actor=None, name="ЦБС г. Орска")
    orsk = unit_create(actor=None, system=other, name="Центральная библиотека Орска", kind="central")
    orsk_admin = make_user("orsk_admin", [(orsk, Role.ADMIN)])
    mine = access_for(net.users["admin"])
    theirs = access_for(orsk_admin)
    assert orsk.pk not in mine.read_units and not mine.is_admin_of(other.pk)
    assert theirs.read_units == ids(orsk)
    assert theirs.admin_systems == {other.pk}
    assert not (theirs.read_units & all_units(net))
    # Staff lists and audit logs do not cross systems either.
    assert set(staff_visible(orsk_admin)) == {orsk_admin}
    assert orsk_admin not in set(staff_visible(net.users["admin"]))
    assert audit_systems(orsk_admin) == {other.pk}


def test_user_in_two_systems_gets_each_role_in_its_own_system(net: Net) -> None:
    other = system_create(actor=None, name="ЦБС г. Орска")
    orsk = unit_create(actor=None, system=other, name="Центральная библиотека Орска", kind="central")
    both = make_user("both", [(orsk, Role.ADMIN), (net.branch4, Role.EDITOR)])
    access = access_for(both)
    assert access.admin_systems == {other.pk}
    assert access.write_units == ids(orsk, net.branch4)
    assert not access.can_read(net.central.pk)


def test_outsider_anonymous_and_inactive_have_nothing(net: Net) -> None:
    from django.contrib.auth.models import AnonymousUser

    for user in (net.users["outsider"], AnonymousUser(), None):
        access = access_for(user)
        assert not access.read_units and not access.systems and not access.is_member
    editor = net.users["editor_central"]
    editor.is_active = False
    editor.save()
    fresh = User.objects.get(pk=editor.pk)
    assert access_for(fresh).read_units == frozenset()


def test_superuser_reads_and_administers_everything(net: Net) -> None:
    root = User.objects.create_superuser("root", password="x-secret-123")
    access = access_for(root)
    assert access.superuser and access.read_units == all_units(net)
    assert access.is_admin_of(net.system.pk)


def test_access_is_cached_per_user_object(net: Net, django_assert_num_queries: Any) -> None:
    user = net.users["editor_children"]
    access_for(user)
    with django_assert_num_queries(0):
        access_for(user)


def test_units_for_returns_querysets_by_permission(net: Net) -> None:
    user = net.users["methodologist"]
    assert set(units_for(user, "read")) == {net.central, net.automation, net.children, net.branch4}
    assert set(units_for(user, "approve")) == {net.central, net.automation, net.children, net.branch4}
    assert set(units_for(net.users["viewer"], "write")) == set()


def test_audit_systems_for_admin_and_methodologist_only(net: Net) -> None:
    assert audit_systems(net.users["admin"]) == {net.system.pk}
    assert audit_systems(net.users["methodologist"]) == {net.system.pk}
    for role in ("editor_central", "editor_branch4", "viewer", "outsider"):
        assert audit_systems(net.users[role]) == frozenset(), role


def test_user_systems_remember_a_user_whose_roles_were_all_removed(net: Net) -> None:
    editor = net.users["editor_branch4"]
    membership = editor.memberships.get()
    membership_remove(actor=net.users["admin"], membership=membership)
    assert user_systems(editor) == {net.system.pk}
    assert editor in set(staff_visible(net.users["admin"]))
    # A user created for a system (audit entry with the system) is listed before any role is given.
    fresh = User.objects.create_user("fresh", password="x-secret-123")
    audit_record(net.users["admin"], "user.create", fresh, {}, system_id=net.system.pk)
    assert user_systems(fresh) == {net.system.pk}
    assert fresh in set(staff_visible(net.users["admin"]))
    # A user who never belonged to the system is not listed.
    assert net.users["outsider"] not in set(staff_visible(net.users["admin"]))
    assert set(staff_visible(net.users["methodologist"])) == set()


def test_membership_set_replaces_the_role_in_a_unit(net: Net) -> None:
    user = net.users["viewer"]
    membership_set(actor=None, user=user, unit=net.central, role=Role.EDITOR)
    assert user.memberships.count() == 1
    assert access_for(User.objects.get(pk=user.pk)).write_units == ids(net.central, net.automation)


def test_may_publish_directly_is_the_units_rule_and_the_approvers_right(net: Net) -> None:
    """A unit without approval publishes directly; otherwise only someone who approves for the unit and for every
    page's unit does."""
    net.children.approval_required = True
    net.central.approval_required = True
    editor = access_for(make_user("ed_direct", [(net.children, Role.EDITOR)]))
    methodologist = access_for(make_user("met_direct", [(net.children, Role.METHODOLOGIST)]))
    assert not editor.may_publish_directly(net.children, [net.children.pk])
    assert methodologist.may_publish_directly(net.children, [net.children.pk])
    assert not methodologist.may_publish_directly(net.children, [net.children.pk, net.central.pk])
    net.children.approval_required = False
    assert editor.may_publish_directly(net.children, [net.central.pk])
