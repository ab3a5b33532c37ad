"""What the SIP2 client sends, checked against the 3M SIP2 2.00 formats by a strict validator written from the
specification (``protocol.check_request``) and by a strict third-party ACS: pysip2 (PyPI), whose server decodes
every request into typed fields (dates ``YYYYMMDDZZZZHHMMSS``, Y/N flags, three-digit language…) and closes the
connection on a malformed one. The project's own emulator is strict in the same way.

The renewal (29) used to carry 18 blanks as its "no block due date": a strict ACS closed the connection on it, so
every renewal was queued for a librarian and none reached the library system.
"""

from __future__ import annotations

import re
import socket
import threading
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import Any

import anyio
import pytest
from pysip2 import (
    END_PATRON_SESSION,
    ITEM_INFORMATION,
    LOGIN,
    PATRON_INFORMATION,
    RENEW,
    RENEW_ALL,
    EndPatronSessionRequest,
    EndSessionResponse,
    ItemInformationRequest,
    ItemInformationResponse,
    LoginRequest,
    LoginResponse,
    PatronInformationRequest,
    PatronInformationResponse,
    RenewAllRequest,
    RenewAllResponse,
    RenewRequest,
    RenewResponse,
    SIP2Server,
    decode_message,
)

from emulators.circulation.sip2 import Sip2Emulator
from filial.circulation.adapters.sip2 import Sip2Adapter
from filial.circulation.sip2 import client as client_module
from filial.circulation.sip2 import protocol as p
from filial.circulation.sip2.client import Sip2Client
from filial.circulation.sip2.protocol import ChecksumError, Message, ProtocolError
from filial.circulation.tests.test_sip2_adapter import TODAY, client_for, library
from filial.circulation.tests.test_sip2_protocol import ATZ_RESEND, ATZ_SC_STATUS, GOSSIP_CHECKIN_REQUEST

NOW = "20260310    101500"


@pytest.fixture
def acs() -> Iterator[Sip2Emulator]:
    with Sip2Emulator(library(), encoding="cp1251", today=lambda: TODAY) as emulator:
        yield emulator


def wire(text: str, *, sequence: int | None = 0, encoding: str = "utf-8") -> bytes:
    """``text`` (code, fixed fields, ``|``-terminated fields) with AY/AZ appended, as an SC would send it."""
    data = text.encode(encoding)
    if sequence is not None:
        data += f"AY{sequence}".encode()
    data += b"AZ"
    return data + p.checksum(data).encode() + b"\r"


# --- the validator, from the specification -----------------------------------------------------------------------


@pytest.mark.parametrize("vector", [ATZ_SC_STATUS, ATZ_RESEND, GOSSIP_CHECKIN_REQUEST])
def test_validator_accepts_public_requests_of_real_self_check_machines(vector: str) -> None:
    request = p.check_request(vector.encode("latin-1"), encoding="cp850", error_detection=True)
    assert request.code == vector[:2] and request.checksum_ok


@pytest.mark.parametrize(("text", "why"), [
    ("29NN" + NOW + " " * 18 + "AOFILIAL|AA1001|AB-1|", "nb_due_date"),  # the old renewal
    ("29NN" + NOW + "20260399    000000AOFILIAL|AA1001|", "real date"),
    ("29NN" + NOW + "20260310 X  101500AOFILIAL|AA1001|", "nb_due_date"),  # a zone is right-aligned
    ("29 N" + NOW + NOW + "AOFILIAL|AA1001|", "third_party_allowed"),
    ("29NN" + NOW + NOW + "AOFILIAL|AA1001", "terminated"),
    ("29NN" + NOW + NOW + "AA1001|", "AO"),
    ("29NN" + NOW + NOW + "AOFILIAL|AA1001|BOX|", "BO"),
    ("29NN" + NOW + NOW + "AOFILIAL|AA1001|AA1002|", "repeated"),
    ("29NN" + NOW + NOW + "AOFILIAL|AA1001|ZZ1|", "no field ZZ"),
    ("29NN" + NOW + NOW + "AOFILIAL|AA" + "9" * 256 + "|", "longer than 255"),
    ("63en " + NOW + "  Y       AOFILIAL|AA1001|", "language"),
    ("63000" + NOW + "  X       AOFILIAL|AA1001|", "summary"),
    ("63000" + NOW + "  Y       AOFILIAL|AA1001|BPone|", "BP"),
    ("63000" + NOW[:-1] + "  Y       AOFILIAL|AA1001|", "date"),  # one character short: everything shifts
    ("17" + " " * 18 + "AOFILIAL|AB-1|", "date"),
    ("6520260310101500AOFILIAL|AA1001|", "date"),
    ("35" + NOW + "AOFILIAL|", "AA"),
    ("990 402.00", "max_print_width"),  # the 3M guide's own example pads the width with a blank
    ("9932802.00", "status_code"),
    ("99080802.0", "protocol_version"),
    ("9300CNsc|", "CO"),
    ("42NN", "unknown request code"),
])
def test_validator_refuses_what_a_strict_acs_refuses(text: str, why: str) -> None:
    with pytest.raises(ProtocolError, match=why):
        p.check_request(wire(text), error_detection=True)


def test_validator_checks_sequence_and_checksum() -> None:
    good = wire("35" + NOW + "AOFILIAL|AA1001|", sequence=4)
    assert p.check_request(good, error_detection=True, sequence=4).sequence == 4
    with pytest.raises(ProtocolError, match="AY4 where AY5"):
        p.check_request(good, error_detection=True, sequence=5)
    with pytest.raises(ChecksumError):
        p.check_request(good[:-3] + b"00\r", error_detection=True)
    with pytest.raises(ChecksumError, match="no checksum"):
        p.check_request(b"35" + NOW.encode() + b"AOFILIAL|AA1001|\r", error_detection=True)
    with pytest.raises(ProtocolError, match="sequence number"):
        p.check_request(wire("35" + NOW + "AOFILIAL|AA1001|", sequence=None), error_detection=True)


def test_encode_refuses_a_malformed_fixed_field() -> None:
    """The client cannot build a message a strict ACS would refuse: a blank date fails before it is sent."""
    with pytest.raises(ProtocolError, match="nb_due_date"):
        p.encode(Message(p.RENEW, {"third_party_allowed": "N", "no_block": "N", "date": NOW,
                                   "nb_due_date": " " * 18}, [("AO", ""), ("AA", "1")]))


# --- every message the client sends -------------------------------------------------------------------------------


def sent_codes_in_client_source() -> set[str]:
    """The message codes filial/circulation/sip2/client.py builds: a message added there must be covered below."""
    source = Path(client_module.__file__).read_text("utf-8")
    names = set(re.findall(r"Message\(p\.([A-Z_]+)", source))
    return {getattr(p, name) for name in names}


def exercise(client: Sip2Client) -> None:
    """Every request the client can send, with and without its optional fields."""
    client.sc_status()  # logs in first (93, with CP)
    client.patron_information("1001", "charged", pin="1234", start=2, end=3)
    client.patron_information("1001")
    client.item_information("B-1")
    client.renew("1001", "B-1")
    client.renew("1002", "B-5")  # refused: the reader is blocked
    client.renew_all("1001")
    client.end_session("1001")


def test_every_message_the_client_sends_meets_the_specification(acs: Sip2Emulator) -> None:
    acs.add_fault("bad_checksum", code="17")  # the client asks for the reply again: a 97
    with client_for(acs, terminal_password="term") as client:
        exercise(client)
    assert acs.rejected == []
    codes = [raw[:2].decode() for raw in acs.received_raw]
    assert set(codes) == sent_codes_in_client_source() | {p.LOGIN, p.SC_RESEND}
    sequences = iter(range(100))
    for raw in acs.received_raw:
        expected = None if raw[:2] == b"97" else next(sequences) % 10
        request = p.check_request(raw, encoding="cp1251", error_detection=True, sequence=expected)
        if request.code == p.RENEW:
            assert request.fixed["nb_due_date"] == request.fixed["date"]
        # and the third-party strict codec reads it into its typed fields
        decoded = decode_message(raw + b"\r", encoding="cp1251")
        assert type(decoded.message).__name__ != ""


def test_every_message_the_client_sends_without_error_detection(acs: Sip2Emulator) -> None:
    with client_for(acs, error_detection=False) as client:
        exercise(client)
    assert acs.rejected == [] and len(acs.received_raw) == 9
    for raw in acs.received_raw:
        assert b"AZ" not in raw[-6:]
        p.check_request(raw, encoding="cp1251")
        decode_message(raw + b"\r", encoding="cp1251")


# --- the emulator is strict ----------------------------------------------------------------------------------------


def test_strict_emulator_closes_the_connection_on_a_malformed_request(acs: Sip2Emulator) -> None:
    login = wire("9300CNsc-filial|COs3cret|", sequence=0, encoding="cp1251")
    old_renew = wire("29NN" + NOW + " " * 18 + "AOFILIAL|AA1001|ABB-1|BON|", sequence=1, encoding="cp1251")
    with socket.create_connection((acs.host, acs.port), timeout=5) as sock:
        sock.sendall(login)
        assert p.decode(sock.recv(1000)).flag("ok")
        sock.sendall(old_renew)
        assert sock.recv(1000) == b""  # closed, no answer
    assert acs.items["B-1"]["renewals"] == 0
    assert len(acs.rejected) == 1 and "nb_due_date" in acs.rejected[0][1]


def test_a_checksum_error_is_still_answered_with_a_resend_request(acs: Sip2Emulator) -> None:
    good = wire("9300CNsc-filial|COs3cret|", sequence=0)
    with socket.create_connection((acs.host, acs.port), timeout=5) as sock:
        sock.sendall(good[:-3] + b"00\r")
        assert sock.recv(1000).startswith(b"96AZ")
    assert acs.rejected == []


# --- against a strict third-party ACS (pysip2) -------------------------------------------------------------------


def strict_acs(data: dict[str, Any]) -> SIP2Server:
    """A pysip2 ACS over the same library as the emulator: login required, error detection required."""
    app = SIP2Server(institution_id="FILIAL", encoding="cp1251", error_detection="required", login_required=True)
    items: dict[str, dict[str, Any]] = data["items"]
    readers: dict[str, dict[str, Any]] = data["readers"]

    def now() -> str:
        return p.sip_datetime()

    @app.route(LOGIN)
    def login(req: LoginRequest, ctx: Any) -> LoginResponse:
        return LoginResponse(ok="1" if data["accounts"].get(req.login_user_id) == req.login_password else "0")

    @app.route(PATRON_INFORMATION)
    def patron(req: PatronInformationRequest, ctx: Any) -> PatronInformationResponse:
        card = req.patron_identifier
        charged = tuple(b for b, item in items.items() if item.get("holder") == card)
        return PatronInformationResponse(
            patron_status=" " * 14, language="000", transaction_date=now(), hold_items_count="0000",
            overdue_items_count="0000", charged_items_count=f"{len(charged):04d}", fine_items_count="0000",
            recall_items_count="0000", unavailable_holds_count="0000", institution_id=req.institution_id,
            patron_identifier=card, personal_name=readers.get(card, {}).get("name", ""),
            valid_patron="Y" if card in readers else "N",
            charged_items=charged if req.summary[2] == "Y" else ())

    @app.route(ITEM_INFORMATION)
    def item(req: ItemInformationRequest, ctx: Any) -> ItemInformationResponse:
        found = items.get(req.item_identifier, {})
        return ItemInformationResponse(
            circulation_status="04" if found.get("holder") else "03", security_marker="00", fee_type="01",
            transaction_date=now(), item_identifier=req.item_identifier, title_identifier=found.get("title", ""),
            due_date=found.get("due", "").replace("-", "") + "    235900" if found.get("due") else None)

    @app.route(RENEW)
    def renew(req: RenewRequest, ctx: Any) -> RenewResponse:
        found = items.get(req.item_identifier or "", {})
        ok = found.get("holder") == req.patron_identifier and not found.get("holds")
        if ok:
            found["due"] = "2026-03-26"
            found["renewals"] = found.get("renewals", 0) + 1
        return RenewResponse(
            ok="1" if ok else "0", renewal_ok="Y" if ok else "N", magnetic_media="U", desensitize="U",
            transaction_date=now(), institution_id=req.institution_id, patron_identifier=req.patron_identifier,
            item_identifier=req.item_identifier or "", title_identifier=found.get("title", ""),
            due_date="20260326    235900" if ok else "", screen_message=() if ok else ("Item is on hold",))

    @app.route(RENEW_ALL)
    def renew_all(req: RenewAllRequest, ctx: Any) -> RenewAllResponse:
        return RenewAllResponse(ok="1", renewed_count="0000", unrenewed_count="0000", transaction_date=now(),
                                institution_id=req.institution_id)

    @app.route(END_PATRON_SESSION)
    def end(req: EndPatronSessionRequest, ctx: Any) -> EndSessionResponse:
        return EndSessionResponse(end_session="Y", transaction_date=now(), institution_id=req.institution_id,
                                  patron_identifier=req.patron_identifier)

    return app


def against_strict_acs(work: Callable[[str, int], Any]) -> Any:
    """Run the blocking ``work(host, port)`` in a thread while a pysip2 ACS serves on loopback."""
    data = library()
    result: list[Any] = []

    async def main() -> None:
        async with strict_acs(data).start() as port:
            result.append(await anyio.to_thread.run_sync(work, "127.0.0.1", port))

    # Its own thread and event loop: a browser test earlier in this process (Playwright's sync API) may still
    # hold an event loop in the main thread.
    errors: list[BaseException] = []

    def serve() -> None:
        try:
            anyio.run(main)
        except BaseException as exc:  # re-raised in the test's thread
            errors.append(exc)

    thread = threading.Thread(target=serve)
    thread.start()
    thread.join(60)
    if errors:
        raise errors[0]
    assert not thread.is_alive(), "the strict ACS did not finish in time"
    return result[0], data


def test_a_renewal_reaches_a_strict_third_party_acs() -> None:
    def work(host: str, port: int) -> Any:
        adapter = Sip2Adapter({"host": host, "port": port, "login": "sc-filial", "password": "s3cret",
                               "location": "MAIN", "institution": "FILIAL", "encoding": "cp1251", "timeout": 5})
        try:
            return adapter.renew("1001", "B-1"), adapter.renew("1001", "B-2")
        finally:
            adapter.close()

    (granted, refused), data = against_strict_acs(work)
    assert granted.renewed and granted.due == date(2026, 3, 26)
    assert data["items"]["B-1"]["renewals"] == 1
    assert not refused.renewed and refused.reason_code == "reserved"


def test_every_message_the_client_sends_is_read_by_the_strict_third_party_acs() -> None:
    def work(host: str, port: int) -> int:
        with Sip2Client(host, port, login="sc-filial", password="s3cret", location="MAIN", institution="FILIAL",
                        encoding="cp1251", timeout=5, terminal_password="term") as client:
            exercise(client)
            return client.connects

    connects, _data = against_strict_acs(work)
    assert connects == 1  # never closed on: every request was read


def test_the_old_renewal_is_closed_on_by_the_strict_third_party_acs() -> None:
    """The reproduction: pysip2 closes the connection on a renewal whose no-block due date is 18 blanks."""
    def work(host: str, port: int) -> bytes:
        with socket.create_connection((host, port), timeout=5) as sock:
            sock.sendall(wire("9300CNsc-filial|COs3cret|", sequence=0))
            assert p.decode(sock.recv(1000)).flag("ok")
            sock.sendall(wire("29NN" + NOW + " " * 18 + "AOFILIAL|AA1001|ABB-1|BON|", sequence=1))
            return sock.recv(1000)

    answer, data = against_strict_acs(work)
    assert answer == b"" and data["items"]["B-1"].get("renewals", 0) == 0
