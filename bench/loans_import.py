"""Benchmark of issue 6: 100,000 loans of 30,000 readers imported through the real import service (rows/s).

Sets up a throw-away installation (temporary FILIAL_DATA_DIR; FILIAL_DATABASE_URL is honoured if set), generates a
CSV export (cp1251, ``;``, Russian headers, DD.MM.YYYY dates) and runs the import exactly as the worker does:
``import_create`` → ``import_run`` (whole-file validation, then committed chunks with a checkpoint). Then the
same file again (a re-import: every row matched, nothing created) to show it updates and never duplicates.

Prints ONE JSON object.

    python bench/loans_import.py                         # 100,000 loans, 30,000 readers
    python bench/loans_import.py --loans 10000 --readers 3000
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import sys
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
from common import QueryCounter, prepare_database, start_django  # noqa: E402


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--loans", type=int, default=100_000, help="loans in the export (100,000)")
    parser.add_argument("--readers", type=int, default=30_000, help="distinct readers (30,000)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary data folder")
    return parser.parse_args()


def make_csv(loans: int, readers: int) -> bytes:
    rnd = random.Random(6)
    start = date(2026, 9, 1)
    lines = ["Читательский билет;ФИО;Штрихкод;Название;Дата выдачи;Срок возврата;Дата возврата"]
    for i in range(loans):
        reader = i % readers
        issued = start + timedelta(days=rnd.randrange(60))
        due = issued + timedelta(days=14)
        returned = (issued + timedelta(days=rnd.randrange(20))).strftime("%d.%m.%Y") if rnd.random() < 0.3 else ""
        lines.append(f"Д-{reader:06d};Читатель {reader} Иванович;{i:010d};Книга № {i};"
                     f"{issued:%d.%m.%Y};{due:%d.%m.%Y};{returned}")
    return ("\n".join(lines) + "\n").encode("cp1251")


def main() -> int:
    args = parse_args()
    data_dir = start_django("filial-bench-loans-")
    from django.db import connection

    from filial.circulation import imports
    from filial.circulation.models import Loan, Reader
    from filial.libraries.services import system_create, unit_create

    backend = prepare_database()
    try:
        system = system_create(actor=None, name="Бенчмарк ЦБС", timezone="Asia/Yekaterinburg")
        unit = unit_create(actor=None, system=system, name="Детская библиотека", kind="children")
        data = make_csv(args.loans, args.readers)
        legs: dict[str, Any] = {}
        for leg in ("first", "reimport"):
            counter = QueryCounter()
            started = time.perf_counter()
            with connection.execute_wrapper(counter):
                created = imports.import_create(actor=None, unit=unit, fmt="csv", file=data, name="loans.csv",
                                                full=True)
                job = imports.import_run(created.pk)
            seconds = time.perf_counter() - started
            assert job is not None
            legs[leg] = {"state": job.state, "seconds": round(seconds, 2), "rows_per_s": round(args.loans / seconds),
                         "queries": counter.n, "created": job.created_count, "updated": job.updated_count,
                         "returned_marked": job.returned_count, "errors": len(job.row_errors)}
        result = {
            "benchmark": "loans_import", "backend": backend, "loans": args.loans, "readers": args.readers,
            "file_mb": round(len(data) / 1e6, 2), "chunk": imports.CHUNK,
            "rows_per_s": legs["first"]["rows_per_s"], "seconds": legs["first"]["seconds"],
            "queries": legs["first"]["queries"],
            "first": legs["first"], "reimport": legs["reimport"],
            "loans_in_db": Loan.objects.count(), "readers_in_db": Reader.objects.count(),
            "duplicates": Loan.objects.count() - args.loans,
        }
        print(json.dumps(result))
    finally:
        if not args.keep:
            shutil.rmtree(data_dir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
