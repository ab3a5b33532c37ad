"""In a real browser: composing a weekly series with "next free slot" (htmx), and the new screens."""

from __future__ import annotations

from datetime import time
from typing import Any

import pytest
from django.urls import reverse

from filial.channels.models import Channel
from filial.conftest import ARTIFACTS, PASSWORD, Net
from filial.publishing import slots
from filial.publishing.models import Post, PostSeries


def login(page: Any, base: str, username: str) -> None:
    from django.conf import settings

    page.context.add_cookies([{"name": settings.LANGUAGE_COOKIE_NAME, "value": "en", "url": base}])
    page.goto(f"{base}/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{base}/")


@pytest.mark.browser
def test_compose_a_weekly_series_with_the_next_free_slot(live_server: Any, transactional_db: Any, net: Net,
                                                        page: Any) -> None:
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    channel = net.channels["central_vk"]
    slots.slots_set(actor=net.users["admin"], channel=channel, slots=[(1, time(11)), (3, time(11))])
    expected = slots.next_free_slot(net.users["admin"], [channel])
    assert expected is not None
    base = live_server.url
    login(page, base, net.users["admin"].username)
    page.goto(f"{base}{reverse('publishing:post_create')}")
    page.locator("#id_kind").select_option("book_fact")
    page.locator("#id_text").fill("Книжный факт: Булгаков писал «Мастера и Маргариту» двенадцать лет.")
    page.locator(f"#id_channels_{channel.pk}").check()
    page.get_by_role("button", name="Next free slot").click()
    local = expected.astimezone(net.central.tz)
    page.locator(".slot-note").get_by_text(f"Next free slot: {local:%d.%m.%Y %H:%M}").wait_for()
    assert page.locator("#id_publish_at").input_value() == f"{local:%Y-%m-%dT%H:%M}"
    assert page.url.endswith(reverse("publishing:post_create"))  # htmx swapped the card; no page load
    page.locator("#id_repeat").select_option("weekly")
    page.locator(".repeat").get_by_label("Tue").check()
    page.locator(".repeat").get_by_label("Thu").check()
    page.locator("#id_repeat_count").fill("8")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "browser-composer-series-slot.png"), full_page=True)
    page.get_by_role("button", name="Schedule").click()
    page.get_by_role("heading", name="Repeats").wait_for()
    post = Post.objects.get()
    assert post.state == Post.State.SCHEDULED and post.publish_at == expected
    found = PostSeries.objects.get(template=post)
    assert (found.frequency, found.weekdays, found.count) == ("weekly", [1, 3], 8)
    assert page.get_by_text("Every week on Tuesday, Thursday at 11:00, 8 times in all").count() == 1
    assert page.locator(".series-next li").count() == 5
    page.screenshot(path=str(ARTIFACTS / "browser-post-series.png"), full_page=True)
    assert errors == []


@pytest.mark.browser
def test_screens_of_slots_reauth_and_edit_plan(live_server: Any, transactional_db: Any, net: Net, page: Any) -> None:
    from filial.publishing.services import PostData, post_create, post_submit

    base = live_server.url
    login(page, base, net.users["admin"].username)
    channel = net.channels["central_vk"]
    page.goto(f"{base}{reverse('publishing:channel_slots', args=[channel.pk])}")
    page.get_by_label("Monday").fill("10:00, 18:30")
    page.get_by_label("Wednesday").fill("10:00")
    page.get_by_role("button", name="Save posting times").click()
    page.get_by_text("are saved").wait_for()
    assert slots.slots_by_weekday(channel)[0] == [time(10), time(18, 30)]
    page.screenshot(path=str(ARTIFACTS / "browser-page-slots.png"), full_page=True)

    admin = net.users["admin"]
    post = post_submit(actor=admin, post=post_create(actor=admin, data=PostData(
        unit=net.children, kind="note", text="Ждёт страницу", channels=[net.channels["children_ok"]],
        publish_at=net.soon())))
    Channel.objects.filter(pk=net.channels["children_ok"].pk).update(status=Channel.Status.NEEDS_REAUTH)
    page.goto(f"{base}/")
    section = page.get_by_role("region", name="Pages needing re-authorisation")
    section.get_by_text("1 post waiting").wait_for()
    section.get_by_role("link", name="Connect again").wait_for()
    page.screenshot(path=str(ARTIFACTS / "browser-dashboard-reauth.png"), full_page=True)

    # A published post's page says where an edit goes.
    from filial.publishing.models import Delivery

    Delivery.objects.filter(post=post).update(state=Delivery.State.PUBLISHED, external_id="561588730099_1")
    Post.objects.filter(pk=post.pk).update(state=Post.State.PUBLISHED)
    page.goto(f"{base}{reverse('publishing:post_edit', args=[post.pk])}")
    page.get_by_role("heading", name="This post is already on its pages").wait_for()
    page.get_by_text("will be edited").wait_for()
    page.screenshot(path=str(ARTIFACTS / "browser-edit-published.png"), full_page=True)

    # On a phone: the composer's time, "next free slot" and repeat, and the dashboard's alert.
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{base}{reverse('publishing:post_create')}")
    page.locator("#when-card").scroll_into_view_if_needed()
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    page.screenshot(path=str(ARTIFACTS / "browser-phone-composer.png"), full_page=True)
    page.goto(f"{base}/")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    page.screenshot(path=str(ARTIFACTS / "browser-phone-dashboard-reauth.png"))
