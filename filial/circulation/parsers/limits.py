"""What an import file may cost: caps on rows, columns, lines and the .xlsx archive, and a child process that
parses under a memory and time limit.

A file's own claims are not trusted: an .xlsx sheet's declared ``dimension`` is ignored (openpyxl would pad every
row to it), the zip's member sizes are checked before anything is unpacked (Python's zipfile stops at a member's
declared size and fails its CRC, so a member cannot unpack to more than it declares), and what is left — a row of
millions of cells packed into a few kilobytes, a pathological XML — runs out of the child's address space, not
the web or worker process's memory. Settings: ``FILIAL_IMPORT_MAX_ROWS``, ``FILIAL_IMPORT_MAX_COLUMNS``,
``FILIAL_IMPORT_MAX_UNPACKED_MB``, ``FILIAL_IMPORT_MEMORY_MB`` (0: parse in the calling process),
``FILIAL_IMPORT_PARSE_SECONDS``.
"""

from __future__ import annotations

import io
import logging
import multiprocessing
import os
import pickle
import zipfile
from collections.abc import Callable
from typing import Any, TypeVar

from django.conf import settings
from django.utils.translation import gettext as _

from filial.circulation.parsers.rows import ImportFileError

log = logging.getLogger("filial.circulation")

T = TypeVar("T")

MAX_ZIP_MEMBERS = 500  # an .xlsx from Excel or LibreOffice has a dozen or two
MAX_ZIP_RATIO = 100  # sheet XML packs 5–20 times; a member over 1 MB packed denser than this is a zip bomb
MAX_LINE_CHARS = 100_000  # one CSV line (a row of 100 columns of 1,000 characters)


def max_rows() -> int:
    return int(settings.FILIAL_IMPORT_MAX_ROWS)


def max_columns() -> int:
    return int(settings.FILIAL_IMPORT_MAX_COLUMNS)


def too_many_rows() -> ImportFileError:
    return ImportFileError(_("The file has more than %(n)s rows; nothing was imported. Split it into smaller "
                             "files.") % {"n": max_rows()})


def too_many_columns() -> ImportFileError:
    return ImportFileError(_("The file has more than %(n)s columns; nothing was imported. Delete the columns "
                             "you do not need (or save only the sheet with the loans).") % {"n": max_columns()})


def check_zip(data: bytes) -> None:
    """Refuse an .xlsx archive by its directory alone: too many members, too much unpacked, packed too densely."""
    try:
        infos = zipfile.ZipFile(io.BytesIO(data)).infolist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
        raise ImportFileError(_("The Excel file is damaged or truncated; nothing was imported. "
                                "Save it again from Excel as .xlsx.")) from exc
    if len(infos) > MAX_ZIP_MEMBERS:
        raise ImportFileError(_("The Excel file has too many parts (more than %(n)s); nothing was imported. "
                                "Save the sheet with the loans alone as a new .xlsx or as CSV.")
                              % {"n": MAX_ZIP_MEMBERS})
    cap = int(settings.FILIAL_IMPORT_MAX_UNPACKED_MB) * 1024 * 1024
    if sum(i.file_size for i in infos) > cap:
        raise ImportFileError(_("The Excel file holds more than %(n)s MB unpacked; nothing was imported. "
                                "Split it into smaller files or save it as CSV.")
                              % {"n": settings.FILIAL_IMPORT_MAX_UNPACKED_MB})
    for info in infos:
        if info.file_size > 1024 * 1024 and info.file_size > MAX_ZIP_RATIO * max(info.compress_size, 1):
            raise ImportFileError(_("The Excel file is packed too densely to be a real spreadsheet; nothing was "
                                    "imported. Save it again from Excel as .xlsx or as CSV."))
        if info.filename.lower().endswith("sharedstrings.xml") and info.file_size > cap // 2:
            raise ImportFileError(_("The Excel file's text takes more than %(n)s MB; nothing was imported. "
                                    "Split it into smaller files.") % {"n": cap // 2 // (1024 * 1024)})


# --- The isolated parser --------------------------------------------------------------------------------


def _memory_message() -> str:
    return _("Reading the file needs more memory than an import may use (%(n)s MB); nothing was imported. "
             "Split it into smaller files.") % {"n": settings.FILIAL_IMPORT_MEMORY_MB}


def _address_space() -> int:
    """This process's virtual size in bytes (Linux), 0 where unknown."""
    try:
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


def _child(conn: Any, budget: int, fn: Callable[..., Any], args: tuple[Any, ...]) -> None:
    import resource

    current = _address_space()
    if current:
        resource.setrlimit(resource.RLIMIT_AS, (current + budget, current + budget))
    try:
        result: tuple[str, Any] = ("ok", fn(*args))
    except ImportFileError as exc:
        result = ("refused", str(exc))
    except MemoryError:
        result = ("memory", "")
    except Exception as exc:  # reported in the parent's log, the person sees a plain refusal
        result = ("crash", f"{type(exc).__name__}: {exc}"[:500])
    try:
        conn.send_bytes(pickle.dumps(result, protocol=pickle.HIGHEST_PROTOCOL))
    except MemoryError:
        conn.send_bytes(pickle.dumps(("memory", "")))
    conn.close()


def isolated(fn: Callable[..., T], *args: Any) -> T:
    """``fn(*args)`` in a forked child whose address space may grow by ``FILIAL_IMPORT_MEMORY_MB`` and which is
    stopped after ``FILIAL_IMPORT_PARSE_SECONDS``; its ``ImportFileError`` comes back as one. ``fn`` must not use
    the database (the child shares the parent's connections and leaves them alone)."""
    budget_mb = int(settings.FILIAL_IMPORT_MEMORY_MB)
    if budget_mb <= 0 or not hasattr(os, "fork"):
        return fn(*args)
    seconds = float(settings.FILIAL_IMPORT_PARSE_SECONDS)
    context = multiprocessing.get_context("fork")
    receiver, sender = context.Pipe(duplex=False)
    process = context.Process(target=_child, args=(sender, budget_mb * 1024 * 1024, fn, args), daemon=True)
    process.start()
    sender.close()
    try:
        if not receiver.poll(seconds):
            raise ImportFileError(_("Reading the file took longer than %(n)s s; nothing was imported. Split it "
                                    "into smaller files.") % {"n": int(seconds)})
        try:
            kind, value = pickle.loads(receiver.recv_bytes())  # noqa: S301 - our own child's answer
        except EOFError:
            kind, value = "died", ""
    finally:
        receiver.close()
        if process.is_alive():
            process.kill()
        process.join(5)
    if kind == "ok":
        return value  # type: ignore[no-any-return]
    if kind == "refused":
        raise ImportFileError(value)
    if kind in ("memory", "died"):
        log.warning("import parser ran out of memory or died (exit code %s)", process.exitcode)
        raise ImportFileError(_memory_message())
    log.warning("import parser failed: %s", value)
    raise ImportFileError(_("The file cannot be read; nothing was imported. Save it again as .xlsx or CSV."))
