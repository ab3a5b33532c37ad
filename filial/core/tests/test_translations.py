"""Every user-facing string is translated, and the committed .mo files match the .po catalogues."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import polib
import pytest

from filial.core.compilemessages import LOCALE_DIR

RU_PO = LOCALE_DIR / "ru" / "LC_MESSAGES" / "django.po"
PROJECT = LOCALE_DIR.parent


def test_russian_catalogue_is_complete() -> None:
    po = polib.pofile(str(RU_PO))
    missing = [e.msgid for e in po if not e.obsolete and (not e.translated() or "fuzzy" in e.flags)]
    assert missing == [], f"untranslated or fuzzy strings: {missing[:20]}"


def test_compiled_catalogue_matches_source() -> None:
    po = polib.pofile(str(RU_PO))
    mo = polib.mofile(str(RU_PO.with_suffix(".mo")))
    source = {(e.msgctxt, e.msgid): (e.msgstr, tuple(sorted(e.msgstr_plural.items())))
              for e in po if e.translated() and not e.obsolete}
    compiled = {(e.msgctxt, e.msgid): (e.msgstr, tuple(sorted(e.msgstr_plural.items()))) for e in mo if e.msgid}
    assert compiled == source, "run `make messages` to recompile the .mo files"


@pytest.mark.skipif(shutil.which("xgettext") is None, reason="GNU gettext (xgettext) is not installed")
def test_no_string_is_missing_from_the_catalogue(tmp_path: Path) -> None:
    """Extract the strings afresh and check the committed catalogue already has every one of them."""
    work = tmp_path / "filial"
    shutil.copytree(PROJECT, work, ignore=shutil.ignore_patterns("__pycache__", "locale", "tests"))
    (work / "locale").mkdir()
    subprocess.run(
        [sys.executable, "-m", "django", "makemessages", "-l", "ru", "--no-location",
         "--no-wrap", "--ignore", "tests/*"],
        cwd=work, check=True, capture_output=True,
        env={"PATH": "/usr/local/bin:/usr/bin:/bin",
             "DJANGO_SETTINGS_MODULE": "filial.settings", "PYTHONPATH": str(PROJECT.parent)},
    )
    fresh = polib.pofile(str(work / "locale" / "ru" / "LC_MESSAGES" / "django.po"))
    committed = {(e.msgctxt, e.msgid) for e in polib.pofile(str(RU_PO)) if not e.obsolete}
    new = sorted(e.msgid for e in fresh if (e.msgctxt, e.msgid) not in committed)
    assert new == [], f"strings not in the catalogue (run `make messages`): {new[:20]}"
