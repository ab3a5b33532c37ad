"""The network overview: content per role, what is due per page, quiet pages, a fixed number of queries."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from filial.accounts.models import Role
from filial.accounts.services import membership_set
from filial.channels.models import Channel, Network
from filial.conftest import PASSWORD, make_user
from filial.libraries.services import unit_create
from filial.publishing import services
from filial.publishing.models import Delivery, Post
from filial.publishing.services import PostData
from filial.stats.models import PageDay

URL = "/"


def login(client, net, role):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    assert client.login(username=net.users[role].username, password=PASSWORD)
    return client


def text_of(response) -> str:
    """The page's text with tags removed and spaces collapsed, for phrase checks."""
    html = response.content.decode()
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def published(channel, days_ago: float, unit=None):
    """A post that went out on ``channel`` ``days_ago`` days ago."""
    at = timezone.now() - timedelta(days=days_ago)
    post = Post.objects.create(unit=unit or channel.unit, kind="note", text="Было", state=Post.State.PUBLISHED,
                               publish_at=at)
    return Delivery.objects.create(post=post, channel=channel, state=Delivery.State.PUBLISHED, due_at=at,
                                   published_at=at)


def scheduled(net, actor_role, unit, channels, hours=24):
    """A post scheduled through the services (approved at once by a methodologist/admin)."""
    actor = net.users[actor_role]
    post = services.post_create(actor=actor, data=PostData(unit=unit, kind="afisha", text="Приходите",
                                                           channels=channels, publish_at=net.soon(hours)))
    return services.post_submit(actor=actor, post=post)


def pending(net, editor_role, unit, channel):
    actor = net.users[editor_role]
    post = services.post_create(actor=actor, data=PostData(unit=unit, kind="note", text="На согласование",
                                                           channels=[channel], publish_at=net.soon(30)))
    return services.post_submit(actor=actor, post=post)


def test_login_required(client, net):
    response = client.get(URL)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_user_without_membership_gets_a_friendly_page(client, net):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    client.login(username="outsider", password=PASSWORD)
    response = client.get(URL)
    assert response.status_code == 200
    assert "ask your administrator for access" in response.content.decode().lower()
    assert net.channels["central_ok"].name not in response.content.decode()


def test_viewer_sees_the_whole_network_as_a_tree(client, net):
    net.channels["central_vk"].url = "https://vk.com/mednogorsk_cgb"
    net.channels["central_vk"].save()
    response = login(client, net, "viewer").get(URL)
    assert response.status_code == 200
    html = response.content.decode()
    for channel in net.channels.values():
        assert channel.name in html
    assert 'href="https://vk.com/mednogorsk_cgb" rel="noopener noreferrer" target="_blank"' in html
    assert '<span class="net net-vk"' in html and '<span class="net net-telegram"' in html
    # The automation department is drawn inside the central library's branch of the tree.
    central_at = html.index(net.central.name)
    automation_at = html.index(net.automation.name)
    children_at = html.index(net.children.name)
    assert central_at < automation_at < children_at
    assert '<ul class="tree">' in html[central_at:automation_at]
    assert html.count('<ul class="tree">') == 2
    # Status shown as text.
    assert 'class="state state-active">Active<' in html


def test_pending_counts_only_for_readable_units_and_own_for_approvers(client, net):
    pending(net, "editor_children", net.children, net.channels["children_ok"])
    pending(net, "editor_children", net.children, net.channels["children_tg"])
    pending(net, "editor_central", net.central, net.channels["central_ok"])

    viewer_text = text_of(login(client, net, "viewer").get(URL))
    assert "1 post awaiting approval" in viewer_text  # central: the viewer reads it
    assert "2 posts awaiting approval" not in viewer_text  # children's library: not the viewer's
    assert "Awaiting approval 1" in viewer_text

    client.logout()
    editor_text = text_of(login(client, net, "editor_children").get(URL))
    assert "2 posts awaiting approval" in editor_text
    assert "1 post awaiting approval" not in editor_text
    assert "Awaiting approval 2" in editor_text

    client.logout()
    metodist_text = text_of(login(client, net, "methodologist").get(URL))
    assert "2 posts awaiting approval" in metodist_text and "1 post awaiting approval" in metodist_text
    assert "Awaiting your approval 3" in metodist_text


def test_quiet_page_warning_and_last_post(client, net):
    published(net.channels["branch4_ok"], days_ago=10.2)
    published(net.channels["central_vk"], days_ago=2.5)
    published(net.channels["central_ok"], days_ago=0.1)
    response = login(client, net, "editor_branch4").get(URL)
    text = text_of(response)
    assert "quiet for 10 days" in text
    assert "2 days ago" in text
    assert "today" in text
    assert "quiet for 2 days" not in text
    # Pages that never published are flagged too; the summary counts quiet pages (not never-published ones).
    assert "nothing published yet" in text
    assert re.search(r"Quiet for over 7 days 1\b", text)


def test_paused_page_is_not_warned_about(client, net):
    channel = net.channels["branch4_ok"]
    channel.status = Channel.Status.PAUSED
    channel.save()
    published(channel, days_ago=30)
    text = text_of(login(client, net, "viewer").get(URL))
    assert "quiet for 30 days" not in text
    assert "Paused" in text


def test_what_is_due_audience_and_summary(client, net):
    channel = net.channels["children_ok"]
    post = scheduled(net, "methodologist", net.children, [channel, net.channels["children_tg"]], hours=26)
    later = scheduled(net, "methodologist", net.children, [channel], hours=24 * 9)  # beyond the next 7 days
    assert post.state == later.state == Post.State.SCHEDULED
    PageDay.objects.create(channel=channel, day=timezone.localdate() - timedelta(days=40), audience=900,
                           measured_at=timezone.now() - timedelta(days=40))
    PageDay.objects.create(channel=channel, day=timezone.localdate() - timedelta(days=3), audience=1234,
                           measured_at=timezone.now() - timedelta(days=3))
    PageDay.objects.create(channel=channel, day=timezone.localdate() - timedelta(days=2), audience=None,
                           measured_at=timezone.now() - timedelta(days=2), error="timeout")  # a gap: skipped
    tg = net.channels["children_tg"]
    tg.audience, tg.audience_updated_at = 66, timezone.now() - timedelta(days=1)
    tg.status = Channel.Status.NEEDS_REAUTH
    tg.save()

    response = login(client, net, "viewer").get(URL)
    html = response.content.decode()
    text = text_of(response)
    local = post.publish_at.astimezone(net.children.tz)
    assert local.strftime("%d.%m.%Y %H:%M") in text
    assert f'<time datetime="{local.isoformat()}">' in html
    snap_date = (timezone.now() - timedelta(days=3)).astimezone(net.children.tz).strftime("%d.%m.%Y")
    assert f"1,234 followers, as of {snap_date}" in text
    assert "66 followers" in text
    assert "Needs re-authorisation" in text
    # Summary cards.
    assert "Pages 7" in text
    # The card adds up the latest measured figures (PageDay) with their date, not the page's stored count.
    assert f"Total audience measured on {snap_date} (latest); pages measured: 1 of 7 1,234" in text
    assert "Pages needing re-authorisation 1" in text
    # Posts scheduled this week: those of the two that fall before the end of the system's week.
    from filial.libraries.selectors import _week_bounds

    _start, week_end = _week_bounds(timezone.now(), net.system.timezone)
    expected = Post.objects.filter(state=Post.State.SCHEDULED, publish_at__lt=week_end).count()
    assert f"Posts scheduled this week {expected} " in text
    # Next 7 days: children_ok has one (the other is in 9 days), children_tg one.
    page_rows = re.findall(r"In the next 7 days (\d+)", text)
    assert sorted(page_rows, reverse=True)[:2] == ["1", "1"]
    assert page_rows.count("1") == 2


def test_scheduled_this_week_counts_posts_in_the_systems_week(client, net):
    from filial.libraries.selectors import dashboard_for

    now = timezone.now()
    dash = dashboard_for(net.users["viewer"], now=now)
    assert dash.summary.scheduled_this_week == 0
    inside = dash.week_end - timedelta(minutes=1)
    outside = dash.week_end + timedelta(minutes=1)
    for at in (inside, outside):
        Post.objects.create(unit=net.central, kind="note", text="x", state=Post.State.SCHEDULED, publish_at=at)
    Post.objects.create(unit=net.central, kind="note", text="x", state=Post.State.DRAFT, publish_at=inside)
    dash = dashboard_for(net.users["viewer"], now=now)
    assert dash.summary.scheduled_this_week == 1
    assert dash.week_start.astimezone(net.central.tz).weekday() == 0
    assert dash.week_start.astimezone(net.central.tz).hour == 0


def test_query_count_does_not_grow_with_units_and_pages(client, net, django_assert_max_num_queries):
    login(client, net, "methodologist")
    published(net.channels["branch4_ok"], days_ago=3)
    pending(net, "editor_children", net.children, net.channels["children_ok"])
    with django_assert_max_num_queries(12) as baseline:
        assert client.get(URL).status_code == 200
    base = len(baseline.captured_queries)

    for i in range(8):
        unit = unit_create(actor=None, system=net.system, name=f"Филиал № {10 + i}", kind="branch",
                           parent=net.central if i % 2 else None)
        membership_set(actor=None, user=make_user(f"ed{i}", []), unit=unit, role=Role.EDITOR)
        for network in (Network.VK, Network.OK, Network.TELEGRAM):
            channel = Channel.objects.create(unit=unit, network=network, name=f"Страница {i} {network}",
                                             external_id=f"x{i}{network}")
            PageDay.objects.create(channel=channel, day=timezone.localdate(), audience=10 + i,
                                   measured_at=timezone.now())
            published(channel, days_ago=i + 1)
            Delivery.objects.create(
                post=Post.objects.create(unit=unit, kind="note", text="Скоро", state=Post.State.SCHEDULED,
                                         publish_at=net.soon(5)),
                channel=channel, due_at=net.soon(5),
            )
        Post.objects.create(unit=unit, kind="note", text="?", state=Post.State.PENDING)

    client.logout()
    login(client, net, "methodologist")  # a fresh request: access computed again
    with django_assert_max_num_queries(base) as grown:
        response = client.get(URL)
    assert response.status_code == 200
    assert "Страница 7 vk" in response.content.decode()
    assert len(grown.captured_queries) == base


@pytest.mark.parametrize("role", ["admin", "methodologist", "editor_central", "editor_branch4", "viewer"])
def test_every_member_gets_the_overview(client, net, role):
    response = login(client, net, role).get(URL)
    assert response.status_code == 200
    assert net.system.name in response.content.decode()
    assert "Total audience" in response.content.decode()


def test_names_are_escaped(client, net):
    channel = net.channels["branch4_ok"]
    channel.name = "<img src=x onerror=alert(1)>"
    channel.save()
    html = login(client, net, "viewer").get(URL).content.decode()
    assert "<img src=x" not in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html


def test_the_total_audience_is_unknown_until_a_page_is_measured(client, net):
    PageDay.objects.all().delete()
    channel = net.channels["branch4_ok"]
    channel.audience, channel.audience_updated_at = 500, timezone.now()  # a stored count is not a measurement
    channel.save()
    text = text_of(login(client, net, "viewer").get(URL))
    assert "Total audience unknown: no page has been measured yet" in text
    assert "(the daily statistics collection measures them) —" in text
