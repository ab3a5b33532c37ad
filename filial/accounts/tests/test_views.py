"""Staff management, the audit log and "change my password": roles, CSRF, audit entries, guards."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from filial.accounts.models import AuditEntry, Membership, Role, User
from filial.accounts.services import audit_record, membership_set
from filial.conftest import PASSWORD, Net, make_user
from filial.libraries.services import system_create, unit_create

pytestmark = pytest.mark.django_db

NOT_ADMINS = ["methodologist", "editor_central", "editor_children", "editor_branch4", "viewer", "outsider"]
NEW_PASSWORD = "Lilac-Reading-Room-42"


def client_for(user: User | None = None, *, csrf: bool = False) -> Client:
    client = Client(enforce_csrf_checks=csrf, headers={"accept-language": "en"})
    if user is not None:
        client.force_login(user)
    return client


def new_user_data(**overrides: Any) -> dict[str, Any]:
    data = {"username": "ivanova", "display_name": "Иванова Мария", "email": "ivanova@example.org",
            "password": NEW_PASSWORD, "password_confirm": NEW_PASSWORD, "unit": "", "role": "editor"}
    data.update(overrides)
    return data


def membership_of(net: Net, role: str) -> Membership:
    return net.users[role].memberships.get()


# --- Role matrix ----------------------------------------------------------------------------------------


def staff_urls(net: Net) -> list[tuple[str, str]]:
    target = net.users["editor_branch4"]
    membership = membership_of(net, "editor_branch4")
    return [
        ("get", reverse("accounts:user_list")),
        ("get", reverse("accounts:user_create")),
        ("post", reverse("accounts:user_create")),
        ("get", reverse("accounts:user_edit", args=[target.pk])),
        ("post", reverse("accounts:user_edit", args=[target.pk])),
        ("post", reverse("accounts:membership_add", args=[target.pk])),
        ("post", reverse("accounts:membership_update", args=[membership.pk])),
        ("post", reverse("accounts:membership_remove", args=[membership.pk])),
    ]


def test_anonymous_is_sent_to_login(net: Net) -> None:
    client = client_for()
    urls = [*staff_urls(net), ("get", reverse("accounts:audit_log")), ("get", reverse("accounts:password_change"))]
    for method, url in urls:
        response = getattr(client, method)(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith(reverse("login")), url


@pytest.mark.parametrize("role", NOT_ADMINS)
def test_only_admins_manage_staff(net: Net, role: str) -> None:
    client = client_for(net.users[role])
    for method, url in staff_urls(net):
        data = {"role": "admin", "m-unit": net.central.pk, "m-role": "admin", "is_active": "on"} \
            if method == "post" else None
        response = getattr(client, method)(url, data)
        assert response.status_code == 403, (role, method, url)
    membership = membership_of(net, "editor_branch4")
    membership.refresh_from_db()
    assert membership.role == Role.EDITOR
    assert not Membership.objects.filter(user=net.users["editor_branch4"], role=Role.ADMIN).exists()


def test_admin_gets_every_staff_page(net: Net) -> None:
    client = client_for(net.users["admin"])
    target = net.users["editor_branch4"]
    assert client.get(reverse("accounts:user_list")).status_code == 200
    assert client.get(reverse("accounts:user_create")).status_code == 200
    assert client.get(reverse("accounts:user_edit", args=[target.pk])).status_code == 200
    assert client.get(reverse("accounts:audit_log")).status_code == 200


@pytest.mark.parametrize(("role", "status"), [
    ("admin", 200), ("methodologist", 200), ("editor_central", 403), ("editor_children", 403),
    ("editor_branch4", 403), ("viewer", 403), ("outsider", 403),
])
def test_audit_log_is_for_admins_and_methodologists(net: Net, role: str, status: int) -> None:
    assert client_for(net.users[role]).get(reverse("accounts:audit_log")).status_code == status


@pytest.mark.parametrize("role", ["admin", "methodologist", "editor_branch4", "viewer", "outsider"])
def test_everyone_may_open_change_my_password(net: Net, role: str) -> None:
    assert client_for(net.users[role]).get(reverse("accounts:password_change")).status_code == 200


def test_admin_of_another_system_cannot_reach_our_staff(net: Net) -> None:
    other = system_create(actor=None, name="ЦБС г. Орска")
    orsk = unit_create(actor=None, system=other, name="Библиотека Орска", kind="central")
    orsk_admin = make_user("orsk_admin", [(orsk, Role.ADMIN)])
    client = client_for(orsk_admin)
    target = net.users["editor_branch4"]
    assert client.get(reverse("accounts:user_edit", args=[target.pk])).status_code == 404
    membership = membership_of(net, "editor_branch4")
    assert client.post(reverse("accounts:membership_remove", args=[membership.pk])).status_code == 404
    assert client.post(reverse("accounts:membership_add", args=[target.pk]),
                       {"m-unit": orsk.pk, "m-role": "admin"}).status_code == 404
    html = client.get(reverse("accounts:user_list")).content.decode()
    assert "orsk_admin" in html and "ed_branch4" not in html
    assert Membership.objects.filter(pk=membership.pk).exists()


# --- Staff list ---------------------------------------------------------------------------------------------


def test_list_shows_staff_with_roles_and_not_outsiders(net: Net) -> None:
    html = client_for(net.users["admin"]).get(reverse("accounts:user_list")).content.decode()
    for username in ("admin", "metodist", "ed_central", "ed_children", "ed_branch4", "viewer"):
        assert username in html
    assert "outsider" not in html
    assert "Methodologist" in html and net.branch4.name in html


def test_list_filters(net: Net) -> None:
    client = client_for(net.users["admin"])
    html = client.get(reverse("accounts:user_list"), {"role": "editor", "unit": str(net.children.pk)}).content.decode()
    assert "ed_children" in html and "ed_branch4" not in html and "ed_central" not in html
    html = client.get(reverse("accounts:user_list"), {"q": "branch"}).content.decode()
    assert "ed_branch4" in html and "ed_children" not in html
    net.users["viewer"].is_active = False
    net.users["viewer"].save()
    html = client.get(reverse("accounts:user_list"), {"status": "inactive"}).content.decode()
    assert ">viewer<" in html and "ed_branch4" not in html


def test_list_query_count_does_not_grow_with_users(net: Net, django_assert_max_num_queries: Any) -> None:
    client = client_for(net.users["admin"])
    with CaptureQueriesContext(connection) as few:
        client.get(reverse("accounts:user_list"))
    for i in range(20):
        make_user(f"staff{i:02d}", [(net.branch4, Role.VIEWER), (net.children, Role.EDITOR)])
    with django_assert_max_num_queries(len(few)), CaptureQueriesContext(connection) as many:
        response = client.get(reverse("accounts:user_list"))
    assert len(many) <= 16
    assert "staff19" in response.content.decode()


# --- Create -------------------------------------------------------------------------------------------------


def test_create_user_with_a_first_role(net: Net) -> None:
    admin = net.users["admin"]
    response = client_for(admin).post(reverse("accounts:user_create"), new_user_data(unit=net.branch4.pk))
    user = User.objects.get(username="ivanova")
    assert response.status_code == 302 and response["Location"] == reverse("accounts:user_edit", args=[user.pk])
    assert user.display_name == "Иванова Мария" and user.email == "ivanova@example.org"
    assert user.check_password(NEW_PASSWORD) and user.password != NEW_PASSWORD
    assert list(user.memberships.values_list("unit_id", "role")) == [(net.branch4.pk, "editor")]
    created = AuditEntry.objects.get(action="user.create", object_id=str(user.pk))
    assert created.actor == admin and created.system_id == net.system.pk
    assert AuditEntry.objects.filter(action="membership.set", changes__user="ivanova", actor=admin).exists()
    assert NEW_PASSWORD not in str(list(AuditEntry.objects.values_list("changes", flat=True)))
    assert client_for().login(username="ivanova", password=NEW_PASSWORD)


@pytest.mark.parametrize(("overrides", "message"), [
    ({"password": "12345678", "password_confirm": "12345678"}, "too common"),
    ({"password": "Ab1-x", "password_confirm": "Ab1-x"}, "too short"),
    ({"password": "ivanova99", "password_confirm": "ivanova99"}, "too similar"),
    ({"password_confirm": "something-else-99"}, "do not match"),
    ({"username": "ed_branch4"}, "already exists"),
    ({"username": "bad name!"}, "Enter a valid username"),
    ({"role": "overlord"}, "Select a valid choice"),
])
def test_create_user_bad_input_is_a_form_error(net: Net, overrides: dict[str, Any], message: str) -> None:
    before = User.objects.count()
    data = new_user_data(unit=net.branch4.pk, **overrides)
    response = client_for(net.users["admin"]).post(reverse("accounts:user_create"), data)
    assert response.status_code == 200
    assert message in response.content.decode()
    assert User.objects.count() == before
    assert not AuditEntry.objects.filter(action="user.create").exists()


def test_create_user_in_a_unit_of_another_system_is_refused(net: Net) -> None:
    other = system_create(actor=None, name="ЦБС г. Орска")
    orsk = unit_create(actor=None, system=other, name="Библиотека Орска", kind="central")
    response = client_for(net.users["admin"]).post(reverse("accounts:user_create"), new_user_data(unit=orsk.pk))
    assert response.status_code == 200
    assert not User.objects.filter(username="ivanova").exists()


# --- Edit, deactivate, passwords --------------------------------------------------------------------------------


def test_edit_user_and_deactivate_never_deletes(net: Net) -> None:
    admin, target = net.users["admin"], net.users["editor_branch4"]
    client = client_for(admin)
    url = reverse("accounts:user_edit", args=[target.pk])
    response = client.post(url, {"display_name": "Петрова", "email": "p@example.org", "is_active": "on"})
    assert response.status_code == 302
    target.refresh_from_db()
    assert target.display_name == "Петрова" and target.is_active
    update = AuditEntry.objects.get(action="user.update", object_id=str(target.pk))
    assert update.changes["display_name"] == ["", "Петрова"] and update.system_id == net.system.pk
    response = client.post(url, {"display_name": "Петрова", "email": "p@example.org"})
    assert response.status_code == 302
    target.refresh_from_db()
    assert target.is_active is False
    assert AuditEntry.objects.filter(action="user.deactivate", object_id=str(target.pk), actor=admin).exists()
    assert not client_for().login(username="ed_branch4", password=PASSWORD)
    html = client.get(reverse("accounts:user_list")).content.decode()
    assert "ed_branch4" in html and "Inactive" in html


def test_admin_cannot_deactivate_themselves(net: Net) -> None:
    admin = net.users["admin"]
    response = client_for(admin).post(reverse("accounts:user_edit", args=[admin.pk]), {"display_name": "A"})
    assert response.status_code == 200
    assert "cannot deactivate yourself" in response.content.decode()
    admin.refresh_from_db()
    assert admin.is_active and admin.display_name == ""


def test_admin_sets_a_new_password(net: Net) -> None:
    target = net.users["editor_children"]
    client = client_for(net.users["admin"])
    url = reverse("accounts:user_edit", args=[target.pk])
    weak = client.post(url, {"is_active": "on", "display_name": "Новое имя", "new_password": "123",
                             "new_password_confirm": "123"})
    assert weak.status_code == 200 and "too short" in weak.content.decode()
    target.refresh_from_db()
    assert target.check_password(PASSWORD) and target.display_name == ""  # all or nothing
    ok = client.post(url, {"is_active": "on", "new_password": NEW_PASSWORD, "new_password_confirm": NEW_PASSWORD})
    assert ok.status_code == 302
    target.refresh_from_db()
    assert target.check_password(NEW_PASSWORD)
    assert AuditEntry.objects.filter(action="user.set_password", object_id=str(target.pk)).exists()


def test_edit_page_never_shows_the_password_hash(net: Net) -> None:
    target = net.users["editor_children"]
    html = client_for(net.users["admin"]).get(reverse("accounts:user_edit", args=[target.pk])).content.decode()
    assert target.password not in html
    assert 'name="new_password"' in html and 'autocomplete="new-password"' in html


def test_admin_cannot_take_over_an_account_of_another_system(net: Net) -> None:
    other = system_create(actor=None, name="ЦБС г. Орска")
    orsk = unit_create(actor=None, system=other, name="Библиотека Орска", kind="central")
    shared = make_user("shared", [(net.branch4, Role.EDITOR), (orsk, Role.ADMIN)])
    root = User.objects.create_superuser("root", password="x-root-pass-123")
    membership_set(actor=None, user=root, unit=net.children, role=Role.VIEWER)
    client = client_for(net.users["admin"])
    for target in (shared, root):
        url = reverse("accounts:user_edit", args=[target.pk])
        page = client.get(url).content.decode()
        assert page.count('name="new_password"') == 0 and "only its administrator" in page
        response = client.post(url, {"new_password": NEW_PASSWORD, "new_password_confirm": NEW_PASSWORD})
        assert response.status_code == 403
        target.refresh_from_db()
        assert target.is_active and not target.check_password(NEW_PASSWORD)
    # Roles inside our own system remain ours to manage.
    own = shared.memberships.get(unit=net.branch4)
    response = client.post(reverse("accounts:membership_update", args=[own.pk]), {f"r{own.pk}-role": "viewer"})
    assert response.status_code == 302
    own.refresh_from_db()
    assert own.role == Role.VIEWER


# --- Memberships ----------------------------------------------------------------------------------------------


def test_add_change_and_remove_a_role(net: Net) -> None:
    admin, target = net.users["admin"], net.users["editor_branch4"]
    client = client_for(admin)
    response = client.post(reverse("accounts:membership_add", args=[target.pk]),
                           {"m-unit": net.children.pk, "m-role": "viewer"})
    assert response.status_code == 302
    membership = Membership.objects.get(user=target, unit=net.children)
    assert membership.role == "viewer"
    assert AuditEntry.objects.filter(action="membership.set", object_id=str(membership.pk), actor=admin).count() == 1
    response = client.post(reverse("accounts:membership_update", args=[membership.pk]),
                           {f"r{membership.pk}-role": "methodologist"})
    assert response.status_code == 302
    membership.refresh_from_db()
    assert membership.role == "methodologist"
    assert AuditEntry.objects.filter(action="membership.set", object_id=str(membership.pk)).count() == 2
    response = client.post(reverse("accounts:membership_remove", args=[membership.pk]))
    assert response.status_code == 302
    assert not Membership.objects.filter(pk=membership.pk).exists()
    removed = AuditEntry.objects.get(action="membership.remove", object_id=str(membership.pk))
    assert removed.changes == {"user": "ed_branch4", "unit": net.children.pk, "role": "methodologist"}


def test_user_without_roles_stays_manageable(net: Net) -> None:
    target = net.users["editor_branch4"]
    client = client_for(net.users["admin"])
    client.post(reverse("accounts:membership_remove", args=[membership_of(net, "editor_branch4").pk]))
    assert not target.memberships.exists()
    page = client.get(reverse("accounts:user_edit", args=[target.pk]))
    assert page.status_code == 200 and "has no role" in page.content.decode()
    assert "ed_branch4" in client.get(reverse("accounts:user_list")).content.decode()


def test_add_role_with_bad_input_shows_errors(net: Net) -> None:
    target = net.users["editor_branch4"]
    response = client_for(net.users["admin"]).post(reverse("accounts:membership_add", args=[target.pk]),
                                                   {"m-unit": "999999", "m-role": "editor"})
    assert response.status_code == 200 and "errorlist" in response.content.decode()
    assert target.memberships.count() == 1


def test_admin_cannot_remove_or_downgrade_their_own_last_admin_role(net: Net) -> None:
    admin = net.users["admin"]
    own = admin.memberships.get()
    client = client_for(admin)
    response = client.post(reverse("accounts:membership_remove", args=[own.pk]), follow=True)
    assert "cannot remove your own last administrator role" in response.content.decode()
    assert Membership.objects.filter(pk=own.pk, role=Role.ADMIN).exists()
    response = client.post(reverse("accounts:membership_update", args=[own.pk]),
                           {f"r{own.pk}-role": "editor"}, follow=True)
    assert "cannot give up your own last administrator role" in response.content.decode()
    response = client.post(reverse("accounts:membership_add", args=[admin.pk]),
                           {"m-unit": net.central.pk, "m-role": "viewer"})
    assert response.status_code == 200
    own.refresh_from_db()
    assert own.role == Role.ADMIN
    assert not AuditEntry.objects.filter(action="membership.remove").exists()


def test_admin_with_a_second_admin_role_may_drop_one(net: Net) -> None:
    admin = net.users["admin"]
    client = client_for(admin)
    client.post(reverse("accounts:membership_add", args=[admin.pk]), {"m-unit": net.children.pk, "m-role": "admin"})
    own = admin.memberships.get(unit=net.central)
    response = client.post(reverse("accounts:membership_remove", args=[own.pk]))
    assert response.status_code == 302
    assert list(admin.memberships.values_list("unit_id", "role")) == [(net.children.pk, "admin")]


def test_admin_may_remove_another_admin(net: Net) -> None:
    second = make_user("second_admin", [(net.children, Role.ADMIN)])
    membership = second.memberships.get()
    response = client_for(net.users["admin"]).post(reverse("accounts:membership_remove", args=[membership.pk]))
    assert response.status_code == 302
    assert not second.memberships.exists()


# --- CSRF -------------------------------------------------------------------------------------------------------


def test_csrf_is_enforced_on_staff_forms(net: Net) -> None:
    client = client_for(csrf=True)
    assert client.login(username="admin", password=PASSWORD)
    target = net.users["editor_branch4"]
    posts = [
        (reverse("accounts:user_create"), new_user_data(unit=net.branch4.pk)),
        (reverse("accounts:user_edit", args=[target.pk]), {"display_name": "X"}),
        (reverse("accounts:membership_add", args=[target.pk]), {"m-unit": net.children.pk, "m-role": "viewer"}),
        (reverse("accounts:membership_remove", args=[membership_of(net, "editor_branch4").pk]), {}),
    ]
    for url, data in posts:
        assert client.post(url, data).status_code == 403, url
    assert not User.objects.filter(username="ivanova").exists()
    target.refresh_from_db()
    assert target.is_active and target.memberships.count() == 1
    client.get(reverse("accounts:user_create"))
    token = client.cookies["csrftoken"].value
    response = client.post(posts[0][0], {**posts[0][1], "csrfmiddlewaretoken": token})
    assert response.status_code == 302
    assert User.objects.filter(username="ivanova").exists()


# --- Audit log --------------------------------------------------------------------------------------------------


def test_audit_log_lists_entries_of_own_system_only(net: Net) -> None:
    other = system_create(actor=None, name="ЦБС г. Орска")
    unit_create(actor=None, system=other, name="Тайная библиотека Орска", kind="central")
    html = client_for(net.users["admin"]).get(reverse("accounts:audit_log")).content.decode()
    assert net.central.name in html and "unit.create" in html
    assert "Тайная библиотека Орска" not in html


def test_audit_log_escapes_changes(net: Net) -> None:
    audit_record(net.users["admin"], "unit.update", net.central,
                 {"name": ["<b>old</b>", "<script>alert(1)</script>"]}, system_id=net.system.pk)
    html = client_for(net.users["methodologist"]).get(reverse("accounts:audit_log")).content.decode()
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "&lt;b&gt;old&lt;/b&gt;" in html
    assert "→" in html


def test_audit_log_filters(net: Net) -> None:
    admin = net.users["admin"]
    audit_record(admin, "channel.update", net.channels["central_vk"], {"name": ["a", "b"]},
                 system_id=net.system.pk)
    old = audit_record(admin, "unit.update", net.branch4, {"name": ["Старое", "Новое"]}, system_id=net.system.pk)
    AuditEntry.objects.filter(pk=old.pk).update(at=timezone.now() - timedelta(days=40))
    client = client_for(admin)
    url = reverse("accounts:audit_log")
    html = client.get(url, {"action": "channel.update"}).content.decode()
    assert "ЦГБ Медногорска ВКонтакте" in html and "unit.create" not in html.split("<tbody>")[1]
    html = client.get(url, {"object_type": "channels.channel"}).content.decode()
    assert "ЦГБ Медногорска ВКонтакте" in html and net.branch4.name not in html.split("<tbody>")[1]
    html = client.get(url, {"actor": "admin"}).content.decode()
    body = html.split("<tbody>")[1]
    assert "channel.update" in body and "unit.create" not in body  # the fixture's entries have no actor
    since = (timezone.now() - timedelta(days=10)).date().isoformat()
    body = client.get(url, {"date_from": since}).content.decode().split("<tbody>")[1]
    assert "Новое" not in body and "channel.update" in body
    until = (timezone.now() - timedelta(days=30)).date().isoformat()
    body = client.get(url, {"date_to": until}).content.decode().split("<tbody>")[1]
    assert "Новое" in body and "channel.update" not in body
    bad = client.get(url, {"date_from": "2025-02-10", "date_to": "2025-01-01"})
    assert bad.status_code == 200 and "before the start date" in bad.content.decode()


def test_audit_log_is_paginated_with_a_fixed_number_of_queries(
    net: Net, django_assert_max_num_queries: Any
) -> None:
    admin = net.users["admin"]
    client = client_for(admin)
    with CaptureQueriesContext(connection) as few:
        client.get(reverse("accounts:audit_log"), {"action": "unit.update"})
    for i in range(120):
        audit_record(admin, "unit.update", net.branch4, {"position": [str(i), str(i + 1)]},
                     system_id=net.system.pk)
    with django_assert_max_num_queries(len(few)), CaptureQueriesContext(connection) as many:
        first = client.get(reverse("accounts:audit_log"), {"action": "unit.update"})
    assert len(many) <= 16
    html = first.content.decode()
    assert "Page 1 of 3" in html and "action=unit.update&amp;page=2" in html
    assert "<dd>119 → 120</dd>" in html and "<dd>0 → 1</dd>" not in html
    last = client.get(reverse("accounts:audit_log"), {"action": "unit.update", "page": "3"}).content.decode()
    assert "<dd>0 → 1</dd>" in last


# --- Change my password ---------------------------------------------------------------------------------------------


def test_change_my_password(net: Net) -> None:
    user = net.users["viewer"]
    client = client_for(user)
    url = reverse("accounts:password_change")
    wrong = client.post(url, {"old_password": "nope", "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert wrong.status_code == 200 and "errorlist" in wrong.content.decode()
    weak = client.post(url, {"old_password": PASSWORD, "new_password1": "viewer12", "new_password2": "viewer12"})
    assert weak.status_code == 200
    user.refresh_from_db()
    assert user.check_password(PASSWORD)
    ok = client.post(url, {"old_password": PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert ok.status_code == 302 and ok["Location"] == reverse("accounts:password_change_done")
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)
    entry = AuditEntry.objects.get(action="user.password_change", object_id=str(user.pk))
    assert entry.actor == user and entry.system_id == net.system.pk
    assert client.get(reverse("accounts:password_change_done")).status_code == 200  # still logged in


def test_change_my_password_requires_csrf(net: Net) -> None:
    client = client_for(csrf=True)
    assert client.login(username="viewer", password=PASSWORD)
    data = {"old_password": PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}
    assert client.post(reverse("accounts:password_change"), data).status_code == 403
    net.users["viewer"].refresh_from_db()
    assert net.users["viewer"].check_password(PASSWORD)
