"""The SIP2 adapter: a unit's loans and renewals through the library system's ACS over TCP.

``reader(card)``: Patron Information (63/64) asking for the charged items (``AU``), then Item Information (17/18)
for each of them, since most ACSs (Koha, Evergreen) list only barcodes in ``AU``; ``renew``: Renew (29/30);
``renew_all``: Renew All (65/66), then Item Information for the new due dates. The ACS's screen message (``AF``)
is kept as the reason and mapped to a reason code.

Settings: ``host``, ``port``, ``login``, ``password``, ``location``, ``institution``, ``encoding`` (``utf-8``,
``cp1251``, ``cp850``), optional ``timeout`` (read timeout in seconds, default 10), ``connect_timeout`` (default:
``timeout``) and ``terminal_password``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from functools import wraps
from typing import Any, ClassVar, ParamSpec, TypeVar

from filial.circulation.adapters.base import (
    Adapter,
    AdapterError,
    LoanRecord,
    ReaderRecord,
    RenewalResult,
    UnknownReader,
)
from filial.circulation.sip2 import protocol as p
from filial.circulation.sip2.client import Sip2Client, Sip2Error
from filial.circulation.sip2.protocol import Message

# screen messages → reason codes; ACSs word them freely, in English or in the library's language
REASON_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("not_on_loan", re.compile(r"not (checked out|charged|on loan|issued)|no such item|item not found|"
                               r"не выдан|не найден", re.I)),
    ("reserved", re.compile(r"hold|reserv|recall|on_reserve|брон|резерв|заказан", re.I)),
    ("too_many", re.compile(r"limit|too many|maximum|max(imum)? renewals|exceed|лимит|превыш|больше нельзя", re.I)),
    ("overdue_blocked", re.compile(r"overdue|blocked|debarred|restrict|fine|fee|owe|expired|просроч|заблокир|"
                                   r"задолж|штраф", re.I)),
)


def reason_code(message: str) -> str:
    for code, pattern in REASON_PATTERNS:
        if pattern.search(message):
            return code
    return "unknown"


def item_id(value: str) -> str:
    """The barcode in an ``AU``/``AT``/``BM``/``BN`` value: some ACSs append the due date or title after it."""
    value = value.strip()
    return re.split(r"[%\s]", value, maxsplit=1)[0] if value else ""


@contextmanager
def _as_adapter_error() -> Iterator[None]:
    """The client's :class:`Sip2Error` as the circulation's :class:`AdapterError` (same message, code, permanence)."""
    try:
        yield
    except Sip2Error as exc:
        raise AdapterError(str(exc), permanent=exc.permanent, code=exc.code) from exc


P = ParamSpec("P")
R = TypeVar("R")


def _mapped(method: Callable[P, R]) -> Callable[P, R]:
    @wraps(method)
    def call(*args: P.args, **kwargs: P.kwargs) -> R:
        with _as_adapter_error():
            return method(*args, **kwargs)
    return call


class Sip2Adapter(Adapter):
    name: ClassVar[str] = "sip2"

    def __init__(self, settings: dict[str, Any]) -> None:
        super().__init__(settings)
        missing = [key for key in ("host", "port") if not settings.get(key)]
        if missing:
            raise AdapterError(f"SIP2 settings lack {', '.join(missing)}", permanent=True, code="config")
        self._client: Sip2Client | None = None

    @property
    def client(self) -> Sip2Client:
        if self._client is None:
            s = self.settings
            self._client = Sip2Client(
                str(s["host"]), int(s["port"]), login=str(s.get("login", "")), password=str(s.get("password", "")),
                location=str(s.get("location", "")), institution=str(s.get("institution", "")),
                encoding=str(s.get("encoding") or "utf-8"), timeout=float(s.get("timeout") or 10),
                connect_timeout=float(s["connect_timeout"]) if s.get("connect_timeout") else None,
                terminal_password=str(s.get("terminal_password", "")),
            )
        return self._client

    @_mapped
    def close(self) -> None:
        if self._client is not None:
            self._client.close()

    # --- reading -----------------------------------------------------------------------------------------------
    def _patron(self, card: str, *wanted: str) -> Message:
        reply = self.client.patron_information(card, *wanted)
        if reply.get("BL") == "N" or (not reply.get("BL") and not reply.get("AE")):
            raise UnknownReader(card)
        return reply

    def _item(self, barcode: str) -> Message:
        return self.client.item_information(barcode)

    def _due(self, reply: Message) -> tuple[date, str]:
        """The due date of an 18/30 reply and its raw text; an unreadable text falls back to the reply's date."""
        raw = reply.get("AH")
        parsed = p.parse_due(raw) if raw else None
        if parsed is not None:
            return parsed, raw
        moment = p.parse_sip_datetime(reply.fixed.get("date", ""))
        return (moment.date() if moment else date.today()), raw

    @_mapped
    def reader(self, card: str) -> ReaderRecord:
        info = self._patron(card, "charged")
        barcodes = [b for b in (item_id(v) for v in info.get_all("AU")) if b]
        titles = {item_id(v): v for v in info.get_all("AU")}
        loans = []
        for barcode in dict.fromkeys(barcodes):
            item = self._item(barcode)
            due, raw = self._due(item)
            title = item.get("AJ") or titles.get(barcode, "").removeprefix(barcode).strip(" %")
            loans.append(LoanRecord(barcode=barcode, title=title, issued=None, due=due, due_raw=raw))
        flags = p.patron_flags(info.fixed.get("patron_status", ""))
        blocked = ""
        if flags & {"charge_denied", "renewal_denied"}:
            blocked = info.get("AF") or ", ".join(sorted(flags))
        self._end(card)
        return ReaderRecord(card=card, name=info.get("AE"), loans=loans, blocked_reason=blocked)

    def _end(self, card: str) -> None:
        try:
            self.client.end_session(card)
        except Sip2Error:
            pass  # ending the patron session is a courtesy; the answer we have stands

    # --- renewing ----------------------------------------------------------------------------------------------
    @_mapped
    def renew(self, card: str, barcode: str) -> RenewalResult:
        reply = self.client.renew(card, barcode)
        screen = reply.get("AF")
        if reply.flag("ok") and reply.fixed.get("renewal_ok") == "Y":
            due, raw = self._due(reply)
            if not reply.get("AH"):
                due, raw = self._due(self._item(barcode))
            self._end(card)
            return RenewalResult(barcode=barcode, renewed=True, due=due, reason=screen, due_raw=raw)
        code = reason_code(screen)
        if code == "unknown":
            code = self._guess_reason(card, barcode)
        if code in {"unknown", "not_on_loan"} and self.client.patron_information(card).get("BL") == "N":
            raise UnknownReader(card)  # a 30 does not say whether the card exists: the 64 does
        self._end(card)
        return RenewalResult(barcode=barcode, renewed=False, reason=screen, reason_code=code)

    def _guess_reason(self, card: str, barcode: str) -> str:
        """No telling screen message: a hold queue on the item means reserved, an unknown card… unknown."""
        try:
            item = self._item(barcode)
        except Sip2Error:
            return "unknown"
        if item.fixed.get("circulation_status") not in {"04", "05", "07"}:
            return "not_on_loan"
        holds = item.get("CF").strip()
        if holds.isdigit() and int(holds) > 0:
            return "reserved"
        return "unknown"

    @_mapped
    def renew_all(self, card: str) -> list[RenewalResult]:
        reply = self.client.renew_all(card)
        screen = reply.get("AF")
        if not reply.flag("ok") and not reply.get_all("BM") and not reply.get_all("BN"):
            info = self.client.patron_information(card)
            if info.get("BL") == "N":
                raise UnknownReader(card)
            code = reason_code(screen)
            raise AdapterError(f"the SIP2 server refused to renew all: {screen or 'no reason given'}",
                               code=code if code != "unknown" else "refused")
        results: list[RenewalResult] = []
        for value in reply.get_all("BM"):
            barcode = item_id(value)
            due, raw = self._due(self._item(barcode))
            results.append(RenewalResult(barcode=barcode, renewed=True, due=due, due_raw=raw))
        for value in reply.get_all("BN"):
            barcode = item_id(value)
            # a Renew All answer has one screen message for all the items: a patron-level reason (blocked) holds
            # for each; otherwise each item is looked at (hold queue, still on loan)
            code = reason_code(screen)
            if code != "overdue_blocked":
                code = self._guess_reason(card, barcode)
                if code == "unknown":
                    code = reason_code(screen)
            results.append(RenewalResult(barcode=barcode, renewed=False, reason=screen, reason_code=code))
        self._end(card)
        return results
