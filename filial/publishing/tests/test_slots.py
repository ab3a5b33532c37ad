"""Posting slots per page and the composer's "next free slot": across pages and time zones, views and htmx."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from filial.accounts.models import AuditEntry
from filial.conftest import PASSWORD, Net
from filial.publishing import slots
from filial.publishing.models import Delivery, Post, PostingSlot
from filial.publishing.services import PostData, post_create, post_submit

YEKT = ZoneInfo("Asia/Yekaterinburg")
MSK = ZoneInfo("Europe/Moscow")


def monday_after(days: int = 7) -> date:
    today = timezone.now().astimezone(YEKT).date() + timedelta(days=days)
    return today + timedelta(days=(0 - today.weekday()) % 7)


def at(day: date, hh: int, mm: int = 0, tz: ZoneInfo = YEKT) -> datetime:
    return datetime(day.year, day.month, day.day, hh, mm, tzinfo=tz)


def scheduled(net: Net, page: str, when: datetime) -> Post:
    admin = net.users["admin"]
    post = post_create(actor=admin, data=PostData(unit=net.channels[page].unit, kind="note", text="Занято",
                                                  channels=[net.channels[page]], publish_at=when))
    return post_submit(actor=admin, post=post)


def test_parse_times_and_set_slots(net: Net) -> None:
    assert slots.parse_times("10:00, 18.30 9:05") == [time(9, 5), time(10, 0), time(18, 30)]
    with pytest.raises(ValidationError):
        slots.parse_times("25:00")
    channel = net.channels["central_vk"]
    slots.slots_set(actor=net.users["editor_central"], channel=channel, slots=[(0, time(10)), (2, time(10)),
                                                                              (4, time(10)), (0, time(10))])
    assert list(PostingSlot.objects.filter(channel=channel).values_list("weekday", "time")) == [
        (0, time(10)), (2, time(10)), (4, time(10))]
    assert AuditEntry.objects.filter(action="channel.slots", object_id=str(channel.pk)).count() == 1
    with pytest.raises(PermissionDenied):
        slots.slots_set(actor=net.users["editor_children"], channel=channel, slots=[])
    with pytest.raises(PermissionDenied):
        slots.slots_set(actor=net.users["viewer"], channel=channel, slots=[])


def test_next_free_slot_skips_taken_slots_on_any_chosen_page(net: Net) -> None:
    vk, ok = net.channels["central_vk"], net.channels["central_ok"]
    for channel in (vk, ok):
        slots.slots_set(actor=net.users["admin"], channel=channel, slots=[(0, time(10)), (2, time(10)),
                                                                          (4, time(10))])
    monday = monday_after()
    after = at(monday, 8)
    assert slots.next_free_slot(net.users["editor_central"], [vk, ok], after=after) == at(monday, 10)
    # Taken on the OK page only (a post at 10:20 lies within the 60-minute slot): Monday is not free on ALL pages.
    scheduled(net, "central_ok", at(monday, 10, 20))
    assert slots.next_free_slot(net.users["editor_central"], [vk, ok], after=after) == at(monday + timedelta(days=2),
                                                                                           10)
    assert slots.next_free_slot(net.users["editor_central"], [vk], after=after) == at(monday, 10)
    # A cancelled or failed post does not take a slot; the post being edited does not take its own.
    busy = scheduled(net, "central_vk", at(monday + timedelta(days=2), 10))
    assert slots.next_free_slot(net.users["editor_central"], [vk, ok], after=after) == at(monday + timedelta(days=4),
                                                                                           10)
    assert slots.next_free_slot(net.users["editor_central"], [vk, ok], after=after,
                                exclude_post_id=busy.pk) == at(monday + timedelta(days=2), 10)
    Delivery.objects.filter(post=busy).update(state=Delivery.State.FAILED)
    assert slots.next_free_slot(net.users["editor_central"], [vk, ok], after=after) == at(monday + timedelta(days=2),
                                                                                           10)


def test_next_free_slot_across_time_zones(net: Net) -> None:
    """Branch No. 4 works in Moscow time: its 08:00 is 10:00 in Yekaterinburg, the central page's slot."""
    net.branch4.timezone = "Europe/Moscow"
    net.branch4.save()
    central, branch = net.channels["central_ok"], net.channels["branch4_ok"]
    slots.slots_set(actor=net.users["admin"], channel=central, slots=[(1, time(10)), (3, time(12))])
    slots.slots_set(actor=net.users["admin"], channel=branch, slots=[(1, time(11)), (3, time(10))])
    monday = monday_after()
    found = slots.next_free_slot(net.users["admin"], [central, branch], after=at(monday, 0))
    # Tuesday: 10:00 YEKT = 08:00 MSK, 11:00 MSK = 13:00 YEKT: no common instant. Thursday 12:00 YEKT = 10:00 MSK.
    assert found == at(monday + timedelta(days=3), 12) == at(monday + timedelta(days=3), 10, tz=MSK)
    assert found is not None and found.astimezone(UTC).hour == 7
    # Pages whose slots never meet: the earliest slot of either page that is free on both.
    slots.slots_set(actor=net.users["admin"], channel=branch, slots=[(1, time(11))])
    assert slots.next_free_slot(net.users["admin"], [central, branch], after=at(monday, 0)) == at(
        monday + timedelta(days=1), 10)


def test_no_slots_no_suggestion(net: Net) -> None:
    assert slots.next_free_slot(net.users["admin"], [net.channels["central_vk"]]) is None


# --- views ------------------------------------------------------------------------------------------------------
def client_for(username: str) -> Client:
    c = Client()
    assert c.login(username=username, password=PASSWORD)
    return c


def test_slots_page_saves_times(net: Net) -> None:
    c = client_for("ed_central")
    channel = net.channels["central_vk"]
    url = reverse("publishing:channel_slots", args=[channel.pk])
    page = c.get(url)
    assert page.status_code == 200 and "Posting times" in page.content.decode()
    response = c.post(url, {"day_0": "10:00, 18:30", "day_2": "10:00", "day_4": "nine"})
    assert response.status_code == 400 and "is not a time" in response.content.decode()
    response = c.post(url, {"day_0": "10:00, 18:30", "day_2": "10:00"})
    assert response.status_code == 302
    assert PostingSlot.objects.filter(channel=channel).count() == 3
    assert client_for("ed_children").get(url).status_code == 403
    listing = c.get(reverse("channels:channel_list")).content.decode()
    assert url in listing


@pytest.mark.parametrize("htmx", [True, False])
def test_composer_next_free_slot_with_and_without_htmx(net: Net, htmx: bool) -> None:
    channel = net.channels["central_vk"]
    slots.slots_set(actor=net.users["admin"], channel=channel, slots=[(d, time(10)) for d in range(7)])
    c = client_for("ed_central")
    data: dict[str, Any] = {"unit": net.central.pk, "kind": "note", "text": "Пост", "channels": [channel.pk],
                            "action": "next_slot", "publish_at": ""}
    if htmx:
        response = c.post(reverse("publishing:post_next_slot"), data, headers={"HX-Request": "true"})
    else:
        response = c.post(reverse("publishing:post_create"), data)
    assert response.status_code == 200
    body = response.content.decode()
    expected = slots.next_free_slot(net.users["editor_central"], [channel])
    assert expected is not None
    local = expected.astimezone(YEKT)
    assert f'value="{local:%Y-%m-%dT%H:%M}"' in body
    assert f"Next free slot: {local:%d.%m.%Y %H:%M}" in body
    assert Post.objects.count() == 0  # nothing saved
    if htmx:
        assert 'id="when-card"' in body and "<html" not in body


def test_composer_next_free_slot_without_slots_says_so(net: Net) -> None:
    c = client_for("ed_central")
    response = c.post(reverse("publishing:post_next_slot"), {
        "unit": net.central.pk, "kind": "note", "text": "x", "channels": [net.channels["central_vk"].pk]})
    assert "No free posting slot" in response.content.decode()
    response = c.post(reverse("publishing:post_next_slot"), {"unit": net.central.pk, "kind": "note", "text": "x"})
    assert "Choose the pages first" in response.content.decode()
