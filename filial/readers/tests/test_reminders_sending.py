"""Reminders sent through the engine to the VK emulator: only to readers who allowed the community's messages,
once per day, and not after «стоп»."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import time, timedelta
from typing import Any

import pytest
from django.utils import timezone, translation

from filial.conftest import Net
from filial.inbox import pipeline
from filial.inbox.models import MessagingConsent
from filial.inbox.tests.world import VK_GROUP, World
from filial.publishing.models import OutgoingMessage
from filial.publishing.tests.test_engine_world import engine_world
from filial.readers import reminders
from filial.readers.models import ReaderIdentity, Reminder, ReminderRule
from filial.readers.tests.test_dialogue import answers, drain, say
from filial.readers.tests.test_reminders import linked_reader

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def english() -> Iterator[None]:
    with translation.override("en"):
        yield


@pytest.fixture
def world(net: Net, settings: Any) -> Iterator[World]:
    yield from engine_world(net, settings)


def test_reminders_reach_only_who_allowed_once_a_day_and_stop(world: World, net: Net) -> None:
    channel = world.channels["vk"]
    ReminderRule.objects.create(system=net.system, quiet_start=time(0), quiet_end=time(0))  # no quiet hours
    today = timezone.localtime(timezone.now(), net.central.tz).date()
    linked_reader(net, channel, "V1", "777001", allowed=None, dues=(3, 0), today=today)
    linked_reader(net, channel, "V2", "777002", allowed=None, dues=(3,), today=today)
    pipeline.poll_page(channel.pk)
    # VK tells of message_allow through its Callback API (the webhook stores a consent event); polling does not
    # bring it, so the test records the webhook's event as the pipeline would.
    world.vk.simulate("allow_messages", {"group_id": VK_GROUP, "user_id": 777001})
    pipeline.record_consent(channel, pipeline.Consent("777001", True, "vk:webhook", timezone.now()))
    say(world, "vk", "Здравствуйте", 777002)  # wrote to the page, but never allowed its messages
    assert MessagingConsent.objects.get(person_id="777001").allowed
    report = reminders.plan()
    assert report.planned == 1 and report.not_allowed == 1
    drain()
    [sent] = answers(world, "vk", 777001)
    assert "2 books" in sent and "Book V1-0" in sent and "Book V1-1" in sent
    assert answers(world, "vk", 777002) == []
    assert reminders.plan().planned == 0  # again the same day: nothing new
    drain()
    assert len(answers(world, "vk", 777001)) == 1
    reminders.sync_states()
    assert Reminder.objects.get().state == OutgoingMessage.State.SENT
    # «стоп» (the reader is linked, so the word is the dialogue's) — and the next day's plan skips them.
    say(world, "vk", "стоп", 777001)
    tomorrow_due = reminders.plan(now=timezone.now() + timedelta(days=3))  # V1-0 is due then: would remind
    assert tomorrow_due.planned == 0 and tomorrow_due.not_allowed == 1
    # A reader who denies messages on the network gets nothing either.
    ReaderIdentity.objects.update(stopped_at=None)
    world.vk.simulate("deny_messages", {"group_id": VK_GROUP, "user_id": 777001})
    pipeline.record_consent(channel, pipeline.Consent("777001", False, "vk:webhook", timezone.now()))
    assert reminders.plan(now=timezone.now() + timedelta(days=1)).planned == 0  # V1-1 is due then: would remind
