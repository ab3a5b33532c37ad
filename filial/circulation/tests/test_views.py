from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from filial.accounts.models import AuditEntry
from filial.circulation.models import CirculationLink, ImportJob, Loan, Renewal
from filial.circulation.tests.test_services import make_loan
from filial.conftest import Net

CSV = ("Читательский билет;ФИО;Штрихкод;Название;Дата выдачи;Срок возврата\n"
       "1001;Иванова <b>Маша</b>;B1;Сказки;01.10.2026;15.10.2026\n"
       "1002;Петров Петя;B2;Незнайка;02.10.2026;16.10.2026\n").encode("cp1251")


def login(client: Client, net: Net, who: str) -> Client:
    client.force_login(net.users[who])
    return client


def test_pages_render_for_staff(client: Client, net: Net) -> None:
    loan = make_loan(net)
    login(client, net, "editor_children")
    for url in ("/circulation/", f"/circulation/unit/{net.children.pk}/", "/circulation/readers/?q=10",
                f"/circulation/readers/{loan.reader_id}/", "/circulation/renewals/", "/circulation/imports/new/"):
        res = client.get(url)
        assert res.status_code == 200, url
    index = client.get("/circulation/").content.decode()
    assert "Circulation" in index and 'href="/circulation/debtors/"' in index  # the debtors' dashboard is reachable
    reader_page = client.get(f"/circulation/readers/{loan.reader_id}/").content.decode()
    assert f'href="/circulation/readers/{loan.reader_id}/link/"' in reader_page  # and a reader's linking page
    assert client.get(f"/circulation/unit/{net.children.pk}/link/").status_code == 403


def test_readers_personal_data_is_scoped(client: Client, net: Net) -> None:
    loan = make_loan(net)
    login(client, net, "editor_branch4")
    assert client.get(f"/circulation/readers/{loan.reader_id}/").status_code == 404
    assert "1001" not in client.get("/circulation/readers/").content.decode()
    assert client.get(f"/circulation/unit/{net.children.pk}/").status_code == 404


def test_import_flow_through_the_pages(client: Client, net: Net, django_capture_on_commit_callbacks: Any) -> None:
    login(client, net, "editor_children")
    res = client.post("/circulation/imports/new/", {"unit": net.children.pk,
                                                    "file": SimpleUploadedFile("loans.csv", CSV), "format": ""})
    assert res.status_code == 302
    job = ImportJob.objects.get()
    page = client.get(res["Location"]).content.decode()
    assert "Иванова &lt;b&gt;Маша&lt;/b&gt;" in page  # readers' text is escaped
    assert 'id="no-errors"' in page
    form = {"col_card": "0", "col_name": "1", "col_barcode": "2", "col_title": "3", "col_issued": "4",
            "col_due": "5"}
    with django_capture_on_commit_callbacks(execute=True):
        res = client.post(f"/circulation/imports/{job.pk}/", form)
    assert res.status_code == 302
    job.refresh_from_db()
    assert job.state == ImportJob.State.DONE and Loan.objects.count() == 2
    page = client.get(f"/circulation/imports/{job.pk}/progress/").content.decode()
    assert 'value="100"' in page and "hx-trigger" not in page


def test_link_form_keeps_secrets(client: Client, net: Net) -> None:
    login(client, net, "admin")
    url = f"/circulation/unit/{net.children.pk}/link/"
    data = {"adapter": "sip2", "host": "sip.local", "port": "6001", "login": "filial", "password": "pw",
            "encoding": "cp1251"}
    assert client.post(url, data).status_code == 302
    assert client.post(url, {**data, "password": "", "login": "filial2"}).status_code == 302
    link = CirculationLink.objects.get(unit=net.children)
    assert link.settings["password"] == "pw" and link.settings["login"] == "filial2"
    response = client.post(url, {**data, "password": "", "port": "6002"})  # another server: the password again
    assert response.status_code == 200 and "enter the password again" in response.content.decode()
    assert CirculationLink.objects.get(unit=net.children).settings["port"] == 6001
    assert "pw" not in client.get(url).content.decode().replace("password", "")


def test_librarian_queue_page(client: Client, net: Net) -> None:
    loan = make_loan(net)
    login(client, net, "editor_children")
    client.post(f"/circulation/loans/{loan.pk}/renew/")
    renewal = Renewal.objects.get()
    assert renewal.state == Renewal.State.QUEUED
    assert loan.title in client.get("/circulation/renewals/").content.decode()
    new_due = date.today() + timedelta(days=10)
    client.post(f"/circulation/renewals/{renewal.pk}/decide/", {f"r{renewal.pk}-decision": "grant",
                                                               f"r{renewal.pk}-new_due": new_due.isoformat()})
    renewal.refresh_from_db()
    loan.refresh_from_db()
    assert renewal.state == Renewal.State.GRANTED and loan.due == new_due
    assert AuditEntry.objects.filter(action="circulation.renewal.grant").exists()


def test_readers_only_import_says_so(client: Client, net: Net, django_capture_on_commit_callbacks: Any) -> None:
    login(client, net, "editor_children")
    readers = "Читательский билет;ФИО\n1001;Иванова Мария\n".encode("cp1251")
    res = client.post("/circulation/imports/new/", {"unit": net.children.pk,
                                                    "file": SimpleUploadedFile("readers.csv", readers), "format": ""})
    job = ImportJob.objects.get()
    page = client.get(res["Location"]).content.decode()
    assert 'id="readers-only"' in page and 'id="no-errors"' in page
    with django_capture_on_commit_callbacks(execute=True):
        res = client.post(f"/circulation/imports/{job.pk}/", {"col_card": "0", "col_name": "1"})
    assert res.status_code == 302
    job.refresh_from_db()
    assert job.state == ImportJob.State.DONE and job.readers_count == 1 and not Loan.objects.exists()
