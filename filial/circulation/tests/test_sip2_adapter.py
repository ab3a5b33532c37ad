"""The SIP2 client and adapter against the ACS emulator over real TCP on loopback."""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest

from emulators.circulation.sip2 import Sip2Emulator
from filial.circulation.adapters.base import AdapterError, UnknownReader
from filial.circulation.adapters.sip2 import Sip2Adapter, item_id, reason_code
from filial.circulation.sip2 import protocol as p
from filial.circulation.sip2.client import Sip2Client, Sip2Error
from filial.circulation.tests.test_sip2_protocol import GOSSIP_ITEM, GOSSIP_LOGIN, GOSSIP_PATRON, WOHLERS_RENEW_REFUSED

TODAY = date(2026, 3, 10)


def library(**rules: Any) -> dict[str, Any]:
    return {
        "accounts": {"sc-filial": "s3cret"},
        "readers": {
            "1001": {"name": "Иванова Анна Сергеевна", "pin": "1234"},
            "1002": {"name": "Пётр Ёлкин", "blocked": "долг 500 руб."},
            "1003": {"name": "Reader Without Loans"},
        },
        "items": {
            "B-1": {"title": "Пушкин А. С. Сказки", "holder": "1001", "due": "2026-03-12"},
            "B-2": {"title": "Толстой Л. Н. Война и мир", "holder": "1001", "due": "2026-03-01", "holds": 2},
            "B-3": {"title": "Чехов А. П. Рассказы", "holder": "1001", "due": "2026-03-20", "renewals": 2},
            "B-4": {"title": "Гоголь Н. В. Мёртвые души", "holder": "1001", "due": "2026-01-10"},
            "B-5": {"title": "Лермонтов М. Ю. Герой нашего времени", "holder": "1002", "due": "2026-03-15"},
            "B-6": {"title": "Free on the shelf"},
        },
        "rules": {"max_renewals": 2, "renewal_days": 14, "block_overdue_days": 30, **rules},
    }


@pytest.fixture
def acs() -> Iterator[Sip2Emulator]:
    with Sip2Emulator(library(), encoding="cp1251", today=lambda: TODAY) as emulator:
        yield emulator


def settings_for(emulator: Sip2Emulator, **extra: Any) -> dict[str, Any]:
    return {"host": emulator.host, "port": emulator.port, "login": "sc-filial", "password": "s3cret",
            "location": "MAIN", "institution": "FILIAL", "encoding": emulator.encoding, "timeout": 5, **extra}


def client_for(emulator: Sip2Emulator, **extra: Any) -> Sip2Client:
    return Sip2Client(emulator.host, emulator.port, login="sc-filial", password="s3cret", location="MAIN",
                      institution="FILIAL", encoding=emulator.encoding, **{"timeout": 5, **extra})


def test_every_message_pair_through_the_client(acs: Sip2Emulator) -> None:
    with client_for(acs) as client:
        status = client.sc_status()  # logs in first (93/94)
        assert status.code == "98" and status.fixed["protocol_version"] == "2.00" and status.flag("online")
        charged = client.patron_information("1001", "charged", pin="1234")
        assert charged.code == "64" and charged.get("BL") == "Y" and charged.get("CQ") == "Y"
        assert charged.get("AE") == "Иванова Анна Сергеевна"
        assert charged.get_all("AU") == ["B-1", "B-2", "B-3", "B-4"] and charged.count("charged_count") == 4
        assert charged.get_all("AT") == []
        overdue = client.patron_information("1001", "overdue")
        assert overdue.get_all("AT") == ["B-2", "B-4"] and overdue.count("overdue_count") == 2
        assert overdue.get_all("AU") == []
        page = client.patron_information("1001", "charged", start=2, end=3)
        assert page.get_all("AU") == ["B-2", "B-3"]
        item = client.item_information("B-1")
        assert item.code == "18" and item.fixed["circulation_status"] == "04"
        assert item.get("AJ") == "Пушкин А. С. Сказки" and p.parse_due(item.get("AH")) == date(2026, 3, 12)
        renew = client.renew("1001", "B-1")
        assert renew.code == "30" and renew.flag("ok") and renew.fixed["renewal_ok"] == "Y"
        assert p.parse_due(renew.get("AH")) == date(2026, 3, 26)
        renew_all = client.renew_all("1001")
        assert renew_all.code == "66" and renew_all.get_all("BM") == ["B-1"]
        assert renew_all.get_all("BN") == ["B-2", "B-3", "B-4"]
        assert renew_all.count("renewed_count") == 1 and renew_all.count("unrenewed_count") == 3
        end = client.end_session("1001")
        assert end.code == "36" and end.flag("end_session")
    requests = [p.decode(raw.encode("cp1251"), encoding="cp1251") for raw in acs.received]
    assert [r.code for r in requests] == ["93", "99", "63", "63", "63", "17", "29", "65", "35"]
    assert all(r.checksum_ok for r in requests)
    assert [r.sequence for r in requests] == [0, 1, 2, 3, 4, 5, 6, 7, 8]
    assert requests[0].get("CN") == "sc-filial" and requests[0].get("CP") == "MAIN"
    assert requests[2].fixed["summary"] == "  Y       " and requests[3].fixed["summary"] == " Y        "


def test_sequence_numbers_wrap_after_nine(acs: Sip2Emulator) -> None:
    with client_for(acs) as client:
        for _ in range(12):
            client.sc_status()
    sequences = [p.decode(raw.encode()).sequence for raw in acs.received]
    assert sequences == [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1, 2]


@pytest.mark.parametrize(("encoding", "name", "title"), [
    ("utf-8", "Иванова Анна Сергеевна", "Пушкин А. С. Сказки"),
    ("cp1251", "Иванова Анна Сергеевна", "Пушкин А. С. Сказки"),
    ("cp850", "Müller, Jürgen", "Goethe: Faust. Der Tragödie erster Teil"),
])
def test_encodings(encoding: str, name: str, title: str) -> None:
    data = {"readers": {"7": {"name": name}}, "items": {"X": {"title": title, "holder": "7", "due": "2026-04-01"}}}
    with Sip2Emulator(data, encoding=encoding, today=lambda: TODAY) as emulator:
        adapter = Sip2Adapter({"host": emulator.host, "port": emulator.port, "encoding": encoding})
        record = adapter.reader("7")
        adapter.close()
    assert record.name == name and record.loans[0].title == title and record.loans[0].due == date(2026, 4, 1)


def test_cyrillic_in_cp850_is_a_clear_error_not_a_crash() -> None:
    with Sip2Emulator({"readers": {"7": {"name": "Анна"}}}, encoding="cp850") as emulator:
        adapter = Sip2Adapter({"host": emulator.host, "port": emulator.port, "encoding": "cp850"})
        assert adapter.reader("7").name == "????"  # the ACS cannot write Cyrillic in cp850 either
        with pytest.raises(AdapterError) as caught:
            adapter.reader("карта")
        adapter.close()
    assert caught.value.permanent and caught.value.code == "encoding"


def test_unsupported_encoding_is_refused() -> None:
    with pytest.raises(Sip2Error):
        Sip2Client("127.0.0.1", 1, encoding="koi8-r")


def test_wrong_checksum_is_asked_again_then_accepted(acs: Sip2Emulator) -> None:
    acs.add_fault("bad_checksum", code="63")
    with client_for(acs) as client:
        reply = client.patron_information("1001", "charged")
        assert reply.get("AE") == "Иванова Анна Сергеевна" and client.resends == 1
    assert [raw[:2] for raw in acs.received] == ["93", "63", "97"]


def test_wrong_checksum_twice_is_a_clear_error(acs: Sip2Emulator) -> None:
    acs.add_fault("bad_checksum", code="*", times=3)  # the login's reply, then the resend's
    client = client_for(acs)
    with pytest.raises(Sip2Error) as caught:
        client.sc_status()
    assert caught.value.code == "checksum" and "checksum" in str(caught.value)
    assert [raw[:2] for raw in acs.received] == ["93", "97"]
    client.close()


def test_wrong_sequence_number_is_asked_again(acs: Sip2Emulator) -> None:
    acs.add_fault("bad_sequence", code="17")
    with client_for(acs) as client:
        assert client.item_information("B-1").get("AB") == "B-1"
        assert client.resends == 1


def test_acs_asks_for_a_resend_when_our_checksum_is_wrong(acs: Sip2Emulator) -> None:
    with socket.create_connection((acs.host, acs.port), timeout=5) as sock:
        good = p.encode(p.Message(p.LOGIN, {"uid_algorithm": "0", "pwd_algorithm": "0"},
                                  [("CN", "sc-filial"), ("CO", "s3cret")]), sequence=0)
        sock.sendall(good[:-3] + b"00\r")  # a wrong checksum
        reply = sock.recv(1000)
        assert reply.startswith(b"96AZ") and p.verify_checksum(reply)
        sock.sendall(good)
        assert p.decode(sock.recv(1000)).flag("ok")


def test_dropped_connection_reconnects_and_logs_in_again(acs: Sip2Emulator) -> None:
    acs.add_fault("drop", code="63")
    with client_for(acs) as client:
        client.sc_status()
        reply = client.patron_information("1001", "charged")
        assert reply.get_all("AU") == ["B-1", "B-2", "B-3", "B-4"]
        assert client.connects == 2 and acs.connections == 2
    assert [raw[:2] for raw in acs.received] == ["93", "99", "63", "93", "63"]


def test_dropped_connection_after_a_renewal_is_not_repeated(acs: Sip2Emulator) -> None:
    acs.add_fault("drop", code="29")
    with client_for(acs) as client:
        with pytest.raises(Sip2Error) as caught:
            client.renew("1001", "B-1")
        assert caught.value.code == "dropped" and not caught.value.permanent
        assert acs.items["B-1"]["renewals"] == 1  # the ACS did renew: sending it again would renew twice
        assert client.item_information("B-1").get("AB") == "B-1"  # the next request reconnects
        assert client.connects == 2


def test_timeout_is_a_clear_error_and_the_next_request_works(acs: Sip2Emulator) -> None:
    acs.add_fault("delay", code="17", seconds=2.0)
    with client_for(acs, timeout=0.4) as client:
        started = time.monotonic()
        with pytest.raises(Sip2Error) as caught:
            client.item_information("B-1")
        assert caught.value.code == "timeout" and "did not answer" in str(caught.value)
        assert time.monotonic() - started < 1.9
        assert client.item_information("B-3").get("AB") == "B-3"


def test_connection_refused_is_a_clear_error() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(Sip2Error) as caught:
        Sip2Client("127.0.0.1", port, timeout=1).sc_status()
    assert caught.value.code == "connect"


def test_login_refused_is_permanent(acs: Sip2Emulator) -> None:
    adapter = Sip2Adapter(settings_for(acs, password="wrong"))
    with pytest.raises(AdapterError) as caught:
        adapter.reader("1001")
    assert caught.value.permanent and caught.value.code == "login"


def test_reader_with_loans_due_dates_and_titles(acs: Sip2Emulator) -> None:
    adapter = Sip2Adapter(settings_for(acs))
    record = adapter.reader("1001")
    adapter.close()
    assert record.card == "1001" and record.name == "Иванова Анна Сергеевна" and record.blocked_reason == ""
    assert [(loan.barcode, loan.due) for loan in record.loans] == [
        ("B-1", date(2026, 3, 12)), ("B-2", date(2026, 3, 1)), ("B-3", date(2026, 3, 20)), ("B-4", date(2026, 1, 10))]
    assert record.loans[1].title == "Толстой Л. Н. Война и мир" and record.loans[1].returned is None
    assert [raw[:2] for raw in acs.received] == ["93", "63", "17", "17", "17", "17", "35"]


def test_blocked_reader_and_reader_without_loans(acs: Sip2Emulator) -> None:
    adapter = Sip2Adapter(settings_for(acs))
    blocked = adapter.reader("1002")
    assert blocked.blocked_reason == "Patron blocked: долг 500 руб." and len(blocked.loans) == 1
    assert adapter.reader("1003").loans == []
    adapter.close()


def test_unknown_card(acs: Sip2Emulator) -> None:
    adapter = Sip2Adapter(settings_for(acs))
    with pytest.raises(UnknownReader) as caught:
        adapter.reader("9999")
    assert caught.value.card == "9999" and caught.value.permanent
    with pytest.raises(UnknownReader):
        adapter.renew_all("9999")
    with pytest.raises(UnknownReader):
        adapter.renew("9999", "B-1")
    adapter.close()


def test_renew_granted(acs: Sip2Emulator) -> None:
    adapter = Sip2Adapter(settings_for(acs))
    result = adapter.renew("1001", "B-1")
    adapter.close()
    assert result.renewed and result.due == date(2026, 3, 26) and result.reason_code == ""
    assert acs.items["B-1"]["due"] == "2026-03-26" and acs.items["B-1"]["renewals"] == 1


@pytest.mark.parametrize(("card", "barcode", "code", "screen"), [
    ("1001", "B-2", "reserved", "Item is on hold for another patron"),
    ("1001", "B-3", "too_many", "Renewal limit reached"),
    ("1001", "B-4", "overdue_blocked", "Item overdue more than 30 days; renewal refused"),
    ("1002", "B-5", "overdue_blocked", "Patron blocked: долг 500 руб."),
    ("1001", "B-6", "not_on_loan", "Item not checked out to this patron"),
    ("1001", "B-5", "not_on_loan", "Item not checked out to this patron"),
])
def test_renew_refused_for_each_reason(acs: Sip2Emulator, card: str, barcode: str, code: str, screen: str) -> None:
    adapter = Sip2Adapter(settings_for(acs))
    result = adapter.renew(card, barcode)
    adapter.close()
    assert not result.renewed and result.due is None
    assert (result.reason_code, result.reason) == (code, screen)


def test_russian_screen_messages_map_to_the_same_reasons() -> None:
    with Sip2Emulator(library(), encoding="utf-8", language="ru", today=lambda: TODAY) as emulator:
        adapter = Sip2Adapter(settings_for(emulator))
        outcomes = {b: adapter.renew(c, b) for c, b in [("1001", "B-2"), ("1001", "B-3"), ("1001", "B-4"),
                                                         ("1002", "B-5"), ("1001", "B-6")]}
        adapter.close()
    assert {b: r.reason_code for b, r in outcomes.items()} == {
        "B-2": "reserved", "B-3": "too_many", "B-4": "overdue_blocked", "B-5": "overdue_blocked",
        "B-6": "not_on_loan"}
    assert outcomes["B-2"].reason == "Экземпляр забронирован другим читателем"


def test_renew_all_mixed(acs: Sip2Emulator) -> None:
    adapter = Sip2Adapter(settings_for(acs))
    results = {r.barcode: r for r in adapter.renew_all("1001")}
    adapter.close()
    assert set(results) == {"B-1", "B-2", "B-3", "B-4"}
    assert results["B-1"].renewed and results["B-1"].due == date(2026, 3, 26)
    assert not results["B-2"].renewed and results["B-2"].reason_code == "reserved"
    assert not results["B-3"].renewed and not results["B-4"].renewed
    assert acs.items["B-3"]["renewals"] == 2 and acs.items["B-4"]["due"] == "2026-01-10"


def test_renew_all_of_a_blocked_reader(acs: Sip2Emulator) -> None:
    adapter = Sip2Adapter(settings_for(acs))
    results = adapter.renew_all("1002")
    adapter.close()
    assert [(r.barcode, r.renewed, r.reason_code) for r in results] == [("B-5", False, "overdue_blocked")]


@pytest.mark.parametrize(("due_format", "raw", "due"), [
    ("%d.%m.%Y", "12.03.2026", date(2026, 3, 12)),
    ("%m/%d/%Y,23:59", "03/12/2026,23:59", date(2026, 3, 12)),
    ("%Y-%m-%d", "2026-03-12", date(2026, 3, 12)),
    ("due %d %B", "due 12 March", TODAY),  # unreadable: the raw text is kept, the ACS's date stands in
])
def test_free_text_due_dates(due_format: str, raw: str, due: date) -> None:
    with Sip2Emulator(library(due_format=due_format), today=lambda: TODAY) as emulator:
        adapter = Sip2Adapter(settings_for(emulator))
        loan = adapter.reader("1001").loans[0]
        adapter.close()
    assert (loan.due, loan.due_raw) == (due, raw)


def test_helpers() -> None:
    assert item_id("3846731813%20170626%Prinsesse Mononoke%%m%th%77.7") == "3846731813"
    assert item_id(" B-1 Пушкин ") == "B-1"
    assert reason_code("Override required to exceed renewal limit.") == "too_many"
    assert reason_code("Something else") == "unknown"


def test_settings_are_checked() -> None:
    with pytest.raises(AdapterError) as caught:
        Sip2Adapter({"host": "127.0.0.1"})
    assert caught.value.permanent


def test_emulator_runs_from_the_command_line(tmp_path: Any) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    seed = tmp_path / "seed.json"
    seed.write_text('{"readers": {"5": {"name": "Смирнова"}}}', "utf-8")
    process = subprocess.Popen([sys.executable, "-m", "emulators.circulation.sip2", "--port", str(port),
                                "--seed", str(seed), "--encoding", "cp1251"], stdout=subprocess.PIPE)
    try:
        assert process.stdout is not None
        assert b"SIP2 emulator on" in process.stdout.readline()
        with Sip2Client("127.0.0.1", port, encoding="cp1251", timeout=5) as client:
            assert client.patron_information("5").get("AE") == "Смирнова"
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_client_accepts_replies_of_real_acss_verbatim() -> None:
    """Public replies of real ACSs (see test_sip2_protocol for their sources), played by a scripted server: the
    client verifies their checksums and sequence numbers and reads them like the emulator's."""
    script = [GOSSIP_LOGIN, GOSSIP_PATRON, GOSSIP_ITEM, WOHLERS_RENEW_REFUSED]
    received: list[bytes] = []
    listener = socket.create_server(("127.0.0.1", 0))

    def serve() -> None:
        conn, _ = listener.accept()
        with conn:
            buffer = b""
            for reply in script:
                while b"\r" not in buffer:
                    buffer += conn.recv(4096)
                raw, _, buffer = buffer.partition(b"\r")
                received.append(raw)
                conn.sendall(reply.encode("latin-1") + b"\r")

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    client = Sip2Client("127.0.0.1", listener.getsockname()[1], login="u", password="p", timeout=5,
                        encoding="cp850")
    client._sequence = 0  # the recorded replies carry AY1, AY6, AY6, AY1: line our counter up with them
    client.connect()
    client._sequence = 5
    patron = client.patron_information("08300076190", "charged")
    client._sequence = 5
    item = client.item_information("830$23487118")
    client._sequence = 0
    renew = client.renew("X00000241", "M02400028262")
    client.close()
    thread.join(timeout=5)
    listener.close()
    assert patron.get("AE") == "Malte Baesler" and patron.get("BL") == "Y"
    assert item.get("AJ") == "17.2004: Marine structures"
    assert not renew.flag("ok") and reason_code(renew.get("AF")) == "too_many"
    assert p.parse_due(renew.get("AH")) == date(2008, 5, 23)
    assert client.resends == 0
    assert [p.decode(raw).code for raw in received] == ["93", "63", "17", "29"]
    assert [p.decode(raw).sequence for raw in received] == [1, 6, 6, 1]
