from __future__ import annotations

import io
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from openpyxl import Workbook

from filial.circulation.parsers.irbis import parse_irbis
from filial.circulation.parsers.iso2709 import IsoError, read_records
from filial.circulation.parsers.rows import ImportFileError, check_rows, parse_date
from filial.circulation.parsers.tabular import check_mapping, guess_mapping, read_csv, read_xlsx, table_rows
from filial.circulation.tests.irbis_fixtures import iso_record, reader_record
from filial.core.testing import sample_path

HEADER = "Читательский билет;ФИО;Штрихкод;Название;Дата выдачи;Срок возврата;Дата возврата\n"
ROWS = ("1001;Иванова Мария Петровна;000123;Пушкин. Сказки;01.10.2026;15.10.2026;\n"
        "1002;Петров Иван;000124;Носов. Незнайка;2026-10-02;2026-10-16;2026-10-10\n")


def xlsx_bytes(rows: list[list[object]]) -> bytes:
    book = Workbook()
    sheet = book.active
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp1251"])
def test_csv_encodings_and_guessed_mapping(encoding: str) -> None:
    table = read_csv((HEADER + ROWS).encode(encoding))
    assert table.headers[0] == "Читательский билет"
    mapping = guess_mapping(table.headers)
    assert mapping == {"card": 0, "name": 1, "barcode": 2, "title": 3, "issued": 4, "due": 5, "returned": 6}
    rows, errors = table_rows(table, check_mapping(mapping, table.headers))
    assert errors == []
    assert rows[0].name == "Иванова Мария Петровна"
    assert rows[0].due == date(2026, 10, 15) and rows[0].returned is None
    assert rows[1].returned == date(2026, 10, 10)


def test_csv_comma_delimiter_and_english_headers() -> None:
    text = "Card number,Name,Barcode,Title,Issued,Due date\n77,Ann,B1,\"Book, vol. 1\",2026-01-02,2026-01-20\n"
    table = read_csv(text.encode())
    mapping = check_mapping(guess_mapping(table.headers), table.headers)
    rows, errors = table_rows(table, mapping)
    assert not errors and rows[0].title == "Book, vol. 1"


def test_csv_in_the_wrong_encoding_is_refused() -> None:
    with pytest.raises(ImportFileError, match="encoding"):
        read_csv((HEADER + ROWS).encode("cp866"))
    with pytest.raises(ImportFileError, match="UTF-16"):
        read_csv((HEADER + ROWS).encode("utf-16"))


def test_unparseable_date_is_reported_on_its_row() -> None:
    table = read_csv((HEADER + "1003;Сидоров;000125;Книга;32.13.2026;15.10.2026;\n" + ROWS).encode())
    rows, errors = table_rows(table, check_mapping(guess_mapping(table.headers), table.headers))
    assert len(rows) == 2
    assert errors == [{"row": 2, "field": "issued", "message": errors[0]["message"], "value": "32.13.2026"}]


def test_unknown_column_mapping_is_refused() -> None:
    table = read_csv((HEADER + ROWS).encode())
    with pytest.raises(ImportFileError, match="no column"):
        check_mapping({"card": "Номер", "barcode": 2, "issued": 4, "due": 5}, table.headers)
    with pytest.raises(ImportFileError, match="Unknown field"):
        check_mapping({"card": 0, "barcode": 2, "issued": 4, "due": 5, "colour": 1}, table.headers)
    with pytest.raises(ImportFileError, match="Due date"):
        check_mapping({"card": 0, "barcode": 2, "issued": 4}, table.headers)


def test_duplicate_rows() -> None:
    conflicting = "1001;Иванова;000123;Пушкин. Сказки;01.10.2026;20.10.2026;\n"
    table = read_csv((HEADER + ROWS + ROWS.splitlines(keepends=True)[0] + conflicting).encode())
    rows, errors = table_rows(table, check_mapping(guess_mapping(table.headers), table.headers))
    rows = check_rows(rows, errors)
    assert len(rows) == 2  # the identical repeat is dropped quietly
    assert [e["row"] for e in errors] == [5]  # the conflicting one is an error naming the first row
    assert "row 2" in errors[0]["message"]


def test_xlsx_with_excel_dates_and_numbers() -> None:
    data = xlsx_bytes([["Читательский билет", "ФИО", "Инв. номер", "Название", "Дата выдачи", "Срок возврата"],
                       [1001, "Иванова", 555, "Сказки", date(2026, 10, 1), 46310]])
    table = read_xlsx(data)
    rows, errors = table_rows(table, check_mapping(guess_mapping(table.headers), table.headers))
    assert errors == []
    assert rows[0].card == "1001" and rows[0].barcode == "555"
    assert rows[0].issued == date(2026, 10, 1) and rows[0].due == date(2026, 10, 15)


def test_truncated_xlsx_is_a_clear_error() -> None:
    data = xlsx_bytes([["Card number", "Barcode", "Issued", "Due"], ["1", "2", "2026-01-01", "2026-01-02"]])
    with pytest.raises(ImportFileError, match="damaged"):
        read_xlsx(data[: len(data) // 2])
    with pytest.raises(ImportFileError, match="damaged"):
        read_xlsx(b"not a zip at all")


def test_parse_date_formats() -> None:
    assert parse_date("05.03.2026") == date(2026, 3, 5)
    assert parse_date("2026-03-05") == date(2026, 3, 5)
    assert parse_date("20260305") == date(2026, 3, 5)
    assert parse_date(46086) == date(2026, 3, 5)
    assert parse_date("") is None
    with pytest.raises(ValueError):
        parse_date("5 March")


# --- ISO 2709 / IRBIS -------------------------------------------------------------------------------

LOANS = ["^a84(2)^b00012345^cПушкин А. С. Сказки^d20261001^e20261015^f******^4 0",
         "^a84(2)^b00012346^cНосов Н. Незнайка^d20260901^e20260915^f20260914",
         "^b00012347^cБианки В. Лесная газета^d20260920^e20261004^f*^l20261004^41"]


@pytest.mark.parametrize("encoding", ["cp1251", "utf-8"])
def test_irbis_reader_records(encoding: str) -> None:
    data = (reader_record("Д-1001", "Иванова", "Мария", "Петровна", LOANS, encoding)
            + reader_record("Д-1002", "Петров", "Иван", "", [], encoding))
    rows, errors = parse_irbis(data)
    assert errors == []
    assert [(r.card, r.barcode) for r in rows] == [("Д-1001", "00012345"), ("Д-1001", "00012346"),
                                                   ("Д-1001", "00012347"), ("Д-1002", "")]
    first, returned, renewed, no_loans = rows
    assert first.name == "Иванова Мария Петровна" and first.title == "Пушкин А. С. Сказки"
    assert (first.issued, first.due, first.returned) == (date(2026, 10, 1), date(2026, 10, 15), None)
    assert returned.returned == date(2026, 9, 14)
    assert renewed.returned is None and renewed.renewals == 1
    assert no_loans.name == "Петров Иван"


def test_irbis_bad_date_is_a_row_error() -> None:
    data = reader_record("7", "А", "Б", "", ["^b1^d2026-13-45^e20261015"])
    rows, errors = parse_irbis(data)
    assert rows == [] and errors[0]["field"] == "issued" and errors[0]["row"] == 1


def test_iso_structure_is_checked() -> None:
    good = iso_record([("030", "1"), ("010", "Фамилия")])
    assert [f.tag for f in next(read_records(good)).fields] == ["030", "010"]
    with pytest.raises(IsoError, match="truncated"):
        list(read_records(good[:-5]))
    with pytest.raises(IsoError, match="terminator"):
        list(read_records(good[:-1] + b"X"))
    broken_field = good.replace(b"\x1e\xd4", b"\x1f\xd4")  # a field terminator damaged
    with pytest.raises(IsoError):
        list(read_records(broken_field))
    with pytest.raises(IsoError, match="not a number"):
        list(read_records(b"00abc" + good[5:]))


def test_shared_marc_samples() -> None:
    samples = sample_path("marc")
    counts = {}
    for name in ("cp1251.mrc", "rgb-01002988236-marc21.mrc", "rgb-01002988236-rusmarc.iso", "rsl-01003120729.iso"):
        records = list(read_records((samples / name).read_bytes()))
        counts[name] = len(records)
        for record in records:
            assert record.value("001")
            assert any(f.subfields for f in record.fields)
    assert counts["cp1251.mrc"] == 6
    marc21 = next(read_records((samples / "rgb-01002988236-marc21.mrc").read_bytes()))
    assert marc21.all("245")[0].first("a").startswith("История XVIII столетия")
    cp1251 = next(read_records((samples / "cp1251.mrc").read_bytes()))
    assert cp1251.all("245")[0].first("a") == "Основы гидравлического расчета инженерных сетей"
    with pytest.raises(IsoError, match="Record 1"):
        list(read_records((samples / "broken.mrc").read_bytes()))
    with pytest.raises(ImportFileError):
        parse_irbis((samples / "broken.mrc").read_bytes())


def test_shared_samples_skip_clearly_where_absent(settings: Any, tmp_path: Path) -> None:
    settings.FILIAL_SAMPLES_DIR = tmp_path / "no-such-folder"
    with pytest.raises(pytest.skip.Exception, match=r"sample file not found at .*no-such-folder/marc .*SAMPLES_DIR"):
        test_shared_marc_samples()
