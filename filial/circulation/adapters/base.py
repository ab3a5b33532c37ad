"""The one interface every library-system adapter speaks (file import, SIP2, Koha REST).

An adapter is built from a unit's library-system link (``settings`` below: the decrypted dict given through the UI
or ``PATCH /api/v1/units/{id}/`` as ``circulation``). It answers in plain dataclasses; the circulation services
turn them into ``Reader`` / ``Loan`` rows and ``Renewal`` outcomes. Adapters never touch the database.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass, field
from datetime import date
from typing import Any, ClassVar


class AdapterError(Exception):
    """The library system could not answer. ``permanent``: retrying will not help (wrong login, unknown card)."""

    def __init__(self, message: str, *, permanent: bool = False, code: str = "") -> None:
        super().__init__(message)
        self.permanent = permanent
        self.code = code


# What went wrong talking to a library system, as its administrators are told (a non-administrator is only told that
# the system could not be reached or refused the request): the kind of an :class:`AdapterError` by its code.
ERROR_KINDS = ("refused", "timeout", "unreachable", "login", "invalid_reply", "config", "error")
_KIND_OF_CODE = {
    "dropped": "refused", "resend": "refused", "bad_request": "refused",  # closed on our message, asked it again
    "timeout": "timeout", "connect": "unreachable", "login": "login", "auth": "login",
    "checksum": "invalid_reply", "protocol": "invalid_reply", "bad_data": "invalid_reply",
    "config": "config", "encoding": "config",
}


def error_kind(error: AdapterError) -> str:
    """One of :data:`ERROR_KINDS` for ``error``."""
    return _KIND_OF_CODE.get(error.code, "error")


class UnknownReader(AdapterError):
    def __init__(self, card: str) -> None:
        super().__init__(f"no reader with card {card}", permanent=True, code="unknown_reader")
        self.card = card


@dataclass(frozen=True)
class LoanRecord:
    """One item a reader has (or had) on loan, as the library system reports it."""

    barcode: str  # the item's barcode / inventory number
    title: str  # a short description: author, title
    issued: date | None
    due: date
    returned: date | None = None
    renewals: int = 0
    external_id: str = ""  # the library system's own id of the loan where it has one (Koha checkout_id)
    due_raw: str = ""  # the due date as the system wrote it (SIP2 AH is free text; ``due`` falls back if unreadable)


@dataclass(frozen=True)
class ReaderRecord:
    card: str
    name: str = ""
    loans: list[LoanRecord] = field(default_factory=list)
    blocked_reason: str = ""  # the system refuses service (fines, expired card...)


@dataclass(frozen=True)
class RenewalResult:
    barcode: str
    renewed: bool
    due: date | None = None  # the new due date when renewed
    reason: str = ""  # why not, as the library system said it (shown to the reader, translated where known)
    reason_code: str = ""  # "reserved", "too_many", "overdue_blocked", "not_on_loan", "unknown"
    due_raw: str = ""  # the new due date as the system wrote it


class Adapter(abc.ABC):
    """List a reader's loans; renew one; renew all. ``online`` is False where renewals go to a librarian."""

    name: ClassVar[str]
    online: ClassVar[bool] = True

    def __init__(self, settings: dict[str, Any]) -> None:
        self.settings = settings

    @abc.abstractmethod
    def reader(self, card: str) -> ReaderRecord:
        """The reader with their current loans; raises :class:`UnknownReader`."""

    @abc.abstractmethod
    def renew(self, card: str, barcode: str) -> RenewalResult: ...

    def renew_all(self, card: str) -> list[RenewalResult]:
        return [self.renew(card, loan.barcode) for loan in self.reader(card).loans if loan.returned is None]

    def close(self) -> None:  # noqa: B027 - optional: adapters with a connection close it
        """Release connections."""
