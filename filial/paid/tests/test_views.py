"""The paid-services pages: /go/ counting without an open redirect, the journal's import (good, hostile, all or
nothing), the report's exports, the desk form, and list pages with a bounded number of queries."""

from __future__ import annotations

import io
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from filial.conftest import Net
from filial.paid import services
from filial.paid.models import Customer, Order, ShortLink
from filial.paid.services import CustomerData, OrderData
from filial.paid.tests.support import PaidWorld, paid_world

HEAD = "Дата;Услуга;Количество;Сумма;Заказчик;Категория\n"


@pytest.fixture
def pw(net: Net) -> PaidWorld:
    return paid_world(net)


def _client(net: Net, who: str) -> Client:
    client = Client(headers={"accept-language": "ru"})
    client.force_login(net.users[who])
    return client


# --- /go/<code> ---------------------------------------------------------------------------------------------


def test_go_counts_and_redirects_to_the_stored_target(net: Net) -> None:
    link = services.link_create(actor=net.users["editor_branch4"], target="https://example.org/price",
                                channel=net.channels["branch4_ok"], code="print")
    anonymous = Client()
    for _ in range(3):
        response = anonymous.get("/go/print")
        assert response.status_code == 302 and response["Location"] == "https://example.org/price"
    link.refresh_from_db()
    assert link.visits == 3
    head = anonymous.head("/go/print")  # a link checker: answered, not counted
    assert head.status_code == 302 and head["Location"] == "https://example.org/price"
    assert anonymous.post("/go/print").status_code == 405
    link.refresh_from_db()
    assert link.visits == 3


@pytest.mark.parametrize("path", [
    "/go/nope", "/go/" + "a" * 33, "/go/ab", "/go/print?next=https://evil.example", "/go/..%2F..%2Fadmin",
    "/go/https:%2F%2Fevil.example",
])
def test_go_no_open_redirect(net: Net, path: str) -> None:
    services.link_create(actor=net.users["editor_branch4"], target="https://example.org/price",
                         channel=net.channels["branch4_ok"], code="print")
    response = Client().get(path)
    if path.startswith("/go/print?"):
        assert response["Location"] == "https://example.org/price"  # the query cannot change the target
    else:
        assert response.status_code == 404
    assert ShortLink.objects.get(code="print").visits == (1 if path.startswith("/go/print?") else 0)


def test_link_targets_are_web_addresses_only(net: Net) -> None:
    for target in ("javascript:alert(1)", "//evil.example", "ftp://x.example/a", "data:text/html,hi"):
        with pytest.raises(services.ValidationError):
            services.link_create(actor=net.users["editor_branch4"], target=target, channel=net.channels["branch4_ok"])
    assert not ShortLink.objects.exists()


# --- the journal's import ---------------------------------------------------------------------------------


def _upload(client: Client, net: Net, body: bytes, name: str = "journal.csv") -> Any:
    return client.post(reverse("paid:order_import"), {
        "unit": net.branch4.pk, "action": "check", "file": SimpleUploadedFile(name, body)})


def test_import_good_file_preview_then_commit(net: Net, pw: PaidWorld) -> None:
    client = _client(net, "editor_branch4")
    body = (HEAD + "03.03.2014;Печать А4;10;50;;Физическое лицо\n"
            "04.03.2014;печать а4;2;;МФЦ г. Медногорска;МФЦ\n"
            "05.03.2014;Печать А4;1;5,00;МФЦ г. Медногорска;mfc\n"
            "06.03.2014;Печать А4;3;15;СОШ № 7;Учреждение образования\n").encode("cp1251")
    before = Order.objects.count()
    response = _upload(client, net, body)
    assert response.status_code == 200
    assert Order.objects.count() == before  # a preview writes nothing
    token = response.context["token"]
    assert len(response.context["parsed"].rows) == 4 and not response.context["parsed"].errors
    response = client.post(reverse("paid:order_import"), {"unit": net.branch4.pk, "token": token, "action": "import"})
    assert response.status_code == 302
    new = Order.objects.filter(date__year=2014, date__month=3).order_by("date")
    assert [o.total for o in new] == [Decimal("50"), Decimal("10"), Decimal("5"), Decimal("15")]
    assert Customer.objects.filter(name="МФЦ г. Медногорска").count() == 1  # one organisation, two rows
    assert new[3].customer == pw.school
    assert new[0].customer.name == "" and new[0].customer.category.is_individual


def test_import_xlsx(net: Net, pw: PaidWorld) -> None:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.append(["Дата", "Услуга", "Количество", "Сумма", "Заказчик", "Категория"])
    sheet.append([date(2014, 5, 6), "Печать А4", 20, 100, "Совет депутатов г. Медногорска", "Совет депутатов"])
    out = io.BytesIO()
    book.save(out)
    response = _upload(_client(net, "editor_branch4"), net, out.getvalue(), "journal.xlsx")
    assert response.status_code == 200 and not response.context["parsed"].errors
    assert response.context["parsed"].rows[0].total == Decimal("100")


def test_import_bad_rows_change_nothing_and_say_what_to_do(net: Net, pw: PaidWorld) -> None:
    client = _client(net, "editor_branch4")
    body = (HEAD + "03.03.2014;Печать А4;10;50;;Физическое лицо\n"
            "31.02.2014;Печать А4;1;5;;Физическое лицо\n"
            "04.03.2014;Космическая печать;1;5;;Физическое лицо\n"
            "05.03.2014;Печать А4;много;5;;Физическое лицо\n"
            "06.03.2014;Печать А4;1;=HYPERLINK(\"x\");;Физическое лицо\n"
            "07.03.2014;Печать А4;1;5;;Марсиане\n"
            "08.03.2014;Печать А4;1;5;;Учреждение культуры\n").encode()
    before = (Order.objects.count(), Customer.objects.count())
    response = _upload(client, net, body)
    assert response.status_code == 200
    errors = response.context["parsed"].errors
    assert sorted((e["row"], e["field"]) for e in errors) == [
        (3, "date"), (4, "service"), (5, "quantity"), (6, "total"), (7, "category"), (8, "customer")]
    assert "token" not in response.context
    text = response.content.decode()
    assert "ничего не импортировано" in text.lower() or "nothing was imported" in text.lower()
    assert (Order.objects.count(), Customer.objects.count()) == before


@pytest.mark.parametrize("body, name", [
    (b"", "journal.csv"),
    (b"\xff\xfe" + "Дата".encode("utf-16-le"), "journal.csv"),
    (b"PK\x03\x04 not really a zip", "journal.xlsx"),
    (b"just text", "journal.pdf"),
    (("Когда;Что\n01.01.2014;печать\n").encode(), "journal.csv"),
])
def test_import_hostile_files_are_refused(net: Net, pw: PaidWorld, body: bytes, name: str) -> None:
    before = Order.objects.count()
    response = _upload(_client(net, "editor_branch4"), net, body, name)
    assert response.status_code == 200
    assert response.context["form"].errors  # the file's field (empty) or the form's top: what is wrong
    assert Order.objects.count() == before


def test_import_token_of_another_user_is_refused(net: Net, pw: PaidWorld) -> None:
    body = (HEAD + "03.03.2014;Печать А4;10;50;;Физическое лицо\n").encode()
    token = _upload(_client(net, "editor_branch4"), net, body).context["token"]
    other = _client(net, "admin")
    response = other.post(reverse("paid:order_import"), {"unit": net.branch4.pk, "token": token, "action": "import"})
    assert response.status_code == 200 and response.context["form"].non_field_errors()
    assert not Order.objects.filter(date=date(2014, 3, 3)).exists()


# --- the desk, lists, the report ---------------------------------------------------------------------------


def test_desk_form_records_an_anonymous_order_with_its_page(net: Net, pw: PaidWorld) -> None:
    client = _client(net, "editor_branch4")
    response = client.post(reverse("paid:order_new"), {
        "unit": net.branch4.pk, "service": pw.service.pk, "quantity": "12", "total": "",
        "category": pw.categories["individual"].pk, "date": "2014-04-01",
        "source_channel": net.channels["branch4_ok"].pk})
    assert response.status_code == 302
    order = Order.objects.get(date=date(2014, 4, 1))
    assert order.total == Decimal("60.00") and order.source_channel == net.channels["branch4_ok"]
    response = client.post(reverse("paid:order_new"), {
        "unit": net.branch4.pk, "service": pw.service.pk, "quantity": "1", "category": pw.categories["individual"].pk,
        "date": "2014-04-02", "name": "Иванова"})
    assert response.status_code == 200 and "consent" in response.context["form"].errors
    assert not Order.objects.filter(date=date(2014, 4, 2)).exists()


def _orders(net: Net, pw: PaidWorld, n: int) -> None:
    for i in range(n):
        services.order_create(actor=net.users["editor_branch4"], data=OrderData(
            unit=net.branch4, service=pw.service, date=date(2014, 1 + i % 12, 1), source_channel=net.channels[
                "branch4_ok"], new_customer=CustomerData(category=pw.categories["individual"])))


@pytest.mark.parametrize("name", ["paid:order_list", "paid:customer_list", "paid:report", "paid:attribution"])
def test_lists_have_a_bounded_number_of_queries(net: Net, pw: PaidWorld, name: str) -> None:
    client = _client(net, "methodologist")
    _orders(net, pw, 3)
    client.get(reverse(name))  # warm the session and the access cache
    with CaptureQueriesContext(connection) as few:
        assert client.get(reverse(name)).status_code == 200
    _orders(net, pw, 20)
    with CaptureQueriesContext(connection) as many:
        assert client.get(reverse(name)).status_code == 200
    assert len(many) == len(few), [q["sql"] for q in many.captured_queries]


def test_report_exports(net: Net, pw: PaidWorld) -> None:
    client = _client(net, "methodologist")
    _orders(net, pw, 5)
    response = client.get(reverse("paid:report"), {"start": "2014-01-01", "end": "2014-12-31", "format": "csv"})
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    text = response.content.decode("utf-8-sig")
    assert "Физическое лицо;5;5;25,00" in text
    assert "Библиотека-филиал № 4;5;5;25,00" in text
    response = client.get(reverse("paid:report"), {"start": "2014-01-01", "end": "2014-12-31", "format": "xlsx"})
    from openpyxl import load_workbook

    sheet = load_workbook(io.BytesIO(response.content)).active
    values = [[c.value for c in row] for row in sheet.iter_rows()]
    assert ["Физическое лицо", 5, 5, 25.0] in values
