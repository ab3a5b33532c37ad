"""The Koha adapter and its httpx client against the Koha REST API emulator served on loopback."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from typing import Any

import httpx
import pytest

from emulators.base import ServedEmulator
from emulators.circulation.koha import KohaEmulator
from filial.circulation.adapters.base import AdapterError, UnknownReader
from filial.circulation.adapters.koha import KohaAdapter, koha_date, reason_code
from filial.networks.tests.helpers import served

TODAY = date(2026, 3, 10)
CLIENT = {"client_id": "filial-sync", "client_secret": "k0ha-s3cret"}


@pytest.fixture
def koha() -> Iterator[tuple[KohaEmulator, ServedEmulator, dict[str, Any]]]:
    app = KohaEmulator(today=TODAY, fault_delay=2.0)
    ids = app.seed(
        clients={CLIENT["client_id"]: CLIENT["client_secret"]}, users={"librarian": "pa55"},
        patrons=[
            {"cardnumber": "12", "surname": "Иванова", "firstname": "Анна", "checkouts": [
                {"barcode": "K-1", "title": "Сказки", "author": "Пушкин, А. С.", "due": "2026-03-12",
                 "issued": "2026-02-26"},
                {"barcode": "K-2", "title": "Война и мир", "author": "Толстой, Л. Н.", "due": "2026-03-01",
                 "holds": 1},
                {"barcode": "K-3", "title": "Рассказы", "author": "Чехов, А. П.", "due": "2026-03-20",
                 "renewals": 2},
            ]},
            {"cardnumber": "123", "surname": "Ёлкин", "firstname": "Пётр", "restricted": True, "checkouts": [
                {"barcode": "K-4", "title": "Мёртвые души", "author": "Гоголь, Н. В.", "due": "2026-03-15"},
            ]},
            {"cardnumber": "777", "surname": "Many", "checkouts": [
                {"barcode": f"M-{n}", "title": f"Book {n}", "due": "2026-04-01"} for n in range(1, 6)
            ]},
        ],
    )
    with served(app) as server:
        yield app, server, ids


def adapter_for(server: ServedEmulator, **extra: Any) -> KohaAdapter:
    return KohaAdapter({"base_url": server.url, **CLIENT, "timeout": 5, **extra})


def operations(app: KohaEmulator) -> list[str]:
    return [r["operation"] for r in app.requests]


def test_token_flow_and_reader(koha: tuple[KohaEmulator, ServedEmulator, dict[str, Any]]) -> None:
    app, server, ids = koha
    adapter = adapter_for(server)
    record = adapter.reader("12")
    again = adapter.reader("12")
    adapter.close()
    assert record == again
    assert record.card == "12" and record.name == "Анна Иванова" and record.blocked_reason == ""
    first = record.loans[0]
    assert (first.barcode, first.title, first.issued, first.due, first.renewals) == (
        "K-1", "Пушкин, А. С., Сказки", date(2026, 2, 26), date(2026, 3, 12), 0)
    assert first.external_id == str(ids["12"]["checkouts"]["K-1"]) and first.due_raw == "2026-03-12T23:59:00+03:00"
    assert [loan.barcode for loan in record.loans] == ["K-1", "K-2", "K-3"]
    assert adapter.client.tokens_fetched == 1  # cached between calls
    assert operations(app).count("token") == 1
    assert all(r["authorization"] == "Bearer" for r in app.requests if r["operation"] != "token")
    token_request = app.requests[0]
    assert token_request["form"] == {"grant_type": "client_credentials", **CLIENT}


def test_token_is_fetched_again_before_it_expires(koha: tuple[KohaEmulator, ServedEmulator, dict[str, Any]]) -> None:
    app, server, _ = koha
    adapter = adapter_for(server)
    now = [1000.0]
    adapter.client.clock = lambda: now[0]
    adapter.reader("12")
    now[0] += 3600 - 31  # still valid
    adapter.reader("12")
    assert adapter.client.tokens_fetched == 1
    now[0] += 2  # within the margin before expiry: a new token first, no 401 on the way
    adapter.reader("12")
    adapter.close()
    assert adapter.client.tokens_fetched == 2
    assert operations(app).count("token") == 2


def test_expired_token_401_is_retried_once_with_a_new_token(
        koha: tuple[KohaEmulator, ServedEmulator, dict[str, Any]]) -> None:
    app, server, _ = koha
    adapter = adapter_for(server)
    adapter.reader("12")
    before = len(app.requests)
    app.add_fault("listPatrons", "expire_token")  # Koha forgets the token earlier than it said
    assert adapter.reader("12").name == "Анна Иванова"
    adapter.close()
    assert adapter.client.tokens_fetched == 2
    assert operations(app)[before:] == ["listPatrons", "token", "listPatrons", "listCheckouts"]


def test_401_twice_is_a_permanent_auth_error(koha: tuple[KohaEmulator, ServedEmulator, dict[str, Any]],
                                            caplog: pytest.LogCaptureFixture) -> None:
    app, server, _ = koha
    app.add_fault("listPatrons", "revoke_token", times=2)
    adapter = adapter_for(server)
    with pytest.raises(AdapterError) as caught:
        adapter.reader("12")
    adapter.close()
    assert caught.value.permanent and caught.value.code == "auth"
    assert "Authentication failure." not in str(caught.value)  # Koha's words: only in the log
    assert "Authentication failure." in caplog.text
    assert operations(app) == ["token", "listPatrons", "token", "listPatrons"]


def test_wrong_client_secret(koha: tuple[KohaEmulator, ServedEmulator, dict[str, Any]],
                             caplog: pytest.LogCaptureFixture) -> None:
    _, server, _ = koha
    adapter = adapter_for(server, client_secret="nope")
    with pytest.raises(AdapterError) as caught:
        adapter.reader("12")
    adapter.close()
    assert caught.value.permanent and caught.value.code == "auth" and "unauthorized_client" in caplog.text


def test_basic_auth(koha: tuple[KohaEmulator, ServedEmulator, dict[str, Any]]) -> None:
    app, server, _ = koha
    adapter = KohaAdapter({"base_url": server.url + "/api/v1/", "user": "librarian", "password": "pa55"})
    assert adapter.reader("123").name == "Пётр Ёлкин"
    adapter.close()
    assert "token" not in operations(app) and {r["authorization"] for r in app.requests} == {"Basic"}
    wrong = KohaAdapter({"base_url": server.url, "user": "librarian", "password": "bad"})
    with pytest.raises(AdapterError) as caught:
        wrong.reader("123")
    wrong.close()
    assert caught.value.permanent and caught.value.code == "auth"


def test_pagination_reads_every_page(koha: tuple[KohaEmulator, ServedEmulator, dict[str, Any]]) -> None:
    app, server, _ = koha
    adapter = adapter_for(server, page_size=2)
    record = adapter.reader("777")
    adapter.close()
    assert [loan.barcode for loan in record.loans] == ["M-1", "M-2", "M-3", "M-4", "M-5"]
    pages = [(r["query"]["_page"], r["query"]["_per_page"]) for r in app.requests
             if r["operation"] == "listCheckouts"]
    assert pages == [("1", "2"), ("2", "2"), ("3", "2")]
    item_calls = [json.loads(r["query"]["q"])["item_id"] for r in app.requests if r["operation"] == "listItems"]
    assert item_calls == [[5, 6], [7, 8], [9]]  # batched, with the record embedded


def test_exact_card_match(koha: tuple[KohaEmulator, ServedEmulator, dict[str, Any]]) -> None:
    _, server, _ = koha
    token = httpx.post(server.url + "/api/v1/oauth/token", data={"grant_type": "client_credentials", **CLIENT})
    headers = {"Authorization": "Bearer " + token.json()["access_token"]}
    loose = httpx.get(server.url + "/api/v1/patrons", params={"cardnumber": "12"}, headers=headers)
    assert [p["cardnumber"] for p in loose.json()] == ["12", "123"]  # Koha's default _match is "contains"
    adapter = adapter_for(server)
    assert adapter.reader("12").name == "Анна Иванова"
    assert adapter.reader("123").name == "Пётр Ёлкин"
    adapter.close()


def test_unknown_patron(koha: tuple[KohaEmulator, ServedEmulator, dict[str, Any]]) -> None:
    _, server, _ = koha
    adapter = adapter_for(server)
    with pytest.raises(UnknownReader):
        adapter.reader("1")
    with pytest.raises(UnknownReader):
        adapter.renew("999", "K-1")
    adapter.close()


def test_renewal_granted(koha: tuple[KohaEmulator, ServedEmulator, dict[str, Any]]) -> None:
    app, server, ids = koha
    adapter = adapter_for(server)
    result = adapter.renew("12", "K-1")
    adapter.close()
    assert result.renewed and result.due == date(2026, 3, 26) and result.due_raw.startswith("2026-03-26T23:59")
    checkout = app.state["checkouts"][str(ids["12"]["checkouts"]["K-1"])]
    assert checkout["renewals_count"] == 1 and checkout["due"] == "2026-03-26"
    assert operations(app)[-2:] == ["allows_renewalCheckout", "renewCheckout"]


@pytest.mark.parametrize(("card", "barcode", "rules", "code", "reason"), [
    ("12", "K-2", {}, "reserved", "on_reserve"),
    ("12", "K-3", {}, "too_many", "too_many"),
    ("123", "K-4", {}, "overdue_blocked", "restriction"),
    ("12", "K-1", {"OverduesBlockRenewing": "block"}, "overdue_blocked", "overdue"),
    ("12", "K-4", {}, "not_on_loan", "no_checkout"),
])
def test_renewal_refused_with_the_reason(koha: tuple[KohaEmulator, ServedEmulator, dict[str, Any]], card: str,
                                         barcode: str, rules: dict[str, Any], code: str, reason: str) -> None:
    app, server, _ = koha
    app.seed(rules=rules)
    adapter = adapter_for(server)
    result = adapter.renew(card, barcode)
    adapter.close()
    assert (result.renewed, result.reason_code, result.reason, result.due) == (False, code, reason, None)
    assert "renewCheckout" not in operations(app)  # allows_renewal said no: nothing was attempted


def test_renew_all_mixed(koha: tuple[KohaEmulator, ServedEmulator, dict[str, Any]]) -> None:
    _, server, _ = koha
    adapter = adapter_for(server)
    results = {r.barcode: r for r in adapter.renew_all("12")}
    adapter.close()
    assert results["K-1"].renewed and results["K-1"].due == date(2026, 3, 26)
    assert (results["K-2"].renewed, results["K-2"].reason_code) == (False, "reserved")
    assert (results["K-3"].renewed, results["K-3"].reason_code) == (False, "too_many")


def test_renewal_refused_by_the_post_itself(koha: tuple[KohaEmulator, ServedEmulator, dict[str, Any]],
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    # a hold placed between allows_renewal and the renewal: Koha answers 403 "Renewal not authorized (on_reserve)"
    app, server, _ = koha
    adapter = adapter_for(server)
    original = adapter.client.call

    def call(method: str, path: str, **kwargs: Any) -> httpx.Response:
        if method == "POST":
            app.simulate("place_hold", {"barcode": "K-1"})
        return original(method, path, **kwargs)

    monkeypatch.setattr(adapter.client, "call", call)
    result = adapter.renew("12", "K-1")
    adapter.close()
    # Koha's code is kept, its free text ("Renewal not authorized (on_reserve)") is not passed on
    assert (result.renewed, result.reason_code, result.reason) == (False, "reserved", "on_reserve")


def test_server_error_and_timeout_are_transient(koha: tuple[KohaEmulator, ServedEmulator, dict[str, Any]]) -> None:
    app, server, _ = koha
    app.add_fault("listCheckouts", "http_500")
    adapter = adapter_for(server, timeout=0.5)
    with pytest.raises(AdapterError) as caught:
        adapter.reader("12")
    assert not caught.value.permanent and caught.value.code == "http_500"
    app.add_fault("listPatrons", "timeout_before")
    with pytest.raises(AdapterError) as caught:
        adapter.reader("12")
    assert not caught.value.permanent and caught.value.code == "timeout"
    assert adapter.reader("12").name == "Анна Иванова"
    adapter.close()


def test_unreachable_koha() -> None:
    adapter = KohaAdapter({"base_url": "http://127.0.0.1:9", **CLIENT, "timeout": 1})
    with pytest.raises(AdapterError) as caught:
        adapter.reader("12")
    adapter.close()
    assert caught.value.code == "connect" and not caught.value.permanent


def test_settings_are_checked() -> None:
    with pytest.raises(AdapterError):
        KohaAdapter({"client_id": "x", "client_secret": "y"})
    with pytest.raises(AdapterError):
        KohaAdapter({"base_url": "http://koha", "client_id": "x"})


def test_helpers() -> None:
    assert reason_code("Renewal not authorized (on_reserve)") == "reserved"
    assert reason_code("too_unseen") == "too_many"
    assert reason_code("auto_too_much_oweing") == "overdue_blocked"
    assert reason_code("too_soon") == "unknown"
    assert koha_date("2026-03-12T23:59:00+03:00") == date(2026, 3, 12)
    assert koha_date("2026-03-12T20:59:00Z") == date(2026, 3, 12)
    assert koha_date("2026-03-12") == date(2026, 3, 12)
    assert koha_date("soon") is None and koha_date(None) is None
