"""Hostile uploads (issue 10): peak memory and time of reading them, each case in its own process.

    .venv/bin/python bench/hostile_files.py            # every case, one JSON line each
    .venv/bin/python bench/hostile_files.py xlsx-xfd   # one case

Cases:
- ``xlsx-dimension``: a ~64 KB .xlsx whose sheet declares ``A1:XFD12000`` (12,000 rows of 3 real cells);
- ``xlsx-xfd``: the same with a cell in column XFD on every row (the sheet really is that wide);
- ``png-7700``: a ~230 KB 7700×7700 PNG (59 megapixels) uploaded as a photo;
- ``jpeg-24mp``: a 6000×4000 JPEG (under the pixel cap) uploaded and given its renditions.

Each file is built first, then read by a fresh process: ``peak_rss_mb`` is that process's ``ru_maxrss`` (the web
or worker process that reads the file; a bare Django start is about 100 MB), ``child_peak_rss_mb`` that of
the children it waited for (the isolated parser), ``s`` the wall time of the read alone.
"""

from __future__ import annotations

import io
import json
import re
import resource
import subprocess
import sys
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CASES = ("xlsx-dimension", "xlsx-xfd", "png-7700", "jpeg-24mp")


def xlsx_declaring_xfd(*, wide: bool) -> bytes:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.append(["Card", "Barcode", "Issued"])
    for i in range(12000):
        sheet.append([i, i, "01.10.2026"])
    out = io.BytesIO()
    book.save(out)
    source = zipfile.ZipFile(io.BytesIO(out.getvalue()))
    patched = io.BytesIO()
    with zipfile.ZipFile(patched, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as target:
        for info in source.infolist():
            data = source.read(info.filename)
            if info.filename == "xl/worksheets/sheet1.xml":
                text = data.decode()
                text = re.sub(r'<dimension ref="[^"]*" ?/>', '<dimension ref="A1:XFD12000"/>', text)
                if wide:
                    text = re.sub(r'(<row r="(\d+)"[^>]*>.*?)</row>',
                                  lambda m: f'{m[1]}<c r="XFD{m[2]}" t="n"><v>1</v></c></row>', text)
                data = text.encode()
            target.writestr(info.filename, data)
    return patched.getvalue()


def png_7700() -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (7700, 7700), (200, 210, 220)).save(out, "PNG", optimize=True)
    return out.getvalue()


def jpeg_24mp() -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (6000, 4000), (120, 140, 160)).save(out, "JPEG", quality=80)
    return out.getvalue()


def build(name: str) -> bytes:
    if name.startswith("xlsx"):
        return xlsx_declaring_xfd(wide=name == "xlsx-xfd")
    return png_7700() if name == "png-7700" else jpeg_24mp()


def run_case(name: str, path: str) -> dict[str, object]:
    import os

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "filial.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.exceptions import ValidationError

    outcome = "accepted"
    if name.startswith("xlsx"):
        from filial.circulation.parsers.rows import ImportFileError
        from filial.circulation.parsers.tabular import read_xlsx

        data = Path(path).read_bytes()
        start = time.monotonic()
        try:
            try:
                from filial.circulation.parsers.limits import isolated
            except ImportError:  # before the isolated parser existed
                table = read_xlsx(data)
            else:
                table = isolated(read_xlsx, data)
            outcome = f"accepted: {len(table.rows)} rows × {len(table.headers)} columns"
        except ImportFileError as exc:
            outcome = f"refused: {exc}"
    else:
        from filial.publishing import media

        data = Path(path).read_bytes()
        start = time.monotonic()
        try:
            if hasattr(media, "photo_clean"):
                clean = media.photo_clean(io.BytesIO(data), len(data))
                size = (clean.width, clean.height)
            else:  # before: the steps media_upload took
                from PIL import Image, ImageOps

                image = ImageOps.exif_transpose(media._load(io.BytesIO(data), len(data)))
                image.thumbnail((media.MAX_SIDE, media.MAX_SIDE))
                copy = Image.new(image.mode, image.size)
                copy.paste(image)
                media._encode(copy, "JPEG")
                size = copy.size
            outcome = f"accepted, stored {size[0]}×{size[1]}"
        except ValidationError as exc:
            outcome = f"refused: {exc.messages[0]}"
    seconds = time.monotonic() - start
    return {"case": name, "file_kb": len(data) // 1024, "s": round(seconds, 2), "outcome": outcome[:160],
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024,
            "child_peak_rss_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss // 1024}


def main() -> None:
    if len(sys.argv) == 4 and sys.argv[1] == "--case":
        print(json.dumps(run_case(sys.argv[2], sys.argv[3]), ensure_ascii=False))
        return
    if len(sys.argv) == 4 and sys.argv[1] == "--build":
        Path(sys.argv[3]).write_bytes(build(sys.argv[2]))
        return
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        for name in sys.argv[1:] or CASES:
            path = Path(folder) / name
            # built in a process of its own: Linux carries a process's peak RSS over to the processes it starts
            subprocess.run([sys.executable, __file__, "--build", name, str(path)], check=True)  # noqa: S603
            subprocess.run([sys.executable, __file__, "--case", name, str(path)], check=False)  # noqa: S603


if __name__ == "__main__":
    main()
