"""Personal data helpers shared by the erasure paths (a reader's, a person's, the retention job).

- :func:`pseudonym`: a network person id replaced by a keyed hash. The same person on the same network always
  gets the same pseudonym (so re-contact, and a consent proof, can be recognised by hashing the id again), but the
  id cannot be read back without the installation's secret key.
- :func:`database_scrub`: after an erasure on SQLite, checkpoint the write-ahead log into the database file and
  truncate it, so the log no longer holds the erased rows' earlier page images. Freed space inside the file is
  zeroed as it is freed (``PRAGMA secure_delete=ON`` on every connection, ``settings.py``); see docs/security.md.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from typing import Any

from django.conf import settings
from django.db import connection

log = logging.getLogger("filial.privacy")

PREFIX = "p:"  # a pseudonym, never a network id (network ids are digits, "-digits" or short tokens)


def _key() -> bytes:
    return hmac.new(settings.SECRET_KEY.encode(), b"filial.person-pseudonym.v1", hashlib.sha256).digest()


def pseudonym(network: str, person_id: str) -> str:
    """``p:`` + 32 hex characters of HMAC-SHA256(network:person id); a pseudonym is returned as it is."""
    person_id = str(person_id or "")
    if not person_id or person_id.startswith(PREFIX):
        return person_id
    digest = hmac.new(_key(), f"{network}:{person_id}".encode(), hashlib.sha256).hexdigest()
    return PREFIX + digest[:32]


def is_pseudonym(value: str) -> bool:
    return str(value or "").startswith(PREFIX)


def database_scrub() -> dict[str, Any]:
    """Make erased rows unreadable in the database's files (SQLite: checkpoint and truncate the WAL).

    PostgreSQL keeps the old row versions as dead tuples until (auto)vacuum reclaims them; that is left to
    autovacuum (documented in docs/security.md), nothing is done here."""
    if connection.vendor != "sqlite":
        return {"vendor": connection.vendor}
    if connection.in_atomic_block:  # pragma: no cover - callers run this after their transaction
        raise RuntimeError("database_scrub() must run outside a transaction")
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        busy, log_frames, checkpointed = cursor.fetchone()
    if busy:
        # Another connection was reading an older snapshot: the log could not be emptied now. The next
        # checkpoint (SQLite runs one automatically every 1000 pages) overwrites it; say so in the log.
        log.warning("WAL checkpoint after an erasure was busy (%s of %s frames)", checkpointed, log_frames)
    return {"vendor": "sqlite", "busy": bool(busy), "frames": log_frames, "checkpointed": checkpointed}
