from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from filial.accounts.models import AuditEntry
from filial.accounts.selectors import access_for
from filial.circulation import services
from filial.circulation.adapters import registry
from filial.circulation.adapters.base import ReaderRecord
from filial.circulation.models import CirculationLink, Loan, Reader, Renewal
from filial.circulation.selectors import link_error
from filial.circulation.tests import fakes
from filial.conftest import Net

SIP2 = {"adapter": "sip2", "host": "127.0.0.1", "port": 6001, "login": "filial", "password": "s3cret",
        "location": "DET", "institution": "MED", "encoding": "cp1251"}


@pytest.fixture
def online(net: Net, monkeypatch: pytest.MonkeyPatch) -> Net:
    monkeypatch.setitem(registry.ADAPTERS, "sip2", "filial.circulation.tests.fakes.FakeOnlineAdapter")
    fakes.reset()
    services.link_set(actor=net.users["admin"], unit=net.children, data=SIP2)
    return net


def make_loan(net: Net, unit: Any = None, card: str = "1001", barcode: str = "B1", days_overdue: int = 3) -> Loan:
    unit = unit or net.children
    reader, _ = Reader.objects.get_or_create(system=net.system, card=card, defaults={"unit": unit, "name": "Аня"})
    today = date.today()
    return Loan.objects.create(reader=reader, unit=unit, barcode=barcode, title="Сказки",
                               issued=today - timedelta(days=30), due=today - timedelta(days=days_overdue))


def test_link_secrets_are_encrypted_and_kept(online: Net) -> None:
    link = CirculationLink.objects.get(unit=online.children)
    assert "s3cret" not in link.settings_encrypted and link.settings["password"] == "s3cret"
    services.link_set(actor=online.users["admin"], unit=online.children, data={**SIP2, "password": "",
                                                                             "location": "DET2"})
    link.refresh_from_db()
    assert link.settings["password"] == "s3cret" and link.settings["location"] == "DET2"
    # another server: the stored password does not follow (tests/test_link_egress.py)
    with pytest.raises(ValidationError):
        services.link_set(actor=online.users["admin"], unit=online.children, data={**SIP2, "password": "",
                                                                                 "port": 6002})
    entry = AuditEntry.objects.filter(action="circulation.link").last()
    assert entry is not None and "s3cret" not in str(entry.changes)


def test_link_validation(net: Net) -> None:
    admin = net.users["admin"]
    with pytest.raises(ValidationError) as err:
        services.link_set(actor=admin, unit=net.children, data={"adapter": "sip2", "host": "", "port": 70000})
    assert {"host", "port", "login", "password"} <= set(err.value.message_dict)
    with pytest.raises(ValidationError):
        services.link_set(actor=admin, unit=net.children, data={"adapter": "koha", "base_url": "ftp://x"})
    with pytest.raises(ValidationError):
        services.link_set(actor=admin, unit=net.children, data={"adapter": "aleph"})
    with pytest.raises(PermissionDenied):
        services.link_set(actor=net.users["editor_children"], unit=net.children, data={"adapter": "file"})


def test_online_renewal_granted(online: Net) -> None:
    loan = make_loan(online)
    renewal = services.loan_renew(loan, source=Renewal.Channel.UI, actor=online.users["editor_children"])
    assert renewal.state == Renewal.State.GRANTED and renewal.new_due == date(2030, 1, 31)
    loan.refresh_from_db()
    assert loan.due == date(2030, 1, 31) and loan.renewals == 1
    assert fakes.STATE["closed"] == 1
    actions = list(AuditEntry.objects.filter(object_id=str(renewal.pk), action__startswith="circulation.renewal")
                   .values_list("action", flat=True))
    assert sorted(actions) == ["circulation.renewal.grant", "circulation.renewal.request"]


def test_online_renewal_refused(online: Net) -> None:
    loan = make_loan(online)
    fakes.STATE["refuse"].add("B1")
    due = loan.due
    renewal = services.loan_renew(loan, source=Renewal.Channel.READER)
    assert renewal.state == Renewal.State.REFUSED and renewal.reason_code == "reserved"
    assert "reserved" in renewal.reason
    loan.refresh_from_db()
    assert loan.due == due and loan.renewals == 0


def test_unreachable_system_queues_for_a_librarian(online: Net) -> None:
    fakes.STATE["down"] = True
    renewal = services.loan_renew(make_loan(online), source=Renewal.Channel.READER)
    assert renewal.state == Renewal.State.QUEUED and renewal.reason_code == "unavailable"


def test_offline_queue_and_librarian_decisions(net: Net) -> None:
    librarian = net.users["editor_children"]
    loan = make_loan(net)
    renewal = services.loan_renew(loan, source=Renewal.Channel.READER)
    assert renewal.state == Renewal.State.QUEUED
    with pytest.raises(ValidationError):
        services.renewal_decide(actor=librarian, renewal=renewal, grant=True, new_due=loan.due)
    with pytest.raises(PermissionDenied):
        services.renewal_decide(actor=net.users["editor_branch4"], renewal=renewal, grant=True,
                                new_due=date.today() + timedelta(days=14))
    new_due = date.today() + timedelta(days=14)
    decided = services.renewal_decide(actor=librarian, renewal=renewal, grant=True, new_due=new_due)
    assert decided.state == Renewal.State.GRANTED and decided.decided_by == librarian
    loan.refresh_from_db()
    assert loan.due == new_due and loan.renewals == 1
    with pytest.raises(ValidationError):
        services.renewal_decide(actor=librarian, renewal=decided, grant=False, reason="late")
    second = services.loan_renew(loan, source=Renewal.Channel.READER)
    with pytest.raises(ValidationError):
        services.renewal_decide(actor=librarian, renewal=second, grant=False, reason=" ")
    refused = services.renewal_decide(actor=librarian, renewal=second, grant=False, reason="Книгу ждут")
    assert refused.state == Renewal.State.REFUSED and refused.reason == "Книгу ждут"
    assert AuditEntry.objects.filter(action="circulation.renewal.refuse", actor=librarian).exists()


def test_renewal_is_only_for_staff_of_the_unit(net: Net) -> None:
    loan = make_loan(net)
    for who in ("editor_branch4", "viewer", "outsider"):
        with pytest.raises(PermissionDenied):
            services.loan_renew(loan, source=Renewal.Channel.UI, actor=net.users[who])
    loan.returned = date.today()
    loan.save()
    with pytest.raises(ValidationError):
        services.loan_renew(loan, source=Renewal.Channel.UI)


def test_online_sync_pulls_loans_of_known_readers(online: Net) -> None:
    unit = online.children
    stale = make_loan(online, card="1001", barcode="OLD")
    stale.source = "sip2"
    stale.save()
    Reader.objects.create(system=online.system, unit=unit, card="1002")
    Reader.objects.create(system=online.system, unit=unit, card="9999")  # unknown to the library system
    fakes.STATE["readers"] = {"1001": ReaderRecord("1001", "Анна Иванова", fakes.loans("A", "B")),
                              "1002": ReaderRecord("1002", "", fakes.loans("C"))}
    counts = services.circulation_sync(unit)
    assert counts["readers"] == 2 and counts["loans"] == 3 and counts["unknown"] == 1 and counts["returned"] == 1
    assert Reader.objects.get(card="1001").name == "Анна Иванова"
    assert Loan.objects.filter(returned__isnull=True, source="sip2").count() == 3
    services.circulation_sync(unit)
    assert Loan.objects.filter(source="sip2").count() == 4  # no duplicates on a second pull
    link = CirculationLink.objects.get(unit=unit)
    assert link.sync_state == CirculationLink.SyncState.OK and link.last_sync_at is not None
    fakes.STATE["down"] = True
    services.circulation_sync(unit)
    link.refresh_from_db()
    assert link.sync_state == CirculationLink.SyncState.FAILED
    # Staff are told refused and unanswered alike; the system's administrators see the kind.
    seen = link_error(link, access_for(online.users["editor_children"]))["last_error"]
    assert "could not be reached" in seen and "Details" not in seen
    assert link_error(link, access_for(online.users["admin"]))["last_error_kind"] == "unreachable"
