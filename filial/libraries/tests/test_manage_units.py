"""Unit management (administrators only): tree list, create, edit, moves, permissions, CSRF, audit."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from filial.accounts.models import AuditEntry, Role
from filial.accounts.services import membership_set
from filial.conftest import PASSWORD, Net, make_user
from filial.libraries.models import Unit
from filial.libraries.services import system_create, unit_create

pytestmark = pytest.mark.django_db

NOT_ADMINS = ["methodologist", "editor_central", "editor_children", "editor_branch4", "viewer", "outsider"]


def client_for(net: Net, role: str) -> Client:
    client = Client(headers={"accept-language": "en"})
    client.force_login(net.users[role])
    return client


def unit_data(**overrides: Any) -> dict[str, Any]:
    data = {"name": "Библиотека-филиал № 7", "short_name": "Филиал № 7", "kind": "branch", "parent": "",
            "timezone": "", "address": "ул. Советская, 7", "approval_required": "on", "position": "7"}
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


# --- Permissions ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["libraries:unit_list", "libraries:unit_create"])
def test_anonymous_is_sent_to_login(client: Client, net: Net, name: str) -> None:
    response = client.get(reverse(name))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))
    response = client.get(reverse("libraries:unit_edit", args=[net.central.pk]))
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


@pytest.mark.parametrize("role", NOT_ADMINS)
def test_only_admins_manage_units(net: Net, role: str) -> None:
    client = client_for(net, role)
    assert client.get(reverse("libraries:unit_list")).status_code == 403
    assert client.get(reverse("libraries:unit_create")).status_code == 403
    response = client.post(reverse("libraries:unit_create"), unit_data())
    assert response.status_code == 403
    edit = client.get(reverse("libraries:unit_edit", args=[net.children.pk]))
    # Members of the system may know the unit exists (403); an outsider may not (404).
    assert edit.status_code == (404 if role == "outsider" else 403)
    posted = client.post(reverse("libraries:unit_edit", args=[net.children.pk]), unit_data(name="Взлом"))
    assert posted.status_code in (403, 404)
    assert not Unit.objects.filter(name__in=["Библиотека-филиал № 7", "Взлом"]).exists()


def test_admin_gets_every_page(net: Net) -> None:
    client = client_for(net, "admin")
    assert client.get(reverse("libraries:unit_list")).status_code == 200
    assert client.get(reverse("libraries:unit_create")).status_code == 200
    assert client.get(reverse("libraries:unit_edit", args=[net.children.pk])).status_code == 200


def test_admin_of_another_system_gets_404(net: Net) -> None:
    other = system_create(actor=None, name="ЦБС г. Орска")
    orsk = unit_create(actor=None, system=other, name="Библиотека Орска", kind="central")
    client = Client()
    client.force_login(make_user("orsk_admin", [(orsk, Role.ADMIN)]))
    assert client.get(reverse("libraries:unit_edit", args=[net.central.pk])).status_code == 404
    page = client.get(reverse("libraries:unit_list")).content.decode()
    assert "Библиотека Орска" in page and net.central.name not in page


# --- List -------------------------------------------------------------------------------------------------


def test_list_shows_the_tree_nested(net: Net) -> None:
    html = client_for(net, "admin").get(reverse("libraries:unit_list")).content.decode()
    for unit in (net.central, net.automation, net.children, net.branch4):
        assert unit.name in html
    central_at = html.index(net.central.name)
    nested_at = html.index('<ul class="tree">', central_at)
    assert central_at < nested_at < html.index(net.automation.name) < html.index(net.children.name)
    assert reverse("libraries:unit_edit", args=[net.automation.pk]) in html
    assert "Asia/Yekaterinburg" in html


def test_list_query_count_does_not_grow_with_units(net: Net, django_assert_max_num_queries: Any) -> None:
    client = client_for(net, "admin")
    with CaptureQueriesContext(connection) as few:
        client.get(reverse("libraries:unit_list"))
    for i in range(15):
        unit = unit_create(actor=None, system=net.system, name=f"Филиал № {10 + i}", kind="branch",
                           parent=net.central if i % 2 else None)
        make_user(f"staff{i}", [(unit, Role.EDITOR)])
    with django_assert_max_num_queries(len(few)), CaptureQueriesContext(connection) as many:
        response = client.get(reverse("libraries:unit_list"))
    assert len(many) <= 10
    assert "Филиал № 24" in response.content.decode()


# --- Create and edit ---------------------------------------------------------------------------------------


def test_create_unit_writes_it_with_its_path_and_an_audit_entry(net: Net) -> None:
    client = client_for(net, "admin")
    response = client.post(reverse("libraries:unit_create"), unit_data(parent=net.central.pk))
    assert response.status_code == 302
    unit = Unit.objects.get(name="Библиотека-филиал № 7")
    assert unit.parent == net.central and unit.system == net.system
    assert unit.path == f"{net.central.path}{unit.pk:05d}/"
    assert unit.approval_required and unit.position == 7 and unit.timezone == ""
    assert unit.tz_name == "Asia/Yekaterinburg"
    entry = AuditEntry.objects.get(action="unit.create", object_id=str(unit.pk))
    assert entry.actor == net.users["admin"] and entry.system_id == net.system.pk


def test_create_prefills_the_parent_from_the_add_sub_unit_link(net: Net) -> None:
    html = client_for(net, "admin").get(reverse("libraries:unit_create") + f"?parent={net.children.pk}")
    assert f'<option value="{net.children.pk}" selected>' in html.content.decode()


def test_bad_input_gives_form_errors_and_changes_nothing(net: Net) -> None:
    client = client_for(net, "admin")
    before = Unit.objects.count()
    response = client.post(reverse("libraries:unit_create"), unit_data(timezone="Mars/Olympus"))
    assert response.status_code == 200 and "errorlist" in response.content.decode()
    response = client.post(reverse("libraries:unit_create"), unit_data(name=net.children.name))
    assert response.status_code == 200
    assert "already has a unit with this name" in response.content.decode()
    response = client.post(reverse("libraries:unit_create"), unit_data(name="", position="-1"))
    assert response.status_code == 200
    assert Unit.objects.count() == before
    assert not AuditEntry.objects.filter(action="unit.create", actor=net.users["admin"]).exists()


def test_edit_changes_fields_and_records_what_changed(net: Net) -> None:
    client = client_for(net, "admin")
    url = reverse("libraries:unit_edit", args=[net.branch4.pk])
    page = client.get(url).content.decode()
    assert 'value="Библиотека-филиал № 4"' in page
    response = client.post(url, unit_data(name="Библиотека-филиал № 4", short_name="Ф-4", kind="branch",
                                          timezone="Europe/Moscow", approval_required=None, position="4"))
    assert response.status_code == 302
    net.branch4.refresh_from_db()
    assert net.branch4.short_name == "Ф-4" and net.branch4.timezone == "Europe/Moscow"
    assert net.branch4.approval_required is False
    entry = AuditEntry.objects.get(action="unit.update", object_id=str(net.branch4.pk))
    assert entry.actor == net.users["admin"]
    assert entry.changes["approval_required"] == ["True", "False"]
    assert entry.changes["timezone"] == ["", "Europe/Moscow"]


def test_moving_a_unit_under_its_own_descendant_is_refused(net: Net) -> None:
    client = client_for(net, "admin")
    url = reverse("libraries:unit_edit", args=[net.central.pk])
    response = client.post(url, unit_data(name=net.central.name, kind="central", parent=net.automation.pk))
    assert response.status_code == 200
    assert "cannot be placed inside itself" in response.content.decode()
    net.central.refresh_from_db()
    net.automation.refresh_from_db()
    assert net.central.parent_id is None and net.automation.path.startswith(net.central.path)
    assert not AuditEntry.objects.filter(action="unit.update").exists()


def test_moving_a_unit_moves_its_subtree(net: Net) -> None:
    client = client_for(net, "admin")
    url = reverse("libraries:unit_edit", args=[net.central.pk])
    response = client.post(url, unit_data(name=net.central.name, kind="central", parent=net.children.pk))
    assert response.status_code == 302
    net.central.refresh_from_db()
    net.automation.refresh_from_db()
    assert net.central.path == f"{net.children.path}{net.central.pk:05d}/"
    assert net.automation.path == f"{net.central.path}{net.automation.pk:05d}/"


def test_parent_must_be_in_the_same_system(net: Net) -> None:
    other = system_create(actor=None, name="ЦБС г. Орска")
    orsk = unit_create(actor=None, system=other, name="Библиотека Орска", kind="central")
    client = client_for(net, "admin")
    response = client.post(reverse("libraries:unit_edit", args=[net.branch4.pk]),
                           unit_data(name=net.branch4.name, parent=orsk.pk))
    assert response.status_code == 200
    net.branch4.refresh_from_db()
    assert net.branch4.parent_id is None


def test_csrf_is_enforced(net: Net) -> None:
    client = Client(enforce_csrf_checks=True, headers={"accept-language": "en"})
    assert client.login(username="admin", password=PASSWORD)
    response = client.post(reverse("libraries:unit_create"), unit_data())
    assert response.status_code == 403
    assert not Unit.objects.filter(name="Библиотека-филиал № 7").exists()
    client.get(reverse("libraries:unit_create"))
    token = client.cookies["csrftoken"].value
    response = client.post(reverse("libraries:unit_create"), {**unit_data(), "csrfmiddlewaretoken": token})
    assert response.status_code == 302
    assert Unit.objects.filter(name="Библиотека-филиал № 7").exists()


def test_admin_of_two_systems_chooses_the_system(net: Net) -> None:
    other = system_create(actor=None, name="ЦБС г. Орска", timezone="Asia/Yekaterinburg")
    orsk = unit_create(actor=None, system=other, name="Библиотека Орска", kind="central")
    membership_set(actor=None, user=net.users["admin"], unit=orsk, role=Role.ADMIN)
    client = client_for(net, "admin")
    html = client.get(reverse("libraries:unit_create")).content.decode()
    assert 'name="system"' in html and "ЦБС г. Орска: Библиотека Орска" in html
    # A parent from the other system is refused by the service, shown at the parent field.
    response = client.post(reverse("libraries:unit_create"),
                           unit_data(system=net.system.pk, parent=orsk.pk))
    assert response.status_code == 200
    assert "belongs to another library system" in response.content.decode()
    assert not Unit.objects.filter(name="Библиотека-филиал № 7").exists()
    response = client.post(reverse("libraries:unit_create"), unit_data(system=other.pk, parent=orsk.pk))
    assert response.status_code == 302
    assert Unit.objects.get(name="Библиотека-филиал № 7").system == other
