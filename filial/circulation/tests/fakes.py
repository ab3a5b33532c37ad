"""A fake online library system for the service, API and CLI tests."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any, ClassVar

from filial.circulation.adapters.base import (
    Adapter,
    AdapterError,
    LoanRecord,
    ReaderRecord,
    RenewalResult,
    UnknownReader,
)

STATE: dict[str, Any] = {"refuse": set(), "down": False, "readers": {}, "closed": 0}


class FakeOnlineAdapter(Adapter):
    name: ClassVar[str] = "fake"

    def reader(self, card: str) -> ReaderRecord:
        if STATE["down"]:
            raise AdapterError("connection refused", code="connect")
        if card not in STATE["readers"]:
            raise UnknownReader(card)
        return STATE["readers"][card]

    def renew(self, card: str, barcode: str) -> RenewalResult:
        if STATE["down"]:
            raise AdapterError("connection refused", code="connect")
        if barcode in STATE["refuse"]:
            return RenewalResult(barcode, False, reason="Item is reserved by another reader", reason_code="reserved")
        return RenewalResult(barcode, True, due=date(2030, 1, 31))

    def close(self) -> None:
        STATE["closed"] += 1


def reset(**values: Any) -> None:
    STATE.update({"refuse": set(), "down": False, "readers": {}, "closed": 0})
    STATE.update(values)


def loans(*barcodes: str) -> list[LoanRecord]:
    today = date.today()
    return [LoanRecord(barcode=b, title=f"Book {b}", issued=today - timedelta(days=20), due=today - timedelta(days=2),
                       external_id=f"x{b}") for b in barcodes]
