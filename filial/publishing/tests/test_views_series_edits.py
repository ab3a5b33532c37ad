"""The composer and the post page for recurring posts and for edits of published posts (server-rendered)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from filial.conftest import Net
from filial.outbox import policy
from filial.outbox.tests.helpers import run_row
from filial.publishing import series
from filial.publishing.jobs import DELIVERY
from filial.publishing.models import DeliveryEdit, Post, PostSeries, SeriesOccurrence
from filial.publishing.tests.test_engine_world import World, engine_world

YEKT = ZoneInfo("Asia/Yekaterinburg")
pytestmark = pytest.mark.filterwarnings("ignore::ResourceWarning")


def login(net: Net, role: str) -> Client:
    c = Client()
    c.force_login(net.users[role])
    return c


def next_tuesday_11() -> Any:
    today = timezone.now().astimezone(YEKT).date()
    day = today + timedelta(days=(1 - today.weekday()) % 7 + 7)
    return day, f"{day:%Y-%m-%d}T11:00"


def test_composing_a_weekly_series(net: Net) -> None:
    c = login(net, "admin")
    page = c.get(reverse("publishing:post_create")).content.decode()
    assert "Repeat" in page and 'name="repeat_weekdays"' in page and "Next free slot" in page
    _day, when = next_tuesday_11()
    response = c.post(reverse("publishing:post_create"), {
        "unit": net.central.pk, "kind": "book_fact", "text": "Книжный факт: «Мастер и Маргарита»",
        "channels": [net.channels["central_vk"].pk], "publish_at": when, "action": "submit",
        "repeat": "weekly", "repeat_weekdays": ["1"], "repeat_count": "10", "poll_anonymous": "on"})
    assert response.status_code == 302, response.content.decode()[:3000]
    post = Post.objects.get()
    assert post.state == Post.State.SCHEDULED
    found = PostSeries.objects.get(template=post)
    assert (found.frequency, found.weekdays, found.count) == ("weekly", [1], 10)
    assert post.publish_at is not None
    series.generate(found.pk, now=post.publish_at - timedelta(hours=1))
    detail = c.get(reverse("publishing:post_detail", args=[post.pk])).content.decode()
    assert "Repeats" in detail and "Every week on Tuesday at 11:00" in detail and "10 times in all" in detail
    assert "Stop the series" in detail
    next_post = found.occurrences.get(index=1).post
    assert next_post is not None
    assert reverse("publishing:post_detail", args=[next_post.pk]) in detail
    # The occurrence's own page names the series; its composer does not repeat by itself.
    assert "first post of the series" in c.get(reverse("publishing:post_detail", args=[next_post.pk])).content.decode()
    edit_page = c.get(reverse("publishing:post_edit", args=[next_post.pk])).content.decode()
    assert 'name="repeat"' not in edit_page and "one of a series" in edit_page

    # The composer of the template shows the rule; stopping cancels the next post.
    edit_template = c.get(reverse("publishing:post_edit", args=[post.pk])).content.decode()
    assert 'value="weekly" selected' in edit_template
    assert c.post(reverse("publishing:series_stop", args=[post.pk])).status_code == 302
    found.refresh_from_db()
    assert found.state == PostSeries.State.STOPPED
    assert Post.objects.get(pk=next_post.pk).state == Post.State.CANCELLED


def test_a_repeat_without_days_is_an_error_on_the_field(net: Net) -> None:
    c = login(net, "admin")
    _day, when = next_tuesday_11()
    response = c.post(reverse("publishing:post_create"), {
        "unit": net.central.pk, "kind": "note", "text": "x", "channels": [net.channels["central_vk"].pk],
        "publish_at": when, "action": "draft", "repeat": "weekly"})
    assert response.status_code == 400
    assert "Choose the days of the week." in response.content.decode()
    assert not Post.objects.exists() and not SeriesOccurrence.objects.exists()


@pytest.fixture
def world(net: Net, settings: Any, monkeypatch: Any) -> Iterator[World]:
    monkeypatch.setattr(policy, "patient", True)
    yield from engine_world(net, settings)


def test_editing_a_published_post_in_the_ui_says_where_it_goes(world: World, monkeypatch: Any,
                                                                django_capture_on_commit_callbacks: Any) -> None:
    import dataclasses

    from filial.networks import registry

    ok_class = registry.connector_class("ok")
    monkeypatch.setattr(ok_class, "capabilities", dataclasses.replace(ok_class.capabilities, edit=False))
    post = world.post("Выставка открыта", pages=("vk", "ok"))
    for page in ("vk", "ok"):
        assert run_row(DELIVERY, world.delivery(post, page).pk) == "published"
    c = login(world.net, "admin")
    detail = c.get(reverse("publishing:post_detail", args=[post.pk])).content.decode()
    assert "Editing on the networks" in detail and "cannot edit published posts" in detail
    assert reverse("publishing:post_edit", args=[post.pk]) in detail
    form = c.get(reverse("publishing:post_edit", args=[post.pk])).content.decode()
    assert "This post is already on its pages" in form and "will be edited" in form and "cannot be edited" in form
    assert 'name="channels"' in form and " disabled" in form  # pages and time stay as they were

    with django_capture_on_commit_callbacks(execute=True):  # the worker's task runs at once (immediate Huey)
        response = c.post(reverse("publishing:post_edit", args=[post.pk]), {
            "unit": world.net.central.pk, "kind": "note", "text": "Выставка открыта до пятницы", "action": "save",
            "poll_anonymous": "on"}, follow=True)
    body = response.content.decode()
    assert response.status_code == 200
    assert "It will be edited on: ЦГБ ВКонтакте." in body
    assert "Not on “ЦГБ в ОК”: this network cannot edit published posts." in body
    assert world.vk_wall()[0]["text"] == "Выставка открыта до пятницы"  # HUEY is immediate in tests
    edit = DeliveryEdit.objects.get()
    assert edit.state == DeliveryEdit.State.DONE
    assert "Edit: Edited" in c.get(reverse("publishing:post_detail", args=[post.pk])).content.decode()
