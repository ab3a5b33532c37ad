"""Benchmark of issue 12: the statistics dashboards over 2,000 pages × 5 years of daily snapshots on PostgreSQL.

Needs ``FILIAL_DATABASE_URL`` (PostgreSQL; the tables of that database are emptied first). Builds ``--units`` units
with ``--pages`` pages spread over them (the four networks in turn), one ``PageDay`` per page and day for
``--years`` years (about 1 % of the days unknown, as a failed collection leaves them), one published post a day,
each page publishing one of them a week (a ``Delivery`` each), and two ``PublicationDay`` measurements per
publication (the day after and a week after), written with SQL ``generate_series`` (not the subject of this
benchmark), then ANALYZE. Then it requests every dashboard view through the whole Django stack (test client:
middleware, auth, selectors, charts, template) as a methodologist who reads every unit, ``--repeat`` times each,
and prints ONE JSON object with p50 / p95 / max in ms and the queries per request for each view. The bound is a
p95 under 300 ms for each dashboard view (the exports are printed for information).

    FILIAL_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test python bench/dashboards.py
    FILIAL_DATABASE_URL=... python bench/dashboards.py --quick      # 200 pages × 1 year, well under 2 minutes
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
from common import prepare_database, start_django  # noqa: E402

BOUND_MS = 300.0


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pages", type=int, default=2000)
    parser.add_argument("--units", type=int, default=100)
    parser.add_argument("--years", type=int, default=5)
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--quick", action="store_true", help="200 pages, 20 units, 1 year, 8 repeats")
    parser.add_argument("--reuse", action="store_true",
                        help="measure the rows a previous run left in the database (no emptying, no building)")
    args = parser.parse_args()
    if args.quick:
        args.pages, args.units, args.years, args.repeat = 200, 20, 1, 8
    return args


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    k = (len(ordered) - 1) * q
    lo, hi = math.floor(k), math.ceil(k)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def build(args: argparse.Namespace) -> dict[str, Any]:
    from django.db import connection
    from django.utils import timezone

    from filial.accounts.models import Role, User
    from filial.accounts.services import membership_set
    from filial.libraries.services import system_create, unit_create
    from filial.networks import registry

    system = system_create(actor=None, name="Bench system", timezone="Asia/Yekaterinburg")
    root = unit_create(actor=None, system=system, name="Central", kind="central")
    units = [root] + [unit_create(actor=None, system=system, name=f"Branch {i}", kind="branch", parent=root)
                      for i in range(1, args.units)]
    metodist = User.objects.create_user(username="bench-metodist", password="bench-password-123")  # noqa: S106
    membership_set(actor=None, user=metodist, unit=root, role=Role.METHODOLOGIST)
    unit_ids = [u.pk for u in units]
    networks = list(registry.names())
    days = 365 * args.years
    today = timezone.localdate(timezone=root.tz)
    with connection.cursor() as cur:
        cur.execute("""
            INSERT INTO channels_channel (unit_id, network, kind, name, url, external_id, status, audience,
                audience_updated_at, started_on, api_base_url, credentials_encrypted, created_at, updates_cursor,
                updates_polled_at, updates_lease_owner, updates_lease_until, updates_error)
            SELECT (%s::bigint[])[1 + g %% %s], (%s::text[])[1 + g %% %s], 'community', 'Страница ' || g, '',
                   'bench' || g, 'active', NULL, NULL, NULL, '', '', now(), '', NULL, '', NULL, ''
            FROM generate_series(0, %s - 1) AS g""", [unit_ids, len(unit_ids), networks, len(networks), args.pages])
        cur.execute("SELECT min(id) FROM channels_channel")
        first_channel = cur.fetchone()[0]
        # Audience: grows slowly, about 1 % of the days unknown (NULL, with the error a failed call leaves).
        cur.execute("""
            INSERT INTO stats_pageday (channel_id, day, audience, measured_at, source, error)
            SELECT c.id, %s::date - d,
                   CASE WHEN (c.id * 7 + d) %% 97 = 0 THEN NULL ELSE 100 + (c.id * 37) %% 5000 + (%s - d) / 5 END,
                   (%s::date - d) + time '06:10', 'job',
                   CASE WHEN (c.id * 7 + d) %% 97 = 0 THEN 'timeout' ELSE '' END
            FROM channels_channel c CROSS JOIN generate_series(0, %s - 1) AS d""", [today, days, today, days])
        # One post a day; page g publishes the posts of the days d with d % 7 == g % 7 (one a week).
        cur.execute("""
            INSERT INTO publishing_post (kind, title, text, link, publish_at, state, review_comment, reviewed_at,
                created_at, updated_at, author_id, event_id, reviewed_by_id, unit_id, advertises, erid, not_ad_reason)
            SELECT (ARRAY['afisha','photo_report','book_fact','new_arrivals','exhibition','note'])[1 + d %% 6],
                   '', 'Публикация ' || d, '', (%s::date - d) + time '10:00' + (d %% 9) * interval '1 hour',
                   'published', '', NULL, now(), now(), NULL, NULL, NULL, %s, false, '', ''
            FROM generate_series(0, %s - 1) AS d""", [today, root.pk, days])
        cur.execute("SELECT min(id) FROM publishing_post")
        first_post = cur.fetchone()[0]
        cur.execute("""
            INSERT INTO publishing_delivery (state, due_at, external_id, url, attempts, last_error, lease_until,
                published_at, created_at, updated_at, channel_id, post_id, deferrals, enqueued_eta, failures,
                generation, last_error_code, lease_owner, next_attempt_at, sent_at)
            SELECT 'published', p.publish_at, 'x' || p.id || '_' || c.id, '', 1, '', NULL, p.publish_at, now(), now(),
                   c.id, p.id, 0, NULL, 0, 0, '', '', NULL, p.publish_at
            FROM publishing_post p JOIN channels_channel c ON (c.id - %s) %% 7 = (p.id - %s) %% 7
            WHERE p.id >= %s""", [first_channel, first_post, first_post])
        # Two measurements per publication: the day after and a week after (if that day has come).
        cur.execute("""
            INSERT INTO stats_publicationday (delivery_id, channel_id, day, views, likes, reposts, comments, reach,
                measured_at, source, error)
            SELECT dl.id, dl.channel_id, (dl.published_at AT TIME ZONE 'Asia/Yekaterinburg')::date + w.after,
                   CASE WHEN c.network IN ('telegram') THEN NULL ELSE 50 + (dl.id * 13) %% 900 END,
                   (dl.id * 7) %% 60,
                   CASE WHEN c.network IN ('telegram', 'max') THEN NULL ELSE (dl.id * 3) %% 9 END,
                   CASE WHEN c.network IN ('telegram', 'max') THEN NULL ELSE (dl.id * 5) %% 11 END,
                   CASE WHEN c.network = 'vk' THEN 40 + (dl.id * 11) %% 700 ELSE NULL END,
                   dl.published_at + w.after * interval '1 day', 'job', ''
            FROM publishing_delivery dl JOIN channels_channel c ON c.id = dl.channel_id
            CROSS JOIN (VALUES (1), (7)) AS w(after)
            WHERE (dl.published_at AT TIME ZONE 'Asia/Yekaterinburg')::date + w.after <= %s""", [today])
        # Each publication's latest figures, as the collection keeps them (filial.stats.latest).
        from filial.stats.latest import refresh_all

        refresh_all()
        cur.execute("ANALYZE channels_channel; ANALYZE stats_pageday; ANALYZE publishing_post; "
                    "ANALYZE publishing_delivery; ANALYZE stats_publicationday; ANALYZE stats_publicationlatest")
        counts = {}
        for table in ("stats_pageday", "publishing_delivery", "stats_publicationday", "stats_publicationlatest"):
            cur.execute(f"SELECT count(*) FROM {table}")  # noqa: S608 - a fixed table name
            counts[table] = cur.fetchone()[0]
    return {"user": metodist, "unit": units[len(units) // 2], "page": first_channel, "counts": counts}


def reuse() -> dict[str, Any]:
    """What a previous run built (``--reuse``): its methodologist, a unit in the middle, the first page."""
    from django.db import connection

    from filial.accounts.models import User
    from filial.channels.models import Channel
    from filial.libraries.models import Unit

    units = list(Unit.objects.order_by("pk"))
    counts: dict[str, int] = {"pages": Channel.objects.count()}
    with connection.cursor() as cur:
        for table in ("stats_pageday", "publishing_delivery", "stats_publicationday", "stats_publicationlatest"):
            cur.execute(f"SELECT count(*) FROM {table}")  # noqa: S608 - a fixed table name
            counts[table] = cur.fetchone()[0]
    return {"user": User.objects.get(username="bench-metodist"), "unit": units[len(units) // 2],
            "page": Channel.objects.order_by("pk").values_list("pk", flat=True).first(), "counts": counts}


def main() -> int:
    args = parse_args()
    if not os.environ.get("FILIAL_DATABASE_URL", "").startswith("postgres"):
        print("set FILIAL_DATABASE_URL to a PostgreSQL database (its tables are emptied)", file=sys.stderr)
        return 2
    data_dir = start_django("filial-bench-")
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    try:
        t_setup = time.monotonic()
        if args.reuse:
            world = reuse()
            args.pages = world["counts"].pop("pages")
        else:
            prepare_database()
            world = build(args)
        setup_s = time.monotonic() - t_setup
        unit, page = world["unit"], world["page"]
        cases = {
            "network_30d": "/stats/?days=30",
            "network_90d": "/stats/?days=90",
            "network_365d": "/stats/?days=365",
            "network_vk_365d": "/stats/?days=365&network=vk",
            "unit_365d": f"/stats/?days=365&unit={unit.pk}",
            "page_30d": f"/stats/pages/{page}/?days=30",
            "page_365d": f"/stats/pages/{page}/?days=365",
            "export_csv_30d (info)": "/stats/export.csv?days=30",
        }
        from django.utils import timezone

        today = timezone.localdate()
        cases["page_5y"] = f"/stats/pages/{page}/?from={today.replace(year=today.year - args.years):%Y-%m-%d}"
        client = Client(HTTP_HOST="127.0.0.1")
        client.force_login(world["user"])
        results: dict[str, dict[str, float]] = {}
        for name, url in cases.items():
            times: list[float] = []
            queries = 0
            for i in range(args.repeat + 1):
                with CaptureQueriesContext(connection) as captured:
                    started = time.perf_counter()
                    response = client.get(url)
                    elapsed = (time.perf_counter() - started) * 1000
                assert response.status_code == 200, (name, response.status_code)
                if i:  # the first request warms caches
                    times.append(elapsed)
                queries = len(captured)
            results[name] = {"p50_ms": round(pct(times, 0.5), 1), "p95_ms": round(pct(times, 0.95), 1),
                             "max_ms": round(max(times), 1), "queries": queries}
        worst = max(r["p95_ms"] for n, r in results.items() if "(info)" not in n)
        print(json.dumps({"benchmark": "dashboards", "backend": "postgresql", "pages": args.pages,
                          "units": args.units, "years": args.years, "repeat": args.repeat, **world["counts"],
                          "worst_p95_ms": worst, "bound_ms": BOUND_MS, "within_bound": worst < BOUND_MS,
                          "cases": results, "setup_s": round(setup_s, 1)}, ensure_ascii=False))
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
