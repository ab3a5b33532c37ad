"""A SIP2 ACS (the library system's side) for tests and the demo: readers, items, renewal rules, faults.

It answers Login 93/94, SC Status 99/98, Patron Information 63/64, Item Information 17/18, Renew 29/30,
Renew All 65/66, End Session 35/36 and the resend requests 97 (resend the last reply) — and asks for a resend
itself (96) when a request's checksum is wrong. Replies echo the request's sequence number and carry a checksum.

It is strict as a strict ACS is (pysip2's server, for one): every request is read by
:func:`~filial.circulation.sip2.protocol.check_request` — fixed fields of the specification's widths and character
classes, ``|``-terminated fields, the required ones present — and a malformed one closes the connection without an
answer (``rejected`` keeps the request and why), so a client that sends, say, blanks for a date fails here as it
would against the library's system.

Data (``seed``; JSON-able)::

    {"accounts": {"sc": "secret"},                      # logins; empty: no login needed
     "readers": {"1001": {"name": "Иванова Анна", "pin": "1234", "blocked": ""}},
     "items": {"B1": {"title": "Пушкин. Сказки", "holder": "1001", "due": "2026-03-01", "holds": 0,
                      "renewals": 0}},
     "rules": {"max_renewals": 2, "renewal_days": 14, "block_overdue_days": 30, "due_format": "sip"}}

``due_format`` is ``sip`` (``YYYYMMDD    HHMMSS``) or a strftime pattern (``%d.%m.%Y``): ACSs write due dates as
they like. ``language`` ``ru`` gives Russian screen messages. Faults (``add_fault``): ``bad_checksum``,
``bad_sequence``, ``drop`` (close without answering), ``delay`` (answer after ``seconds``), ``silence`` (never
answer), each for the next N replies to a message code or to any (``*``).

Run it: ``python -m emulators.circulation.sip2 --port 6001 [--seed data.json] [--encoding cp1251]``.
"""

from __future__ import annotations

import argparse
import json
import socket
import socketserver
import threading
import time
from collections.abc import Callable
from datetime import date, datetime, timedelta
from pathlib import Path
from types import TracebackType
from typing import Any

from filial.circulation.sip2 import protocol as p
from filial.circulation.sip2.protocol import ChecksumError, Message, ProtocolError

FAULT_KINDS = ("bad_checksum", "bad_sequence", "drop", "delay", "silence")
DEFAULT_RULES: dict[str, Any] = {"max_renewals": 2, "renewal_days": 14, "block_overdue_days": 30,
                                 "due_format": "sip"}
SCREEN = {
    "en": {
        "renewed": "Item renewed", "not_on_loan": "Item not checked out to this patron",
        "reserved": "Item is on hold for another patron", "too_many": "Renewal limit reached",
        "overdue": "Item overdue more than {days} days; renewal refused", "blocked": "Patron blocked: {reason}",
        "invalid": "Invalid patron", "no_item": "Item not found", "welcome": "Welcome",
        "renew_all": "{renewed} renewed, {unrenewed} not renewed", "bye": "Thank you",
    },
    "ru": {
        "renewed": "Продлено", "not_on_loan": "Экземпляр не выдан этому читателю",
        "reserved": "Экземпляр забронирован другим читателем", "too_many": "Превышен лимит продлений",
        "overdue": "Просрочка больше {days} дней: продление невозможно",
        "blocked": "Читатель заблокирован: {reason}", "invalid": "Читатель не найден",
        "no_item": "Экземпляр не найден", "welcome": "Добро пожаловать",
        "renew_all": "Продлено: {renewed}, не продлено: {unrenewed}", "bye": "Спасибо",
    },
}


class Sip2Emulator:
    """A threaded TCP ACS. Use as a context manager (``with Sip2Emulator(data) as acs: acs.host, acs.port``)."""

    def __init__(self, data: dict[str, Any] | None = None, *, host: str = "127.0.0.1", port: int = 0,
                 encoding: str = "utf-8", institution: str = "FILIAL", language: str = "en",
                 today: Callable[[], date] | None = None) -> None:
        self.host, self.port = host, port
        self.encoding = encoding.lower()
        self.institution = institution
        self.language = language
        self.today = today or date.today
        self.lock = threading.RLock()
        self.accounts: dict[str, str] = {}
        self.readers: dict[str, dict[str, Any]] = {}
        self.items: dict[str, dict[str, Any]] = {}
        self.rules: dict[str, Any] = dict(DEFAULT_RULES)
        self.faults: list[dict[str, Any]] = []
        self.received: list[str] = []  # the requests as text (tests check what clients sent)
        self.received_raw: list[bytes] = []  # … and as bytes, without the CR
        self.rejected: list[tuple[str, str]] = []  # malformed requests (text, why) on which the connection was closed
        self.connections = 0
        self._server: socketserver.ThreadingTCPServer | None = None
        self._thread: threading.Thread | None = None
        if data:
            self.seed(data)

    # --- data and faults -------------------------------------------------------------------------------------
    def seed(self, data: dict[str, Any]) -> None:
        with self.lock:
            self.accounts.update(data.get("accounts", {}))
            for card, reader in data.get("readers", {}).items():
                self.readers[str(card)] = {"name": "", "pin": "", "blocked": "", **reader}
            for barcode, item in data.get("items", {}).items():
                self.items[str(barcode)] = {"title": "", "holder": "", "due": "", "holds": 0, "renewals": 0,
                                            "location": "", **item}
            self.rules.update(data.get("rules", {}))

    def add_fault(self, kind: str, *, times: int = 1, code: str = "*", seconds: float = 0.0) -> None:
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault {kind!r}; known: {', '.join(FAULT_KINDS)}")
        with self.lock:
            self.faults.extend({"kind": kind, "code": code, "seconds": seconds} for _ in range(times))

    def _take_fault(self, code: str) -> dict[str, Any] | None:
        with self.lock:
            for index, fault in enumerate(self.faults):
                if fault["code"] in ("*", code):
                    return self.faults.pop(index)
        return None

    def _text(self, key: str, **values: Any) -> str:
        return SCREEN.get(self.language, SCREEN["en"])[key].format(**values)

    # --- serving ---------------------------------------------------------------------------------------------
    def start(self) -> Sip2Emulator:
        emulator = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                emulator._serve_connection(self.request)

        class Server(socketserver.ThreadingTCPServer):
            daemon_threads = True
            allow_reuse_address = True

        self._server = Server((self.host, self.port), Handler)
        self.port = int(self._server.server_address[1])
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.1},
                                        name="sip2-emulator", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> Sip2Emulator:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    def _serve_connection(self, sock: socket.socket) -> None:
        with self.lock:
            self.connections += 1
        session: dict[str, Any] = {"logged_in": not self.accounts, "last": None}
        buffer = b""
        sock.settimeout(60)
        try:
            while True:
                while b"\r" not in buffer:
                    chunk = sock.recv(65536)
                    if not chunk:
                        return
                    buffer += chunk
                raw, _, buffer = buffer.partition(b"\r")
                buffer = buffer.lstrip(b"\n")
                reply = self._reply_bytes(raw.lstrip(b"\n"), session)
                if reply is None:
                    return  # drop: close without answering
                if reply:
                    sock.sendall(reply)
        except OSError:
            return
        finally:
            try:
                sock.close()
            except OSError:
                pass

    def _reply_bytes(self, raw: bytes, session: dict[str, Any]) -> bytes | None:
        """The bytes to answer ``raw`` with; ``None`` closes the connection, ``b""`` answers nothing."""
        text = raw.decode(self.encoding, "replace")
        with self.lock:
            self.received.append(text)
            self.received_raw.append(raw)
        try:
            request = p.check_request(raw, encoding=self.encoding)
        except ChecksumError:  # a transmission error: the SC is asked to send it again
            return self._encode(Message(p.ACS_RESEND), None, "96")
        except ProtocolError as exc:  # a malformed request: a strict ACS closes the connection on it
            with self.lock:
                self.rejected.append((text, str(exc)))
            return None
        if request.code == p.SC_RESEND:  # the SC asks for the last reply again
            if session["last"] is None:
                return self._encode(Message(p.ACS_RESEND), None, "96")
            message, sequence = session["last"]
            return self._encode(message, sequence, "97")
        if request.code != p.LOGIN and not session["logged_in"] and request.code != p.SC_STATUS:
            return None  # like Koha's SIP server: no service before a login
        handler = getattr(self, f"_on_{request.code}", None)
        if handler is None:
            return self._encode(Message(p.ACS_RESEND), None, "96")
        with self.lock:
            reply: Message = handler(request, session)
        session["last"] = (reply, request.sequence)
        return self._encode(reply, request.sequence, request.code)

    def _encode(self, message: Message, sequence: int | None, code: str) -> bytes | None:
        fault = self._take_fault(code)
        if fault is not None:
            kind = fault["kind"]
            if kind == "drop":
                return None
            if kind == "silence":
                return b""
            if kind == "delay":
                time.sleep(float(fault["seconds"]))
            if kind == "bad_sequence" and sequence is not None:
                sequence = (sequence + 1) % 10
        data = p.encode(message, encoding=self.encoding, sequence=sequence, errors="replace")  # "?" as ACSs do
        if fault is not None and fault["kind"] == "bad_checksum":
            wrong = f"{(int(data[-5:-1], 16) + 1) & 0xFFFF:04X}".encode("ascii")
            data = data[:-5] + wrong + data[-1:]
        return data

    # --- helpers ---------------------------------------------------------------------------------------------
    def _now(self) -> str:
        return p.sip_datetime(datetime.combine(self.today(), datetime.now().time()))

    def _due(self, item: dict[str, Any]) -> date | None:
        return date.fromisoformat(item["due"]) if item.get("due") else None

    def _due_text(self, item: dict[str, Any]) -> str:
        due = self._due(item)
        return p.due_text(due, str(self.rules.get("due_format", "sip"))) if due else ""

    def _charged(self, card: str) -> list[str]:
        return [barcode for barcode, item in self.items.items() if item.get("holder") == card]

    def _overdue(self, card: str) -> list[str]:
        today = self.today()
        return [b for b in self._charged(card) if (due := self._due(self.items[b])) is not None and due < today]

    def _refusal(self, card: str, barcode: str) -> str:
        """Why ``card`` may not renew ``barcode`` (a screen-message key), or "" when the renewal is allowed."""
        reader = self.readers.get(card)
        item = self.items.get(barcode)
        if reader is not None and reader.get("blocked"):
            return "blocked"
        if reader is None or item is None or item.get("holder") != card:
            return "not_on_loan"
        due = self._due(item)
        limit = int(self.rules.get("block_overdue_days", 0) or 0)
        if due is not None and limit and (self.today() - due).days > limit:
            return "overdue"
        if int(item.get("holds", 0)) > 0:
            return "reserved"
        if int(item.get("renewals", 0)) >= int(self.rules.get("max_renewals", 0)):
            return "too_many"
        return ""

    def _renew_item(self, barcode: str) -> None:
        item = self.items[barcode]
        base = max(self.today(), self._due(item) or self.today())
        item["due"] = (base + timedelta(days=int(self.rules.get("renewal_days", 14)))).isoformat()
        item["renewals"] = int(item.get("renewals", 0)) + 1

    # --- messages --------------------------------------------------------------------------------------------
    def _on_93(self, request: Message, session: dict[str, Any]) -> Message:
        login, password = request.get("CN"), request.get("CO")
        ok = not self.accounts or self.accounts.get(login) == password
        session["logged_in"] = ok
        return Message(p.LOGIN_RESPONSE, {"ok": "1" if ok else "0"})

    def _on_99(self, request: Message, session: dict[str, Any]) -> Message:
        return Message(p.ACS_STATUS, {"online": "Y", "checkin_ok": "Y", "checkout_ok": "Y", "renewal_policy": "Y",
                                      "status_update_ok": "N", "offline_ok": "N", "timeout_period": "030",
                                      "retries_allowed": "003", "date": self._now(), "protocol_version": "2.00"},
                       [("AO", self.institution), ("AM", "Filial SIP2 emulator"),
                        ("BX", "YYYYYYYYYYYYYYYY"), ("AF", self._text("welcome"))])

    def _on_63(self, request: Message, session: dict[str, Any]) -> Message:
        card = request.get("AA")
        reader = self.readers.get(card)
        charged = self._charged(card) if reader else []
        overdue = self._overdue(card) if reader else []
        counts = {"hold_count": "0000", "overdue_count": f"{len(overdue):04d}",
                  "charged_count": f"{len(charged):04d}", "fine_count": "0000", "recall_count": "0000",
                  "unavailable_holds_count": "0000"}
        fixed = {"language": "000", "date": self._now(), **counts}
        if reader is None:
            fixed["patron_status"] = p.patron_status({"charge_denied", "renewal_denied", "recall_denied",
                                                      "hold_denied"})
            return Message(p.PATRON_INFO_RESPONSE, fixed, [("AO", self.institution), ("AA", card), ("AE", ""),
                                                           ("BL", "N"), ("AF", self._text("invalid"))])
        flags = {"charge_denied", "renewal_denied", "hold_denied"} if reader.get("blocked") else set()
        fixed["patron_status"] = p.patron_status(flags)
        fields = [("AO", self.institution), ("AA", card), ("AE", str(reader.get("name", ""))), ("BZ", "0010"),
                  ("CA", "0010"), ("CB", "0010"), ("BL", "Y")]
        if request.get("AD"):
            fields.append(("CQ", "Y" if request.get("AD") == reader.get("pin") else "N"))
        wanted = request.fixed.get("summary", "").find("Y")  # like most ACSs, only the first list asked for
        start = max(int(request.get("BP") or 1), 1)
        end = int(request.get("BQ") or 9999)
        if wanted == p.SUMMARY_POSITIONS["charged"]:
            fields += [("AU", barcode) for barcode in charged[start - 1:end]]
        elif wanted == p.SUMMARY_POSITIONS["overdue"]:
            fields += [("AT", barcode) for barcode in overdue[start - 1:end]]
        if reader.get("blocked"):
            fields.append(("AF", self._text("blocked", reason=reader["blocked"])))
        return Message(p.PATRON_INFO_RESPONSE, fixed, fields)

    def _on_17(self, request: Message, session: dict[str, Any]) -> Message:
        barcode = request.get("AB")
        item = self.items.get(barcode)
        fixed = {"circulation_status": "01", "security_marker": "00", "fee_type": "01", "date": self._now()}
        if item is None:
            return Message(p.ITEM_INFO_RESPONSE, fixed, [("AB", barcode), ("AJ", ""), ("AF", self._text("no_item"))])
        fixed["circulation_status"] = "04" if item.get("holder") else (
            "08" if int(item.get("holds", 0)) else "03")
        fields = [("CF", str(int(item.get("holds", 0)))), ("AB", barcode), ("AJ", str(item.get("title", "")))]
        if item.get("holder"):
            fields.append(("AH", self._due_text(item)))
        if item.get("location"):
            fields.append(("AQ", str(item["location"])))
        return Message(p.ITEM_INFO_RESPONSE, fixed, fields)

    def _on_29(self, request: Message, session: dict[str, Any]) -> Message:
        card, barcode = request.get("AA"), request.get("AB")
        refusal = self._refusal(card, barcode)
        item = self.items.get(barcode)
        if not refusal:
            self._renew_item(barcode)
        fixed = {"ok": "0" if refusal else "1", "renewal_ok": "N" if refusal else "Y", "magnetic_media": "U",
                 "desensitize": "U", "date": self._now()}
        fields = [("AO", self.institution), ("AA", card), ("AB", barcode),
                  ("AJ", str(item.get("title", "")) if item else "")]
        # AH is required in a 30 (empty when the item is not this reader's)
        fields.append(("AH", self._due_text(item) if item is not None and item.get("holder") == card else ""))
        fields.append(("AF", self._screen(refusal, card)))
        return Message(p.RENEW_RESPONSE, fixed, fields)

    def _screen(self, refusal: str, card: str) -> str:
        if not refusal:
            return self._text("renewed")
        if refusal == "blocked":
            return self._text("blocked", reason=self.readers[card]["blocked"])
        if refusal == "overdue":
            return self._text("overdue", days=self.rules.get("block_overdue_days"))
        return self._text(refusal)

    def _on_65(self, request: Message, session: dict[str, Any]) -> Message:
        card = request.get("AA")
        renewed: list[str] = []
        unrenewed: list[str] = []
        for barcode in self._charged(card):
            if self._refusal(card, barcode):
                unrenewed.append(barcode)
            else:
                self._renew_item(barcode)
                renewed.append(barcode)
        ok = card in self.readers
        fixed = {"ok": "1" if ok else "0", "renewed_count": f"{len(renewed):04d}",
                 "unrenewed_count": f"{len(unrenewed):04d}", "date": self._now()}
        fields = [("AO", self.institution)]
        fields += [("BM", barcode) for barcode in renewed]
        fields += [("BN", barcode) for barcode in unrenewed]
        if not ok:
            fields.append(("AF", self._text("invalid")))
        elif self.readers[card].get("blocked"):
            fields.append(("AF", self._text("blocked", reason=self.readers[card]["blocked"])))
        else:
            fields.append(("AF", self._text("renew_all", renewed=len(renewed), unrenewed=len(unrenewed))))
        return Message(p.RENEW_ALL_RESPONSE, fixed, fields)

    def _on_35(self, request: Message, session: dict[str, Any]) -> Message:
        return Message(p.END_SESSION_RESPONSE, {"end_session": "Y", "date": self._now()},
                       [("AO", self.institution), ("AA", request.get("AA")), ("AF", self._text("bye"))])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="A SIP2 ACS emulator (readers, items, renewal rules).")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=6001)
    parser.add_argument("--encoding", default="utf-8", choices=p.ENCODINGS)
    parser.add_argument("--institution", default="FILIAL")
    parser.add_argument("--language", default="en", choices=sorted(SCREEN))
    parser.add_argument("--seed", type=Path, help="a JSON file with accounts, readers, items and rules")
    args = parser.parse_args(argv)
    data = json.loads(args.seed.read_text("utf-8")) if args.seed else {}
    emulator = Sip2Emulator(data, host=args.host, port=args.port, encoding=args.encoding,
                            institution=args.institution, language=args.language).start()
    print(f"SIP2 emulator on {emulator.host}:{emulator.port} ({emulator.encoding}); Ctrl+C stops it", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    finally:
        emulator.stop()


if __name__ == "__main__":
    main()
