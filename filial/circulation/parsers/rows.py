"""What every import format is turned into: one row per loan (or per reader without loans), checked."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from django.utils.translation import gettext as _

EXCEL_EPOCH = date(1899, 12, 30)  # Excel's day 0 (with its 1900 leap-year bug already folded in)


class ImportFileError(ValueError):
    """The file as a whole cannot be read (damaged, wrong encoding, no data); nothing is imported."""


@dataclass(frozen=True)
class LoanRow:
    row: int  # line (CSV/XLSX) or record (ISO 2709) number, for the report
    card: str
    name: str = ""
    barcode: str = ""  # empty: a reader without a loan (IRBIS reader records)
    title: str = ""
    issued: date | None = None
    due: date | None = None
    returned: date | None = None
    renewals: int = 0

    @property
    def key(self) -> tuple[str, str, date | None]:
        return (self.card, self.barcode, self.issued)


def row_error(row: int, field: str, message: str, value: Any = "") -> dict[str, Any]:
    return {"row": row, "field": field, "message": str(message), "value": str(value)[:100]}


_DMY = re.compile(r"^(\d{1,2})[./](\d{1,2})[./](\d{4}|\d{2})(?:[ T]\d{1,2}:\d{2}(?::\d{2})?)?$")
_ISO = re.compile(r"^(\d{4})-(\d{2})-(\d{2})(?:[ T]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?$")
_COMPACT = re.compile(r"^(\d{4})(\d{2})(\d{2})$")


def parse_date(value: Any) -> date | None:
    """DD.MM.YYYY, YYYY-MM-DD, YYYYMMDD, Excel dates (cells or serial numbers). Empty → None; bad → ValueError."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        if 1 <= value < 2958466:  # Excel serial day numbers up to 9999-12-31
            return EXCEL_EPOCH + timedelta(days=int(value))
        raise ValueError(value)
    text = str(value).strip()
    if not text:
        return None
    if m := _DMY.match(text):
        day, month, year = int(m[1]), int(m[2]), int(m[3])
        if len(m[3]) == 2:
            year += 2000 if year < 70 else 1900
        return date(year, month, day)
    if (m := _ISO.match(text)) or (m := _COMPACT.match(text)):
        return date(int(m[1]), int(m[2]), int(m[3]))
    if text.isdigit() and len(text) <= 6:
        return parse_date(int(text))
    raise ValueError(text)


def date_message() -> str:
    return _("Not a date (use DD.MM.YYYY or YYYY-MM-DD).")


def check_rows(rows: list[LoanRow], errors: list[dict[str, Any]]) -> list[LoanRow]:
    """Drop repeated rows: an identical repeat is skipped quietly, a conflicting one is an error."""
    seen: dict[tuple[str, str, date | None], LoanRow] = {}
    out: list[LoanRow] = []
    for row in rows:
        if not row.barcode:
            out.append(row)
            continue
        first = seen.get(row.key)
        if first is None:
            seen[row.key] = row
            out.append(row)
        elif (first.due, first.returned, first.title, first.renewals) != (row.due, row.returned, row.title,
                                                                           row.renewals):
            errors.append(row_error(row.row, "barcode", _("The same loan as row %(row)s, with different data.")
                                    % {"row": first.row}, row.barcode))
    return out
