"""A small year of the ``net`` fixture's pages written as rows: publications, audience snapshots, a poll with
results entered by hand, events with photo reports, readers' messages and replies, reminders, renewals, paid
orders. Used by the report's tests."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from filial.circulation.models import Loan, Reader, Renewal
from filial.inbox.models import Conversation, InboxItem
from filial.inbox.polls import poll_results_enter
from filial.paid.models import Customer, CustomerCategory, Order, Service
from filial.publishing.models import Delivery, Event, Poll, PollAnswer, Post, PostChannel
from filial.readers.models import Reminder
from filial.reports import figures
from filial.reports.models import Report
from filial.stats.models import PageDay, Source

TZ = ZoneInfo("Asia/Yekaterinburg")
YEAR = 2014


def at(day: date, hour: int = 12, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=TZ)


@dataclass
class Filled:
    poll_delivery: Delivery
    central_posts: int
    children_posts: int


def publish(net: Any, key: str, kind: str, day: date, *, event: Event | None = None, title: str = "") -> Delivery:
    channel = net.channels[key]
    post = Post.objects.create(unit=channel.unit, kind=kind, title=title, text=f"{kind} {day}", event=event,
                               publish_at=at(day), state=Post.State.PUBLISHED)
    PostChannel.objects.create(post=post, channel=channel)
    return Delivery.objects.create(post=post, channel=channel, state=Delivery.State.PUBLISHED, due_at=at(day),
                                   published_at=at(day, 12, 1), external_id=f"{key}-{post.pk}")


def audience(net: Any, key: str, values: list[tuple[date, int | None]]) -> None:
    PageDay.objects.bulk_create([
        PageDay(channel=net.channels[key], day=d, audience=v, measured_at=at(d, 23), source=Source.SEED,
                error="" if v is not None else "no answer")
        for d, v in values
    ])


def fill(net: Any) -> Filled:
    central_ok = net.channels["central_ok"]
    central_ok.started_on = date(YEAR, 3, 3)
    central_ok.kind = "profile"
    central_ok.url = "https://ok.ru/profile/561588730013"
    central_ok.save(update_fields=["started_on", "kind", "url"])
    children_ok = net.channels["children_ok"]
    children_ok.started_on = date(YEAR, 2, 10)
    children_ok.kind = "profile"
    children_ok.save(update_fields=["started_on", "kind"])
    for key in ("central_vk", "central_max", "children_tg", "automation_vk", "branch4_ok"):
        ch = net.channels[key]
        ch.started_on = date(2019, 1, 1)  # later pages: not in a 2014 report
        ch.save(update_fields=["started_on"])

    # Central: 30 notes, a poll (results entered by hand), an event with its poster and photo report; one more
    # post outside the period.
    event = Event.objects.create(unit=net.central, title="Библионочь-2014", starts_at=at(date(YEAR, 4, 25), 18))
    for i in range(28):
        publish(net, "central_ok", "note" if i % 2 else "book_fact", date(YEAR, 3, 5) + timedelta(days=9 * i))
    publish(net, "central_ok", "afisha", date(YEAR, 4, 15), event=event)
    publish(net, "central_ok", "photo_report", date(YEAR, 4, 28), event=event)
    poll_delivery = publish(net, "central_ok", "poll", date(YEAR, 5, 30))
    poll = Poll.objects.create(post=poll_delivery.post, question="Как вы относитесь к здоровому образу жизни?")
    PollAnswer.objects.bulk_create([PollAnswer(poll=poll, text=t, position=i)
                                    for i, t in enumerate(["Стараюсь каждый день", "Иногда", "Не интересует"])])
    poll_results_enter(actor=None, delivery=poll_delivery, votes=[48, 31, 6])
    publish(net, "central_ok", "note", date(YEAR + 1, 1, 10))  # next year
    # Children: 12 posts of which 3 virtual exhibitions.
    for i in range(12):
        publish(net, "children_ok", "exhibition" if i % 4 == 0 else "afisha",
                date(YEAR, 2, 12) + timedelta(days=25 * i))

    audience(net, "central_ok", [(date(YEAR, 3, 31), 85), (date(YEAR, 6, 30), 290), (date(YEAR, 9, 30), 432),
                                 (date(YEAR, 12, 30), None), (date(YEAR, 12, 31), 614), (date(YEAR + 1, 1, 31), 650)])
    audience(net, "children_ok", [(date(YEAR - 1, 12, 31), 0), (date(YEAR, 6, 30), 720), (date(YEAR, 12, 31), 1432)])

    # Inbox: two readers write to the children's page; one is answered after 30 minutes, one is not.
    conv = Conversation.objects.create(channel=children_ok, unit=net.children, kind=Conversation.Kind.DIALOGUE,
                                       thread_key="p1", person_id="p1")
    InboxItem.objects.create(conversation=conv, channel=children_ok, kind="message", author_id="p1",
                             at=at(date(YEAR, 10, 7), 11), text="Можно продлить книгу?")
    InboxItem.objects.create(conversation=conv, channel=children_ok, kind="message", direction=InboxItem.Direction.OUT,
                             at=at(date(YEAR, 10, 7), 11, 30), text="Продлили до 20 октября.")
    conv2 = Conversation.objects.create(channel=children_ok, unit=net.children, kind=Conversation.Kind.DIALOGUE,
                                        thread_key="p2", person_id="p2")
    InboxItem.objects.create(conversation=conv2, channel=children_ok, kind="message", author_id="p2",
                             at=at(date(YEAR, 11, 3), 15), text="Когда открываетесь?")

    # Debtors (children's library): 3 reminders sent, 1 returned after; 2 renewals asked by readers, 1 granted.
    reader = Reader.objects.create(system=net.system, unit=net.children, card="1001")
    loans = [Loan.objects.create(reader=reader, unit=net.children, barcode=f"b{i}", issued=date(YEAR, 9, 1),
                                 due=date(YEAR, 9, 20), returned=date(YEAR, 9, 25) if i == 0 else None)
             for i in range(3)]
    for i, loan in enumerate(loans):
        reminder = Reminder.objects.create(reader=reader, unit=net.children, channel=children_ok,
                                           date=date(YEAR, 9, 21 + i), state="sent")
        reminder.loans.add(loan)
    for state in (Renewal.State.GRANTED, Renewal.State.REFUSED):
        renewal = Renewal.objects.create(loan=loans[1], source=Renewal.Channel.READER, state=state)
        Renewal.objects.filter(pk=renewal.pk).update(requested_at=at(date(YEAR, 10, 7), 11, 10))
    # Branch 4: a reminder that must not show in the children's report.
    other = Reader.objects.create(system=net.system, unit=net.branch4, card="2001")
    Reminder.objects.create(reader=other, unit=net.branch4, date=date(YEAR, 9, 21), state="sent")

    # Paid services (automation department): a school, the Council of Deputies and 112 individuals.
    # The default categories every new system gets (paid.services.DEFAULT_CATEGORIES).
    categories = {c.code: c for c in CustomerCategory.objects.filter(system=net.system)}
    school, council, people = categories["education"], categories["council"], categories["individual"]
    service = Service.objects.create(unit=net.automation, name="Ламинирование", price=Decimal("20"))
    for category, count in ((school, 1), (council, 1), (people, 112)):
        for _ in range(count):
            customer = Customer.objects.create(system=net.system, category=category)
            Order.objects.create(unit=net.automation, service=service, customer=customer, date=date(YEAR, 6, 1),
                                 total=Decimal("20.00"), source_channel=net.channels["automation_vk"]
                                 if category is people else None)
    return Filled(poll_delivery=poll_delivery, central_posts=31, children_posts=12)


def matrix_report(net: Any) -> Any:
    """A draft report of the children's library for the role matrices: written as a row (no audit entry), so a
    refused request's "nothing changed" check starts from it."""
    start, end = date(2024, 1, 1), date(2024, 1, 31)
    return Report.objects.create(system=net.system, scope=net.children, kind=Report.Kind.MONTHLY, period_from=start,
                                 period_to=end, figures=figures.compute(net.system, net.children, start, end),
                                 generated_at=at(end, 23))
