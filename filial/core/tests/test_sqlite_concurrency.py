"""The embedded SQLite database takes concurrent writers (web + workers) without "database is locked".

Several processes run read-then-write transactions on one database file at once: without WAL, the busy
timeout and IMMEDIATE transactions, SQLite answers SQLITE_BUSY when a reader upgrades to a writer.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

WRITER = r"""
import os, sys, django
os.environ["DJANGO_SETTINGS_MODULE"] = "filial.settings"
django.setup()
from django.db import transaction
from filial.accounts.models import AuditEntry
n = int(sys.argv[1]); tag = sys.argv[2]
for i in range(n):
    with transaction.atomic():
        seen = AuditEntry.objects.filter(action="load").count()   # read first, then write
        AuditEntry.objects.create(action="load", object_type="test", object_id=f"{tag}-{i}",
                                  changes={"seen": seen})
print("ok", tag)
"""

PROCESSES = 4
ROWS_EACH = 150


@pytest.mark.skipif(bool(os.environ.get("FILIAL_DATABASE_URL")), reason="SQLite-only behaviour")
def test_concurrent_writers_wait_instead_of_failing(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FILIAL_")}
    env["FILIAL_DATA_DIR"] = str(tmp_path)
    subprocess.run([sys.executable, "-m", "django", "migrate", "-v", "0"], env={**env,
                   "DJANGO_SETTINGS_MODULE": "filial.settings"}, check=True, timeout=120)
    script = tmp_path / "writer.py"
    script.write_text(WRITER)
    procs = [subprocess.Popen([sys.executable, str(script), str(ROWS_EACH), f"w{i}"], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for i in range(PROCESSES)]
    results = [p.communicate(timeout=180) for p in procs]
    for proc, (_out, err) in zip(procs, results, strict=True):
        assert proc.returncode == 0, err[-2000:]
        assert "database is locked" not in err
    import sqlite3

    with sqlite3.connect(tmp_path / "filial.sqlite3") as db:
        (count,) = db.execute("select count(*) from accounts_auditentry where action='load'").fetchone()
        (mode,) = db.execute("pragma journal_mode").fetchone()
    assert count == PROCESSES * ROWS_EACH
    assert mode == "wal"
