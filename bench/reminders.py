"""Benchmark of issue 6: due-date reminders for 30,000 linked readers with 100,000 loans — planning, then sending
through the VK emulator at the rate-limit ceiling.

Sets up a throw-away installation (temporary FILIAL_DATA_DIR; FILIAL_DATABASE_URL / FILIAL_REDIS_URL are honoured):
``--readers`` readers with ``--loans`` open loans between them, each linked (identity + consent) to one of
``--tokens`` VK community pages and allowed messages there (``MessagingConsent``); every reader's first loan hits a
rule step today (3 days before, due today, 1/7/30 days overdue), the others are spread over ±60 days. Then:

- **planning**: ``reminders.plan()`` (the periodic task's work: eligible identities, loans, rules, one digest per
  reader and day through ``message_send``), timed in ms; then planned a second time the same day (must add 0);
- **sending**: the planned messages made due at T0 = now + a few seconds, ``--workers`` real worker processes
  (``filial worker``) send them through the VK emulator (rate limits ON) until all are done. ``ceiling_per_s`` is
  the tokens' budget (VK: 20 requests/s per community token); ``ratio_to_ceiling`` = rate / ceiling.
  ``duplicates``: messages beyond one per (page, reader) on the emulator, plus digests planned twice.

Prints ONE JSON object.

    python bench/reminders.py                                   # 30,000 readers, 100,000 loans, 10 tokens
    python bench/reminders.py --readers 3000 --loans 10000
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import sys
import time
from collections import Counter
from datetime import time as dtime
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
from common import Workers, count_refusals, prepare_database, start_django, vk_pages  # noqa: E402

LEAD_S = 8.0
PER_TOKEN = 20  # VK: requests per second with a community token
HITS = (3, 0, -1, -7, -30)  # due-date offsets that hit the default rule today


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--readers", type=int, default=30_000, help="linked readers (30,000)")
    parser.add_argument("--loans", type=int, default=100_000, help="open loans between them (100,000)")
    parser.add_argument("--tokens", type=int, default=10, help="VK community pages, one token each (10)")
    parser.add_argument("--workers", type=int, default=1, help="worker processes (1)")
    parser.add_argument("--deadline", type=float, default=900.0, help="give up sending after this many seconds")
    parser.add_argument("--no-send", action="store_true", help="plan only")
    parser.add_argument("--keep", action="store_true", help="keep the temporary data folder")
    return parser.parse_args()


def main() -> int:
    args = parse_args()
    data_dir = start_django("filial-bench-reminders-")
    from django.utils import timezone

    from emulators.base import ServedEmulator
    from emulators.networks.vk import VKEmulator
    from filial.channels.models import Channel
    from filial.circulation.models import Loan, Reader
    from filial.inbox.models import MessagingConsent
    from filial.libraries.services import system_create, unit_create
    from filial.publishing import messages as message_writes
    from filial.publishing.models import OutgoingMessage
    from filial.readers import linking, reminders
    from filial.readers.models import ReaderConsent, ReaderIdentity, Reminder, ReminderRule

    backend = prepare_database()

    vk = VKEmulator(rate_limits=True)
    refused = count_refusals({"vk": vk})
    server = ServedEmulator(vk).start()
    workers: Workers | None = None
    S = OutgoingMessage.State
    rng = random.Random(6)
    try:
        t_setup = time.monotonic()
        system = system_create(actor=None, name="Bench system", timezone="Asia/Yekaterinburg")
        unit = unit_create(actor=None, system=system, name="Bench central", kind="central")
        ReminderRule.objects.create(system=system, quiet_start=dtime(0), quiet_end=dtime(0))  # no quiet hours
        pages: list[Channel] = vk_pages(vk, server.url, unit, args.tokens, 710000)
        today = timezone.localtime(timezone.now(), unit.tz).date()
        Reader.objects.bulk_create([Reader(system=system, unit=unit, card=f"R{k:06d}", name=f"Читатель {k}")
                                    for k in range(args.readers)], batch_size=2000)
        readers = list(Reader.objects.filter(system=system).order_by("pk").values_list("pk", flat=True))
        loans = []
        for n in range(args.loans):
            reader_id = readers[n % len(readers)]
            offset = HITS[rng.randrange(len(HITS))] if n < len(readers) else rng.randint(-60, 60)
            loans.append(Loan(reader_id=reader_id, unit=unit, barcode=f"I{n:07d}", title=f"Книга {n}",
                              issued=today - timedelta(days=90), due=today + timedelta(days=offset)))
        Loan.objects.bulk_create(loans, batch_size=2000)
        text = linking.consent_text_current(system)
        now = timezone.now()
        ReaderConsent.objects.bulk_create([
            ReaderConsent(reader_id=rid, system=system, channel=pages[k % len(pages)], person_id=str(3_000_000 + k),
                          consent_text=text, version=text.version, given_at=now)
            for k, rid in enumerate(readers)], batch_size=2000)
        consents = dict(ReaderConsent.objects.values_list("reader_id", "pk"))
        ReaderIdentity.objects.bulk_create([
            ReaderIdentity(reader_id=rid, channel=pages[k % len(pages)], person_id=str(3_000_000 + k),
                           consent_id=consents[rid], linked_at=now) for k, rid in enumerate(readers)],
            batch_size=2000)
        MessagingConsent.objects.bulk_create([
            MessagingConsent(channel=pages[k % len(pages)], person_id=str(3_000_000 + k), allowed=True,
                             source="bench") for k in range(len(readers))], batch_size=2000)
        with vk.lock:
            for k in range(len(readers)):
                uid = 3_000_000 + k
                vk._user(uid)
                vk.state["groups"][pages[k % len(pages)].external_id]["allowed"].append(uid)
        setup_s = time.monotonic() - t_setup

        # Planning: the engine's queueing on commit is left out (the workers' sweeper picks the rows up at T0).
        real_enqueue = message_writes.messages_on_commit
        message_writes.messages_on_commit = lambda ids: None  # type: ignore[assignment]
        t = time.monotonic()
        if os.environ.get("FILIAL_BENCH_PROFILE"):
            import cProfile
            import pstats

            profiler = cProfile.Profile()
            first = profiler.runcall(reminders.plan)
            pstats.Stats(profiler, stream=sys.stderr).sort_stats("cumulative").print_stats(30)
        else:
            first = reminders.plan()
        plan_ms = (time.monotonic() - t) * 1000
        t = time.monotonic()
        second = reminders.plan()
        replan_ms = (time.monotonic() - t) * 1000
        message_writes.messages_on_commit = real_enqueue  # type: ignore[assignment]
        planned = OutgoingMessage.objects.filter(purpose="reminder")
        result: dict[str, Any] = {
            "benchmark": "reminders", "backend": backend,
            "queue": "redis" if os.environ.get("FILIAL_REDIS_URL") else "sqlite",
            "readers": args.readers, "loans": args.loans, "tokens": args.tokens, "workers": args.workers,
            "setup_s": round(setup_s, 1),
            "plan_ms": round(plan_ms), "planned": first.planned, "plan_ms_per_digest": round(
                plan_ms / max(1, first.planned), 3),
            "replan_ms": round(replan_ms), "replanned": second.planned,
            "messages": planned.count(), "reminders": Reminder.objects.count(),
        }
        if not args.no_send:
            t0 = timezone.now() + timedelta(seconds=LEAD_S)
            planned.update(due_at=t0)
            workers = Workers(args.workers, data_dir)
            workers.run_until(lambda: not planned.filter(state__in=[S.SCHEDULED, S.SENDING]).exists(),
                              LEAD_S + args.deadline)
            states = Counter(planned.values_list("state", flat=True))
            sent_times = sorted(t for t in planned.filter(state=S.SENT).values_list("delivered_at", flat=True) if t)
            n_sent = states.get(S.SENT, 0)
            span = (sent_times[-1] - t0).total_seconds() if sent_times else float("nan")
            duplicates = 0
            for ch in pages:
                out = [m for m in vk.state["groups"][ch.external_id]["messages"] if m["out"]]
                duplicates += sum(c - 1 for c in Counter(m["peer_id"] for m in out).values() if c > 1)
            duplicates += sum(c - 1 for c in Counter(planned.values_list("recipient_id", flat=True)).values() if c > 1)
            reminders.sync_states()
            ceiling = PER_TOKEN * args.tokens
            rate = n_sent / span if span and span > 0 else 0.0
            result.update({
                "sent": n_sent, "failed": states.get(S.FAILED, 0), "uncertain": states.get(S.UNCERTAIN, 0),
                "unfinished": states.get(S.SCHEDULED, 0) + states.get(S.SENDING, 0),
                "duplicates": duplicates, "rate_limit_errors_received": refused["vk"],
                "ceiling_per_s": ceiling, "rate_per_s": round(rate, 1), "ratio_to_ceiling": round(rate / ceiling, 3),
                "last_send_after_t0_s": round(span, 2),
                "reminders_sent": Reminder.objects.filter(state="sent").count(),
            })
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
