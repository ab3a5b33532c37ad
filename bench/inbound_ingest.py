"""Benchmark of issue 5: inbound items ingested through the real pipeline (items/s, queries per item).

Sets up a throw-away installation (temporary FILIAL_DATA_DIR; FILIAL_DATABASE_URL is honoured if set) with one
page per network and measures two legs:

- **webhook rows**: ``--items`` (100,000) comments and direct messages stored as ``InboundEvent`` rows exactly as
  the webhook endpoints store them (``store_events``), a mix of the four networks, ``--people`` readers and
  ``--posts`` posts; then ``pipeline.process_pending()`` runs until no row is pending. Measured: the ingest
  (dedup, conversations, deadlines, handlers, items) — the time to store the rows is reported apart;
- **polling**: ``--polled`` (5,000) direct messages waiting in the Telegram emulator (served on loopback, rate
  limits off), fetched with ``pipeline.poll_page`` (getUpdates, 100 per call) until the page is drained.

Prints ONE JSON object.

    python bench/inbound_ingest.py                      # 100,000 rows + 5,000 polled
    python bench/inbound_ingest.py --items 10000 --polled 1000
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
from common import QueryCounter, prepare_database, start_django  # noqa: E402


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--items", type=int, default=100_000, help="webhook rows to ingest (100,000)")
    parser.add_argument("--people", type=int, default=20_000, help="distinct readers writing messages (20,000)")
    parser.add_argument("--posts", type=int, default=1_000, help="distinct posts commented on (1,000)")
    parser.add_argument("--polled", type=int, default=5_000, help="messages fetched by polling Telegram (5,000)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary data folder")
    return parser.parse_args()


def main() -> int:
    args = parse_args()
    data_dir = start_django("filial-bench-inbox-")
    from django.db import connection

    from emulators.base import ServedEmulator
    from emulators.networks.telegram import TelegramEmulator
    from filial.channels.models import Channel, InboundEvent
    from filial.channels.webhooks import item_event, store_events
    from filial.inbox import pipeline
    from filial.inbox.models import Conversation, InboxItem
    from filial.libraries.services import system_create, unit_create
    from filial.networks.base import InboundItem

    backend = prepare_database()
    result: dict[str, Any] = {"benchmark": "inbound_ingest", "backend": backend}
    try:
        system = system_create(actor=None, name="Bench inbox system", timezone="Asia/Yekaterinburg")
        unit = unit_create(actor=None, system=system, name="Bench inbox central", kind="central")
        pages = {network: Channel.objects.create(unit=unit, network=network, name=f"Bench {network}",
                                                 external_id=f"bench-{network}")
                 for network in ("vk", "ok", "telegram", "max")}

        # --- leg 1: webhook rows ------------------------------------------------------------------------
        networks = list(pages)
        started = time.perf_counter()
        base = datetime.now(tz=UTC) - timedelta(days=2)
        batch: dict[str, list[InboundEvent]] = {n: [] for n in networks}
        stored = 0
        for i in range(args.items):
            network = networks[i % 4]
            channel = pages[network]
            at = base + timedelta(seconds=i)
            if i % 3 == 0:  # a comment under one of the posts
                post = f"post-{i % args.posts}"
                item = InboundItem(kind="comment", external_id=f"c{i}", thread_id=post, author_id=str(i % 997),
                                   author_name="Читатель", text=f"Комментарий {i}: когда будет встреча?", at=at,
                                   post_external_id=post)
            else:
                person = str(i % args.people)
                item = InboundItem(kind="message", external_id=f"m{i}", thread_id=person, author_id=person,
                                   author_name=f"Читатель {person}", text=f"Сообщение {i}: продлите книгу", at=at)
            batch[network].append(item_event(channel, item))
            if len(batch[network]) >= 2000:
                stored += store_events(channel, batch[network])
                batch[network] = []
        for network, events in batch.items():
            stored += store_events(pages[network], events)
        store_s = time.perf_counter() - started

        counter = QueryCounter()
        started = time.perf_counter()
        processed = 0
        with connection.execute_wrapper(counter):
            while True:
                done = pipeline.process_pending(limit=2000)
                processed += done
                if not done:
                    break
        ingest_s = time.perf_counter() - started
        items = InboxItem.objects.count()
        result["webhook_rows"] = {
            "items": args.items, "rows_stored": stored, "rows_processed": processed, "items_in_inbox": items,
            "conversations": Conversation.objects.count(), "store_rows_s": round(store_s, 2),
            "ingest_s": round(ingest_s, 2), "items_per_s": round(items / ingest_s, 1) if ingest_s else None,
            "queries": counter.n, "queries_per_item": round(counter.n / max(items, 1), 3),
            "pending_left": InboundEvent.objects.filter(state=InboundEvent.State.PENDING).count(),
        }

        # --- leg 2: polling Telegram --------------------------------------------------------------------
        emulator = TelegramEmulator(rate_limits=False)
        server = ServedEmulator(emulator).start()
        try:
            seed = emulator.seed(title="Bench TG", username="bench_tg")
            channel = Channel(unit=unit, network="telegram", name="Bench TG polled",
                              external_id=str(seed["chat_id"]), api_base_url=server.url)
            channel.set_credentials({"bot_token": seed["token"]})
            channel.save()
            pipeline.poll_page(channel.pk)
            for i in range(args.polled):
                emulator.simulate("message", {"token": seed["token"], "text": f"Вопрос {i}",
                                              "user": {"id": 900_000 + i % 500, "first_name": "Читатель"}})
            counter = QueryCounter()
            started = time.perf_counter()
            polls = 0
            with connection.execute_wrapper(counter):
                while True:
                    before = InboxItem.objects.filter(channel=channel).count()
                    pipeline.poll_page(channel.pk, max_batches=50)
                    polls += 1
                    if InboxItem.objects.filter(channel=channel).count() == before:
                        break
            poll_s = time.perf_counter() - started
            polled = InboxItem.objects.filter(channel=channel).count()
            result["polling_telegram"] = {
                "messages": args.polled, "items_in_inbox": polled, "poll_calls": polls, "seconds": round(poll_s, 2),
                "items_per_s": round(polled / poll_s, 1) if poll_s else None,
                "queries_per_item": round(counter.n / max(polled, 1), 3),
            }
        finally:
            server.stop()
    finally:
        if not args.keep:
            shutil.rmtree(data_dir, ignore_errors=True)
    print(json.dumps(result, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
