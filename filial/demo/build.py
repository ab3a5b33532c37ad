"""Load (and remove) the demo network of the Mednogorsk libraries.

Everything that a user could do today goes through the services (systems, units, users, pages, events,
photos, and posts that are drafted, submitted, approved or returned). What already happened — the 2014
history and the posts published in the last weeks — is written directly as rows by
``_record_published_post``: the services rightly refuse publication times in the past.
"""

from __future__ import annotations

import io
import itertools
import logging
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from django.contrib.auth.hashers import make_password
from django.contrib.auth.password_validation import validate_password
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone

from filial.accounts.models import User
from filial.accounts.services import audit_record, user_create
from filial.channels.models import Channel
from filial.channels.services import channel_create
from filial.circulation import demo as circulation_demo
from filial.circulation.models import Loan, Reader, Renewal
from filial.core.timeutils import local_to_aware
from filial.demo import data
from filial.demo import paid as paid_demo
from filial.demo.data import DemoSummary, EventSpec, PostSpec
from filial.demo.images import draw_photo
from filial.demo.pages import DemoPages
from filial.inbox import demo as inbox_demo  # readers' comments and messages, answered or waiting
from filial.inbox.polls import poll_results_enter
from filial.libraries.models import LibrarySystem, Unit
from filial.libraries.services import system_create, unit_create
from filial.networks import hosting
from filial.publishing.events import event_create
from filial.publishing.media import media_upload
from filial.publishing.models import (
    Delivery,
    Event,
    Media,
    Poll,
    PollAnswer,
    Post,
    PostChannel,
    PostMedia,
)
from filial.publishing.services import PollData, PostData, post_approve, post_create, post_return, post_submit
from filial.readers.models import Reminder
from filial.stats.seed import PageHistory, seed_history

logger = logging.getLogger(__name__)


def demo_present() -> bool:
    """True if the database already has a library system (the demo is only loaded into an empty one)."""
    return LibrarySystem.objects.exists()


def demo_installed() -> bool:
    """True if this installation runs the demo network: some of its pages live on the built-in emulators (the demo
    points them there; a real installation's pages talk to the networks)."""
    pages = Channel.objects.exclude(api_base_url="").values_list("network", "api_base_url")
    return any(hosting.is_builtin_emulator_url(network, url) for network, url in pages.iterator())


@transaction.atomic
def load_demo(*, now: datetime | None = None) -> DemoSummary:
    """Create the demo network. ``now`` anchors the recent weeks (default: the current time)."""
    builder = _Builder(now or timezone.now())
    builder.build()
    return builder.summary


@transaction.atomic
def remove_demo() -> None:
    """Delete the demo network and the demo users (for ``filial demo --force``)."""
    units = list(Unit.objects.filter(system__name=data.SYSTEM_NAME))
    unit_ids = [u.pk for u in units]
    Post.objects.filter(unit_id__in=unit_ids).delete()
    for media in Media.objects.filter(unit_id__in=unit_ids):
        for name in [media.file.name, *media.renditions.values()]:
            if name and default_storage.exists(name):
                default_storage.delete(name)
        media.delete()
    Event.objects.filter(unit_id__in=unit_ids).delete()
    Channel.objects.filter(unit_id__in=unit_ids).delete()
    circulation_demo.remove(unit_ids)
    paid_demo.remove(unit_ids)
    for unit in sorted(units, key=lambda u: len(u.path), reverse=True):
        unit.delete()
    LibrarySystem.objects.filter(name=data.SYSTEM_NAME).delete()
    User.objects.filter(username__in=[u.username for u in data.DEMO_USERS]).delete()


class _Builder:
    def __init__(self, now: datetime) -> None:
        self.now = now
        self.tz = ZoneInfo(data.SYSTEM_TIMEZONE)
        self.today = now.astimezone(self.tz).date()
        self.summary = DemoSummary()
        self.units: dict[str, Unit] = {}
        self.users: dict[str, User] = {}
        self.channels: dict[str, Channel] = {}
        self.events: dict[str, Event] = {}
        self.photo_seed = itertools.count(1)
        self.external_seq: dict[str, itertools.count[int]] = {}
        self.backdated: list[tuple[int, datetime]] = []

    # --- helpers -----------------------------------------------------------------------------------

    def at(self, day: date, hhmm: str) -> datetime:
        hour, minute = (int(p) for p in hhmm.split(":"))
        return local_to_aware(datetime(day.year, day.month, day.day, hour, minute), self.tz)

    def recent_day(self, offset: int) -> date:
        return self.today + timedelta(days=offset)

    def editor(self, unit_key: str) -> User:
        return self.users[data.EDITOR_OF[unit_key]]

    def photos(self, spec: PostSpec, unit_key: str) -> list[Media]:
        """Generated pictures stored through the real upload path (checked, re-encoded Media rows)."""
        media = []
        for i in range(spec.photos):
            seed = next(self.photo_seed)
            content = draw_photo(seed, spec.motif, spec.palette, size=(800, 534))
            media.append(media_upload(
                actor=self.editor(unit_key), unit=self.units[unit_key], fh=io.BytesIO(content),
                size=len(content), name=f"demo-{seed:03d}.jpg", alt_text=f"{spec.title} — {i + 1}",
            ))
        self.summary.photos += len(media)
        return media

    def external_id(self, channel: Channel) -> str:
        n = next(self.external_seq.setdefault(channel.network + channel.name, itertools.count(1)))
        if channel.network == "ok":
            return str(62_000_000_000_000 + (channel.pk or 0) * 100_000 + n * 37)
        if channel.network == "max":
            return f"mid.{(channel.pk or 0):04x}{n:012x}"
        return str(n + 100)

    # --- the network -------------------------------------------------------------------------------

    def build(self) -> None:
        system = system_create(actor=None, name=data.SYSTEM_NAME, short_name=data.SYSTEM_SHORT_NAME,
                               timezone=data.SYSTEM_TIMEZONE)
        self.summary.system_id = system.pk
        self.system = system
        for position, spec in enumerate(data.UNITS):
            self.units[spec.key] = unit_create(
                actor=None, system=system, name=spec.name, short_name=spec.short_name, kind=spec.kind,
                parent=self.units[spec.parent] if spec.parent else None,
                approval_required=spec.approval_required, position=position,
            )
        self.build_users()
        self.build_channels()
        self.build_events()
        self.build_history()
        self.build_poll_results_2014()
        self.build_debtors_2014()
        self.build_recent_posts()
        self.build_statistics()
        for post_id, created in self.backdated:
            Post.objects.filter(pk=post_id).update(created_at=created - timedelta(hours=20), updated_at=created)
        inbox_demo.build(units=self.units, users=self.users, channels=self.channels, now=self.now)
        circulation_demo.build(units=self.units, now=self.now)
        paid_demo.build(units=self.units, channels=self.channels, users=self.users, now=self.now,
                        admin=self.users["admin"])
        self.summary.units = len(self.units)
        self.summary.users = len(self.users)
        self.summary.channels = len(self.channels)
        self.summary.events = len(self.events)
        self.summary.posts = Post.objects.filter(unit__system=system).count()
        audit_record(None, "demo.load", system, {"posts": self.summary.posts, "photos": self.summary.photos},
                     system_id=system.pk)

    def build_users(self) -> None:
        validate_password(data.DEMO_PASSWORD)
        shared_hash = make_password(data.DEMO_PASSWORD)  # hashed once: loading stays fast
        for spec in data.DEMO_USERS:
            user = user_create(
                actor=None, username=spec.username, password=None, display_name=spec.display_name,
                memberships=[(self.units[unit], role) for unit, role in spec.roles],
            )
            user.first_name, user.last_name, user.password = spec.first_name, spec.last_name, shared_hash
            user.save(update_fields=["first_name", "last_name", "password"])
            self.users[spec.username] = user

    def build_channels(self) -> None:
        """The pages, each with credentials of the same page in the built-in emulator of its network."""
        admin = self.users["admin"]
        pages = DemoPages()
        for spec in data.CHANNELS:
            credentials, api_base_url = pages.page(spec)
            self.channels[spec.key] = channel_create(
                actor=admin, unit=self.units[spec.unit], network=spec.network, kind=spec.kind, name=spec.name,
                url=spec.url, external_id=spec.external_id, started_on=spec.started_on,
                audience=spec.audience_now, api_base_url=api_base_url, credentials=credentials,
            )
            if api_base_url:
                self.summary.emulated += 1
        pages.write()
        Channel.objects.filter(pk__in=[c.pk for c in self.channels.values()]).update(
            audience_updated_at=self.at(self.today, "06:00") if self.at(self.today, "06:00") < self.now
            else self.now)

    def build_statistics(self) -> None:
        """The pages' audience and the published posts' figures, day by day, as the statistics job would have
        written them (``stats.seed``; the 2014 figures of the report on their days)."""
        pages = [PageHistory(channel=self.channels[spec.key], started_on=spec.started_on,
                             audience_now=spec.audience_now, anchors=data.SNAPSHOTS_2014.get(spec.key, ()))
                 for spec in data.CHANNELS]
        seed_history(pages, now=self.now)

    def build_events(self) -> None:
        specs: list[tuple[EventSpec, date]] = [(e, e.day) for e in data.EVENTS_2014 if e.day]
        specs += [(e, self.recent_day(e.offset)) for e in data.RECENT_EVENTS]
        for spec, day in specs:
            actor = self.users["admin"] if spec.scope == "city" else self.editor(spec.unit)
            starts = self.at(day, spec.time)
            self.events[spec.key] = event_create(
                actor=actor, unit=self.units[spec.unit], title=spec.title, starts_at=starts,
                description=spec.description, scope=spec.scope, ends_at=starts + timedelta(hours=spec.hours),
                place=spec.place,
            )
        # Library and city holidays of the weeks around today.
        for month, day_of_month, title in data.HOLIDAYS:
            for year in (self.today.year - 1, self.today.year, self.today.year + 1):
                day = date(year, month, day_of_month)
                if -21 <= (day - self.today).days <= 35:
                    key = f"holiday-{day.isoformat()}"
                    self.events[key] = event_create(
                        actor=self.users["admin"], unit=self.units["central"], title=title,
                        starts_at=self.at(day, "10:00"), ends_at=self.at(day, "18:00"), scope=Event.Scope.CITY,
                        place="Медногорск",
                    )

    # --- posts -------------------------------------------------------------------------------------

    def build_history(self) -> None:
        reviewer = self.users["metodist"]
        for channel_key, posts in data.HISTORY_2014.items():
            channel = self.channels[channel_key]
            unit_key = next(c.unit for c in data.CHANNELS if c.key == channel_key)
            for spec in posts:
                assert spec.day is not None
                self._record_published_post(
                    spec, unit_key=unit_key, channels=[channel], publish_at=self.at(spec.day, spec.time),
                    reviewer=reviewer,
                )

    def build_poll_results_2014(self) -> None:
        """The 2014 poll's results, typed from the page (Filial did not exist to count them): marked manual."""
        for question, votes in data.POLL_RESULTS_2014.items():
            for delivery in Delivery.objects.filter(post__poll__question=question, post__unit__system=self.system,
                                                    state=Delivery.State.PUBLISHED).select_related("post"):
                poll_results_enter(actor=None, delivery=delivery, votes=list(votes),
                                   now=(delivery.published_at or self.now) + timedelta(days=14))

    def build_debtors_2014(self) -> None:
        """The children's library's 2014 notices and renewals through its OK page, as rows (they happened)."""
        unit, page = self.units["children"], self.channels["children_ok"]
        for spec in data.DEBTORS_2014:
            reader = Reader.objects.create(system_id=unit.system_id, unit=unit, card=spec.card)
            due = spec.reminded + timedelta(days=1)
            loans = [Loan.objects.create(
                reader=reader, unit=unit, barcode=f"{spec.card}-{i + 1}", title="", issued=due - timedelta(days=30),
                due=due, returned=spec.reminded + timedelta(days=spec.returned_after)
                if spec.returned_after is not None else due + timedelta(days=40), renewals=1 if i < spec.renewed else 0,
            ) for i in range(spec.loans)]
            reminder = Reminder.objects.create(reader=reader, unit=unit, channel=page, date=spec.reminded,
                                               state="sent", steps={str(loan.pk): "pre" for loan in loans})
            reminder.loans.set(loans)
            for loan in loans[:spec.renewed]:
                renewal = Renewal.objects.create(loan=loan, source=Renewal.Channel.READER,
                                                 state=Renewal.State.GRANTED, new_due=due + timedelta(days=14))
                Renewal.objects.filter(pk=renewal.pk).update(requested_at=self.at(spec.reminded, "12:30"))

    def _record_published_post(self, spec: PostSpec, *, unit_key: str, channels: Sequence[Channel],
                               publish_at: datetime, reviewer: User) -> Post:
        """A post that was already published: rows written directly (the services refuse past times)."""
        unit = self.units[unit_key]
        author = self.editor(unit_key)
        post = Post.objects.create(
            unit=unit, author=author, kind=spec.kind, title=spec.title, text=spec.text, link=spec.link,
            event=self.events.get(spec.event), publish_at=publish_at, state=Post.State.PUBLISHED,
            reviewed_by=reviewer if unit.approval_required else author,
            reviewed_at=publish_at - timedelta(hours=3),
        )
        PostChannel.objects.bulk_create([PostChannel(post=post, channel=c) for c in channels])
        media = self.photos(spec, unit_key)
        PostMedia.objects.bulk_create([PostMedia(post=post, media=m, position=i) for i, m in enumerate(media)])
        if spec.poll:
            question, answers = spec.poll
            poll = Poll.objects.create(post=post, question=question, ends_at=publish_at + timedelta(days=14))
            PollAnswer.objects.bulk_create([PollAnswer(poll=poll, text=a, position=i) for i, a in enumerate(answers)])
        Delivery.objects.bulk_create([
            Delivery(post=post, channel=c, state=Delivery.State.PUBLISHED, due_at=publish_at, attempts=1,
                     external_id=self.external_id(c), published_at=publish_at + timedelta(seconds=40 + 7 * i))
            for i, c in enumerate(channels)
        ])
        self.backdated.append((post.pk, publish_at))
        return post

    def build_recent_posts(self) -> None:
        methodologist = self.users["metodist"]
        for spec in data.RECENT_POSTS:
            channels = [self.channels[k] for k in spec.channels]
            publish_at = self.at(self.recent_day(spec.offset), spec.time) if spec.time else None
            if spec.state == "published":
                assert publish_at is not None and publish_at < self.now
                self._record_published_post(spec, unit_key=spec.unit, channels=channels, publish_at=publish_at,
                                            reviewer=methodologist)
                continue
            editor = self.editor(spec.unit)
            poll = None
            if spec.poll:
                assert publish_at is not None
                poll = PollData(question=spec.poll[0], answers=list(spec.poll[1]),
                                ends_at=publish_at + timedelta(days=5))
            post = post_create(actor=editor, data=PostData(
                unit=self.units[spec.unit], kind=spec.kind, text=spec.text, channels=channels, title=spec.title,
                link=spec.link, event=self.events.get(spec.event), publish_at=publish_at,
                media=self.photos(spec, spec.unit), poll=poll,
            ))
            if spec.state == "draft":
                continue
            post = post_submit(actor=editor, post=post)
            if spec.state == "scheduled" and post.state == Post.State.PENDING:
                post_approve(actor=methodologist, post=post)
            elif spec.state == "returned":
                post_return(actor=methodologist, post=post, comment=spec.comment)


def summary_lines(summary: DemoSummary) -> list[str]:
    return [
        f"units: {summary.units}, pages: {summary.channels}, staff: {summary.users}, "
        f"posts: {summary.posts}, events: {summary.events}, photos: {summary.photos}",
        f"pages on the local network emulators: {summary.emulated} (served by `filial emulators` and `filial run`)",
    ]
