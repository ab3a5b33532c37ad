"""Benchmark of issue 12: the daily statistics job for many pages while publishing runs beside it.

Sets up a throw-away installation (temporary FILIAL_DATA_DIR; FILIAL_DATABASE_URL / FILIAL_REDIS_URL honoured),
serves the four emulators on loopback with their rate limits ON, creates ``--pages`` pages (a quarter per network,
each with its own token), publishes ``--published`` posts on each through the connectors (what the job reads), and
schedules ``--due`` publications on every ``--due-every``-th page, due at moments spread over the first
``--spread`` seconds after T0 (``--warmup`` seconds after the worker starts: its start-up sweep and first inbox
polls of every page are over by then). Then the real worker (``filial worker``) runs both: the statistics of every page
(``stats.tasks.collect_pages_task``, queued at T0 and again every ``--tick`` seconds for the pages not done yet, as
the quarter-hour tick would) and the publications (the outbox's lanes). Prints ONE JSON object:

- ``pages_per_min``: pages with today's figures per minute, from T0 to the last page done;
- ``delayed_past_bound``: publications published later than their due time plus the bound (the network's own
  pacing for the page's due posts, plus ``--slack`` seconds): must be 0;
- ``rate_limit_errors_received``: requests an emulator refused for its rate limit: must be 0 (within budgets).

    python bench/stats_daily.py                 # 2,000 pages
    python bench/stats_daily.py --quick         # 200 pages
"""

from __future__ import annotations

import argparse
import json
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
LEAD_S = 5.0


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pages", type=int, default=2000, help="pages, spread over the four networks (2000)")
    parser.add_argument("--published", type=int, default=2, help="published posts per page the job reads (2)")
    parser.add_argument("--due", type=int, default=1, help="publications due per publishing page (1)")
    parser.add_argument("--due-every", type=int, default=4, help="every n-th page publishes during the run (4)")
    parser.add_argument("--spread", type=float, default=60.0, help="the due times spread over this many s (60)")
    parser.add_argument("--tick", type=float, default=15.0, help="queue the pages not done yet this often (15 s)")
    parser.add_argument("--slack", type=float, default=10.0, help="seconds a publication may take (10)")
    parser.add_argument("--workers", type=int, default=1, help="worker processes (1)")
    parser.add_argument("--warmup", type=float, default=45.0,
                        help="seconds between the worker's start (its first sweep and inbox polls of every page) and "
                             "T0 (45)")
    parser.add_argument("--deadline", type=float, default=1800.0, help="give up after this many seconds (1800)")
    parser.add_argument("--quick", action="store_true", help="200 pages")
    parser.add_argument("--polling", action="store_true",
                        help="the worker polls every page's inbox each minute (default: the pages' updates come by "
                             "webhook, as on an installation of this size)")
    parser.add_argument("--no-stats", action="store_true",
                        help="publishing alone (the baseline the publication delays are compared with)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary data folder")
    args = parser.parse_args()
    if args.quick:
        args.pages = min(args.pages, 200)
    return args


def pacing(network: str, n: int) -> float:
    """Seconds the network's own limits need for ``n`` posts of one page (as bench/posts_due_together.py)."""
    if n <= 1:
        return 0.0
    per = {"vk": (3, 1.0), "ok": (5, 1.0), "max": (30, 1.0), "telegram": (1, 1.0)}[network]
    return (n - 1) // per[0] * per[1]


def make_page(network: str, i: int, app: Any, url: str, unit: Any, polling: bool) -> tuple[Any, dict[str, Any]]:
    from filial.channels.models import Channel

    if network == "vk":
        seed = app.seed(group_id=600000 + i, name=f"VK page {i}", members=100 + i)
        ch = Channel(unit=unit, network="vk", name=f"VK {i}", external_id=str(600000 + i),
                     api_base_url=url + "/method/")
        ch.set_credentials(seed["credentials"])
    elif network == "ok":
        gid = str(58000000000000 + i)
        seed = app.seed(gid=gid, name=f"OK page {i}", members=100 + i)
        ch = Channel(unit=unit, network="ok", name=f"OK {i}", external_id=gid, api_base_url=url + "/fb.do")
        ch.set_credentials(seed["credentials"])
    elif network == "telegram":
        seed = app.seed(title=f"TG page {i}", username=f"bench_st_{i}", discussion=False, members=100 + i)
        ch = Channel(unit=unit, network="telegram", name=f"TG {i}", external_id=str(seed["chat_id"]), api_base_url=url)
        ch.set_credentials({"bot_token": seed["token"]})
    else:
        seed = app.seed(title=f"MAX page {i}", members=100 + i)
        ch = Channel(unit=unit, network="max", name=f"MAX {i}", external_id=str(seed["chat_id"]), api_base_url=url)
        ch.set_credentials({"bot_token": seed["token"]})
    if not polling:  # the page's updates come by webhook: the worker does not poll its inbox
        ch.set_credentials({**ch.credentials, "webhook_secret": f"bench-{network}-{i}"})
    ch.save()
    return ch, seed


def main() -> int:
    args = parse_args()
    data_dir = start_django("filial-bench-stats-")
    from django.conf import settings
    from django.utils import timezone

    from emulators.base import EmulatorApp, ServedEmulator
    from emulators.networks.max import MaxEmulator
    from emulators.networks.ok import OKEmulator
    from emulators.networks.telegram import TelegramEmulator
    from emulators.networks.vk import VKEmulator
    from filial.accounts.models import Role, User
    from filial.accounts.services import membership_set
    from filial.channels.connections import connection
    from filial.libraries.services import system_create, unit_create
    from filial.networks.base import PostPayload
    from filial.networks.ratelimit import Limiter, publish_claims
    from filial.publishing.models import Delivery, Post
    from filial.publishing.services import PostData, post_create, post_submit
    from filial.stats.models import PageDay, PublicationDay
    from filial.stats.tasks import collect_pages_task

    backend = prepare_database()
    apps: dict[str, EmulatorApp] = {
        "vk": VKEmulator(rate_limits=True), "ok": OKEmulator(rate_limits=True, deliver_webhooks=False),
        "telegram": TelegramEmulator(rate_limits=True), "max": MaxEmulator(rate_limits=True, processing_delay=0),
    }
    refusals = count_refusals(apps)
    servers = {name: ServedEmulator(app).start() for name, app in apps.items()}
    workers: Workers | None = None
    try:
        system = system_create(actor=None, name="Bench system", timezone="Asia/Yekaterinburg")
        unit = unit_create(actor=None, system=system, name="Bench central", kind="central")
        admin = User.objects.create_user(username="bench-admin", password="bench-password-123")  # noqa: S106
        membership_set(actor=None, user=admin, unit=unit, role=Role.ADMIN)

        t_setup = time.monotonic()
        pages = []
        for i in range(args.pages):
            network = NETWORKS[i % 4]
            pages.append((network, *make_page(network, i, apps[network], servers[network].url, unit, args.polling)))
        # What the job reads: posts published on the emulators in the last days, recorded as the outbox would.
        pacer = Limiter("memory://")
        posts: list[Post] = []
        rows: list[Delivery] = []
        for network, ch, _seed in pages:
            with connection(ch) as connector:
                for k in range(args.published):
                    payload = PostPayload(text=f"Published {k} on {ch.name}", key=f"bench-{ch.pk}-{k}")
                    pacer.acquire(publish_claims(network, ch.external_id, ch.credentials, payload))
                    published = connector.publish(payload)
                    at = timezone.now() - timedelta(days=k + 1)
                    post = Post.objects.create(unit=unit, kind="note", text=payload.text, state=Post.State.PUBLISHED,
                                               publish_at=at)
                    posts.append(post)
                    rows.append(Delivery(post=post, channel=ch, state=Delivery.State.PUBLISHED, due_at=at,
                                         published_at=at, external_id=published.external_id))
        Delivery.objects.bulk_create(rows)
        # What publishing does meanwhile: due posts on every n-th page, through the services.
        later = timezone.now() + timedelta(hours=1)
        publishing_pages = [(network, ch) for n, (network, ch, _seed) in enumerate(pages) if n % args.due_every == 0]
        for _network, ch in publishing_pages:
            for k in range(args.due):
                post = post_create(actor=admin, data=PostData(unit=unit, kind=Post.Kind.NOTE,
                                                              text=f"Due {k} on {ch.name}", channels=[ch],
                                                              publish_at=later))
                post_submit(actor=admin, post=post)
        setup_s = time.monotonic() - t_setup

        t0 = timezone.now() + timedelta(seconds=max(LEAD_S, args.warmup))
        due = Delivery.objects.filter(state=Delivery.State.SCHEDULED).select_related("channel").order_by("pk")
        for n, delivery in enumerate(due):
            at = t0 + timedelta(seconds=args.spread * n / max(1, due.count()))
            Delivery.objects.filter(pk=delivery.pk).update(due_at=at)
            Post.objects.filter(pk=delivery.post_id).update(publish_at=at)
        due_total = due.count()
        ids = [ch.pk for _network, ch, _seed in pages]
        today = timezone.localtime(t0, unit.tz).date()

        def remaining() -> list[int]:
            done = set(PageDay.objects.filter(day=today, error="").values_list("channel_id", flat=True))
            return [pk for pk in ids if pk not in done]

        workers = Workers(args.workers, data_dir)
        while timezone.now() < t0:
            time.sleep(0.1)
        handle: Any = None if args.no_stats else collect_pages_task(ids)
        last_tick = time.monotonic()
        open_states = [Delivery.State.SCHEDULED, Delivery.State.SENDING]

        def finished() -> bool:
            nonlocal handle, last_tick
            left = [] if args.no_stats else remaining()
            if left and time.monotonic() - last_tick >= args.tick and handle.get() is not None:
                handle = collect_pages_task(left)  # the next tick: the pages put off for publishing
                last_tick = time.monotonic()
            return not left and not Delivery.objects.filter(state__in=open_states).exists()

        workers.run_until(finished, args.deadline)
        cpu_s = workers.cpu_s

        days = list(PageDay.objects.filter(day=today).values_list("measured_at", "error"))
        done_at = [at for at, error in days if not error]
        last = max(done_at) if done_at else None
        minutes = (last - t0).total_seconds() / 60 if last else float("nan")
        networks = {ch.pk: network for network, ch, _seed in pages}
        per_page_due: dict[int, int] = {}
        delayed = 0
        delays = []
        for row in Delivery.objects.filter(post__text__startswith="Due ").order_by("due_at").values(
                "channel_id", "due_at", "published_at", "state"):
            per_page_due[row["channel_id"]] = per_page_due.get(row["channel_id"], 0) + 1
            if row["state"] != Delivery.State.PUBLISHED or row["published_at"] is None:
                delayed += 1
                continue
            delay = (row["published_at"] - row["due_at"]).total_seconds()
            delays.append(delay)
            bound = pacing(networks[row["channel_id"]], per_page_due[row["channel_id"]]) + args.slack
            delayed += delay > bound
        huey_conf: Any = settings.HUEY
        result = {
            "benchmark": "stats_daily",
            "pages": args.pages,
            "stats": not args.no_stats,
            "inbox_polling": args.polling,
            "backend": backend,
            "queue": "redis" if os.environ.get("FILIAL_REDIS_URL") else "sqlite",
            "workers": args.workers, "threads_per_worker": int(huey_conf.get("consumer", {}).get("workers", 0)),
            "pages_done": len(done_at),
            "pages_with_gaps": len(days) - len(done_at),
            "publication_days": PublicationDay.objects.filter(day=today).count(),
            "pages_per_min": round(len(done_at) / minutes, 1) if done_at and minutes > 0 else None,
            "minutes_to_last_page": round(minutes, 2) if done_at else None,
            "publications_due": due_total,
            "delayed_past_bound": delayed,
            "publication_delay_s": {"p50": round(percentile(delays, 0.5), 3),
                                    "p99": round(percentile(delays, 0.99), 3),
                                    "max": round(max(delays), 3) if delays else None},
            "bound_s": f"network pacing + {args.slack}",
            "rate_limit_errors_received": sum(refusals.values()),
            "rate_limit_errors_by_network": dict(refusals),
            "cpu_s": round(cpu_s, 1),
            "setup_s": round(setup_s, 1),
        }
        if result["pages_done"] < args.pages or delayed:
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
