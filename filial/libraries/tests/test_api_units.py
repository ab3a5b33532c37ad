"""/api/v1/units/: admins create and edit units through the service; bad input is a 400 that writes nothing."""

from __future__ import annotations

from typing import Any

from filial.accounts.models import AuditEntry
from filial.core.tests.test_api_support import client_for, fingerprint
from filial.libraries.models import Unit
from filial.libraries.services import system_create, unit_create


def test_admin_creates_unit_in_own_system(net: Any) -> None:
    response = client_for(net, "admin").post("/api/v1/units/", {
        "name": "Библиотека-филиал № 5", "kind": "branch", "parent": net.central.pk, "approval_required": False,
    }, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    unit = Unit.objects.get(pk=body["id"])
    assert unit.system == net.system and unit.parent == net.central
    assert unit.path == f"{net.central.path}{unit.pk:05d}/"
    assert body["tz_name"] == "Asia/Yekaterinburg" and body["depth"] == 1 and body["approval_required"] is False
    assert AuditEntry.objects.filter(action="unit.create", object_id=str(unit.pk)).exists()


def test_unit_input_errors_write_nothing(net: Any) -> None:
    other = system_create(actor=None, name="ЦБС соседнего района")
    foreign = unit_create(actor=None, system=other, name="Центральная библиотека района")
    client = client_for(net, "admin")
    for body, field in [
        ({"name": net.branch4.name}, "name"),  # the name is taken in this system
        ({"name": "Филиал № 6", "timezone": "Mars/Olympus"}, "timezone"),
        ({"name": "Филиал № 6", "kind": "castle"}, "kind"),
        ({"name": "Филиал № 6", "parent": foreign.pk}, "parent"),  # a unit of another system
        ({"name": "Филиал № 6", "system": other.pk}, "system"),
        ({"kind": "branch"}, "name"),
    ]:
        before = fingerprint()
        response = client.post("/api/v1/units/", body, format="json")
        assert response.status_code == 400, (body, response.content)
        assert field in response.json(), (body, response.json())
        assert fingerprint() == before


def test_admin_moves_unit_and_its_subtree(net: Any) -> None:
    client = client_for(net, "admin")
    response = client.patch(f"/api/v1/units/{net.central.pk}/", {"parent": net.children.pk}, format="json")
    assert response.status_code == 200, response.content
    net.automation.refresh_from_db()
    assert net.automation.path.startswith(net.children.path)
    loop = client.patch(f"/api/v1/units/{net.children.pk}/", {"parent": net.automation.pk}, format="json")
    assert loop.status_code == 400 and "parent" in loop.json()
    changed = client.patch(f"/api/v1/units/{net.branch4.pk}/",
                           {"timezone": "Europe/Samara", "address": "ул. Ленина, 5"}, format="json")
    assert changed.json()["tz_name"] == "Europe/Samara"
    entry = AuditEntry.objects.filter(action="unit.update", object_id=str(net.branch4.pk)).get()
    assert set(entry.changes) == {"timezone", "address"}


def test_admin_of_no_system_cannot_create(net: Any) -> None:
    response = client_for(net, "methodologist").post("/api/v1/units/", {"name": "X"}, format="json")
    assert response.status_code == 403
