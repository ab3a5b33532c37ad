"""IRBIS64 reader records (the RDR database exported as ISO 2709) → rows.

Fields: 30 the card number (reader's identifier), 10/11/12 family name, first name, patronymic; 40 one loan each,
repeated: ^a shelfmark, ^b inventory number (^h barcode where ^b is empty), ^c description, ^d issued, ^e due,
^f returned (``******`` while the item is out), ^l renewal date, ^4 renewals; dates YYYYMMDD.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _

from filial.circulation.parsers import limits
from filial.circulation.parsers.iso2709 import IsoError, IsoRecord, read_records
from filial.circulation.parsers.rows import ImportFileError, LoanRow, date_message, parse_date, row_error


def parse_irbis(data: bytes) -> tuple[list[LoanRow], list[dict[str, Any]]]:
    rows: list[LoanRow] = []
    errors: list[dict[str, Any]] = []
    cap = limits.max_rows()
    records: list[IsoRecord] = []
    try:
        for record in read_records(data):
            if len(records) >= cap:
                raise ImportFileError(_("The file has more than %(n)s records; nothing was imported. Split it into "
                                        "smaller files.") % {"n": cap})
            records.append(record)
    except IsoError as exc:
        raise ImportFileError(str(exc)) from exc
    if not records:
        raise ImportFileError(_("The file holds no records."))
    for number, record in enumerate(records, start=1):
        card = record.value("030").strip()
        name = " ".join(p for p in (record.value("010").strip(), record.value("011").strip(),
                                    record.value("012").strip()) if p)
        if not card:
            errors.append(row_error(number, "card", _("The reader record has no card number (field 30).")))
            continue
        loans = record.all("040")
        if not loans:
            rows.append(LoanRow(number, card, name))
            continue
        for loan in loans:
            barcode = (loan.first("b") or loan.first("h")).strip()
            if not barcode:
                errors.append(row_error(number, "barcode", _("A loan (field 40) has no inventory number (^b).")))
                continue
            values: dict[str, Any] = {}
            bad = False
            for code, key in (("d", "issued"), ("e", "due")):
                raw = loan.first(code).strip()
                try:
                    values[key] = parse_date(raw)
                except ValueError:
                    errors.append(row_error(number, key, date_message(), raw))
                    bad = True
            returned_raw = loan.first("f").strip()
            returned = None
            if returned_raw and not returned_raw.startswith("*"):
                try:
                    returned = parse_date(returned_raw)
                except ValueError:
                    errors.append(row_error(number, "returned", date_message(), returned_raw))
                    bad = True
            count_raw = loan.first("4").strip()
            renewals = int(count_raw) if count_raw.isdigit() else (1 if loan.first("l").strip() else 0)
            if bad:
                continue
            if values["issued"] is None or values["due"] is None:
                field = "issued" if values["issued"] is None else "due"
                errors.append(row_error(number, field, _("The loan has no issue or due date (^d, ^e).")))
                continue
            rows.append(LoanRow(number, card, name, barcode, loan.first("c").strip(), values["issued"],
                                values["due"], returned, renewals))
    return rows, errors
