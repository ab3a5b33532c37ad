"""CSV and XLSX exports: read the table, guess the column mapping from its headers, turn rows into loans."""

from __future__ import annotations

import csv
import io
import re
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from filial.circulation.parsers import limits
from filial.circulation.parsers.rows import ImportFileError, LoanRow, date_message, parse_date, row_error

FIELDS: dict[str, Any] = {
    "card": gettext_lazy("Card number"),
    "name": gettext_lazy("Reader's name"),
    "barcode": gettext_lazy("Item barcode or inventory number"),
    "title": gettext_lazy("Description"),
    "issued": gettext_lazy("Issue date"),
    "due": gettext_lazy("Due date"),
    "returned": gettext_lazy("Return date"),
    "renewals": gettext_lazy("Renewals"),
}
REQUIRED = ("card", "barcode", "issued", "due")
# With none of these chosen, the file is a plain list of readers (card, name): readers are imported, loans are not.
LOAN_FIELDS = ("barcode", "title", "issued", "due", "returned", "renewals")

SYNONYMS: dict[str, tuple[str, ...]] = {
    "card": ("читательский билет", "номер читательского билета", "номер билета", "билет", "чит билет",
             "card", "card number", "cardnumber", "reader card", "library card", "patron card"),
    "name": ("фио", "фио читателя", "читатель", "имя", "name", "reader", "reader name", "full name", "patron"),
    "barcode": ("штрихкод", "штрих код", "штрих-код", "инв номер", "инвентарный номер", "инв №", "инв", "barcode",
                "item barcode", "inventory number", "item"),
    "title": ("название", "заглавие", "описание", "книга", "издание", "title", "description", "item title"),
    "issued": ("дата выдачи", "выдано", "выдан", "issued", "issue date", "date issued", "checkout date", "checked out"),
    "due": ("срок возврата", "дата возврата по сроку", "вернуть до", "due", "due date", "date due"),
    "returned": ("дата возврата", "возвращено", "возвращен", "returned", "return date", "date returned"),
    "renewals": ("продления", "число продлений", "количество продлений", "продлений", "renewals", "renewal count"),
}


@dataclass
class Table:
    headers: list[str]
    rows: list[tuple[int, list[Any]]]  # (line number in the file, cells)


def _norm(header: Any) -> str:
    text = str(header or "").lower().replace("ё", "е").replace("\ufeff", "")
    text = re.sub(r"[^\w№]+", " ", text)
    return " ".join(text.split())


def guess_mapping(headers: list[str]) -> dict[str, int]:
    """Field → column index, from Russian or English headers; each column used once, exact names first."""
    mapping: dict[str, int] = {}
    used: set[int] = set()
    normed = [_norm(h) for h in headers]
    for exact in (True, False):
        for field, names in SYNONYMS.items():
            if field in mapping:
                continue
            for i, h in enumerate(normed):
                if i in used or not h:
                    continue
                if (h in names) if exact else any(h.startswith(n) for n in names if len(n) > 3):
                    mapping[field] = i
                    used.add(i)
                    break
    return mapping


def check_mapping(mapping: dict[str, Any], headers: list[str]) -> dict[str, int]:
    """Validate a mapping chosen on screen or sent through the API (column index or header name)."""
    clean: dict[str, int] = {}
    for field, column in mapping.items():
        if field not in FIELDS:
            raise ImportFileError(_("Unknown field in the column mapping: %(field)s.") % {"field": field})
        if column in (None, ""):
            continue
        if isinstance(column, str) and not column.lstrip("-").isdigit():
            if column not in headers:
                raise ImportFileError(_("The file has no column “%(column)s”.") % {"column": column})
            index = headers.index(column)
        else:
            index = int(column)
            if not 0 <= index < len(headers):
                raise ImportFileError(_("The file has no column number %(n)s.") % {"n": index + 1})
        clean[field] = index
    required = REQUIRED if not readers_only(clean) else ("card",)
    missing = [str(FIELDS[f]) for f in required if f not in clean]
    if missing:
        raise ImportFileError(_("Choose the columns for: %(fields)s.") % {"fields": ", ".join(missing)})
    return clean


def readers_only(mapping: dict[str, Any]) -> bool:
    """No loan column is chosen: the file lists readers only."""
    return not any(field in mapping for field in LOAN_FIELDS)


def _decode(data: bytes) -> str:
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", errors="strict")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")) or b"\x00" in data[:4096]:
        raise ImportFileError(_("The file is in UTF-16 or is not text. Save it as CSV in UTF-8 or Windows-1251."))
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    try:
        text = data.decode("cp1251")
    except UnicodeDecodeError as exc:
        raise ImportFileError(_("The file's encoding is neither UTF-8 nor Windows-1251. "
                                "Save it as CSV in one of them.")) from exc
    high = [c for c in text if ord(c) > 127]
    cyrillic = sum(1 for c in high if "\u0410" <= c <= "\u044f" or c in "Ёё№")
    if high and cyrillic / len(high) < 0.8:
        raise ImportFileError(_("The file's encoding is not UTF-8 or Windows-1251 (the letters come out garbled). "
                                "Save it as CSV in UTF-8 or Windows-1251."))
    return text


def _csv_lines(text: str) -> Iterator[str]:
    for line in io.StringIO(text, newline=""):
        if len(line) > limits.MAX_LINE_CHARS:
            raise ImportFileError(_("A line of the file is longer than %(n)s characters; nothing was imported. "
                                    "Check that it is a CSV export of loans.") % {"n": limits.MAX_LINE_CHARS})
        yield line


def read_csv(data: bytes) -> Table:
    """The rows of a CSV export, within the caps on rows, columns and line length."""
    text = _decode(data)
    sample = text[:16384]
    try:
        delimiter = csv.Sniffer().sniff(sample, delimiters=";,\t|").delimiter
    except csv.Error:
        first = sample.splitlines()[0] if sample else ""
        delimiter = max(";,\t|", key=first.count)
    reader = csv.reader(_csv_lines(text), delimiter=delimiter)
    try:
        return _table((reader.line_num, row) for row in reader)
    except csv.Error as exc:
        raise ImportFileError(_("The CSV file is malformed near line %(n)s; nothing was imported. Save it again as "
                                "CSV.") % {"n": reader.line_num}) from exc


def read_xlsx(data: bytes) -> Table:
    """The first sheet's rows. The archive is checked first (``limits.check_zip``); the sheet's declared size is
    ignored (openpyxl pads every row to it and cuts the rows after it): its rows are read as the XML gives them,
    a value past the column cap refuses the file at once."""
    from openpyxl import load_workbook

    limits.check_zip(data)
    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        try:
            table = _table(_xlsx_lines(book, book.worksheets[0]))
        finally:
            book.close()
    except (ImportFileError, MemoryError):
        raise
    except (zipfile.BadZipFile, KeyError, OSError, EOFError, ValueError, IndexError, TypeError) as exc:
        raise ImportFileError(_("The Excel file is damaged or truncated; nothing was imported. "
                                "Save it again from Excel as .xlsx.")) from exc
    except Exception as exc:  # openpyxl's own errors and damaged XML inside the archive
        raise ImportFileError(_("The Excel file cannot be read: it is damaged or not .xlsx; nothing was imported.")
                              ) from exc
    return table


def _xlsx_lines(book: Any, sheet: Any) -> Iterator[tuple[int, list[Any]]]:
    """(row number, values up to the last one) straight from openpyxl's sheet parser, as its read-only worksheet
    uses it, without the padding to the declared dimension (nor to the row's last, empty, cell)."""
    from openpyxl.worksheet._reader import WorkSheetParser

    width = limits.max_columns()
    with sheet._get_source() as source:
        parser = WorkSheetParser(source, sheet._shared_strings, data_only=True, epoch=book.epoch,
                                 date_formats=book._date_formats, timedelta_formats=book._timedelta_formats)
        for number, cells in parser.parse():
            values: dict[int, Any] = {}
            for cell in cells:
                value = cell["value"]
                if value is None or value == "":
                    continue
                if cell["column"] > width:
                    raise limits.too_many_columns()
                values[cell["column"]] = value
            yield number, [values.get(c) for c in range(1, max(values, default=0) + 1)]


def _table(lines: Iterable[tuple[int, list[Any]]]) -> Table:
    """Non-blank lines, the first the headers; refused past the row and column caps as soon as they are passed."""
    rows_cap, columns_cap = limits.max_rows(), limits.max_columns()
    kept: list[tuple[int, list[Any]]] = []
    for n, cells in lines:
        if all(c is None or str(c).strip() == "" for c in cells):
            continue
        if len(cells) > columns_cap:
            if any(c is not None and str(c).strip() != "" for c in cells[columns_cap:]):
                raise limits.too_many_columns()
            cells = cells[:columns_cap]
        if len(kept) > rows_cap:
            raise limits.too_many_rows()
        kept.append((n, cells))
    if not kept:
        raise ImportFileError(_("The file is empty."))
    headers = [str(c).strip() if c is not None else "" for c in kept[0][1]]
    if len(kept) < 2:
        raise ImportFileError(_("The file has headers but no rows."))
    return Table(headers, kept[1:])


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # Excel keeps card numbers and barcodes as numbers
    return str(value).strip()


def table_rows(table: Table, mapping: dict[str, int]) -> tuple[list[LoanRow], list[dict[str, Any]]]:
    rows: list[LoanRow] = []
    errors: list[dict[str, Any]] = []

    def cell(cells: list[Any], field: str) -> Any:
        index = mapping.get(field)
        return cells[index] if index is not None and index < len(cells) else None

    if readers_only(mapping):
        for number, cells in table.rows:
            card = _text(cell(cells, "card"))
            if card:
                rows.append(LoanRow(number, card, _text(cell(cells, "name"))))
            else:
                errors.append(row_error(number, "card", _("Empty.")))
        return rows, errors
    for number, cells in table.rows:
        values: dict[str, Any] = {}
        bad = False
        for field in ("card", "barcode"):
            values[field] = _text(cell(cells, field))
            if not values[field]:
                errors.append(row_error(number, field, _("Empty.")))
                bad = True
        for field in ("issued", "due", "returned"):
            raw = cell(cells, field)
            try:
                values[field] = parse_date(raw)
            except (ValueError, OverflowError):
                errors.append(row_error(number, field, date_message(), raw))
                bad = True
                continue
            if values[field] is None and field != "returned":
                errors.append(row_error(number, field, _("Empty.")))
                bad = True
        raw_renewals = _text(cell(cells, "renewals")) or "0"
        if not raw_renewals.isdigit():
            errors.append(row_error(number, "renewals", _("Not a whole number."), raw_renewals))
            bad = True
        if not bad and values["due"] < values["issued"]:
            errors.append(row_error(number, "due", _("The due date is before the issue date."), cell(cells, "due")))
            bad = True
        if bad:
            continue
        rows.append(LoanRow(number, values["card"], _text(cell(cells, "name")), values["barcode"],
                            _text(cell(cells, "title"))[:500], values["issued"], values["due"], values["returned"],
                            int(raw_renewals)))
    return rows, errors
