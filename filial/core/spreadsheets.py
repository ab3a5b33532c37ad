"""Cells we write into CSV and XLSX exports, made safe against formula injection.

A spreadsheet program runs a cell that begins with ``=``, ``+``, ``-`` or ``@`` (and, after a tab or a carriage
return, what follows) as a formula — ``=HYPERLINK(...)`` in a reader's name or a poll answer would become a link or
worse on a librarian's computer. Every export writes its rows through :func:`csv_row` or :func:`xlsx_append`: such a
text is prefixed with ``'`` and, in XLSX, stored as a string cell. Numbers and dates are left alone.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_text(value: Any) -> Any:
    """``value`` unchanged, unless it is a text a spreadsheet would take for a formula: then ``'`` + the text."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def csv_row(values: Iterable[Any]) -> list[Any]:
    """A row for ``csv.writer.writerow``."""
    return [safe_text(v) for v in values]


def xlsx_append(sheet: Any, values: Iterable[Any]) -> None:
    """``sheet.append(values)`` (an openpyxl worksheet), every text written as a string cell (its data type set to
    string; openpyxl would store a text that begins with ``=`` as a formula) and prefixed with ``'`` where a
    spreadsheet would take it for a formula."""
    from openpyxl.cell.cell import Cell

    cells: list[Any] = []
    for value in values:
        if isinstance(value, str):
            cell = Cell(sheet, value=safe_text(value))
            cell.data_type = "s"
            cells.append(cell)
        else:
            cells.append(value)
    sheet.append(cells)
