"""When the library system refuses a SIP2 message, does not answer, or cannot be reached, Filial says so: on the
unit's link (what went wrong and when) and on the renewal waiting for a librarian. The precise kind is for the
library system's administrators; anyone else reads one sentence that does not tell "refused" from "no answer"."""

from __future__ import annotations

import re
import socket
from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest
from django.test import Client
from rest_framework.test import APIClient

from emulators.circulation.sip2 import Sip2Emulator
from filial.circulation import services
from filial.circulation.models import CirculationLink, Loan, Reader, Renewal
from filial.circulation.tests.test_sip2_adapter import TODAY, library
from filial.conftest import Net

GENERIC = "could not be reached or refused the request"
PRECISE = ("refused the request:", "did not answer in time", "Cannot connect", "closed the connection", "within",
           "Errno", "renewal (29)")


@pytest.fixture
def acs() -> Iterator[Sip2Emulator]:
    with Sip2Emulator(library(), encoding="cp1251", today=lambda: TODAY) as emulator:
        yield emulator


def link(net: Net, host: str, port: int, **extra: Any) -> None:
    services.link_set(actor=net.users["admin"], unit=net.children, data={
        "adapter": "sip2", "host": host, "port": port, "login": "sc-filial", "password": "s3cret",
        "location": "MAIN", "institution": "FILIAL", "encoding": "cp1251"})
    if extra:  # the read timeout is not a field of the link form: set it as a deployment would
        stored = CirculationLink.objects.get(unit=net.children)
        stored.set_settings({**stored.settings, **extra})
        stored.save(update_fields=["settings_encrypted"])


def loan(net: Net, barcode: str = "B-1") -> Loan:
    reader, _created = Reader.objects.get_or_create(system=net.system, unit=net.children, card="1001",
                                                    defaults={"name": "Иванова Анна Сергеевна"})
    return Loan.objects.create(reader=reader, unit=net.children, barcode=barcode, title="Пушкин А. С. Сказки",
                               issued=date(2026, 2, 1), due=date(2026, 3, 12))


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_a_renewal_message_the_acs_closes_on_is_recorded_as_refused(net: Net, acs: Sip2Emulator) -> None:
    link(net, acs.host, acs.port)
    acs.add_fault("drop", code="29")  # what a strict ACS does with a message it refuses
    renewal = services.loan_renew(loan(net), source=Renewal.Channel.READER)
    assert renewal.state == Renewal.State.QUEUED and renewal.reason_code == "unavailable"
    assert GENERIC in renewal.reason and "did not answer" not in renewal.reason
    assert renewal.error_kind == "refused" and "renewal (29)" in renewal.error_detail
    state = CirculationLink.objects.get(unit=net.children)
    assert state.last_error_kind == "refused" and state.last_error_at is not None
    assert "closed the connection on the renewal (29) message" in state.last_error


def test_no_answer_is_recorded_as_a_timeout(net: Net, acs: Sip2Emulator) -> None:
    link(net, acs.host, acs.port, timeout=0.4)
    acs.add_fault("silence", code="29")
    renewal = services.loan_renew(loan(net), source=Renewal.Channel.READER)
    assert renewal.state == Renewal.State.QUEUED and renewal.error_kind == "timeout"
    assert "did not answer the renewal (29) message within 0.4 s" in renewal.error_detail
    state = CirculationLink.objects.get(unit=net.children)
    assert state.last_error_kind == "timeout" and "within 0.4 s" in state.last_error


def test_connection_refused_is_recorded_as_unreachable(net: Net) -> None:
    link(net, "127.0.0.1", closed_port(), timeout=2)
    renewal = services.loan_renew(loan(net), source=Renewal.Channel.READER)
    assert renewal.state == Renewal.State.QUEUED and renewal.error_kind == "unreachable"
    assert CirculationLink.objects.get(unit=net.children).last_error_kind == "unreachable"


def test_a_failed_sync_records_the_kind_and_a_good_one_clears_it(net: Net, acs: Sip2Emulator) -> None:
    link(net, "127.0.0.1", closed_port(), timeout=2)
    loan(net)
    services.circulation_sync(net.children)
    state = CirculationLink.objects.get(unit=net.children)
    assert state.sync_state == "failed" and state.last_error_kind == "unreachable" and state.last_error_at
    link(net, acs.host, acs.port)  # a new address: the old error goes with the old settings
    state.refresh_from_db()
    assert state.last_error_kind == "" and state.last_error_at is None
    services.circulation_sync(net.children)
    state.refresh_from_db()
    assert state.sync_state == "ok" and state.last_error == "" and state.last_error_kind == ""


def reason_on(page: str, renewal: Renewal) -> str:
    """The text of a renewal's line in the librarians' queue."""
    match = re.search(rf'id="req-{renewal.pk}".*?<p class="small muted">(.*?)</p>', page, re.S)
    assert match is not None
    return match.group(1)


def queue_for(user: Any) -> str:
    client = Client()
    client.force_login(user)
    response = client.get("/circulation/renewals/")
    assert response.status_code == 200
    return response.content.decode()


def test_a_librarian_cannot_tell_refused_from_no_answer_an_administrator_can(net: Net,
                                                                            acs: Sip2Emulator) -> None:
    link(net, acs.host, acs.port, timeout=0.4)
    acs.add_fault("drop", code="29")
    refused = services.loan_renew(loan(net, "B-1"), source=Renewal.Channel.READER)
    acs.add_fault("silence", code="29")
    silent = services.loan_renew(loan(net, "B-3"), source=Renewal.Channel.READER)
    assert (refused.error_kind, silent.error_kind) == ("refused", "timeout")

    librarian = queue_for(net.users["editor_children"])
    seen = [reason_on(librarian, refused).split(" · ")[-1], reason_on(librarian, silent).split(" · ")[-1]]
    assert seen[0] == seen[1] and GENERIC in seen[0]
    assert not any(word in librarian for word in PRECISE)

    admin = queue_for(net.users["admin"])
    assert "refused the request:" in reason_on(admin, refused) and "renewal (29)" in reason_on(admin, refused)
    assert "did not answer in time" in reason_on(admin, silent) and "within 0.4 s" in reason_on(admin, silent)


def test_the_link_state_on_the_unit_page_and_in_the_api(net: Net, acs: Sip2Emulator) -> None:
    link(net, acs.host, acs.port)
    acs.add_fault("drop", code="29")
    services.loan_renew(loan(net), source=Renewal.Channel.READER)
    pages = {}
    for role in ("editor_children", "admin"):
        client = Client()
        client.force_login(net.users[role])
        pages[role] = client.get(f"/circulation/unit/{net.children.pk}/").content.decode()
    assert GENERIC in pages["editor_children"] and not any(w in pages["editor_children"] for w in PRECISE)
    assert "refused the request:" in pages["admin"] and "renewal (29)" in pages["admin"]

    api = APIClient()
    api.force_authenticate(net.users["editor_children"])
    shown = api.get(f"/api/v1/units/{net.children.pk}/").json()["circulation"]
    assert GENERIC in shown["last_error"] and "last_error_kind" not in shown and shown["last_error_at"]
    api.force_authenticate(net.users["admin"])
    shown = api.get(f"/api/v1/units/{net.children.pk}/").json()["circulation"]
    assert shown["last_error_kind"] == "refused" and "renewal (29)" in shown["last_error"]


def test_the_api_renewal_answer(net: Net, acs: Sip2Emulator) -> None:
    link(net, acs.host, acs.port)
    api = APIClient()
    answers = {}
    for role, barcode in (("editor_children", "B-1"), ("admin", "B-3")):
        acs.add_fault("drop", code="29")
        api.force_authenticate(net.users[role])
        answers[role] = api.post(f"/api/v1/loans/{loan(net, barcode).pk}/renew/").json()
    assert answers["editor_children"]["queued"] is True and GENERIC in answers["editor_children"]["reason"]
    assert "error_kind" not in answers["editor_children"] and "error" not in answers["editor_children"]
    assert answers["admin"]["error_kind"] == "refused" and "renewal (29)" in answers["admin"]["error"]
