"""What the benchmarks share: a clean start, VK pages on an emulator, refusal and query counting, the real workers,
percentiles."""

from __future__ import annotations

import math
import os
import resource
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def start_django(prefix: str = "filial-bench-") -> Path:
    """A throw-away data folder for this run (SQLite, queue, files), then ``django.setup()``; returns the folder."""
    import tempfile

    data_dir = Path(tempfile.mkdtemp(prefix=prefix))
    os.environ["FILIAL_DATA_DIR"] = str(data_dir)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "filial.settings")
    # The emulators listen on loopback ports of their own, not the built-in ones: pages may use them.
    os.environ.setdefault("FILIAL_EXTRA_API_HOSTS", "127.0.0.1,localhost")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    return data_dir


def prepare_database() -> str:
    """Migrate; on a shared PostgreSQL database empty its tables, on Redis empty the queue and the rate budgets (a
    benchmark starts from nothing). Returns the backend's name. Call after ``django.setup()``."""
    from django.conf import settings
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=0)
    backend = "postgresql" if settings.DATABASES["default"]["ENGINE"].endswith("postgresql") else "sqlite"
    if backend == "postgresql":
        call_command("flush", interactive=False, verbosity=0)
    if os.environ.get("FILIAL_REDIS_URL"):
        from huey.contrib.djhuey import HUEY

        from filial.networks.ratelimit import get_limiter

        HUEY.flush()
        get_limiter().storage.reset()
    return backend


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = (len(ordered) - 1) * q
    lo, hi = math.floor(k), math.ceil(k)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def count_refusals(apps: dict[str, Any]) -> Counter[str]:
    """Count, per emulator name, every request the emulators refuse for their rate limit (the counter fills as they
    run)."""
    refused: Counter[str] = Counter({name: 0 for name in apps})
    for name, app in apps.items():
        original = app.over_limit

        def counted(key: str, limit: int, per: float, _orig: Any = original, _name: str = name) -> bool:
            hit = bool(_orig(key, limit, per))
            if hit:
                refused[_name] += 1
            return hit

        app.over_limit = counted
    return refused


def vk_pages(vk: Any, base_url: str, unit: Any, count: int, first_group_id: int) -> list[Any]:
    """``count`` VK community pages of ``unit``, each with its own token, seeded on the emulator ``vk`` served at
    ``base_url``."""
    from filial.channels.models import Channel

    pages = []
    for i in range(count):
        group_id = first_group_id + i
        seed = vk.seed(group_id=group_id, name=f"VK bench {i}")
        page = Channel(unit=unit, network="vk", name=f"VK {i}", external_id=str(group_id),
                       api_base_url=base_url + "/method/")
        page.set_credentials(seed["credentials"])
        page.save()
        pages.append(page)
    return pages


class QueryCounter:
    """Counts the SQL statements run while installed (``connection.execute_wrapper``)."""

    def __init__(self) -> None:
        self.n = 0

    def __call__(self, execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        self.n += 1
        return execute(sql, params, many, context)


class Workers:
    """``count`` real worker processes (``filial worker``), each logging to ``worker<i>.log`` in ``data_dir`` (a file,
    not a pipe: a full pipe would block the worker's logging). ``close()`` in a ``finally``."""

    def __init__(self, count: int, data_dir: Path) -> None:
        self.logs = [data_dir / f"worker{i}.log" for i in range(count)]
        self.cpu_s = 0.0
        self._before = resource.getrusage(resource.RUSAGE_CHILDREN)
        self._files = [log.open("wb") for log in self.logs]
        self.procs = [subprocess.Popen([sys.executable, "-m", "filial.cli", "worker"], cwd=ROOT,
                                       env=dict(os.environ), stdout=f, stderr=subprocess.STDOUT) for f in self._files]

    def run_until(self, done: Callable[[], bool], seconds: float) -> None:
        """Poll ``done`` twice a second until it is true, ``seconds`` pass or a worker dies; then stop the workers
        (SIGTERM, SIGKILL after 15 s) and record their CPU time in ``cpu_s``."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline and all(p.poll() is None for p in self.procs) and not done():
            time.sleep(0.5)
        for proc in self.procs:
            proc.send_signal(signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        self.cpu_s = (after.ru_utime - self._before.ru_utime) + (after.ru_stime - self._before.ru_stime)

    def log_tail(self, lines: int = 6) -> list[str]:
        return self.logs[0].read_text(errors="replace").strip().splitlines()[-lines:]

    def close(self) -> None:
        """Kill what still runs (a benchmark that failed half-way) and close the logs."""
        for proc in self.procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        for f in self._files:
            f.close()
