"""The demo network: the Mednogorsk libraries as they stood in 2014, plus the same network today."""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.db import transaction
from django.db.models import Count
from django.test import override_settings
from django.utils import timezone
from PIL import Image

from emulators import hosting as emulated
from filial.accounts.models import AuditEntry, Membership, User
from filial.channels.models import Channel
from filial.demo.build import load_demo
from filial.demo.data import DEMO_PASSWORD, SYSTEM_NAME
from filial.demo.images import MOTIFS, draw_photo
from filial.libraries.models import LibrarySystem, Unit
from filial.networks import hosting
from filial.networks.connect import connector_for_channel
from filial.networks.tests.helpers import free_port_block
from filial.publishing.models import Delivery, Event, Media, Poll, Post
from filial.stats.models import PageDay, PublicationDay

TZ = ZoneInfo("Asia/Yekaterinburg")


EMULATORS: dict[str, Any] = {}  # where this module's demo put its pages' emulator seed, and on which ports


@pytest.fixture(scope="module")
def _demo_loaded(django_db_setup: Any, django_db_blocker: Any, tmp_path_factory: Any) -> Iterator[Path]:
    """The demo, loaded once for this module inside a transaction that is rolled back at the end."""
    media_root = tmp_path_factory.mktemp("demo-media")
    EMULATORS.update(directory=tmp_path_factory.mktemp("demo-emulators"), port_base=free_port_block())
    fast = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    with django_db_blocker.unblock(), override_settings(
            MEDIA_ROOT=media_root, PASSWORD_HASHERS=fast, FILIAL_EMULATOR_DIR=EMULATORS["directory"],
            FILIAL_EMULATOR_PORT_BASE=EMULATORS["port_base"]):
        with transaction.atomic():
            load_demo()
            yield media_root
            transaction.set_rollback(True)


@pytest.fixture
def demo(_demo_loaded: Path, db: Any) -> Path:
    return _demo_loaded


def channel(name: str, network: str) -> Channel:
    return Channel.objects.get(name=name, network=network)


def published_2014(ch: Channel) -> Any:
    return Post.objects.filter(
        state=Post.State.PUBLISHED, deliveries__channel=ch, deliveries__state=Delivery.State.PUBLISHED,
        deliveries__published_at__year=2014,
    ).distinct()


def last_2014_followers(ch: Channel) -> int:
    snap = PageDay.objects.filter(channel=ch, day__year=2014).order_by("day").last()
    assert snap is not None and snap.audience is not None
    return snap.audience


def test_units_of_the_network(demo: Path) -> None:
    system = LibrarySystem.objects.get()
    assert system.name == SYSTEM_NAME and system.timezone == "Asia/Yekaterinburg"
    units = {u.name: u for u in Unit.objects.select_related("parent")}
    assert set(units) == {
        "Центральная городская библиотека", "Отдел автоматизации ЦГБ",
        "Центральная городская детская библиотека", "Библиотека-филиал № 4",
    }
    assert units["Центральная городская библиотека"].kind == "central"
    assert units["Центральная городская детская библиотека"].kind == "children"
    assert units["Библиотека-филиал № 4"].kind == "branch"
    automation = units["Отдел автоматизации ЦГБ"]
    assert automation.kind == "department"
    assert automation.parent == units["Центральная городская библиотека"]
    assert automation.path.startswith(automation.parent.path)


def test_pages_of_2014_and_of_today(demo: Path) -> None:
    pages = {(c.unit.name, c.network) for c in Channel.objects.select_related("unit")}
    central, automation = "Центральная городская библиотека", "Отдел автоматизации ЦГБ"
    children, branch4 = "Центральная городская детская библиотека", "Библиотека-филиал № 4"
    assert pages == {
        (central, "ok"), (central, "vk"), (central, "telegram"), (central, "max"),
        (automation, "vk"), (automation, "telegram"),
        (children, "ok"), (children, "vk"), (children, "telegram"),
        (branch4, "ok"), (branch4, "vk"), (branch4, "telegram"),
    }
    central_ok = channel("Центральная библиотека Медногорска", "ok")
    assert (central_ok.url, central_ok.kind) == ("https://ok.ru/profile/561588730013", "profile")
    assert central_ok.started_on is not None and central_ok.started_on.year == 2014
    assert central_ok.unit.name == central
    branch4_ok = Channel.objects.get(url="https://ok.ru/profile/569188750053")
    assert branch4_ok.unit.name == branch4
    assert branch4_ok.started_on is not None and branch4_ok.started_on >= date(2014, 11, 1)
    vinyl = channel("Медногорский винил", "vk")
    assert (vinyl.url, vinyl.kind, vinyl.unit.name) == ("https://vk.com/vinilius", "community", automation)
    kids = channel("Детская библиотека", "ok")
    assert kids.unit.name == children and kids.started_on is not None and kids.started_on.year == 2014
    # Today's audience is known for every page.
    assert not Channel.objects.filter(audience__isnull=True).exists()
    assert not Channel.objects.filter(audience_updated_at__isnull=True).exists()


def test_staff_with_each_role(demo: Path) -> None:
    roles = {(m.user.username, m.unit.name, m.role) for m in Membership.objects.select_related("user", "unit")}
    top = {"Центральная городская библиотека", "Центральная городская детская библиотека", "Библиотека-филиал № 4"}
    assert ("admin", "Центральная городская библиотека", "admin") in roles
    assert {u for (name, u, r) in roles if name == "metodist" and r == "methodologist"} == top
    editors = {u for (_n, u, r) in roles if r == "editor"}
    assert editors == top | {"Отдел автоматизации ЦГБ"}
    assert len({n for (n, _u, r) in roles if r == "editor"}) == 4  # one editor per unit
    assert any(r == "viewer" for (_n, _u, r) in roles)
    for user in User.objects.all():
        assert user.check_password(DEMO_PASSWORD), user.username
        assert not user.is_superuser


def test_central_page_2014_has_32_notes_of_varied_kinds_and_the_poll(demo: Path) -> None:
    central_ok = channel("Центральная библиотека Медногорска", "ok")
    notes = published_2014(central_ok)
    assert notes.count() == 32
    kinds = set(notes.values_list("kind", flat=True))
    assert {"photo_report", "afisha", "contest", "book_fact", "new_arrivals", "product", "poll"} <= kinds
    deliveries = Delivery.objects.filter(channel=central_ok, published_at__year=2014)
    assert deliveries.count() == 32
    assert not deliveries.exclude(state=Delivery.State.PUBLISHED).exists()
    assert not deliveries.filter(external_id="").exists()
    assert len(set(deliveries.values_list("external_id", flat=True))) == 32
    poll = Poll.objects.select_related("post").get(post__in=notes)
    assert "здоров" in poll.question.lower()
    assert poll.answers.count() >= 3
    assert notes.filter(media__isnull=False).exists()  # photo reports come with photos


def test_other_2014_pages(demo: Path) -> None:
    kids = published_2014(channel("Детская библиотека", "ok"))
    assert {"exhibition", "links", "service_info", "photo_report"} <= set(kids.values_list("kind", flat=True))
    assert kids.filter(kind="service_info", text__icontains="продл").exists()  # due dates and renewals
    branch4 = published_2014(Channel.objects.get(url="https://ok.ru/profile/569188750053"))
    assert branch4.count() >= 3
    assert min(p.publish_at.astimezone(TZ).date() for p in branch4).isoformat() >= "2014-11-20"
    vinyl = published_2014(channel("Медногорский винил", "vk"))
    assert vinyl.filter(kind="product").annotate(n=Count("media")).filter(n__gt=0).count() >= 3


def test_audience_growth_2014(demo: Path) -> None:
    central_ok = channel("Центральная библиотека Медногорска", "ok")
    assert last_2014_followers(central_ok) > 600
    assert last_2014_followers(channel("Детская библиотека", "ok")) > 1400
    assert last_2014_followers(Channel.objects.get(url="https://ok.ru/profile/569188750053")) > 40
    series = [int(a or 0) for a in PageDay.objects.filter(channel=central_ok, day__year=2014, audience__isnull=False)
              .order_by("day").values_list("audience", flat=True)]
    assert series == sorted(series) and len(series) >= 6
    latest = PageDay.objects.filter(channel=central_ok).order_by("day").last()
    assert latest is not None and latest.audience == central_ok.audience
    # the report's figures on their days, exactly, stored as the statistics job would have (stats.seed)
    exact = {"Центральная библиотека Медногорска": 614, "Детская библиотека": 1432}
    for name, audience in exact.items():
        row = PageDay.objects.get(channel=channel(name, "ok"), day=date(2014, 12, 31))
        assert row.audience == audience and row.source == "seed"
    assert PageDay.objects.get(channel__url="https://ok.ru/profile/569188750053", day=date(2014, 12, 31)).audience == 44
    assert PageDay.objects.get(channel__url="https://vk.com/vinilius", day=date(2014, 12, 31)).audience == 152
    # daily through 2014 and the last year; the published posts have their figures, Telegram's views unknown
    assert PageDay.objects.filter(channel=central_ok, day__year=2014).count() == (date(2014, 12, 31)
                                                                                 - date(2014, 3, 3)).days + 1
    published = Delivery.objects.filter(state=Delivery.State.PUBLISHED)
    assert PublicationDay.objects.filter(delivery__in=published).values("delivery").distinct().count() == \
        published.count()
    assert not PublicationDay.objects.filter(channel__network="telegram", views__isnull=False).exists()
    assert PublicationDay.objects.filter(channel__network="vk", reach__gt=0).exists()


def test_events_of_2014_and_of_now(demo: Path) -> None:
    now = timezone.now()
    assert Event.objects.filter(starts_at__year=2014).count() >= 10
    assert Event.objects.filter(starts_at__year=2014, scope="city").exists()
    assert Event.objects.filter(starts_at__gt=now).count() >= 4
    assert Event.objects.filter(starts_at__lt=now, starts_at__gt=now - timedelta(days=30)).exists()
    assert Event.objects.filter(scope="city", starts_at__gt=now - timedelta(days=30)).exists()
    assert Post.objects.filter(event__isnull=False).exists()


def test_recent_weeks_of_posts_in_every_state(demo: Path) -> None:
    now = timezone.now()
    states = dict(Post.objects.filter(publish_at__year__gte=2020).values_list("state").annotate(n=Count("id")))
    states_all = dict(Post.objects.values_list("state").annotate(n=Count("id")))
    assert states.get("published", 0) >= 5
    assert states_all["scheduled"] >= 4 and states_all["pending"] >= 2 and states_all["draft"] >= 2
    assert states_all["returned"] == 1
    returned = Post.objects.get(state="returned")
    assert returned.review_comment and returned.reviewed_by is not None
    scheduled = Post.objects.filter(state="scheduled")
    assert not scheduled.filter(publish_at__lte=now).exists()
    for post in scheduled:
        live = post.deliveries.all()
        assert live.count() == post.targets.count() > 0
        assert set(live.values_list("state", flat=True)) == {"scheduled"}
    assert not Delivery.objects.filter(post__state__in=["pending", "draft", "returned"]).exists()
    assert Post.objects.filter(state="published", publish_at__gt=now - timedelta(days=21)).count() >= 5
    # The services were used for what happens today: the approvals are in the audit log.
    assert AuditEntry.objects.filter(action="post.approve").count() >= 4
    assert AuditEntry.objects.filter(action="post.return").count() == 1
    assert AuditEntry.objects.filter(action="post.submit_publish").exists()  # unit without approval


def test_photos_are_real_media(demo: Path) -> None:
    photos = list(Media.objects.all())
    assert len(photos) >= 20
    for media in photos[:5]:
        assert media.content_type == "image/jpeg" and media.width > 0 and media.size > 0
        assert (demo / str(media.file.name)).stat().st_size == media.size
    assert AuditEntry.objects.filter(action="media.upload").count() == len(photos)


def test_pages_point_at_the_emulators_with_credentials_they_know(demo: Path) -> None:
    seed = hosting.read_seed(hosting.seed_path(EMULATORS["directory"]))
    assert {n: len(v) for n, v in seed.items()} == {"vk": 4, "ok": 3, "telegram": 4, "max": 1}
    tokens = json_tokens(seed)
    for page in Channel.objects.all():
        assert page.external_id and page.has_credentials, page
        assert page.api_base_url == hosting.emulator_api_url(page.network, EMULATORS["port_base"])
        secret = page.credentials.get("access_token") or page.credentials["bot_token"]
        assert secret in tokens, page  # the emulator is seeded with this very page's token


def json_tokens(seed: dict[str, Any]) -> set[str]:
    return {str(v) for entries in seed.values() for entry in entries for k, v in entry.items() if "token" in k}


def test_the_real_connectors_reach_every_demo_page_on_the_served_emulators(demo: Path) -> None:
    host = emulated.EmulatorHost(directory=EMULATORS["directory"], port_base=EMULATORS["port_base"]).start()
    try:
        assert not host.failed and len(host.hosted) == 4
        for page in Channel.objects.all():
            info = connector_for_channel(page).verify()
            assert (info.external_id, info.name, info.audience) == (page.external_id, page.name, page.audience)
    finally:
        host.stop()


def test_demo_users_log_in(demo: Path, client: Any) -> None:
    assert client.login(username="metodist", password=DEMO_PASSWORD)
    assert client.get("/login/").status_code in (200, 302)


@pytest.mark.parametrize("motif", MOTIFS)
def test_generated_photos_are_jpegs_of_the_asked_size(motif: str) -> None:
    image = Image.open(io.BytesIO(draw_photo(3, motif, "bright", size=(320, 200))))
    assert (image.format, image.size) == ("JPEG", (320, 200))
    colours = image.getcolors(maxcolors=100_000)
    assert colours is not None and len(colours) > 50  # a picture, not a flat colour
