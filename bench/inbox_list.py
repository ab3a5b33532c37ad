"""Benchmark of issue 5: the inbox list's response time with 1,000,000 items on PostgreSQL.

Needs ``FILIAL_DATABASE_URL`` (PostgreSQL; the tables of that database are emptied first). Builds a network of
``--units`` units with two pages each (VK and Telegram), ``--conversations`` conversations (a third direct-message
dialogues, the rest comment threads; a mix of states, some overdue, some assigned) and ``--items`` reader items
spread over them, with SQL ``generate_series`` (seconds, not the subject of this benchmark), then ANALYZE. Then it
requests the inbox list through the whole Django stack (test client: middleware, auth, selectors, template) as a
methodologist who reads every unit and as an editor of one unit, ``--repeat`` times per filter, and prints ONE
JSON object with p50 / p95 / max in ms and the queries per request for each case.

    FILIAL_DATABASE_URL=postgres://postgres@127.0.0.1:5432/test python bench/inbox_list.py
    FILIAL_DATABASE_URL=... python bench/inbox_list.py --items 100000 --conversations 20000
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

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
from common import prepare_database, start_django  # noqa: E402

CASES = {
    "all": "",
    "open": "?state=open",
    "overdue": "?overdue=1",
    "mine": "?mine=1",
    "network_vk": "?network=vk",
    "search_common": "?q=%D0%BF%D1%80%D0%BE%D0%B4%D0%BB%D0%B8%D1%82%D1%8C",  # «продлить»: a fifth of all items
    "search_rare": "?q=%23123457",  # «#123457»: one item
    "page_50": "?page=50",
}


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--items", type=int, default=1_000_000)
    parser.add_argument("--conversations", type=int, default=200_000)
    parser.add_argument("--units", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=20)
    return parser.parse_args()


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    k = (len(ordered) - 1) * q
    lo, hi = math.floor(k), math.ceil(k)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def main() -> int:
    args = parse_args()
    if not os.environ.get("FILIAL_DATABASE_URL", "").startswith("postgres"):
        print("set FILIAL_DATABASE_URL to a PostgreSQL database (its tables are emptied)", file=sys.stderr)
        return 2
    data_dir = start_django("filial-bench-")
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from filial.accounts.models import Role, User
    from filial.accounts.services import membership_set
    from filial.channels.models import Channel
    from filial.libraries.services import system_create, unit_create

    try:
        prepare_database()
        t_setup = time.monotonic()
        system = system_create(actor=None, name="Bench system", timezone="Asia/Yekaterinburg")
        root = unit_create(actor=None, system=system, name="Central", kind="central")
        units = [root] + [unit_create(actor=None, system=system, name=f"Branch {i}", kind="branch", parent=root)
                          for i in range(1, args.units)]
        channels = []
        for unit in units:
            for network in ("vk", "telegram"):
                ch = Channel(unit=unit, network=network, name=f"{network} {unit.name}",
                             external_id=f"{unit.pk}{network}")
                ch.save()
                channels.append(ch)
        metodist = User.objects.create_user(username="bench-metodist", password="bench-password-123")  # noqa: S106
        membership_set(actor=None, user=metodist, unit=root, role=Role.METHODOLOGIST)
        editor = User.objects.create_user(username="bench-editor", password="bench-password-123")  # noqa: S106
        membership_set(actor=None, user=editor, unit=units[-1], role=Role.EDITOR)
        ch_ids = [c.pk for c in channels]
        unit_of = [c.unit_id for c in channels]
        n_ch = len(channels)
        with connection.cursor() as cur:
            cur.execute("""
                INSERT INTO inbox_conversation (channel_id, unit_id, kind, thread_key, post_external_id, person_id,
                    person_name, state, assignee_id, urgent, waiting_since, due_at, last_item_at, last_text,
                    items_count, created_at, updated_at)
                SELECT (%s::bigint[])[1 + g %% %s], (%s::bigint[])[1 + g %% %s],
                       CASE WHEN g %% 3 = 0 THEN 'dialogue' ELSE 'comments' END, 't' || g, '', 'p' || g,
                       'Читатель ' || g,
                       (ARRAY['new','in_progress','answered','closed','closed','answered'])[1 + g %% 6],
                       CASE WHEN g %% 10 = 0 THEN %s ELSE NULL END, g %% 50 = 0,
                       now() - (g %% 1000) * interval '1 hour', now() - (g %% 400 - 100) * interval '1 hour',
                       now() - (g %% 100000) * interval '1 minute', 'Когда можно продлить книгу? ' || g,
                       0, now(), now()
                FROM generate_series(1, %s) AS g""", [ch_ids, n_ch, unit_of, n_ch, metodist.pk, args.conversations])
            cur.execute("SELECT min(id) FROM inbox_conversation")
            first = cur.fetchone()[0]
            cur.execute("""
                INSERT INTO inbox_inboxitem (conversation_id, channel_id, direction, kind, external_id, thread_id,
                    post_external_id, reply_to, author_id, author_name, text, at, received_at, attachments, raw,
                    handled_by, echo)
                SELECT c.id, c.channel_id, 'in', CASE WHEN c.kind = 'dialogue' THEN 'message' ELSE 'comment' END,
                       'e' || g, c.thread_key, '', '', c.person_id, c.person_name,
                       (ARRAY['Спасибо за выставку!', 'Когда откроется библиотека?', 'Хочу продлить книгу',
                              'А будет ли клуб в субботу?', 'Отличная подборка'])[1 + g %% 5] || ' #' || g,
                       now() - (g %% 100000) * interval '1 minute', now(), '[]', '{}', '', false
                FROM generate_series(1, %s) AS g
                JOIN inbox_conversation c ON c.id = %s + (g %% %s)""", [args.items, first, args.conversations])
            cur.execute("UPDATE inbox_conversation c SET items_count = s.n FROM (SELECT conversation_id, count(*) n "
                        "FROM inbox_inboxitem GROUP BY conversation_id) s WHERE s.conversation_id = c.id")
            cur.execute("ANALYZE inbox_conversation; ANALYZE inbox_inboxitem")
            cur.execute("SELECT count(*) FROM inbox_inboxitem")
            n_items = cur.fetchone()[0]
        setup_s = time.monotonic() - t_setup

        results: dict[str, dict[str, float]] = {}
        for who, user in (("methodologist", metodist), ("editor", editor)):
            client = Client(HTTP_HOST="127.0.0.1")
            client.force_login(user)
            for name, query in CASES.items():
                times: list[float] = []
                queries = 0
                for i in range(args.repeat + 1):
                    with CaptureQueriesContext(connection) as captured:
                        started = time.perf_counter()
                        response = client.get("/inbox/" + query)
                        elapsed = (time.perf_counter() - started) * 1000
                    assert response.status_code == 200, (name, response.status_code)
                    if i:  # the first request warms caches
                        times.append(elapsed)
                    queries = len(captured)
                results[f"{who}:{name}"] = {"p50_ms": round(pct(times, 0.5), 1), "p95_ms": round(pct(times, 0.95), 1),
                                            "max_ms": round(max(times), 1), "queries": queries}
        worst = max(r["p95_ms"] for r in results.values())
        print(json.dumps({"benchmark": "inbox_list", "backend": "postgresql", "items": n_items,
                          "conversations": args.conversations, "units": args.units, "repeat": args.repeat,
                          "worst_p95_ms": worst, "cases": results, "setup_s": round(setup_s, 1)}, ensure_ascii=False))
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
