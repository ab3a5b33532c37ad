"""Benchmark of issue 12: the annual report of a 500-unit network, generated in under 30 s.

Sets up a throw-away installation (temporary FILIAL_DATA_DIR; FILIAL_DATABASE_URL is honoured): ``--units`` units
with ``--pages`` pages each, a year of daily audience snapshots per page (``stats.PageDay``), ``--posts`` published
posts per page (a fifth of them with an event, one poll per page with counts), readers' messages with replies,
reminders and renewals, and paid orders. Then times, for the whole network and the year:

- ``compute_s``: ``figures.compute`` (every figure, from the rows);
- ``docx_s``: the prose and the DOCX with one audience chart per page (``docxfile.render``);
- ``total_s`` = both, against the bound of 30 s (``within_bound``).

Prints ONE JSON object.

    python bench/report.py                       # 500 units × 3 pages, 60 posts per page
    python bench/report.py --units 50            # a tenth
"""

from __future__ import annotations

import argparse
import cProfile
import json
import pstats
import random
import shutil
import sys
import time
from datetime import date, datetime, timedelta
from datetime import time as dtime
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
from common import prepare_database, start_django  # noqa: E402

YEAR = 2025
BOUND_S = 30.0


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--units", type=int, default=500, help="units of the network (500)")
    parser.add_argument("--pages", type=int, default=3, help="pages per unit (3)")
    parser.add_argument("--posts", type=int, default=60, help="published posts per page in the year (60)")
    parser.add_argument("--seed", type=int, default=12)
    parser.add_argument("--profile", action="store_true",
                        help="print cProfile's 25 costliest functions of each phase to stderr")
    return parser.parse_args()


def populate(args: argparse.Namespace) -> dict[str, Any]:
    from zoneinfo import ZoneInfo

    from filial.channels.models import Channel
    from filial.circulation.models import Loan, Reader, Renewal
    from filial.inbox.models import Conversation, InboxItem, PollCount, PollTally
    from filial.libraries.models import LibrarySystem
    from filial.libraries.services import system_create, unit_create
    from filial.networks import registry
    from filial.paid.models import Customer, CustomerCategory, Order, Service
    from filial.publishing.models import Delivery, Event, Poll, PollAnswer, Post
    from filial.readers.models import Reminder
    from filial.stats.models import PageDay, Source

    rng = random.Random(args.seed)
    tz = ZoneInfo("Asia/Yekaterinburg")
    system: LibrarySystem = system_create(actor=None, name="ЦБС (бенчмарк)", timezone="Asia/Yekaterinburg")
    central = unit_create(actor=None, system=system, name="Центральная библиотека", kind="central")
    units = [central] + [unit_create(actor=None, system=system, name=f"Библиотека-филиал № {i}", kind="branch")
                         for i in range(1, args.units)]
    networks = list(registry.names())
    channels = Channel.objects.bulk_create([
        Channel(unit=u, network=networks[j % len(networks)], kind=("profile", "community", "channel")[j % 3],
                name=f"{u.name}: страница {j + 1}", external_id=f"b{u.pk}-{j}", started_on=date(YEAR - 3, 1, 1))
        for u in units for j in range(args.pages)
    ])
    days = [date(YEAR - 1, 12, 31) + timedelta(days=d) for d in range(366)]
    measured = datetime(YEAR, 12, 31, 23, tzinfo=tz)
    rows: list[Any] = []
    for ch in channels:
        base = rng.randint(50, 3000)
        for i, day in enumerate(days):
            rows.append(PageDay(channel=ch, day=day, audience=None if i % 97 == 5 else base + i * rng.randint(0, 2),
                                measured_at=measured, source=Source.SEED))
        if len(rows) > 50_000:
            PageDay.objects.bulk_create(rows, batch_size=5000)
            rows = []
    PageDay.objects.bulk_create(rows, batch_size=5000)

    events = Event.objects.bulk_create([
        Event(unit=u, title=f"Мероприятие {k}", starts_at=datetime(YEAR, 1 + k * 2, 10, 12, tzinfo=tz))
        for u in units for k in range(6)])
    by_unit: dict[int, list[Any]] = {}
    for e in events:
        by_unit.setdefault(e.unit_id, []).append(e)
    kinds = [k for k in Post.Kind.values if k != "poll"]
    posts, targets = [], []
    for ch in channels:
        for k in range(args.posts):
            at = datetime.combine(days[1] + timedelta(days=rng.randint(0, 364)), dtime(12), tzinfo=tz)
            kind = "poll" if k == 0 else rng.choice(kinds)
            event = rng.choice(by_unit[ch.unit_id]) if k % 5 == 1 else None
            posts.append(Post(unit_id=ch.unit_id, kind=kind, text=f"{kind} {k}", publish_at=at, event=event,
                              state=Post.State.PUBLISHED))
            targets.append((ch, at))
    posts = Post.objects.bulk_create(posts, batch_size=5000)
    deliveries = Delivery.objects.bulk_create([
        Delivery(post=p, channel=ch, state=Delivery.State.PUBLISHED, due_at=at, published_at=at,
                 external_id=f"d{p.pk}") for p, (ch, at) in zip(posts, targets, strict=True)], batch_size=5000)
    polls = Poll.objects.bulk_create([Poll(post=p, question="Что почитать?") for p in posts if p.kind == "poll"])
    PollAnswer.objects.bulk_create([PollAnswer(poll=q, text=t, position=i) for q in polls
                                    for i, t in enumerate(("Классику", "Новинки", "Детективы"))])
    poll_deliveries = [d for d in deliveries if d.post.kind == "poll"]
    tallies = PollTally.objects.bulk_create([PollTally(delivery=d, post=d.post, total_voters=30, closed=True)
                                             for d in poll_deliveries])
    PollCount.objects.bulk_create([PollCount(tally=t, position=i, votes=10) for t in tallies for i in range(3)])

    convs = Conversation.objects.bulk_create([
        Conversation(channel=ch, unit_id=ch.unit_id, kind=Conversation.Kind.DIALOGUE, thread_key=f"p{ch.pk}-{k}",
                     person_id=f"p{ch.pk}-{k}") for ch in channels for k in range(4)])
    items = []
    for c in convs:
        asked = datetime.combine(days[1] + timedelta(days=rng.randint(0, 360)), dtime(11), tzinfo=tz)
        items.append(InboxItem(conversation=c, channel_id=c.channel_id, kind="message", author_id=c.person_id,
                               at=asked, text="Вопрос"))
        if rng.random() < 0.8:
            items.append(InboxItem(conversation=c, channel_id=c.channel_id, kind="message", at=asked +
                                   timedelta(minutes=rng.randint(5, 600)), direction=InboxItem.Direction.OUT,
                                   text="Ответ"))
    InboxItem.objects.bulk_create(items, batch_size=5000)

    readers = Reader.objects.bulk_create([Reader(system=system, unit=u, card=f"{u.pk}-{k}") for u in units
                                          for k in range(10)])
    loans = Loan.objects.bulk_create([Loan(reader=r, unit_id=r.unit_id, barcode=f"l{r.pk}", issued=date(YEAR, 3, 1),
                                           due=date(YEAR, 3, 20), returned=date(YEAR, 3, 25)) for r in readers])
    reminders = Reminder.objects.bulk_create([Reminder(reader=r, unit_id=r.unit_id, date=date(YEAR, 3, 21),
                                                       state="sent") for r in readers])
    Reminder.loans.through.objects.bulk_create([Reminder.loans.through(reminder_id=m.pk, loan_id=loan.pk)
                                                for m, loan in zip(reminders, loans, strict=True)])
    Renewal.objects.bulk_create([Renewal(loan=loan, source=Renewal.Channel.READER, state=Renewal.State.GRANTED)
                                 for loan in loans[::3]])

    cats = [CustomerCategory.objects.create(system=system, name=n, code=c, is_individual=i, position=p)
            for p, (n, c, i) in enumerate([("Учреждения образования", "edu", False),
                                           ("Физические лица", "people", True)])]
    service = Service.objects.create(unit=central, name="Печать", price=Decimal("5"))
    customers = Customer.objects.bulk_create([Customer(system=system, category=cats[k % 2]) for k in range(2000)])
    Order.objects.bulk_create([Order(unit=central, service=service, customer=c, date=date(YEAR, 1 + k % 12, 5),
                                     total=Decimal("15.00"), source_channel=channels[k % len(channels)])
                               for k, c in enumerate(customers)], batch_size=5000)
    return {"system": system, "units": len(units), "pages": len(channels), "deliveries": len(deliveries),
            "page_days": len(channels) * len(days), "inbox_items": len(items), "orders": len(customers)}


def main() -> None:
    args = parse_args()
    data_dir = start_django("filial-bench-report-")
    try:
        backend = prepare_database()
        started = time.perf_counter()
        world = populate(args)
        setup_s = time.perf_counter() - started
        from filial.reports import docxfile, figures, prose

        system = world.pop("system")
        profiles = [cProfile.Profile(), cProfile.Profile()] if args.profile else []
        t0 = time.perf_counter()
        if profiles:
            profiles[0].enable()
        result = figures.compute(system, None, date(YEAR, 1, 1), date(YEAR, 12, 31))
        t1 = time.perf_counter()
        if profiles:
            profiles[0].disable()
            profiles[1].enable()
        document = prose.build(result, kind="annual", conclusions="Выводы методиста.", generated=None)
        content = docxfile.render(document)
        t2 = time.perf_counter()
        for name, profile in zip(("compute", "docx"), profiles, strict=False):
            profile.disable()
            print(f"--- {name} phase ---", file=sys.stderr)
            pstats.Stats(profile, stream=sys.stderr).sort_stats("tottime").print_stats(25)
        total = t2 - t0
        print(json.dumps({
            "benchmark": "report", "backend": backend, **world, "setup_s": round(setup_s, 1),
            "compute_s": round(t1 - t0, 2), "docx_s": round(t2 - t1, 2), "total_s": round(total, 2),
            "bound_s": BOUND_S, "within_bound": total < BOUND_S, "docx_bytes": len(content),
            "report_pages_listed": len(result["pages"]), "published": result["totals"]["published"],
        }, ensure_ascii=False))
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
