"""The whole path with the real SIP2 adapter (H4's) against its ACS emulator on loopback: the unit's link set through
the API, loans pulled by ``filial circulation sync``, renewals answered by the library system."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from io import StringIO

import pytest
from django.core.management import call_command
from rest_framework.test import APIClient

from emulators.circulation.sip2 import Sip2Emulator
from filial.circulation.models import Loan, Reader, Renewal
from filial.circulation.tests.test_sip2_adapter import TODAY, library
from filial.conftest import Net


@pytest.fixture
def acs() -> Iterator[Sip2Emulator]:
    with Sip2Emulator(library(), encoding="cp1251", today=lambda: TODAY) as emulator:
        yield emulator


def test_link_sync_and_renew_through_sip2(net: Net, acs: Sip2Emulator) -> None:
    admin = APIClient()
    admin.force_authenticate(net.users["admin"])
    res = admin.patch(f"/api/v1/units/{net.children.pk}/", {"circulation": {
        "adapter": "sip2", "host": acs.host, "port": acs.port, "login": "sc-filial", "password": "s3cret",
        "location": "MAIN", "institution": "FILIAL", "encoding": "cp1251"}}, format="json")
    assert res.status_code == 200, res.json()
    for card in ("1001", "1002", "7777"):
        Reader.objects.create(system=net.system, unit=net.children, card=card)
    out = StringIO()
    call_command("circulation", "sync", "--unit", str(net.children.pk), stdout=out)
    assert "unknown 1" in out.getvalue() and ": ok" in out.getvalue()
    assert Reader.objects.get(card="1001").name == "Иванова Анна Сергеевна"
    assert set(Loan.objects.filter(reader__card="1001").values_list("barcode", flat=True)) == {"B-1", "B-2", "B-3",
                                                                                                "B-4"}
    librarian = APIClient()
    librarian.force_authenticate(net.users["editor_children"])
    b1 = Loan.objects.get(barcode="B-1")
    assert b1.due == date(2026, 3, 12)
    res = librarian.post(f"/api/v1/loans/{b1.pk}/renew/").json()
    assert res["renewed"] is True and res["due_date"] == "2026-03-26"
    b1.refresh_from_db()
    assert b1.due == date(2026, 3, 26) and b1.renewals == 1
    b2 = Loan.objects.get(barcode="B-2")  # another reader is waiting for it
    res = librarian.post(f"/api/v1/loans/{b2.pk}/renew/").json()
    assert res["renewed"] is False and res["reason_code"] == "reserved" and res["reason"]
    assert Renewal.objects.filter(state=Renewal.State.REFUSED, loan=b2).exists()
