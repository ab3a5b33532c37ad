"""Reminder rules, plural forms, time zones and quiet hours, planning (one digest per reader and day, never to
someone who did not allow messages or said «стоп»), and sending through the VK emulator."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.utils import translation
from django.utils.translation import trans_real

from filial.channels.models import Channel
from filial.circulation import services
from filial.circulation.models import Loan, Reader
from filial.conftest import Net
from filial.inbox.models import MessagingConsent
from filial.publishing.models import OutgoingMessage
from filial.readers import linking, reminders
from filial.readers.models import ReaderConsent, ReaderIdentity, Reminder, ReminderRule

UTC = ZoneInfo("UTC")


@pytest.fixture(autouse=True)
def english() -> Iterator[None]:
    with translation.override("en"):
        yield


def linked_reader(net: Net, channel: Channel, card: str, person: str, *, unit: Any = None, allowed: bool | None = True,
                  dues: tuple[int, ...] = (3,), today: date | None = None) -> Reader:
    unit = unit or net.central
    reader = Reader.objects.create(system=net.system, unit=unit, card=card, name=f"Reader {card}")
    today = today or date.today()
    for n, offset in enumerate(dues):
        Loan.objects.create(reader=reader, unit=unit, barcode=f"{card}-{n}", title=f"Book {card}-{n}",
                            issued=today - timedelta(days=30), due=today + timedelta(days=offset))
    text = linking.consent_text_current(net.system)
    consent = ReaderConsent.objects.create(reader=reader, system=net.system, channel=channel, person_id=person,
                                           consent_text=text, version=text.version, given_at=datetime.now(UTC))
    ReaderIdentity.objects.create(reader=reader, channel=channel, person_id=person, consent=consent,
                                  linked_at=datetime.now(UTC))
    if allowed is not None:
        MessagingConsent.objects.create(channel=channel, person_id=person, allowed=allowed)
    return reader


# --- plural forms ---------------------------------------------------------------------------------------------
@pytest.fixture
def russian_books() -> Iterator[None]:
    """The Russian catalogue with the plural forms the lead adds to ``filial/locale`` for these strings."""
    catalog = trans_real.translation("ru")._catalog  # type: ignore[attr-defined]
    added = {("%(count)d book", 0): "%(count)d книга", ("%(count)d book", 1): "%(count)d книги",
             ("%(count)d book", 2): "%(count)d книг"}
    saved = {key: catalog.get(key) for key in added}
    for key, value in added.items():
        catalog[key] = value
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                catalog._catalogs[0].pop(key, None)
            else:
                catalog[key] = value


@pytest.mark.parametrize("count,expected", [(1, "1 книга"), (2, "2 книги"), (5, "5 книг"), (11, "11 книг"),
                                            (21, "21 книга"), (22, "22 книги"), (25, "25 книг")])
def test_russian_plural_forms(russian_books: None, count: int, expected: str) -> None:
    with translation.override("ru"):
        assert reminders.books_phrase(count) == expected


def test_english_plural_forms() -> None:
    assert [reminders.books_phrase(n) for n in (1, 2, 21)] == ["1 book", "2 books", "21 books"]


# --- templates and rules --------------------------------------------------------------------------------------
def test_template_is_filled_safely() -> None:
    text = reminders.render("Hi {name}, {books} {name.__class__} {0} {unknown}", {"name": "Ann", "books": "2 books"})
    assert text == "Hi Ann, 2 books {name.__class__} {0} {unknown}"
    assert reminders.template_errors("{name} {loans}") == []
    assert "{oops}" in reminders.template_errors("{name} {oops}")[0]


def test_steps_of_a_rule() -> None:
    rule = ReminderRule(pre_due_days=3, on_due=True, overdue_steps="1, 7,30,x")
    today = date(2026, 11, 25)
    assert rule.steps == [1, 7, 30]
    assert reminders.step_of(today + timedelta(days=3), today, rule) == "pre"
    assert reminders.step_of(today, today, rule) == "due"
    assert reminders.step_of(today - timedelta(days=7), today, rule) == "+7"
    assert reminders.step_of(today - timedelta(days=2), today, rule) == ""
    assert reminders.step_of(today + timedelta(days=1), today, rule) == ""


@pytest.mark.django_db
def test_unit_rule_overrides_the_systems(net: Net) -> None:
    ReminderRule.objects.create(system=net.system, pre_due_days=2)
    ReminderRule.objects.create(system=net.system, unit=net.children, pre_due_days=5)
    rules = reminders.rules_for_units([net.central, net.children])
    assert rules[net.central.pk].pre_due_days == 2 and rules[net.children.pk].pre_due_days == 5


@pytest.mark.django_db
def test_quiet_hours_move_a_message_to_their_end_in_the_units_zone(net: Net) -> None:
    rule = ReminderRule(quiet_start=time(21), quiet_end=time(9))
    yekat = net.central.tz  # Asia/Yekaterinburg, UTC+5
    late = datetime(2026, 11, 25, 18, 30, tzinfo=UTC)  # 23:30 local
    moved = reminders.send_time(late, net.central, rule)
    assert moved.astimezone(yekat) == datetime(2026, 11, 26, 9, 0, tzinfo=yekat)
    early = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)  # 07:00 local
    assert reminders.send_time(early, net.central, rule).astimezone(yekat) == datetime(2026, 11, 25, 9, 0,
                                                                                         tzinfo=yekat)
    noon = datetime(2026, 11, 25, 7, 0, tzinfo=UTC)  # 12:00 local: not moved
    assert reminders.send_time(noon, net.central, rule) == noon
    day_quiet = ReminderRule(quiet_start=time(13), quiet_end=time(14))
    assert reminders.send_time(datetime(2026, 11, 25, 8, 30, tzinfo=UTC), net.central, day_quiet).astimezone(
        yekat) == datetime(2026, 11, 25, 14, 0, tzinfo=yekat)


# --- planning -------------------------------------------------------------------------------------------------
@pytest.mark.django_db
def test_one_digest_per_reader_and_day_even_when_planning_runs_twice(net: Net) -> None:
    channel = net.channels["central_vk"]
    now = datetime.now(UTC)
    today = reminders.timezone.localtime(now, net.central.tz).date()
    reader = linked_reader(net, channel, "A1", "9001", dues=(3, 0, -1, -7, -2), today=today)
    first = reminders.plan(now=now)
    assert first.planned == 1
    second = reminders.plan(now=now)
    assert second.planned == 0 and second.existing == 1
    [message] = OutgoingMessage.objects.filter(purpose="reminder")
    assert message.dedupe_key == f"reminder:{reader.pk}:{channel.pk}:{today}"
    assert message.recipient_id == "9001"
    assert "4 books" in message.text  # pre-due, due today, 1 and 7 days overdue; not the 2-days-overdue one
    assert "Book A1-4" not in message.text and "Book A1-0" in message.text
    reminder = Reminder.objects.get()
    assert reminder.message == message and reminder.date == today
    assert sorted(reminder.steps.values()) == sorted(["pre", "due", "+1", "+7"])
    assert reminder.loans.count() == 4


@pytest.mark.django_db
def test_never_writes_to_who_did_not_allow_or_said_stop(net: Net) -> None:
    channel = net.channels["central_vk"]
    linked_reader(net, channel, "N1", "1", allowed=None)  # never allowed messages
    linked_reader(net, channel, "N2", "2", allowed=False)  # denied
    stopped = linked_reader(net, channel, "N3", "3")
    ReaderIdentity.objects.filter(reader=stopped).update(stopped_at=datetime.now(UTC))
    withdrawn = linked_reader(net, channel, "N4", "4")
    ReaderConsent.objects.filter(reader=withdrawn).update(withdrawn_at=datetime.now(UTC))
    linked_reader(net, channel, "OK", "5")
    report = reminders.plan()
    assert report.planned == 1
    assert list(OutgoingMessage.objects.values_list("recipient_id", flat=True)) == ["5"]


@pytest.mark.django_db
def test_planning_uses_each_units_local_day(net: Net) -> None:
    """At 20:00 UTC it is already tomorrow in Yekaterinburg (UTC+5), still today in Kaliningrad (UTC+2)."""
    net.children.timezone = "Europe/Kaliningrad"
    net.children.save(update_fields=["timezone"])
    now = datetime(2026, 11, 25, 20, 0, tzinfo=UTC)
    linked_reader(net, net.channels["central_vk"], "Y1", "11", dues=(0,), today=date(2026, 11, 26))
    linked_reader(net, net.channels["children_tg"], "K1", "22", unit=net.children, dues=(0,),
                  today=date(2026, 11, 25))
    report = reminders.plan(now=now)
    assert report.planned == 2
    keys = sorted((str(k) for k in OutgoingMessage.objects.values_list("dedupe_key", flat=True)),
                  key=lambda k: k.rsplit(":", 1)[1])
    assert keys[0].endswith(":2026-11-25") and keys[1].endswith(":2026-11-26")
    # 20:00 UTC is 22:00 in Kaliningrad (quiet) and 01:00 in Yekaterinburg (quiet): both wait until 09:00 local.
    by_key = {m.dedupe_key: m for m in OutgoingMessage.objects.all()}
    kld = by_key[keys[0]].due_at.astimezone(ZoneInfo("Europe/Kaliningrad"))
    ykt = by_key[keys[1]].due_at.astimezone(ZoneInfo("Asia/Yekaterinburg"))
    assert (kld.date(), kld.time()) == (date(2026, 11, 26), time(9))
    assert (ykt.date(), ykt.time()) == (date(2026, 11, 26), time(9))


@pytest.mark.django_db
def test_disabled_rule_and_template_of_the_unit(net: Net) -> None:
    channel = net.channels["central_vk"]
    linked_reader(net, channel, "T1", "31", dues=(3,))
    rule = services_rule(net, template="Dear {name}: {books} at {library}\n{loans}")
    assert rule.unit_id is None
    reminders.plan()
    text = OutgoingMessage.objects.get().text
    assert text.startswith("Dear Reader T1: 1 book at ")
    OutgoingMessage.objects.all().delete()
    Reminder.objects.all().delete()
    ReminderRule.objects.filter(pk=rule.pk).update(enabled=False)
    assert reminders.plan().planned == 0


def services_rule(net: Net, **data: Any) -> ReminderRule:
    base = {"quiet_start": time(21), "quiet_end": time(9)}
    return reminders.rule_save(actor=net.users["admin"], system=net.system, unit=None, data={**base, **data})


@pytest.mark.django_db
def test_rule_save_permissions_and_template_check(net: Net) -> None:
    from django.core.exceptions import PermissionDenied, ValidationError

    base = {"quiet_start": time(21), "quiet_end": time(9)}
    with pytest.raises(PermissionDenied):
        reminders.rule_save(actor=net.users["editor_children"], system=net.system, unit=net.children, data=base)
    with pytest.raises(ValidationError):
        reminders.rule_save(actor=net.users["admin"], system=net.system, unit=None,
                            data={**base, "template": "{name} {password}"})
    rule = reminders.rule_save(actor=net.users["methodologist"], system=net.system, unit=net.children,
                               data={**base, "pre_due_days": 1})
    assert rule.unit == net.children and rule.pre_due_days == 1


@pytest.mark.django_db
def test_states_are_mirrored_from_the_messages(net: Net) -> None:
    linked_reader(net, net.channels["central_vk"], "S1", "41")
    reminders.plan()
    OutgoingMessage.objects.update(state="sent")
    assert reminders.sync_states() == 1
    assert Reminder.objects.get().state == "sent"
    assert reminders.sync_states() == 0


def test_unused_import_guard() -> None:
    assert services is not None


@pytest.mark.django_db
def test_stop_cancels_todays_reminder_not_yet_sent(net: Net) -> None:
    channel = net.channels["central_vk"]
    reader = linked_reader(net, channel, "Q1", "51")
    reminders.plan()
    message = OutgoingMessage.objects.get()
    assert message.state == OutgoingMessage.State.SCHEDULED
    linking.identity_stop(ReaderIdentity.objects.get(reader=reader), stopped=True)
    message.refresh_from_db()
    assert message.state == OutgoingMessage.State.CANCELLED
    reminders.sync_states()
    assert Reminder.objects.get().state == OutgoingMessage.State.CANCELLED
