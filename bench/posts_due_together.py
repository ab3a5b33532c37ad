"""Benchmark (b) of issue 4: many posts due in the same minute on many pages of all four networks.

Sets up a throw-away installation (temporary FILIAL_DATA_DIR; FILIAL_DATABASE_URL / FILIAL_REDIS_URL are
honoured if set), serves the four emulators on free loopback ports with their rate limits ON, creates
``--pages`` pages (a quarter per network, each with its own token) and ``--per-page`` posts per page through
the services, makes every delivery due at T0 = now + 5 s, then runs the real worker (``filial worker``, the
Huey consumer with the production thread count, FILIAL_WORKER_THREADS) as a subprocess until every delivery
is published (or failed) or ``--deadline`` passes. Prints ONE JSON object.

    python bench/posts_due_together.py                       # 200 pages x 10 = 2,000 deliveries
    python bench/posts_due_together.py --pages 20 --per-page 2
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
from common import Workers, count_refusals, percentile, prepare_database, start_django  # noqa: E402

NETWORKS = ("vk", "ok", "telegram", "max")
LEAD_S = 5.0  # T0 = now + LEAD_S when the worker starts


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pages", type=int, default=200, help="pages, spread over the four networks (200)")
    parser.add_argument("--per-page", type=int, default=10, help="posts due at T0 on each page (10)")
    parser.add_argument("--workers", type=int, default=1, help="worker processes (1)")
    parser.add_argument("--deadline", type=float, default=600.0, help="give up after this many seconds (600)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary data folder")
    return parser.parse_args()


def lower_bound(network: str, n: int) -> float:
    """Seconds from T0 to the n-th post of one page if the worker sent exactly at the page's rate limits."""
    if n <= 0:
        return 0.0

    def spread(per: int, window: float) -> float:
        return (math.ceil(n / per) - 1) * window

    if network == "vk":
        return spread(3, 1.0)  # 3/s per user token
    if network == "ok":
        return spread(5, 1.0)  # 5/s per token
    if network == "max":
        return spread(30, 1.0)  # 30/s per bot
    return max(spread(1, 1.0), spread(20, 60.0), spread(30, 1.0))  # telegram: 1/s per chat, 20/min per channel


def main() -> int:
    args = parse_args()
    data_dir = start_django("filial-bench-")
    from django.conf import settings
    from django.utils import timezone

    from emulators.base import EmulatorApp, ServedEmulator
    from emulators.networks.max import MaxEmulator
    from emulators.networks.ok import OKEmulator
    from emulators.networks.telegram import TelegramEmulator
    from emulators.networks.vk import VKEmulator
    from filial.accounts.models import Role, User
    from filial.accounts.services import membership_set
    from filial.channels.models import Channel
    from filial.libraries.services import system_create, unit_create
    from filial.outbox.models import Attempt
    from filial.publishing.models import Delivery, Post
    from filial.publishing.services import PostData, post_create, post_submit

    backend = prepare_database()

    apps: dict[str, EmulatorApp] = {
        "vk": VKEmulator(rate_limits=True), "ok": OKEmulator(rate_limits=True, deliver_webhooks=False),
        "telegram": TelegramEmulator(rate_limits=True), "max": MaxEmulator(rate_limits=True, processing_delay=0),
    }
    over_limit_hits = count_refusals(apps)  # every request an emulator refused for its rate limit
    servers = {name: ServedEmulator(app).start() for name, app in apps.items()}
    workers: Workers | None = None
    try:
        system = system_create(actor=None, name="Bench system", timezone="Asia/Yekaterinburg")
        unit = unit_create(actor=None, system=system, name="Bench central", kind="central")
        admin = User.objects.create_user(username="bench-admin", password="bench-password-123")  # noqa: S106
        membership_set(actor=None, user=admin, unit=unit, role=Role.ADMIN)

        pages: list[tuple[str, Channel, dict[str, Any]]] = []
        for i in range(args.pages):
            network = NETWORKS[i % 4]
            app: Any = apps[network]
            url = servers[network].url
            if network == "vk":
                seed = app.seed(group_id=500000 + i, name=f"VK page {i}")
                ch = Channel(unit=unit, network="vk", name=f"VK {i}", external_id=str(500000 + i),
                             api_base_url=url + "/method/")
                ch.set_credentials(seed["credentials"])
            elif network == "ok":
                gid = str(57000000000000 + i)
                seed = app.seed(gid=gid, name=f"OK page {i}")
                ch = Channel(unit=unit, network="ok", name=f"OK {i}", external_id=gid, api_base_url=url + "/fb.do")
                ch.set_credentials(seed["credentials"])
            elif network == "telegram":
                seed = app.seed(title=f"TG page {i}", username=f"bench_tg_{i}", discussion=False)
                ch = Channel(unit=unit, network="telegram", name=f"TG {i}", external_id=str(seed["chat_id"]),
                             api_base_url=url)
                ch.set_credentials({"bot_token": seed["token"]})
            else:
                seed = app.seed(title=f"MAX page {i}")
                ch = Channel(unit=unit, network="max", name=f"MAX {i}", external_id=str(seed["chat_id"]),
                             api_base_url=url)
                ch.set_credentials({"bot_token": seed["token"]})
            ch.save()
            pages.append((network, ch, seed))

        t_setup = time.monotonic()
        later = timezone.now() + timedelta(hours=1)
        for _network, ch, _seed in pages:
            for k in range(args.per_page):
                post = post_create(actor=admin, data=PostData(
                    unit=unit, kind=Post.Kind.NOTE, text=f"Bench post {k} on {ch.name}", channels=[ch],
                    publish_at=later))
                post_submit(actor=admin, post=post)
        setup_s = time.monotonic() - t_setup
        deliveries = Delivery.objects.count()

        t0 = timezone.now() + timedelta(seconds=LEAD_S)
        Post.objects.update(publish_at=t0)
        Delivery.objects.update(due_at=t0)
        open_states = [Delivery.State.SCHEDULED, Delivery.State.SENDING]
        workers = Workers(args.workers, data_dir)
        workers.run_until(lambda: not Delivery.objects.filter(state__in=open_states).exists(), LEAD_S + args.deadline)
        cpu_s = workers.cpu_s

        rows = list(Delivery.objects.values("state", "published_at", "due_at", "channel_id"))
        published = [r for r in rows if r["state"] == Delivery.State.PUBLISHED]
        failed = sum(1 for r in rows if r["state"] == Delivery.State.FAILED)
        delays = [(r["published_at"] - t0).total_seconds() for r in published if r["published_at"]]
        published_per_page: dict[int, int] = {}
        for r in published:
            published_per_page[r["channel_id"]] = published_per_page.get(r["channel_id"], 0) + 1

        network_posts = 0
        duplicates = 0
        for network, ch, seed in pages:
            app = apps[network]
            if network == "vk":
                count = sum(1 for p in app.state["groups"][ch.external_id]["posts"].values() if not p.get("deleted"))
            elif network == "ok":
                count = sum(1 for t in app.state["topics"].values()
                            if not t.get("deleted") and str(t.get("gid")) == ch.external_id)
            elif network == "telegram":
                count = len(app.state["chats"][ch.external_id]["messages"])
            else:
                count = len(app.state["order"].get(str(seed["chat_id"]), []))
            network_posts += count
            duplicates += max(0, count - published_per_page.get(ch.pk, 0))

        attempts_limited = Attempt.objects.filter(outcome=Attempt.Outcome.RETRY_LATER).count()
        bound = max((lower_bound(n, args.per_page) for n in NETWORKS[:min(4, args.pages)]), default=0.0)
        worst = max(delays) if delays else float("nan")
        result = {
            "benchmark": "posts_due_together",
            "deliveries": deliveries,
            "pages": args.pages,
            "per_page": args.per_page,
            "backend": backend,
            "queue": "redis" if os.environ.get("FILIAL_REDIS_URL") else "sqlite",
            "workers": args.workers, "threads_per_worker": int(settings.HUEY.get("consumer", {}).get("workers", 0)),
            "published": len(published),
            "failed": failed,
            "unfinished": deliveries - len(published) - failed,
            "network_posts": network_posts,
            "duplicates": duplicates,
            "rate_limit_errors_received": sum(over_limit_hits.values()),
            "rate_limit_errors_by_network": dict(over_limit_hits),
            "retry_later_attempts": attempts_limited,
            "delay_s": {"p50": round(percentile(delays, 0.5), 3), "p99": round(percentile(delays, 0.99), 3),
                        "max": round(worst, 3)},
            "lower_bound_s": bound,
            "ratio_to_bound": round(worst / bound, 2) if bound else None,
            "cpu_ms_per_delivery": round(1000 * cpu_s / max(1, deliveries), 2),
            "setup_s": round(setup_s, 1),
        }
        if result["unfinished"] or failed:
            result["worker_log_tail"] = workers.log_tail(5)
        print(json.dumps(result, ensure_ascii=False))
    finally:
        if workers is not None:
            workers.close()
        for server in servers.values():
            server.stop()
        if not args.keep:
            shutil.rmtree(data_dir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
