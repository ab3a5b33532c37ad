"""The debtors' dashboard: buckets of days overdue, today's reminders, renewals, returns after a reminder, with a
fixed number of queries; its pages and who sees them; the reminder rules page with its preview."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone, translation

from filial.circulation.models import Loan, Reader, Renewal
from filial.circulation.tests.test_services import make_loan
from filial.conftest import PASSWORD, Net
from filial.publishing.models import OutgoingMessage
from filial.readers import debtors
from filial.readers.models import Reminder

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def english() -> Iterator[None]:
    with translation.override("en"):
        yield


def today(net: Net) -> Any:
    return timezone.localtime(timezone.now(), net.central.tz).date()


def debtor(net: Net, card: str, *overdue_days: int, returned: int | None = None) -> Reader:
    reader = Reader.objects.create(system=net.system, unit=net.central, card=card, name=f"Reader {card}")
    day = today(net)
    for n, days in enumerate(overdue_days):
        Loan.objects.create(reader=reader, unit=net.central, barcode=f"{card}-{n}", title=f"Book {n}",
                            issued=day - timedelta(days=days + 20), due=day - timedelta(days=days))
    return reader


def world_of_debtors(net: Net, readers: int) -> None:
    for n in range(readers):
        debtor(net, f"D{n}", 3, 10, 40)


def test_buckets_reminders_renewals_and_returns(net: Net) -> None:
    day = today(net)
    debtor(net, "A", 1, 7)  # two loans in 1–7
    debtor(net, "B", 8, 45)  # one in 8–30, one in 31+
    debtor(net, "C", 0)  # due today: not overdue
    returned = debtor(net, "R")
    loan = Loan.objects.create(reader=returned, unit=net.central, barcode="R-1", issued=day - timedelta(days=30),
                               due=day - timedelta(days=5), returned=day - timedelta(days=1))
    late = Loan.objects.create(reader=returned, unit=net.central, barcode="R-2", issued=day - timedelta(days=60),
                               due=day - timedelta(days=40), returned=day - timedelta(days=2))
    early = Reminder.objects.create(reader=returned, unit=net.central, date=day - timedelta(days=3))
    early.loans.add(loan)
    old = Reminder.objects.create(reader=returned, unit=net.central, date=day - timedelta(days=20))
    old.loans.add(late)  # returned 18 days after its reminder: outside the 7-day window
    channel = net.channels["central_vk"]
    for n, state in enumerate(["sent", "sent", "failed", "scheduled"]):
        message = OutgoingMessage.objects.create(channel=channel, recipient_id=str(n), text="x", purpose="reminder",
                                                 state=state, due_at=timezone.now())
        reader = Reader.objects.create(system=net.system, unit=net.central, card=f"M{n}")
        Reminder.objects.create(reader=reader, unit=net.central, date=day, message=message, state=state)
    a_loan = Loan.objects.filter(reader__card="A").first()
    assert a_loan is not None
    for state in (Renewal.State.GRANTED, Renewal.State.REFUSED, Renewal.State.QUEUED):
        Renewal.objects.create(loan=a_loan, source=Renewal.Channel.READER, state=state)
    board = debtors.dashboard(net.users["admin"], net.central)
    assert board is not None
    assert [(b.loans, b.readers) for b in board.buckets] == [(2, 1), (1, 1), (1, 1)]
    assert board.debtors == 2 and board.overdue_loans == 4
    assert board.buckets[0].width == debtors.CHART_WIDTH and board.buckets[1].width == debtors.CHART_WIDTH // 2
    assert board.reminders == {"sent": 2, "failed": 1, "scheduled": 1}
    assert (board.reminders_done, board.reminders_total, board.percent, board.running) == (3, 4, 75, True)
    assert board.renewals == {"requested": 3, "granted": 1, "refused": 1, "queued": 1}
    assert board.returns_after_reminder == 1


def test_the_dashboard_takes_a_fixed_number_of_queries(net: Net) -> None:
    world_of_debtors(net, 2)
    user = net.users["admin"]

    def count() -> int:
        fresh = type(user).objects.get(pk=user.pk)
        with CaptureQueriesContext(connection) as queries:
            board = debtors.dashboard(fresh, net.central)
            assert board is not None
        return len(queries)

    few = count()
    world_of_debtors_more(net, 30)
    assert count() == few


def world_of_debtors_more(net: Net, readers: int) -> None:
    for n in range(readers):
        debtor(net, f"E{n}", 2, 9)


def test_pages_and_who_sees_them(net: Net) -> None:
    debtor(net, "P1", 3)
    client = Client()
    assert client.login(username="admin", password=PASSWORD)
    url = reverse("readers:debtors")
    page = client.get(url, {"unit": net.central.pk})
    assert page.status_code == 200
    body = page.content.decode()
    assert "Reader P1" in body and "<svg" in body and 'style="' not in body
    progress = client.get(url, {"unit": str(net.central.pk), "part": "progress"}, HTTP_HX_REQUEST="true")
    assert progress.status_code == 200 and 'id="reminders-progress"' in progress.content.decode()
    assert client.post(reverse("readers:debtors_plan"), {"unit": net.central.pk}).status_code == 302
    outsider = Client()
    assert outsider.login(username="outsider", password=PASSWORD)
    assert outsider.get(url).status_code == 403
    editor = Client()
    assert editor.login(username="ed_children", password=PASSWORD)
    assert editor.get(url, {"unit": net.central.pk}).status_code == 404  # not their unit's readers


def test_rules_page_saves_and_previews_safely(net: Net) -> None:
    client = Client()
    assert client.login(username="metodist", password=PASSWORD)
    url = reverse("readers:reminder_rules")
    assert client.get(url, {"unit": net.children.pk}).status_code == 200
    preview = client.post(reverse("readers:reminder_preview"), {
        "unit": net.children.pk, "template": "Hi {name}! <b>{books}</b>\n{loans} {oops}"})
    text = preview.content.decode()
    assert "Hi Anna! &lt;b&gt;2 books&lt;/b&gt;" in text  # escaped, filled
    assert "Unknown placeholders: {oops}" in text
    saved = client.post(url, {"unit": net.children.pk, "scope": "unit", "enabled": "on", "pre_due_days": 2,
                              "on_due": "on", "overdue_steps": "1,14", "quiet_start": "22:00", "quiet_end": "08:00",
                              "return_window_days": 7, "template": "{name}: {books}\n{loans}"})
    assert saved.status_code == 302, saved.content.decode()[:2000]
    from filial.readers.models import ReminderRule

    rule = ReminderRule.objects.get(unit=net.children)
    assert rule.steps == [1, 14] and rule.pre_due_days == 2 and rule.template.startswith("{name}")
    viewer = Client()
    assert viewer.login(username="viewer", password=PASSWORD)
    assert viewer.get(url).status_code == 403


def test_without_a_choice_the_dashboard_opens_on_a_unit_that_lends_books(net: Net) -> None:
    make_loan(net, unit=net.children, card="7001", days_overdue=5)
    client = Client()
    assert client.login(username="admin", password=PASSWORD)
    page = client.get(reverse("readers:debtors"))
    assert page.status_code == 200 and page.context["unit"] == net.children  # not the first unit, which lends none
