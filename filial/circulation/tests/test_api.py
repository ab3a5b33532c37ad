"""The contract other tools rely on, exactly as issue 6 writes it."""

from __future__ import annotations

from datetime import date, timedelta
from io import StringIO
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient

from filial.accounts.models import Role
from filial.circulation.adapters import registry
from filial.circulation.adapters.base import ReaderRecord
from filial.circulation.models import CirculationLink, Loan, Reader, Renewal
from filial.circulation.tests import fakes
from filial.circulation.tests.test_services import make_loan
from filial.conftest import Net, make_user


def api(net: Net, who: str) -> APIClient:
    client = APIClient()
    client.force_authenticate(net.users[who])
    return client


def test_patch_unit_circulation_link(net: Net) -> None:
    client = api(net, "admin")
    url = f"/api/v1/units/{net.children.pk}/"
    body = {"circulation": {"adapter": "sip2", "host": "sip.example.org", "port": 6001, "login": "filial",
                            "password": "pw1", "location": "DET", "institution": "MED", "encoding": "cp1251"}}
    res = client.patch(url, body, format="json")
    assert res.status_code == 200, res.json()
    shown = res.json()["circulation"]
    assert shown["adapter"] == "sip2" and shown["host"] == "sip.example.org" and shown["port"] == 6001
    assert "password" not in shown and shown["secrets_stored"] == ["password"]
    assert "pw1" not in str(client.get(url).json())
    res = client.patch(url, {"circulation": {"adapter": "koha", "base_url": "https://koha.example.org",
                                             "client_id": "filial", "client_secret": "cs"}}, format="json")
    assert res.status_code == 200 and res.json()["circulation"]["secrets_stored"] == ["client_secret"]
    assert CirculationLink.objects.get(unit=net.children).settings["client_secret"] == "cs"
    res = client.patch(url, {"circulation": {"adapter": "koha", "base_url": "koha"}}, format="json")
    assert res.status_code == 400 and "base_url" in res.json()["circulation"]
    res = client.patch(url, {"circulation": {"adapter": "file"}}, format="json")
    assert res.status_code == 200 and res.json()["circulation"]["adapter"] == "file"
    assert api(net, "editor_children").patch(url, {"circulation": {"adapter": "file"}},
                                             format="json").status_code == 403


def test_readers_by_card_and_scoping(net: Net) -> None:
    make_loan(net, card="1001")
    make_loan(net, unit=net.branch4, card="4001")
    res = api(net, "editor_children").get("/api/v1/readers/", {"card": "1001"})
    assert res.status_code == 200
    body = res.json()
    results = body["results"] if isinstance(body, dict) else body
    assert [r["card"] for r in results] == ["1001"] and results[0]["open_loans"] == 1
    res = api(net, "editor_children").get("/api/v1/readers/", {"card": "4001"})
    body = res.json()
    assert (body["results"] if isinstance(body, dict) else body) == []
    # a methodologist reads the whole network's posts, but only their own units' readers
    methodologist = api(net, "methodologist").get("/api/v1/readers/").json()
    cards = {r["card"] for r in (methodologist["results"] if isinstance(methodologist, dict) else methodologist)}
    assert cards == {"1001", "4001"}
    viewer = api(net, "viewer").get("/api/v1/readers/").json()
    assert (viewer["results"] if isinstance(viewer, dict) else viewer) == []
    assert api(net, "admin").get("/api/v1/readers/", {"card": "4001"}).json()


def test_loans_overdue_filter(net: Net) -> None:
    overdue = make_loan(net, barcode="B1", days_overdue=3)
    make_loan(net, barcode="B2", days_overdue=-5)
    reader = overdue.reader_id
    body = api(net, "editor_children").get("/api/v1/loans/", {"reader": reader, "overdue": 1}).json()
    results = body["results"] if isinstance(body, dict) else body
    assert [(r["barcode"], r["overdue_days"]) for r in results] == [("B1", 3)]
    assert results[0]["due_date"] == overdue.due.isoformat()
    body = api(net, "editor_children").get("/api/v1/loans/", {"reader": reader}).json()
    assert len(body["results"] if isinstance(body, dict) else body) == 2
    assert api(net, "editor_branch4").get(f"/api/v1/loans/{overdue.pk}/").status_code == 404


def test_renew_contract(net: Net, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(registry.ADAPTERS, "sip2", "filial.circulation.tests.fakes.FakeOnlineAdapter")
    fakes.reset()
    loan = make_loan(net)
    client = api(net, "editor_children")
    # the file adapter: the request waits for a librarian
    res = client.post(f"/api/v1/loans/{loan.pk}/renew/")
    assert res.status_code == 200 and res.json()["renewed"] is False and res.json()["queued"] is True
    assert Renewal.objects.get(pk=res.json()["renewal"]).state == Renewal.State.QUEUED
    api(net, "admin").patch(f"/api/v1/units/{net.children.pk}/", {"circulation": {
        "adapter": "sip2", "host": "h", "port": 1, "login": "l", "password": "p"}}, format="json")
    res = client.post(f"/api/v1/loans/{loan.pk}/renew/")
    assert res.json() == {"renewed": True, "due_date": "2030-01-31", "renewal": res.json()["renewal"]}
    fakes.STATE["refuse"].add(loan.barcode)
    res = client.post(f"/api/v1/loans/{loan.pk}/renew/")
    assert res.json()["renewed"] is False and res.json()["reason"] == "Item is reserved by another reader"
    assert api(net, "editor_branch4").post(f"/api/v1/loans/{loan.pk}/renew/").status_code == 404


def test_imports_contract(net: Net, django_capture_on_commit_callbacks: Any) -> None:
    client = api(net, "editor_children")
    csv = ("Читательский билет;ФИО;Штрихкод;Название;Дата выдачи;Срок возврата\n"
           "1001;Аня;B1;Сказки;01.10.2026;15.10.2026\n").encode("cp1251")
    with django_capture_on_commit_callbacks(execute=True):
        res = client.post("/api/v1/imports/", {"file": SimpleUploadedFile("l.csv", csv), "unit": net.children.pk,
                                               "format": "csv"}, format="multipart")
    assert res.status_code == 201, res.json()
    job = client.get(f"/api/v1/imports/{res.json()['id']}/").json()
    assert job["state"] == "done" and job["created_count"] == 1 and job["row_errors"] == []
    bad = csv + "1002;Петя;B2;Книга;вчера;15.10.2026\n".encode("cp1251")
    with django_capture_on_commit_callbacks(execute=True):
        res = client.post("/api/v1/imports/", {"file": SimpleUploadedFile("l.csv", bad), "unit": net.children.pk,
                                               "format": "csv"}, format="multipart")
    job = client.get(f"/api/v1/imports/{res.json()['id']}/").json()
    assert job["state"] == "failed" and job["row_errors"][0]["row"] == 3 and job["row_errors"][0]["field"] == "issued"
    assert Loan.objects.count() == 1
    res = api(net, "editor_branch4").post("/api/v1/imports/", {"file": SimpleUploadedFile("l.csv", csv),
                                                               "unit": net.children.pk, "format": "csv"},
                                          format="multipart")
    assert res.status_code == 400 and "unit" in res.json()  # a unit they cannot see
    outside = APIClient()
    outside.force_authenticate(make_user("central_methodologist", [(net.central, Role.METHODOLOGIST)]))
    res = outside.post("/api/v1/imports/", {"file": SimpleUploadedFile("l.csv", csv), "unit": net.children.pk,
                                            "format": "csv"}, format="multipart")
    assert res.status_code == 403  # reads the whole network, but the children's library's readers are not theirs
    assert api(net, "editor_branch4").get(f"/api/v1/imports/{job['id']}/").status_code == 404


def test_cli_sync(net: Net, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(registry.ADAPTERS, "sip2", "filial.circulation.tests.fakes.FakeOnlineAdapter")
    fakes.reset()
    CirculationLink.objects.create(unit=net.branch4, adapter="file")
    link = CirculationLink.objects.create(unit=net.children, adapter="sip2")
    link.set_settings({"host": "h", "port": 1, "login": "l", "password": "p"})
    link.save()
    Reader.objects.create(system=net.system, unit=net.children, card="1001")
    today = date.today()
    fakes.STATE["readers"] = {"1001": ReaderRecord("1001", "Аня", fakes.loans("A"))}
    out = StringIO()
    call_command("circulation", "sync", "--unit", str(net.children.pk), stdout=out)
    assert "loans 1" in out.getvalue()
    assert Loan.objects.get(barcode="A").due == today - timedelta(days=2)
    out = StringIO()
    call_command("circulation", "sync", stdout=out)
    assert out.getvalue().count(": ok") == 2
    fakes.STATE["down"] = True
    with pytest.raises(CommandError, match="1 unit"):
        call_command("circulation", "sync", stdout=StringIO())
    with pytest.raises(CommandError, match="no unit"):
        call_command("circulation", "sync", "--unit", "999999", stdout=StringIO())
