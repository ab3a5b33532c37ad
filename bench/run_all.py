"""``make bench``: every benchmark, on the embedded default and on PostgreSQL + Redis, one JSON line each.

Each benchmark runs in its own process (a throw-away data folder; on PostgreSQL the given database's tables are
emptied). The PostgreSQL + Redis runs use ``FILIAL_BENCH_DATABASE_URL`` / ``FILIAL_BENCH_REDIS_URL`` (defaults: the
local test services) and are skipped, with a line saying so, when those cannot be reached. ``--quick`` runs every
benchmark at a tenth of its size or less (a few minutes in all), ``--only NAME`` one benchmark.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

BENCH = Path(__file__).resolve().parent
PG = os.environ.get("FILIAL_BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/test")
REDIS = os.environ.get("FILIAL_BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")

# (name, script, arguments, quick arguments, variants: "embedded" and/or "scale-1" / "scale-2" workers)
PLAN: list[tuple[str, str, list[str], list[str], list[str]]] = [
    ("messages", "messages_through_tokens.py", [], ["--messages", "2000"], ["embedded", "scale-1", "scale-2"]),
    ("posts", "posts_due_together.py", [], ["--pages", "40", "--per-page", "5"], ["embedded", "scale-1", "scale-2"]),
    ("inbound", "inbound_ingest.py", [], ["--items", "10000", "--polled", "1000"], ["embedded", "scale-1"]),
    ("inbox_list", "inbox_list.py", [], ["--items", "100000", "--conversations", "20000"], ["scale-1"]),
    ("loans_import", "loans_import.py", [], ["--loans", "10000", "--readers", "3000"], ["embedded", "scale-1"]),
    ("reminders", "reminders.py", [], ["--readers", "3000", "--loans", "10000"], ["embedded", "scale-1"]),
    ("stats_daily", "stats_daily.py", [], ["--quick"], ["embedded", "scale-1"]),
    ("dashboards", "dashboards.py", [], ["--quick"], ["scale-1"]),
    ("report", "report.py", [], ["--units", "50"], ["embedded", "scale-1"]),
]
TAKES_WORKERS = {"messages", "posts", "reminders"}


def reachable(url: str, default_port: int) -> bool:
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or default_port), timeout=2):
            return True
    except OSError:
        return False


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--only", default="")
    parser.add_argument("--embedded-only", action="store_true")
    args = parser.parse_args()
    scale_ok = reachable(PG, 5432) and reachable(REDIS, 6379)
    failures = 0
    for name, script, full, quick, variants in PLAN:
        if args.only and name != args.only:
            continue
        if not (BENCH / script).exists():
            print(json.dumps({"benchmark": name, "skipped": f"{script} is missing"}), flush=True)
            continue
        for variant in variants:
            env = {k: v for k, v in os.environ.items() if k not in ("FILIAL_DATABASE_URL", "FILIAL_REDIS_URL")}
            extra = list(quick if args.quick else full)
            if variant.startswith("scale"):
                if args.embedded_only:
                    continue
                if not scale_ok:
                    print(json.dumps({"benchmark": name, "variant": variant,
                                      "skipped": "PostgreSQL or Redis cannot be reached"}), flush=True)
                    continue
                env.update(FILIAL_DATABASE_URL=PG, FILIAL_REDIS_URL=REDIS)
                if name in TAKES_WORKERS:
                    extra += ["--workers", variant.rsplit("-", 1)[1]]
            started = time.monotonic()
            run = subprocess.run([sys.executable, str(BENCH / script), *extra], env=env, capture_output=True,  # noqa: S603
                                 text=True, check=False)
            lines = [line for line in run.stdout.splitlines() if line.startswith("{")]
            if run.returncode != 0 or not lines:
                failures += 1
                print(json.dumps({"benchmark": name, "variant": variant, "failed": run.returncode,
                                  "stderr_tail": run.stderr.strip().splitlines()[-5:]}), flush=True)
                continue
            result = json.loads(lines[-1])
            result.update(variant=variant, wall_s=round(time.monotonic() - started, 1))
            print(json.dumps(result, ensure_ascii=False), flush=True)
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
