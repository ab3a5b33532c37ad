"""Hostile import files (issue 10): a file's own claims about its size are not trusted; caps on rows, columns,
lines, records and the zip archive; parsing runs in a child process under a memory and time limit."""

from __future__ import annotations

import io
import re
import time
import zipfile
from typing import Any

import pytest
from openpyxl import Workbook

from filial.circulation import imports
from filial.circulation.models import ImportJob, Loan, Reader
from filial.circulation.parsers import limits
from filial.circulation.parsers.irbis import parse_irbis
from filial.circulation.parsers.rows import ImportFileError
from filial.circulation.parsers.tabular import read_csv, read_xlsx
from filial.circulation.tests.irbis_fixtures import reader_record
from filial.conftest import Net

HEADER = "Читательский билет;ФИО;Штрихкод;Название;Дата выдачи;Срок возврата\n"


def csv_rows(n: int) -> str:
    return "".join(f"{1000 + i};Читатель {i};B{i:05d};Книга;01.10.2026;15.10.2026\n" for i in range(n))


def xlsx_patched(rows: int, *, dimension: str, wide: bool = False) -> bytes:
    """An .xlsx of ``rows`` data rows (card, barcode, issued, due) whose sheet declares ``dimension``; ``wide`` puts
    a value in column XFD (16384) of every row."""
    book = Workbook()
    sheet = book.active
    sheet.append(["Card", "Barcode", "Issued", "Due"])
    for i in range(rows):
        sheet.append([f"C{i}", f"B{i}", "01.10.2026", "15.10.2026"])
    out = io.BytesIO()
    book.save(out)
    source = zipfile.ZipFile(io.BytesIO(out.getvalue()))
    patched = io.BytesIO()
    with zipfile.ZipFile(patched, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            data = source.read(info.filename)
            if info.filename == "xl/worksheets/sheet1.xml":
                text = re.sub(r'<dimension ref="[^"]*" ?/>', f'<dimension ref="{dimension}"/>', data.decode())
                if wide:
                    text = re.sub(r'(<row r="(\d+)"[^>]*>.*?)</row>',
                                  lambda m: f'{m[1]}<c r="XFD{m[2]}" t="n"><v>1</v></c></row>', text)
                data = text.encode()
            target.writestr(info.filename, data)
    return patched.getvalue()


def zip_with(members: dict[str, bytes], base: bytes | None = None) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        if base is not None:
            source = zipfile.ZipFile(io.BytesIO(base))
            for info in source.infolist():
                if info.filename not in members:
                    target.writestr(info.filename, source.read(info.filename))
        for name, data in members.items():
            target.writestr(name, data)
    return out.getvalue()


# --- XLSX: the declared dimension is ignored, columns and rows are capped ------------------------------------


def test_declared_dimension_is_ignored() -> None:
    """Before: openpyxl padded every row to the declared 16384 columns (1.5 GB for 12,000 rows) and cut the rows
    after the declared last one."""
    table = read_xlsx(xlsx_patched(300, dimension="A1:XFD200"))
    assert table.headers == ["Card", "Barcode", "Issued", "Due"]
    assert len(table.rows) == 300
    assert all(len(cells) <= 4 for _n, cells in table.rows)


def test_a_sheet_wider_than_the_cap_is_refused_quickly() -> None:
    data = xlsx_patched(2000, dimension="A1:XFD2001", wide=True)
    start = time.monotonic()
    with pytest.raises(ImportFileError, match="more than 100 columns"):
        read_xlsx(data)
    assert time.monotonic() - start < 2


def test_too_many_rows_are_refused(settings: Any) -> None:
    settings.FILIAL_IMPORT_MAX_ROWS = 5
    read_xlsx(xlsx_patched(5, dimension="A1:D6"))
    with pytest.raises(ImportFileError, match="more than 5 rows"):
        read_xlsx(xlsx_patched(6, dimension="A1:D2"))
    read_csv((HEADER + csv_rows(5)).encode())
    with pytest.raises(ImportFileError, match="more than 5 rows"):
        read_csv((HEADER + csv_rows(6)).encode())


def test_zip_caps(settings: Any) -> None:
    good = xlsx_patched(3, dimension="A1:D4")
    read_xlsx(good)
    many = zip_with({f"xl/media/x{i}.bin": b"x" for i in range(limits.MAX_ZIP_MEMBERS)}, base=good)
    with pytest.raises(ImportFileError, match="too many parts"):
        read_xlsx(many)
    bomb = zip_with({"xl/media/padding.xml": b"<a/>" * 2_000_000}, base=good)  # 8 MB packed into a few KB
    with pytest.raises(ImportFileError, match="packed too densely"):
        read_xlsx(bomb)
    settings.FILIAL_IMPORT_MAX_UNPACKED_MB = 1
    big = zip_with({"xl/media/noise.bin": bytes(range(256)) * 8000}, base=good)
    with pytest.raises(ImportFileError, match="more than 1 MB unpacked"):
        read_xlsx(big)


def test_shared_strings_are_capped(settings: Any) -> None:
    good = xlsx_patched(3, dimension="A1:D4")
    settings.FILIAL_IMPORT_MAX_UNPACKED_MB = 2
    strings = b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">' + b"".join(
        f"<si><t>{i:x}</t></si>".encode() for i in range(100_000)) + b"</sst>"
    with pytest.raises(ImportFileError, match="text"):
        read_xlsx(zip_with({"xl/sharedStrings.xml": strings}, base=good))


# --- CSV and ISO 2709 ---------------------------------------------------------------------------------------


def test_csv_columns_and_line_length_are_capped() -> None:
    wide = ";".join(f"c{i}" for i in range(101)) + "\n" + ";".join("x" * 101) + "\n"
    with pytest.raises(ImportFileError, match="more than 100 columns"):
        read_csv(wide.encode())
    long_line = HEADER + "1;" + "x" * 200_000 + ";B;T;01.10.2026;15.10.2026\n"
    with pytest.raises(ImportFileError, match="longer than"):
        read_csv(long_line.encode())


def test_iso_record_count_is_capped(settings: Any) -> None:
    settings.FILIAL_IMPORT_MAX_ROWS = 3
    records = b"".join(reader_record(f"Д-{i}", "Иванова", "Мария", "", []) for i in range(4))
    with pytest.raises(ImportFileError, match="more than 3 records"):
        parse_irbis(records)
    rows, errors = parse_irbis(records[: len(records) * 3 // 4])
    assert len(rows) == 3 and not errors


# --- The isolated parser ------------------------------------------------------------------------------------


def _hog() -> bytes:
    return bytes(3 * 1024 * 1024 * 1024)


def _sleeper() -> None:
    time.sleep(30)


def _refuse() -> None:
    raise ImportFileError("nothing here")


def test_isolated_parsing_has_a_memory_and_a_time_limit(settings: Any) -> None:
    settings.FILIAL_IMPORT_MEMORY_MB = 200
    assert limits.isolated(sum, [1, 2, 3]) == 6
    with pytest.raises(ImportFileError, match="more memory"):
        limits.isolated(_hog)
    with pytest.raises(ImportFileError, match="nothing here"):
        limits.isolated(_refuse)
    settings.FILIAL_IMPORT_PARSE_SECONDS = 1
    start = time.monotonic()
    with pytest.raises(ImportFileError, match="took longer than 1 s"):
        limits.isolated(_sleeper)
    assert time.monotonic() - start < 5


def test_an_import_that_exhausts_its_memory_fails_and_changes_nothing(net: Net, settings: Any,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    settings.FILIAL_IMPORT_MEMORY_MB = 200
    monkeypatch.setattr("filial.circulation.imports.read_csv", lambda data: _hog())
    job = imports.import_create(actor=None, unit=net.children, fmt="csv", file=(HEADER + csv_rows(3)).encode(),
                                name="loans.csv")
    with pytest.raises(ImportFileError, match="more memory"):
        imports.import_preview(job)
    done = imports.import_run(job.pk)
    assert done is not None and done.state == ImportJob.State.FAILED
    assert "more memory" in done.error
    assert not Loan.objects.exists() and not Reader.objects.filter(unit=net.children).exists()


def test_an_oversized_drop_folder_file_is_not_read(net: Net, settings: Any, tmp_path: Any,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """Before: the drop folder read the whole file into memory before the 50 MB check."""
    settings.DATA_DIR = tmp_path
    monkeypatch.setattr(imports, "MAX_SIZE", 100)
    folder = imports.drop_folder(net.children)
    folder.mkdir(parents=True)
    (folder / "huge.csv").write_bytes((HEADER + csv_rows(10)).encode())
    read: list[str] = []
    real = imports.Path.read_bytes

    def read_bytes(self: Any) -> bytes:
        read.append(self.name)
        return real(self)

    monkeypatch.setattr(imports.Path, "read_bytes", read_bytes)
    assert imports.import_drop_folder(net.children) == 0
    assert read == [] and (folder / "failed" / "huge.csv").exists()
    assert not ImportJob.objects.exists() and not Loan.objects.exists()
