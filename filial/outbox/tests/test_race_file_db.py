"""Races on a FILE SQLite database, as production runs it (WAL, busy timeout, IMMEDIATE transactions).

Django's SQLite test database is in memory with a shared cache, where a table another connection is writing answers
"database table is locked" at once instead of waiting, so the in-suite race tests must retry (``claim_in_race``).
Here the harness runs in its own process (``python -m filial.outbox.tests.test_race_file_db``) on a temporary data
folder, so the database is the file the product uses, and threads released together by a barrier race for real,
each with its own connection, without any retry:

- four lanes of one page run at once over 40 due messages: every message goes exactly once (one ``Attempt`` each,
  one message per reader on the VK emulator);
- four claimers take batches of one page's 40 due messages at once: the batches never share a row, and together
  they are every row.

    .venv/bin/python -m filial.outbox.tests.test_race_file_db
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
ROWS = 40
THREADS = 4


def test_lanes_and_claims_race_on_a_file_database(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("FILIAL_DATABASE_URL", "FILIAL_REDIS_URL")}
    env.update(FILIAL_DATA_DIR=str(tmp_path / "data"), DJANGO_SETTINGS_MODULE="filial.settings")
    run = subprocess.run([sys.executable, "-m", "filial.outbox.tests.test_race_file_db"], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=300, check=False)
    assert run.returncode == 0, run.stderr[-3000:]
    result = json.loads(run.stdout.strip().splitlines()[-1])
    assert result["database"].endswith(".sqlite3"), result  # a file, not the test suite's memory database
    assert result["errors"] == [], result
    assert result["lanes"]["sent"] == ROWS and result["lanes"]["attempts"] == ROWS, result
    assert result["lanes"]["on_network_per_reader"] == [1], result  # nobody got a message twice
    assert result["lanes"]["threads_that_sent"] >= 1, result
    assert result["claims"]["overlap"] == 0, result
    assert result["claims"]["taken"] == ROWS, result


# --- the harness ------------------------------------------------------------------------------------------------
def _race(worker: Callable[[int], object], count: int) -> list[str]:
    """``worker(n)`` in ``count`` threads released together; each closes its connection. The errors, as text."""
    from django.db import connection

    barrier = threading.Barrier(count)
    errors: list[str] = []

    def run(n: int) -> None:
        try:
            barrier.wait()
            worker(n)
        except BaseException as exc:  # reported in the result
            errors.append(f"{type(exc).__name__}: {exc}")
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    errors += ["a thread did not finish" for thread in threads if thread.is_alive()]
    return errors


def main() -> int:
    os.environ.setdefault("FILIAL_DATA_DIR", tempfile.mkdtemp(prefix="filial-race-"))
    Path(os.environ["FILIAL_DATA_DIR"]).mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "filial.settings")
    os.environ.setdefault("FILIAL_EXTRA_API_HOSTS", "127.0.0.1,localhost")  # the emulator's own loopback port
    os.environ["FILIAL_LANE_BATCH"] = "3"  # small batches: the lanes come back for more while the others run
    sys.path.insert(0, str(ROOT))

    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone

    from emulators.base import ServedEmulator
    from emulators.networks.vk import VKEmulator
    from filial.channels.models import Channel
    from filial.libraries.services import system_create, unit_create
    from filial.outbox import claims, lanes
    from filial.outbox.models import Attempt
    from filial.publishing.jobs import MESSAGE
    from filial.publishing.models import OutgoingMessage

    call_command("migrate", interactive=False, verbosity=0)
    vk = VKEmulator()
    server = ServedEmulator(vk).start()
    errors: list[str] = []
    try:
        system = system_create(actor=None, name="Race system", timezone="Asia/Yekaterinburg")
        unit = unit_create(actor=None, system=system, name="Race central", kind="central")
        seed = vk.seed(group_id=620001, name="VK race")
        page = Channel(unit=unit, network="vk", name="VK race", external_id="620001",
                       api_base_url=server.url + "/method/")
        page.set_credentials(seed["credentials"])
        page.save()

        def messages(prefix: str, first_uid: int) -> list[int]:
            now = timezone.now()
            rows = []
            for k in range(ROWS):
                uid = first_uid + k
                with vk.lock:  # the reader allowed the community's messages (as the emulator's action does)
                    vk._user(uid)
                    vk.state["groups"][page.external_id]["allowed"].append(uid)
                rows.append(OutgoingMessage(channel=page, recipient_id=str(uid), text=f"{prefix} {k}",
                                            purpose="bench", due_at=now, dedupe_key=f"{prefix}-{k}"))
            return [row.pk for row in OutgoingMessage.objects.bulk_create(rows)]

        # 1. Four lanes of the same page at once (two workers that both got the lane from the queue, twice over).
        sent_ids = messages("lane", 2_000_000)
        sent_by: Counter[int] = Counter()

        def lane(n: int) -> None:
            deadline = time.monotonic() + 90
            # Until the page has nothing left to send (a lane gives rows back when the budget says wait).
            while time.monotonic() < deadline:
                results = lanes.run_lane(MESSAGE, page.pk)
                sent_by[n] += results.get("sent", 0)
                if not OutgoingMessage.objects.filter(pk__in=sent_ids).exclude(state="sent").exists():
                    return
                if not results.get("sent"):
                    time.sleep(0.05)

        errors += _race(lane, THREADS)
        with vk.lock:
            out = [m for m in vk.state["groups"][page.external_id]["messages"] if m["out"]]
        per_reader = Counter(str(m["peer_id"]) for m in out if str(m.get("text", "")).startswith("lane "))
        lanes_result = {
            "sent": OutgoingMessage.objects.filter(pk__in=sent_ids, state="sent").count(),
            "attempts": Attempt.objects.filter(message_id__in=sent_ids).count(),
            "on_network_per_reader": sorted(set(per_reader.values())),
            "readers_reached": len(per_reader),
            "threads_that_sent": sum(1 for n in sent_by if sent_by[n]),
        }

        # 2. Four claimers at once over 40 due rows of one page, batches of 12 (together more than there are).
        claim_ids = messages("claim", 3_000_000)
        taken: dict[int, list[int]] = {}

        def claimer(n: int) -> None:
            taken[n] = [row.pk for row in claims.claim_batch(MESSAGE, page.pk, f"race-{n}", 12)]

        errors += _race(claimer, THREADS)
        everyone = [pk for rows in taken.values() for pk in rows]
        left = list(OutgoingMessage.objects.filter(pk__in=claim_ids, state="scheduled").values_list("pk", flat=True))
        while left:  # the rows no claimer got (each took at most 12): taken by one more, alone
            everyone += [row.pk for row in claims.claim_batch(MESSAGE, page.pk, "race-after", 12)]
            left = list(OutgoingMessage.objects.filter(pk__in=claim_ids, state="scheduled")
                        .values_list("pk", flat=True))
        claims_result = {"taken": len(set(everyone)), "overlap": len(everyone) - len(set(everyone)),
                         "per_claimer": sorted(len(rows) for rows in taken.values())}
        print(json.dumps({"database": str(settings.DATABASES["default"]["NAME"]), "vendor": connection.vendor,
                          "errors": errors, "lanes": lanes_result, "claims": claims_result}))
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
