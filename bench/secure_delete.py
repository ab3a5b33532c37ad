"""What making erased rows unreadable in the SQLite file costs: ``PRAGMA secure_delete=ON`` on every connection
(freed content zeroed as it is freed) against ``VACUUM`` after each erasure (the whole file rewritten).

A table shaped like the inbox (a short text and a ~1 KB JSON body per row), WAL mode as Filial runs it:
- the everyday write mix (updates that move rows' content, deletes) with secure_delete off and on;
- one person's erasure (their rows blanked, webhook rows deleted) + ``wal_checkpoint(TRUNCATE)``, off and on;
- ``VACUUM`` of the whole file (the alternative to secure_delete);
- whether an erased marker string is still in the file's bytes afterwards.

Run: python bench/secure_delete.py [ROWS]   (default 100000 rows, ~150 MB)
"""

from __future__ import annotations

import json
import random
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

ROWS = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
MARKER = "Квакозябра-маркер"


def build(path: Path, secure: bool) -> sqlite3.Connection:
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.execute(f"PRAGMA secure_delete={'ON' if secure else 'OFF'}")
    db.execute("CREATE TABLE item (id INTEGER PRIMARY KEY, author TEXT, text TEXT, raw TEXT)")
    db.execute("CREATE INDEX item_author ON item (author)")
    rnd = random.Random(7)
    db.execute("BEGIN")
    for n in range(ROWS):
        author = str(100000 + rnd.randrange(20000))
        text = (MARKER if n % 5000 == 0 else "") + "".join(rnd.choice("абвгдеёжзий ") for _i in range(200))
        raw = json.dumps({"object": {"from_id": author, "text": text, "pad": "x" * 700}}, ensure_ascii=False)
        db.execute("INSERT INTO item (author, text, raw) VALUES (?, ?, ?)", (author, text, raw))
    db.execute("COMMIT")
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return db


def timed(db: sqlite3.Connection, statements: list[tuple[str, tuple]]) -> float:
    start = time.perf_counter()
    db.execute("BEGIN IMMEDIATE")
    for sql, args in statements:
        db.execute(sql, args)
    db.execute("COMMIT")
    return time.perf_counter() - start


def main() -> None:
    results: dict[str, dict[str, float]] = {}
    for secure in (False, True):
        folder = Path(tempfile.mkdtemp(prefix="filial-secdel-"))
        path = folder / "bench.sqlite3"
        db = build(path, secure)
        label = "secure_delete=ON" if secure else "secure_delete=OFF"
        r: dict[str, float] = {"size_mb": path.stat().st_size / 1e6}
        # everyday mix: 10 % of rows' texts rewritten shorter, 5 % deleted, in batches of 500
        ids = list(range(1, ROWS + 1))
        random.Random(1).shuffle(ids)
        upd, dele = ids[: ROWS // 10], ids[ROWS // 10: ROWS // 10 + ROWS // 20]
        start = time.perf_counter()
        for i in range(0, len(upd), 500):
            timed(db, [("UPDATE item SET text = substr(text, 1, 50), raw = '{}' WHERE id = ?", (k,))
                       for k in upd[i:i + 500]])
        for i in range(0, len(dele), 500):
            timed(db, [("DELETE FROM item WHERE id = ?", (k,)) for k in dele[i:i + 500]])
        r["write_mix_s"] = time.perf_counter() - start
        # one erasure: the marker rows blanked and their "webhook" twins deleted, then the WAL checkpoint
        start = time.perf_counter()
        timed(db, [("UPDATE item SET text = '—', raw = '{}' WHERE text LIKE ?", (f"{MARKER}%",)),
                   ("DELETE FROM item WHERE raw LIKE ?", (f"%{MARKER}%",))])
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        r["erasure_s"] = time.perf_counter() - start
        db.close()
        r["marker_left_in_file"] = float(path.read_bytes().count(MARKER.encode()))
        db = sqlite3.connect(path, isolation_level=None)
        start = time.perf_counter()
        db.execute("VACUUM")
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        r["vacuum_s"] = time.perf_counter() - start
        db.close()
        r["marker_left_after_vacuum"] = float(path.read_bytes().count(MARKER.encode()))
        results[label] = r
        for f in folder.iterdir():
            f.unlink()
        folder.rmdir()
    print(json.dumps({"rows": ROWS, **results}, indent=2))


if __name__ == "__main__":
    main()
