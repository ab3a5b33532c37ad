"""Import of an existing paid-services journal from XLSX or CSV: columns date, service, quantity, sum, customer,
category. The file is read with the circulation import's safe parsers (caps on size, rows and columns, a child
process under a memory and time limit: ``circulation/parsers/limits.py``); every row is checked first, and a file
with any bad row changes nothing (each bad row is reported in Russian with what to do). Names of individuals are
not kept (the journal holds no consent)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _

from filial.circulation.parsers import limits
from filial.circulation.parsers.rows import ImportFileError, parse_date, row_error
from filial.circulation.parsers.tabular import Table, read_csv, read_xlsx
from filial.libraries.models import Unit
from filial.paid.models import Customer, CustomerCategory, Service
from filial.paid.services import MAX_QUANTITY, MAX_TOTAL, CustomerData, OrderData

MAX_FILE_BYTES = 10 * 1024 * 1024

HEADERS: dict[str, tuple[str, ...]] = {
    "date": ("дата", "дата заказа", "date"),
    "service": ("услуга", "наименование услуги", "service"),
    "quantity": ("количество", "кол во", "кол", "quantity", "qty"),
    "total": ("сумма", "сумма руб", "стоимость", "sum", "total"),
    "customer": ("заказчик", "клиент", "customer"),
    "category": ("категория", "категория заказчика", "category"),
}
REQUIRED = ("date", "service", "category")


@dataclass
class Parsed:
    rows: list[OrderData] = field(default_factory=list)
    errors: list[dict[str, Any]] = field(default_factory=list)
    new_customers: int = 0


def _norm(text: Any) -> str:
    text = str(text or "").lower().replace("ё", "е").replace("\ufeff", "")
    return " ".join(re.sub(r"[^\w№]+", " ", text).split())


def read_table(data: bytes, filename: str) -> Table:
    """The file's rows, parsed safely (a child process with a memory and time cap)."""
    if len(data) > MAX_FILE_BYTES:
        raise ImportFileError(_("The file is larger than 10 MB; nothing was imported. Split it into smaller files."))
    if filename.lower().endswith(".xlsx") or data[:4] == b"PK\x03\x04":
        return limits.isolated(read_xlsx, data)
    if filename.lower().endswith((".csv", ".txt")):
        return limits.isolated(read_csv, data)
    raise ImportFileError(_("Upload the journal as .xlsx or .csv."))


def mapping_for(headers: list[str]) -> dict[str, int]:
    normed = [_norm(h) for h in headers]
    mapping: dict[str, int] = {}
    for name, words in HEADERS.items():
        for i, header in enumerate(normed):
            if header in words and i not in mapping.values():
                mapping[name] = i
                break
    missing = [n for n in REQUIRED if n not in mapping]
    if missing:
        raise ImportFileError(_("The file has no column «%(names)s»; nothing was imported. Name the columns: Дата, "
                                "Услуга, Количество, Сумма, Заказчик, Категория.")
                              % {"names": ", ".join(missing)})
    return mapping


def _decimal(value: Any) -> Decimal:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return Decimal(str(value))
    text = str(value).strip().replace("\u00a0", "").replace(" ", "").replace(",", ".")
    text = re.sub(r"(руб\.?|р\.|₽)$", "", text)
    return Decimal(text)


def parse_rows(table: Table, unit: Unit) -> Parsed:
    """Every row checked against the unit's services and the system's categories; customers of organisations are
    matched by name (or created with the import), individuals are new anonymous customers."""
    mapping = mapping_for(table.headers)
    services = {_norm(s.name): s for s in Service.objects.filter(unit=unit)}
    categories: dict[str, CustomerCategory] = {}
    for cat in CustomerCategory.objects.filter(system_id=unit.system_id):
        categories[_norm(cat.name)] = cat
        categories[_norm(cat.code)] = cat
    known = {(c.category_id, _norm(c.name)): c for c in Customer.objects.filter(system_id=unit.system_id)
             .exclude(name="")}
    planned: dict[tuple[int, str], CustomerData] = {}
    parsed = Parsed()

    def cell(cells: list[Any], name: str) -> Any:
        i = mapping.get(name)
        return cells[i] if i is not None and i < len(cells) else None

    for line, cells in table.rows:
        errors_before = len(parsed.errors)
        try:
            day = parse_date(cell(cells, "date"))
        except (ValueError, OverflowError):
            day = None
            parsed.errors.append(row_error(line, "date", _("Not a date: write it as DD.MM.YYYY."), cell(cells, "date")))
        else:
            if day is None:
                parsed.errors.append(row_error(line, "date", _("The date is empty: fill it in.")))
        service = services.get(_norm(cell(cells, "service")))
        if service is None:
            parsed.errors.append(row_error(line, "service", _("No such service in this unit's catalogue: add it to the "
                                                              "catalogue first or correct the name."),
                                           cell(cells, "service")))
        quantity = Decimal("1")
        raw_quantity = cell(cells, "quantity")
        if raw_quantity not in (None, ""):
            try:
                quantity = _decimal(raw_quantity)
                if not Decimal("0.01") <= quantity <= MAX_QUANTITY:
                    raise InvalidOperation
            except (InvalidOperation, ValueError):
                parsed.errors.append(row_error(line, "quantity", _("The quantity is not a number from 0.01 to "
                                                                   "100000."), raw_quantity))
        total: Decimal | None = None
        raw_total = cell(cells, "total")
        if raw_total not in (None, ""):
            try:
                total = _decimal(raw_total)
                if not Decimal("0") <= total <= MAX_TOTAL or not total.is_finite():
                    raise InvalidOperation
            except (InvalidOperation, ValueError):
                parsed.errors.append(row_error(line, "total", _("The sum is not a number of roubles (for example "
                                                                "150.50)."), raw_total))
        category = categories.get(_norm(cell(cells, "category")))
        if category is None:
            parsed.errors.append(row_error(line, "category", _("Unknown customer category: use one of the list's "
                                                               "names (for example «Физическое лицо»)."),
                                           cell(cells, "category")))
        name = str(cell(cells, "customer") or "").strip()[:300]
        if len(parsed.errors) > errors_before or category is None or service is None or day is None:
            continue
        if day > timezone.now().astimezone(unit.tz).date():
            parsed.errors.append(row_error(line, "date", _("The date is in the future."), day.isoformat()))
            continue
        data = OrderData(unit=unit, service=service, date=day, quantity=quantity, total=total)
        if category.is_individual or not name:
            if not category.is_individual:
                parsed.errors.append(row_error(line, "customer", _("Name the organisation.")))
                continue
            data.new_customer = CustomerData(category=category)  # no consent in a journal: no name kept
            parsed.new_customers += 1
        else:
            key = (category.pk, _norm(name))
            if key in known:
                data.customer = known[key]
            else:
                if key not in planned:
                    planned[key] = CustomerData(category=category, name=name)
                    parsed.new_customers += 1
                data.new_customer = planned[key]
        parsed.rows.append(data)
    return parsed
