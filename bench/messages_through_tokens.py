"""Benchmark (a) of issue 4: direct messages through several VK community tokens at the rate-limit ceiling.

Sets up a throw-away installation (temporary FILIAL_DATA_DIR; FILIAL_DATABASE_URL / FILIAL_REDIS_URL are honoured),
serves the VK emulator on a free loopback port with its rate limits ON (every refusal is counted), creates
``--tokens`` community pages and ``--messages`` readers who allowed messages, one ``OutgoingMessage`` each, all
due at T0 = now + a few seconds, then runs ``--workers`` real worker processes (``filial worker``, the Huey
consumer with FILIAL_WORKER_THREADS threads) until every message is sent (or failed) or ``--deadline`` passes.
Prints ONE JSON object.

- ``ceiling_per_s``: the sum of the tokens' budgets (VK: 20 requests/s per community token; one message is one
  ``messages.send``): 10 tokens → 200 msg/s. ``rate``: messages sent / seconds from T0 to the last send.
- ``duplicates``: messages beyond one per (page, reader, random_id) on the emulator, plus texts seen twice.
- ``cpu_ms_per_message``: user + system CPU of the worker processes / messages; ``queries_per_message``: the
  database statements of sending one message, counted in this process over a sample before the run.

    python bench/messages_through_tokens.py                        # 20,000 messages, 10 tokens, 1 worker
    python bench/messages_through_tokens.py --messages 2000 --workers 2
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import shutil
import sys
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
from common import Workers, count_refusals, prepare_database, start_django, vk_pages  # noqa: E402

LEAD_S = 8.0  # T0 = now + LEAD_S when the workers start: time to start and to queue every row
PER_TOKEN = 20  # VK: requests per second with a community token
SAMPLE = 200  # messages sent in-process first to count the queries of one message (20 per page: one batch)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=20000, help="direct messages to send (20,000)")
    parser.add_argument("--tokens", type=int, default=10, help="VK community pages, one token each (10)")
    parser.add_argument("--workers", type=int, default=1, help="worker processes (1)")
    parser.add_argument("--deadline", type=float, default=600.0, help="give up after this many seconds (600)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary data folder")
    return parser.parse_args()


def main() -> int:
    args = parse_args()
    data_dir = start_django("filial-bench-")
    from django.conf import settings
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from emulators.base import ServedEmulator
    from emulators.networks.vk import VKEmulator
    from filial.channels.models import Channel
    from filial.libraries.services import system_create, unit_create
    from filial.networks.vk.connector import random_id_for
    from filial.outbox import lanes
    from filial.outbox.models import Attempt
    from filial.publishing.jobs import MESSAGE
    from filial.publishing.models import OutgoingMessage

    backend = prepare_database()

    vk = VKEmulator(rate_limits=True)
    refused = count_refusals({"vk": vk})
    server = ServedEmulator(vk).start()
    workers: Workers | None = None
    S = OutgoingMessage.State
    try:
        system = system_create(actor=None, name="Bench system", timezone="Asia/Yekaterinburg")
        unit = unit_create(actor=None, system=system, name="Bench central", kind="central")
        pages: list[Channel] = vk_pages(vk, server.url, unit, args.tokens, 700000)

        t_setup = time.monotonic()
        far = timezone.now() + timedelta(days=1)
        total = args.messages + SAMPLE
        rows = []
        for k in range(total):
            ch = pages[k % len(pages)]
            uid = 2_000_000 + k
            with vk.lock:  # the reader pressed "allow messages" (set directly: the bench is about sending)
                vk._user(uid)
                vk.state["groups"][ch.external_id]["allowed"].append(uid)
            rows.append(OutgoingMessage(channel=ch, recipient_id=str(uid), text=f"Напоминание {k}: срок возврата книги",
                                        purpose="bench", due_at=far, dedupe_key=f"bench-{k}"))
        OutgoingMessage.objects.bulk_create(rows, batch_size=1000)
        setup_s = time.monotonic() - t_setup
        del rows
        # The emulators serve from this process: objects made so far are set aside from the garbage collector, so
        # that a full collection does not stall them for tens of milliseconds (that would shift when requests
        # arrive, and the networks count requests by arrival).
        gc.collect()
        gc.freeze()

        # Queries of one message, in this process, over a sample sent as the worker sends: by the pages' lanes
        # (excluded from the run).
        sample_ids = list(OutgoingMessage.objects.order_by("pk").values_list("pk", flat=True)[:SAMPLE])
        OutgoingMessage.objects.filter(pk__in=sample_ids).update(due_at=timezone.now() - timedelta(seconds=1))
        with CaptureQueriesContext(connection) as captured:
            for ch in pages:
                lanes.run_lane(MESSAGE, ch.pk)
        queries_per_message = len(captured) / SAMPLE
        sample_sent = OutgoingMessage.objects.filter(pk__in=sample_ids, state=S.SENT).count()
        time.sleep(1.2)  # the sample's budget window passes before the run

        run = OutgoingMessage.objects.exclude(pk__in=sample_ids)
        t0 = timezone.now() + timedelta(seconds=LEAD_S)
        run.update(due_at=t0)
        workers = Workers(args.workers, data_dir)
        workers.run_until(lambda: not run.filter(state__in=[S.SCHEDULED, S.SENDING]).exists(),
                          LEAD_S + args.deadline)
        cpu_s = workers.cpu_s

        states = Counter(run.values_list("state", flat=True))
        sent_times = sorted(t for t in run.filter(state=S.SENT).values_list("delivered_at", flat=True) if t)
        n_sent = states.get(S.SENT, 0)
        span = (sent_times[-1] - t0).total_seconds() if sent_times else float("nan")
        first = (sent_times[0] - t0).total_seconds() if sent_times else float("nan")
        steady = (sent_times[-1] - sent_times[0]).total_seconds() if len(sent_times) > 1 else float("nan")

        duplicates = missing = 0
        messages = {m.pk: m for m in run.select_related("channel")}
        for ch in pages:
            out = [m for m in vk.state["groups"][ch.external_id]["messages"] if m["out"]]
            per_peer = Counter((m["peer_id"], m["random_id"]) for m in out)
            duplicates += sum(c - 1 for c in per_peer.values() if c > 1)
            duplicates += sum(c - 1 for c in Counter(m["text"] for m in out).values() if c > 1)
            wanted = {(int(m.recipient_id), random_id_for(m.key)) for m in messages.values() if m.channel_id == ch.pk}
            missing += len(wanted - set(per_peer))
        ceiling = PER_TOKEN * args.tokens
        rate = n_sent / span if span and span > 0 else 0.0
        result: dict[str, Any] = {
            "benchmark": "messages_through_tokens",
            "messages": args.messages, "tokens": args.tokens, "backend": backend,
            "queue": "redis" if os.environ.get("FILIAL_REDIS_URL") else "sqlite",
            "workers": args.workers, "threads_per_worker": int(settings.HUEY.get("consumer", {}).get("workers", 0)),
            "sent": n_sent, "failed": states.get(S.FAILED, 0), "uncertain": states.get(S.UNCERTAIN, 0),
            "unfinished": states.get(S.SCHEDULED, 0) + states.get(S.SENDING, 0),
            "duplicates": duplicates, "missing_on_network": missing,
            "rate_limit_errors_received": refused["vk"],
            "retry_later_attempts": Attempt.objects.filter(message__isnull=False,
                                                           outcome=Attempt.Outcome.RETRY_LATER).count(),
            "ceiling_per_s": ceiling, "rate_per_s": round(rate, 1), "ratio_to_ceiling": round(rate / ceiling, 3),
            "steady_rate_per_s": round((n_sent - 1) / steady, 1) if steady and steady > 0 else None,
            "first_send_after_t0_s": round(first, 2), "last_send_after_t0_s": round(span, 2),
            "cpu_ms_per_message": round(1000 * cpu_s / max(1, n_sent), 2),
            "queries_per_message": round(queries_per_message, 1), "sample_sent": sample_sent,
            "setup_s": round(setup_s, 1),
        }
        if result["unfinished"] or result["failed"]:
            result["worker_log_tail"] = workers.log_tail()
        print(json.dumps(result, ensure_ascii=False))
    finally:
        if workers is not None:
            workers.close()
        server.stop()
        if not args.keep:
            shutil.rmtree(data_dir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
