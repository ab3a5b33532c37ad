"""A SIP2 client over TCP: one connection to an ACS, logged in, with sequence numbers and checksums verified.

Every request carries ``AY<n>`` (0–9, cycling) and ``AZ<checksum>``; every reply must carry the same sequence
number, a valid checksum and the expected code. A reply that fails is asked for again once with the SC's
"request ACS resend" (97); if the ACS asks us to resend (96) our message is sent again once; after that the call
fails with a clear :class:`Sip2Error`. A dropped connection is reopened (with a new login) and the request sent
again, except when a renewal was already sent: its outcome is unknown then, and repeating it could renew twice.
"""

from __future__ import annotations

import socket
import threading
from datetime import UTC, datetime
from types import TracebackType

from filial.circulation.sip2 import protocol as p
from filial.circulation.sip2.protocol import Message, ProtocolError

MAX_MESSAGE = 1 << 20  # no SIP2 message is this long; a peer that sends more without a CR is not an ACS


class Sip2Error(Exception):
    """The SIP2 server could not answer. ``permanent``: retrying will not help; ``code`` names what went wrong
    (``adapters/sip2.py`` hands both on as the circulation's ``AdapterError``)."""

    def __init__(self, message: str, *, permanent: bool = False, code: str = "") -> None:
        super().__init__(message)
        self.permanent = permanent
        self.code = code


class _Dropped(Exception):
    def __init__(self, sent: bool, detail: str) -> None:
        super().__init__(detail)
        self.sent = sent


MESSAGE_NAMES = {p.LOGIN: "login", p.SC_STATUS: "SC status", p.PATRON_INFO: "patron information",
                 p.ITEM_INFO: "item information", p.RENEW: "renewal", p.RENEW_ALL: "renew all",
                 p.END_SESSION: "end patron session", p.SC_RESEND: "resend request"}


def message_name(code: str) -> str:
    """``renewal (29)``: how the errors name a request."""
    return f"{MESSAGE_NAMES.get(code, 'message')} ({code})"


def expected_reply(code: str) -> str:
    """The code of the answer to a request: one more than the request's, except SC Status 99 → ACS Status 98."""
    return p.ACS_STATUS if code == p.SC_STATUS else f"{int(code) + 1:02d}"


class Sip2Client:
    """A connection to one ACS. Not for sharing between threads without its lock (``request`` takes it)."""

    def __init__(self, host: str, port: int, *, login: str = "", password: str = "", location: str = "",
                 institution: str = "", encoding: str = "utf-8", timeout: float = 10.0,
                 connect_timeout: float | None = None, terminal_password: str = "",
                 error_detection: bool = True) -> None:
        if encoding.lower() not in p.ENCODINGS:
            raise Sip2Error(f"unsupported SIP2 encoding {encoding!r}; use one of {', '.join(p.ENCODINGS)}",
                            permanent=True, code="config")
        self.host, self.port = host, int(port)
        self.login, self.password, self.location = login, password, location
        self.institution = institution
        self.encoding = encoding.lower()
        self.timeout = float(timeout)
        self.connect_timeout = float(connect_timeout if connect_timeout is not None else timeout)
        self.terminal_password = terminal_password
        self.error_detection = error_detection
        self.sock: socket.socket | None = None
        self._buffer = b""
        self._sequence = -1
        self._lock = threading.RLock()
        self.connects = 0  # how many times a connection was opened (tests, diagnostics)
        self.resends = 0  # how many times a reply was asked for again (97) or our message sent again (96)
        self._current = ""  # the code of the request being exchanged (named in the errors)

    # --- connection ------------------------------------------------------------------------------------------
    def __enter__(self) -> Sip2Client:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def connect(self) -> None:
        """Open the connection and log in (when a login is configured)."""
        try:
            self._open()
        except _Dropped as exc:
            self.close()
            raise Sip2Error(f"the SIP2 server closed the connection during login: {exc}", code="dropped") from exc

    def _open(self) -> None:
        self.close()
        try:
            sock = socket.create_connection((self.host, self.port), timeout=self.connect_timeout)
        except OSError as exc:
            raise Sip2Error(f"cannot connect to the SIP2 server {self.host}:{self.port}: {exc}",
                            code="connect") from exc
        sock.settimeout(self.timeout)
        self.sock = sock
        self._buffer = b""
        self.connects += 1
        if self.login:
            reply = self._exchange(Message(p.LOGIN, {"uid_algorithm": "0", "pwd_algorithm": "0"},
                                           [("CN", self.login), ("CO", self.password)]
                                           + ([("CP", self.location)] if self.location else [])))
            if not reply.flag("ok"):
                self.close()
                raise Sip2Error("the SIP2 server refused the login (94 with ok=0): check login and password",
                                permanent=True, code="login")

    def close(self) -> None:
        if self.sock is not None:
            try:
                self.sock.close()
            except OSError:
                pass
        self.sock = None
        self._buffer = b""

    # --- exchange --------------------------------------------------------------------------------------------
    def request(self, message: Message, *, repeatable: bool = True) -> Message:
        """Send ``message`` and return the verified reply. ``repeatable``: safe to send again after a drop."""
        with self._lock:
            for attempt in (1, 2):
                if self.sock is None:
                    try:
                        self._open()
                    except _Dropped as exc:
                        self.close()
                        if attempt == 2:
                            raise Sip2Error(f"the SIP2 server closed the connection during login: {exc}",
                                            code="dropped") from exc
                        continue
                try:
                    return self._exchange(message)
                except _Dropped as exc:
                    self.close()
                    name = message_name(message.code)
                    if exc.sent and not repeatable:
                        raise Sip2Error(f"the SIP2 server closed the connection on the {name} message without "
                                        f"answering ({exc}): it refused the message, or the connection broke; the "
                                        "outcome is unknown and the message is not sent again",
                                        code="dropped") from exc
                    if attempt == 2:
                        raise Sip2Error(f"the SIP2 server closed the connection on the {name} message twice "
                                        f"without answering ({exc}): it refuses the message", code="dropped") from exc
            raise AssertionError("unreachable")

    def _next_sequence(self) -> int:
        self._sequence = (self._sequence + 1) % 10
        return self._sequence

    def _exchange(self, message: Message) -> Message:
        try:
            data = p.encode(message, encoding=self.encoding, sequence=(self._sequence + 1) % 10,
                            error_detection=self.error_detection)
        except UnicodeEncodeError as exc:
            raise Sip2Error(f"the request cannot be written in {self.encoding}: {exc.object[exc.start:exc.end]!r}",
                            permanent=True, code="encoding") from exc
        except ProtocolError as exc:  # a field the specification does not allow: never sent
            raise Sip2Error(f"the {message_name(message.code)} message would not be valid SIP2: {exc}",
                            permanent=True, code="invalid_request") from exc
        sequence = self._next_sequence()
        self._current = message.code
        expected = expected_reply(message.code)
        self._send(data, sent=False)
        reply = self._read()
        resent = False
        while True:
            if reply.code == p.ACS_RESEND:  # the ACS could not read our message
                if resent:
                    raise Sip2Error(f"the SIP2 server could not read the {message_name(message.code)} message: "
                                    "it asked for it again (96) twice", code="resend")
                self.resends += 1
                self._send(data, sent=True)
            else:
                issue = self._problem(reply, expected, sequence)
                if issue is None:
                    return reply
                if resent:
                    raise Sip2Error(f"invalid SIP2 reply to {message.code} even after a resend: {issue}",
                                    code="checksum")
                self.resends += 1
                self._send(p.encode(Message(p.SC_RESEND), encoding=self.encoding,
                                    error_detection=self.error_detection), sent=True)
            resent = True
            reply = self._read()

    def _problem(self, reply: Message, expected: str, sequence: int) -> str | None:
        if self.error_detection:
            if reply.checksum_ok is None:
                return "no checksum (AZ)"
            if not reply.checksum_ok:
                return f"wrong checksum AZ{reply.checksum}"
            if reply.sequence != sequence:
                return f"sequence number AY{reply.sequence} where AY{sequence} was sent"
        if reply.code != expected:
            return f"reply code {reply.code} where {expected} was expected"
        return None

    def _send(self, data: bytes, *, sent: bool) -> None:
        if self.sock is None:
            raise _Dropped(sent, "not connected")
        try:
            self.sock.sendall(data)
        except OSError as exc:
            raise _Dropped(sent, f"send failed: {exc}") from exc

    def _read(self) -> Message:
        assert self.sock is not None
        while b"\r" not in self._buffer:
            try:
                chunk = self.sock.recv(65536)
            except TimeoutError as exc:
                self.close()  # the reply may still come and would be read as the answer to the next request
                raise Sip2Error(f"the SIP2 server did not answer the {message_name(self._current)} message within "
                                f"{self.timeout:g} s", code="timeout") from exc
            except OSError as exc:
                raise _Dropped(True, f"receive failed: {exc}") from exc
            if not chunk:
                raise _Dropped(True, "connection closed by the SIP2 server")
            self._buffer += chunk
            if len(self._buffer) > MAX_MESSAGE:
                self.close()
                raise Sip2Error("the SIP2 server sent more than 1 MB without a message terminator",
                                code="protocol")
        raw, _, self._buffer = self._buffer.partition(b"\r")
        self._buffer = self._buffer.lstrip(b"\n")  # some ACSs end messages with CR LF
        try:
            return p.decode(raw.lstrip(b"\n"), encoding=self.encoding)
        except ProtocolError as exc:
            # an unreadable reply is handled like one with a wrong checksum: asked for again once
            return Message("", checksum_ok=False, checksum=str(exc)[:40])

    # --- messages --------------------------------------------------------------------------------------------
    @staticmethod
    def now() -> str:
        return p.sip_datetime(datetime.now(UTC))

    def _common(self, card: str) -> list[tuple[str, str]]:
        fields = [("AO", self.institution), ("AA", card)]
        if self.terminal_password:
            fields.append(("AC", self.terminal_password))
        return fields

    def sc_status(self) -> Message:
        return self.request(Message(p.SC_STATUS, {"status_code": "0", "max_print_width": "080",
                                                  "protocol_version": "2.00"}))

    def patron_information(self, card: str, *wanted: str, pin: str = "", start: int = 1,
                           end: int = 9999) -> Message:
        fields = self._common(card)
        if pin:
            fields.append(("AD", pin))
        fields += [("BP", str(start)), ("BQ", str(end))]
        return self.request(Message(p.PATRON_INFO, {"language": "000", "date": self.now(),
                                                    "summary": p.summary(*wanted)}, fields))

    def item_information(self, barcode: str) -> Message:
        fields = [("AO", self.institution), ("AB", barcode)]
        if self.terminal_password:
            fields.append(("AC", self.terminal_password))
        return self.request(Message(p.ITEM_INFO, {"date": self.now()}, fields))

    def renew(self, card: str, barcode: str) -> Message:
        fields = [*self._common(card), ("AB", barcode), ("BO", "N")]
        # the no-block due date is a date (YYYYMMDDZZZZHHMMSS) even when no_block is N: blanks there make a strict
        # ACS close the connection; the transaction date stands in, as other SCs send
        now = self.now()
        return self.request(Message(p.RENEW, {"third_party_allowed": "N", "no_block": "N", "date": now,
                                              "nb_due_date": now}, fields), repeatable=False)

    def renew_all(self, card: str) -> Message:
        fields = [*self._common(card), ("BO", "N")]
        return self.request(Message(p.RENEW_ALL, {"date": self.now()}, fields), repeatable=False)

    def end_session(self, card: str) -> Message:
        return self.request(Message(p.END_SESSION, {"date": self.now()}, self._common(card)))
