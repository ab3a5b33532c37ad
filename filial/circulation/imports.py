"""Imports of the library system's exports (CSV, XLSX, IRBIS64 reader records).

1. ``import_create`` stores the file as a pending job; ``import_preview`` shows the headers, the guessed column
   mapping, the first rows and the row-by-row validation report.
2. ``import_start`` fixes the mapping and queues ``run_import(job id)`` for the worker.
3. ``import_run`` validates the whole file before anything changes. A file with a bad row changes nothing and the
   job fails with the report — unless the user chose "import the valid rows", then the bad rows are skipped and
   reported. The valid rows are applied in chunks, each committed with the job's checkpoint (``processed``), so an
   interrupted job runs again from where it stopped; rows are upserted on (reader, barcode, issue date), so a
   repeat or a re-import updates and never duplicates. A full export marks the unit's imported loans that are not
   in it as returned.
"""

from __future__ import annotations

import logging
import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import ContentFile, File
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from filial.accounts.selectors import access_for
from filial.accounts.services import audit_record
from filial.circulation.cards import card_key
from filial.circulation.models import ImportJob, Loan, Reader, Source
from filial.circulation.parsers import limits
from filial.circulation.parsers.irbis import parse_irbis
from filial.circulation.parsers.rows import ImportFileError, LoanRow, check_rows
from filial.circulation.parsers.tabular import (
    Table,
    check_mapping,
    guess_mapping,
    read_csv,
    read_xlsx,
    readers_only,
    table_rows,
)
from filial.circulation.selectors import reader_units
from filial.core import taskqueue
from filial.libraries.models import Unit

log = logging.getLogger("filial.circulation")

CHUNK = 2000
MAX_SIZE = 50 * 1024 * 1024
MAX_REPORTED_ERRORS = 1000
EXTENSIONS = {".csv": "csv", ".txt": "csv", ".xlsx": "xlsx", ".iso": "irbis", ".mrc": "irbis", ".rdr": "irbis"}


def format_for(filename: str) -> str:
    return EXTENSIONS.get(Path(filename).suffix.lower(), "")


def _check(actor: Any, unit: Unit) -> None:
    if actor is None:
        return
    access = access_for(actor)
    if unit.pk not in reader_units(actor) or not (access.can_write(unit.pk) or access.is_admin_of(unit.system_id)):
        raise PermissionDenied(_("You do not import loans for this unit."))


def import_create(*, actor: Any, unit: Unit, fmt: str, file: File | bytes, name: str = "",
                  mapping: dict[str, Any] | None = None, import_valid_rows: bool = False,
                  full: bool = False) -> ImportJob:
    _check(actor, unit)
    if fmt not in ImportJob.Format.values:
        raise ValidationError({"format": _("Choose csv, xlsx or irbis.")})
    content = ContentFile(file) if isinstance(file, bytes) else file
    if not content.size:
        raise ValidationError({"file": _("The file is empty.")})
    if content.size > MAX_SIZE:
        raise ValidationError({"file": _("The file is larger than 50 MB.")})
    name = Path(name or getattr(file, "name", "") or f"import.{fmt}").name[:200]
    with transaction.atomic():
        job = ImportJob(unit=unit, format=fmt, original_name=name, mapping=mapping or {},
                        import_valid_rows=import_valid_rows, full=full,
                        created_by=actor if getattr(actor, "is_authenticated", False) else None)
        job.file.save(name, content, save=False)
        job.save()
        audit_record(actor, "circulation.import.create", job, {"format": fmt, "file": name},
                     system_id=unit.system_id)
    return job


def _read_table(fmt: str, data: bytes) -> Table:
    return read_csv(data) if fmt == ImportJob.Format.CSV else read_xlsx(data)


def _job_bytes(job: ImportJob) -> bytes:
    with job.file.open("rb") as fh:
        return fh.read()


def import_preview(job: ImportJob, mapping: dict[str, Any] | None = None, *, rows: int = 10) -> dict[str, Any]:
    """Headers, the mapping (given, or guessed), the first rows, and the validation report of the whole file
    (its first ``MAX_REPORTED_ERRORS`` problems; ``problems`` counts them all). ``readers_only``: no loan column is
    chosen, so the import creates and renames readers only. Parsed in a child process (``limits.isolated``)."""
    return limits.isolated(_preview, job.format, _job_bytes(job), mapping, rows)


def _preview(fmt: str, data: bytes, mapping: dict[str, Any] | None, rows: int) -> dict[str, Any]:
    if fmt == ImportJob.Format.IRBIS:
        loan_rows, errors = parse_irbis(data)
        loan_rows = check_rows(loan_rows, errors)
        return {"headers": [], "mapping": {}, "sample": [], "rows": loan_rows[:rows], "total": len(loan_rows)
                + len({e["row"] for e in errors}), "valid": len(loan_rows), "errors": errors[:MAX_REPORTED_ERRORS],
                "problems": len(errors), "readers_only": False}
    table = _read_table(fmt, data)
    chosen = guess_mapping(table.headers) if mapping is None else check_mapping(mapping, table.headers)
    try:
        usable = check_mapping(chosen, table.headers) if mapping is None else chosen
    except ImportFileError as exc:
        return {"headers": table.headers, "mapping": chosen, "sample": [c for _n, c in table.rows[:rows]],
                "rows": [], "total": len(table.rows), "valid": 0, "errors": [], "problems": 0,
                "mapping_error": str(exc), "readers_only": False}
    loan_rows, errors = table_rows(table, usable)
    loan_rows = check_rows(loan_rows, errors)
    return {"headers": table.headers, "mapping": usable, "sample": [c for _n, c in table.rows[:rows]],
            "rows": loan_rows[:rows], "total": len(table.rows), "valid": len(loan_rows),
            "errors": errors[:MAX_REPORTED_ERRORS], "problems": len(errors), "readers_only": readers_only(usable)}


def import_start(*, actor: Any, job: ImportJob, mapping: dict[str, Any] | None = None,
                 import_valid_rows: bool | None = None, full: bool | None = None) -> ImportJob:
    _check(actor, job.unit)
    if job.state != ImportJob.State.PENDING or job.queued_at is not None:
        raise ValidationError(_("This import has already been started."))
    job.queued_at = timezone.now()
    fields = ["queued_at"]
    if mapping is not None:
        job.mapping = mapping
        fields.append("mapping")
    if import_valid_rows is not None:
        job.import_valid_rows = import_valid_rows
        fields.append("import_valid_rows")
    if full is not None:
        job.full = full
        fields.append("full")
    if fields:
        job.save(update_fields=fields)
    taskqueue.enqueue_on_commit("filial.circulation.tasks.run_import", job.pk)
    return job


def _parse(job: ImportJob) -> tuple[list[LoanRow], list[dict[str, Any]], bool]:
    """The file's rows, its row errors, and whether it lists readers only; parsed in a child process."""
    return limits.isolated(_rows, job.format, _job_bytes(job), job.mapping)


def _rows(fmt: str, data: bytes, chosen: dict[str, Any]) -> tuple[list[LoanRow], list[dict[str, Any]], bool]:
    only_readers = False
    if fmt == ImportJob.Format.IRBIS:
        rows, errors = parse_irbis(data)
    else:
        table = _read_table(fmt, data)
        mapping = check_mapping(chosen or guess_mapping(table.headers), table.headers)
        only_readers = readers_only(mapping)
        rows, errors = table_rows(table, mapping)
    rows = check_rows(rows, errors)
    return rows, errors, only_readers


def import_run(job_id: int) -> ImportJob | None:
    """The worker's part. Runs a pending job, or resumes a running one that was interrupted."""
    updated = ImportJob.objects.filter(pk=job_id, state=ImportJob.State.PENDING).update(
        state=ImportJob.State.RUNNING, started_at=timezone.now())
    job = ImportJob.objects.select_related("unit", "unit__system").filter(pk=job_id).first()
    if job is None or job.state != ImportJob.State.RUNNING:
        return job
    if not updated:
        log.info("import %s: resuming after row %s", job.pk, job.processed)
    try:
        rows, errors, only_readers = _parse(job)
    except ImportFileError as exc:
        return _fail(job, str(exc), [])
    if errors and not job.import_valid_rows:
        return _fail(job, _("%(n)s row(s) have errors; nothing was imported. Fix the file, or choose to import "
                            "the valid rows.") % {"n": len({e["row"] for e in errors})}, errors)
    ImportJob.objects.filter(pk=job.pk).update(total=len(rows), row_errors=errors[:MAX_REPORTED_ERRORS],
                                               skipped_count=len({e["row"] for e in errors}))
    job.refresh_from_db()
    while job.processed < len(rows):
        chunk = rows[job.processed:job.processed + CHUNK]
        with transaction.atomic():
            readers, created, updated_n = _apply(job, chunk)
            job.processed += len(chunk)
            job.readers_count += readers
            job.created_count += created
            job.updated_count += updated_n
            job.save(update_fields=["processed", "readers_count", "created_count", "updated_count"])
    with transaction.atomic():
        if job.full and not only_readers:  # a list of readers says nothing about loans
            job.returned_count = (
                Loan.objects.filter(unit=job.unit, source=Source.FILE, returned__isnull=True)
                .exclude(last_import_id=job.pk).update(returned=timezone.localtime(timezone.now(),
                                                                                   job.unit.tz).date())
            )
        job.state = ImportJob.State.DONE
        job.finished_at = timezone.now()
        job.save(update_fields=["returned_count", "state", "finished_at"])
        audit_record(job.created_by, "circulation.import.done", job,
                     {"created": job.created_count, "updated": job.updated_count, "returned": job.returned_count,
                      "skipped": job.skipped_count}, system_id=job.unit.system_id)
    return job


def _fail(job: ImportJob, message: str, errors: list[dict[str, Any]]) -> ImportJob:
    job.state = ImportJob.State.FAILED
    job.error = message
    job.row_errors = errors[:MAX_REPORTED_ERRORS]
    job.finished_at = timezone.now()
    job.save(update_fields=["state", "error", "row_errors", "finished_at"])
    audit_record(job.created_by, "circulation.import.failed", job, {"error": message[:200], "rows": len(errors)},
                 system_id=job.unit.system_id)
    return job


def _apply(job: ImportJob, rows: Sequence[LoanRow]) -> tuple[int, int, int]:
    """Upsert one chunk: readers by card (in the system), loans by (reader, barcode, issued)."""
    unit = job.unit
    names: dict[str, str] = {}
    for row in rows:
        if row.name or row.card not in names:
            names[row.card] = row.name or names.get(row.card, "")
    readers = {r.card: r for r in Reader.objects.filter(system_id=unit.system_id, card__in=list(names))}
    new_readers = [Reader(system_id=unit.system_id, unit=unit, card=card, card_key=card_key(card), name=name[:300])
                   for card, name in names.items() if card not in readers]
    if new_readers:
        Reader.objects.bulk_create(new_readers, batch_size=1000)
        readers = {r.card: r for r in Reader.objects.filter(system_id=unit.system_id, card__in=list(names))}
    renamed = [r for card, r in readers.items() if names[card] and r.name != names[card][:300]]
    for reader in renamed:
        reader.name = names[reader.card][:300]
    if renamed:
        Reader.objects.bulk_update(renamed, ["name"], batch_size=1000)

    loan_rows = [row for row in rows if row.barcode]
    reader_ids = {readers[row.card].pk for row in loan_rows}
    # By reader only: readers have a handful of loans each, and "reader IN (…) AND barcode IN (…)" makes SQLite
    # probe every pair.
    existing: dict[tuple[int, str, Any], Loan] = {}
    ids = sorted(reader_ids)
    for start in range(0, len(ids), 900):
        for found in Loan.objects.filter(reader_id__in=ids[start:start + 900]):
            existing[(found.reader_id, found.barcode, found.issued)] = found
    to_create: list[Loan] = []
    to_update: list[Loan] = []
    untouched: list[int] = []
    for row in loan_rows:
        reader = readers[row.card]
        assert row.issued is not None and row.due is not None  # loan rows carry both (checked by the parsers)
        loan = existing.get((reader.pk, row.barcode, row.issued))
        if loan is None:
            to_create.append(Loan(reader=reader, unit=unit, barcode=row.barcode, title=row.title, issued=row.issued,
                                  due=row.due, returned=row.returned, renewals=row.renewals, source=Source.FILE,
                                  last_import=job))
            continue
        if (loan.title, loan.due, loan.returned, loan.renewals, loan.unit_id) == (
                row.title, row.due, row.returned, row.renewals, unit.pk):
            untouched.append(loan.pk)
            continue
        loan.title, loan.due, loan.returned, loan.renewals, loan.unit_id = (
            row.title, row.due, row.returned, row.renewals, unit.pk)
        loan.last_import = job
        loan.updated_at = timezone.now()
        to_update.append(loan)
    if to_create:
        Loan.objects.bulk_create(to_create, batch_size=1000)
    if to_update:
        Loan.objects.bulk_update(to_update, ["title", "due", "returned", "renewals", "unit", "last_import",
                                             "updated_at"], batch_size=1000)
    if untouched:
        for start in range(0, len(untouched), 900):
            Loan.objects.filter(pk__in=untouched[start:start + 900]).update(last_import=job)
    return len(new_readers), len(to_create), len(to_update)


# --- The drop folder ------------------------------------------------------------------------------


def drop_folder(unit: Unit) -> Path:
    return Path(settings.DATA_DIR) / "drop" / str(unit.pk)


def import_drop_folder(unit: Unit) -> int:
    """Import the exports left in ``<data dir>/drop/<unit id>/``: each file becomes a job (a full export of the
    unit, mapping guessed from the headers) and moves to ``done/`` (or ``failed/`` when it cannot be read)."""
    folder = drop_folder(unit)
    if not folder.is_dir():
        return 0
    count = 0
    for path in sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith(".")):
        fmt = format_for(path.name)
        target = "failed"
        if fmt and path.stat().st_size > MAX_SIZE:  # not read: the upload's limit holds here too
            log.warning("drop folder of unit %s: %s is larger than %s bytes, moved to failed/", unit.pk, path.name,
                        MAX_SIZE)
        elif fmt:
            job = import_create(actor=None, unit=unit, fmt=fmt, file=path.read_bytes(), name=path.name, full=True)
            job = import_run(job.pk) or job
            target = "done" if job.state == ImportJob.State.DONE else "failed"
            count += 1
        (folder / target).mkdir(exist_ok=True)
        shutil.move(str(path), str(folder / target / path.name))
    return count
