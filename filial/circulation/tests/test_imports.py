from __future__ import annotations

from datetime import date
from typing import Any
from unittest import mock

import pytest
from django.core.exceptions import PermissionDenied

from filial.accounts.models import AuditEntry
from filial.circulation import imports
from filial.circulation.models import ImportJob, Loan, Reader
from filial.circulation.parsers.rows import ImportFileError
from filial.circulation.tests.irbis_fixtures import reader_record
from filial.conftest import Net

HEADER = "Читательский билет;ФИО;Штрихкод;Название;Дата выдачи;Срок возврата;Дата возврата\n"


def csv_rows(n: int, *, start: int = 0, due: str = "15.10.2026") -> str:
    return "".join(f"{1000 + i % 7};Читатель {i % 7};B{i:05d};Книга {i};01.10.2026;{due};\n"
                   for i in range(start, start + n))


def run(net: Net, text: str, *, actor: Any = None, **options: Any) -> ImportJob:
    job = imports.import_create(actor=actor, unit=net.children, fmt="csv", file=text.encode("cp1251"),
                                name="loans.csv", **options)
    result = imports.import_run(job.pk)
    assert result is not None
    return result


def test_import_creates_readers_and_loans(net: Net) -> None:
    job = run(net, HEADER + csv_rows(20), actor=net.users["editor_children"])
    assert job.state == ImportJob.State.DONE, job.error
    assert (job.total, job.processed, job.created_count, job.readers_count) == (20, 20, 20, 7)
    assert Reader.objects.filter(unit=net.children).count() == 7
    assert Loan.objects.filter(unit=net.children, due=date(2026, 10, 15)).count() == 20
    assert AuditEntry.objects.filter(action="circulation.import.done", object_id=str(job.pk)).exists()


def test_reimport_updates_never_duplicates(net: Net) -> None:
    run(net, HEADER + csv_rows(20))
    job = run(net, HEADER + csv_rows(20, due="20.10.2026"))
    assert (job.created_count, job.updated_count) == (0, 20)
    assert Loan.objects.count() == 20
    assert set(Loan.objects.values_list("due", flat=True)) == {date(2026, 10, 20)}
    again = run(net, HEADER + csv_rows(20, due="20.10.2026"))
    assert (again.created_count, again.updated_count) == (0, 0)
    assert Loan.objects.count() == 20


def test_a_bad_row_changes_nothing(net: Net) -> None:
    run(net, HEADER + csv_rows(5))
    before = list(Loan.objects.order_by("pk").values_list("pk", "due"))
    bad = HEADER + csv_rows(5, due="20.10.2026") + "1001;Кто-то;B99999;Книга;не дата;20.10.2026;\n"
    job = run(net, bad)
    assert job.state == ImportJob.State.FAILED
    assert "nothing was imported" in job.error
    assert job.row_errors == [{"row": 7, "field": "issued", "message": job.row_errors[0]["message"],
                               "value": "не дата"}]
    assert list(Loan.objects.order_by("pk").values_list("pk", "due")) == before


def test_import_the_valid_rows_when_asked(net: Net) -> None:
    bad = HEADER + csv_rows(5) + "1001;Кто-то;B99999;Книга;не дата;20.10.2026;\n"
    job = run(net, bad, import_valid_rows=True)
    assert job.state == ImportJob.State.DONE
    assert (job.created_count, job.skipped_count, len(job.row_errors)) == (5, 1, 1)


def test_full_reimport_marks_missing_loans_returned(net: Net) -> None:
    run(net, HEADER + csv_rows(10))
    job = run(net, HEADER + csv_rows(6), full=True)
    assert job.returned_count == 4
    assert Loan.objects.filter(returned__isnull=True).count() == 6
    assert Loan.objects.filter(returned__isnull=False).count() == 4


def test_interrupted_import_resumes_without_duplicates(net: Net, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(imports, "CHUNK", 10)
    job = imports.import_create(actor=None, unit=net.children, fmt="csv", file=(HEADER + csv_rows(35)).encode(),
                                name="loans.csv", full=True)
    real_apply = imports._apply
    calls = {"n": 0}

    def crash_on_third(job_: ImportJob, rows: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 3:
            raise RuntimeError("the worker died")
        return real_apply(job_, rows)

    with mock.patch.object(imports, "_apply", crash_on_third), pytest.raises(RuntimeError):
        imports.import_run(job.pk)
    job.refresh_from_db()
    assert (job.state, job.processed) == (ImportJob.State.RUNNING, 20)
    assert Loan.objects.count() == 20  # two chunks committed, the third rolled back
    resumed = imports.import_run(job.pk)
    assert resumed is not None and resumed.state == ImportJob.State.DONE
    job = resumed
    assert (job.processed, job.created_count, job.returned_count) == (35, 35, 0)
    assert Loan.objects.count() == 35
    again = imports.import_run(job.pk)
    assert again is not None and again.state == ImportJob.State.DONE  # a done job is left alone
    assert Loan.objects.count() == 35


def test_irbis_import(net: Net) -> None:
    data = reader_record("Д-1", "Иванова", "Мария", "", ["^b001^cСказки^d20261001^e20261015^f******",
                                                         "^b002^cНезнайка^d20260901^e20260915^f20260914"])
    data += reader_record("Д-2", "Петров", "Иван", "", [])
    created = imports.import_create(actor=None, unit=net.children, fmt="irbis", file=data, name="rdr.iso")
    job = imports.import_run(created.pk)
    assert job is not None
    assert job.state == ImportJob.State.DONE, job.error
    assert Reader.objects.get(card="Д-2").name == "Петров Иван"
    assert Loan.objects.get(barcode="002").returned == date(2026, 9, 14)
    assert Loan.objects.filter(returned__isnull=True).count() == 1


def test_damaged_files_fail_with_a_clear_error(net: Net) -> None:
    created = imports.import_create(actor=None, unit=net.children, fmt="xlsx", file=b"PK\x03\x04broken",
                                    name="x.xlsx")
    job = imports.import_run(created.pk)
    assert job is not None and job.state == ImportJob.State.FAILED and "damaged" in job.error
    assert not Loan.objects.exists()


def test_only_staff_of_the_unit_import(net: Net) -> None:
    for who in ("editor_branch4", "viewer", "outsider"):
        with pytest.raises(PermissionDenied):
            imports.import_create(actor=net.users[who], unit=net.children, fmt="csv", file=b"x", name="a.csv")


def test_drop_folder(net: Net, settings: Any, tmp_path: Any) -> None:
    settings.DATA_DIR = tmp_path
    folder = imports.drop_folder(net.children)
    folder.mkdir(parents=True)
    (folder / "loans.csv").write_bytes((HEADER + csv_rows(3)).encode("cp1251"))
    (folder / "notes.doc").write_bytes(b"?")
    assert imports.import_drop_folder(net.children) == 1
    assert Loan.objects.count() == 3
    assert (folder / "done" / "loans.csv").exists() and (folder / "failed" / "notes.doc").exists()


def test_periodic_sync_imports_drop_folders(net: Net, settings: Any, tmp_path: Any) -> None:
    from filial.circulation.models import CirculationLink
    from filial.circulation.tasks import sync_all_units

    settings.DATA_DIR = tmp_path
    folder = imports.drop_folder(net.branch4)
    folder.mkdir(parents=True)
    (folder / "loans.csv").write_bytes((HEADER + csv_rows(4)).encode())
    sync_all_units.call_local()
    assert Loan.objects.filter(unit=net.branch4).count() == 4
    link = CirculationLink.objects.get(unit=net.branch4)
    assert link.sync_state == CirculationLink.SyncState.OK and link.last_counts["files"] == 1


def test_cli_resume(net: Net) -> None:
    from io import StringIO

    from django.core.management import CommandError, call_command

    job = imports.import_create(actor=None, unit=net.children, fmt="csv", file=(HEADER + csv_rows(5)).encode(),
                                name="loans.csv")
    ImportJob.objects.filter(pk=job.pk).update(state=ImportJob.State.RUNNING)  # as a crashed worker left it
    out = StringIO()
    call_command("circulation", "resume", str(job.pk), stdout=out)
    assert "done (5/5)" in out.getvalue() and Loan.objects.count() == 5
    bad = imports.import_create(actor=None, unit=net.children, fmt="csv", file=b"x;y\n1;2\n", name="bad.csv")
    with pytest.raises(CommandError, match="Choose the columns"):
        call_command("circulation", "resume", str(bad.pk), stdout=StringIO())


READERS = "Читательский билет;ФИО\n1001;Иванова Мария\n2002;Петров Иван\n"


def _readers_xlsx() -> bytes:
    from filial.circulation.tests.test_parsers import xlsx_bytes

    return xlsx_bytes([["Card number", "Name"], [1001, "Иванова Мария"], [2002, "Петров Иван"]])


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_a_plain_list_of_readers_imports_readers_only(net: Net, fmt: str) -> None:
    """Before: "Choose the columns for: Item barcode…, Issue date, Due date" — loan columns were required."""
    loan_job = run(net, HEADER + csv_rows(3), full=True)  # readers 1000-1002 with a loan each
    assert loan_job.state == ImportJob.State.DONE
    data = READERS.encode("cp1251") if fmt == "csv" else _readers_xlsx()
    job = imports.import_create(actor=None, unit=net.children, fmt=fmt, file=data, name=f"readers.{fmt}",
                                full=True)
    preview = imports.import_preview(job)
    assert preview["readers_only"] is True and not preview.get("mapping_error")
    assert (preview["valid"], preview["errors"]) == (2, [])
    assert [(r.card, r.name, r.barcode) for r in preview["rows"]] == [("1001", "Иванова Мария", ""),
                                                                     ("2002", "Петров Иван", "")]
    done = imports.import_run(job.pk)
    assert done is not None
    assert done.state == ImportJob.State.DONE, done.error
    assert (done.readers_count, done.created_count, done.updated_count, done.returned_count) == (1, 0, 0, 0)
    assert Reader.objects.get(card="1001").name == "Иванова Мария"  # renamed
    assert Reader.objects.get(card="2002", unit=net.children).name == "Петров Иван"  # added
    assert Loan.objects.filter(returned__isnull=True).count() == 3  # a "full" list of readers returns no loans


def test_readers_only_rows_need_a_card_and_a_half_chosen_loan_mapping_is_refused(net: Net) -> None:
    job = imports.import_create(actor=None, unit=net.children, fmt="csv",
                                file=(READERS + ";Без билета\n").encode(), name="readers.csv")
    preview = imports.import_preview(job)
    assert preview["readers_only"] and preview["valid"] == 2
    assert [(e["row"], e["field"]) for e in preview["errors"]] == [(4, "card")]
    loans = imports.import_create(actor=None, unit=net.children, fmt="csv", file=(HEADER + csv_rows(2)).encode(),
                                  name="loans.csv")
    with pytest.raises(ImportFileError, match="Issue date, Due date"):
        imports.import_preview(loans, {"card": 0, "name": 1, "barcode": 2})
