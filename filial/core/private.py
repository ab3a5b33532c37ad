"""Files only Filial's own user may read: the SQLite database (and its -wal/-shm), Huey's SQLite queue.
No Django import here: settings.py uses it."""

from __future__ import annotations

import os
from pathlib import Path


def private_file(path: Path) -> Path:
    """Create ``path`` empty with mode 0600 if it is missing (an empty file is a valid SQLite database; SQLite gives
    its -wal and -shm files the database's mode), and take group and other permissions away from it and from its
    -wal/-shm if it has them (an older installation)."""
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        pass
    for each in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        try:
            if each.stat().st_mode & 0o077:
                each.chmod(0o600)
        except FileNotFoundError:
            pass
    return path
