"""Reads for posts, deliveries, outgoing messages and events, scoped to what the user may see."""

from __future__ import annotations

from typing import Any

from django.db.models import Case, Count, IntegerField, Prefetch, Q, QuerySet, Value, When
from django.db.models.functions import Lower

from filial.accounts.selectors import access_for
from filial.channels.models import Channel
from filial.outbox.models import Attempt
from filial.publishing.models import Delivery, Event, Media, OutgoingMessage, Post, PostMedia

# Posts in these states are visible to everyone in the library system; the rest (drafts, posts awaiting
# approval or returned) only to those who may read the post's unit.
PUBLIC_STATES = (Post.State.SCHEDULED, Post.State.PUBLISHED, Post.State.CANCELLED)


def posts_visible(user: Any) -> QuerySet[Post]:
    access = access_for(user)
    return Post.objects.filter(
        Q(unit__system_id__in=access.systems, state__in=PUBLIC_STATES) | Q(unit_id__in=access.read_units)
    ).select_related("unit", "author", "event")


def media_visible(user: Any) -> QuerySet[Media]:
    """Photos the user may see: those of the units they read, and those of the posts they may see."""
    access = access_for(user)
    of_visible_posts = PostMedia.objects.filter(post__in=posts_visible(user).values("pk")).values("media_id")
    return Media.objects.filter(Q(unit_id__in=access.read_units) | Q(pk__in=of_visible_posts))


def posts_matching(qs: QuerySet[Post], words: str) -> QuerySet[Post]:
    """Posts whose title or text contains ``words``, ignoring case in any alphabet.

    Both sides are lowered; on SQLite ``LOWER`` is replaced by Python's (``filial.core.sqlite``) because the
    built-in one folds ASCII letters only.
    """
    needle = words.strip().lower()
    if not needle:
        return qs
    return qs.annotate(_title_lower=Lower("title"), _text_lower=Lower("text")).filter(
        Q(_title_lower__contains=needle) | Q(_text_lower__contains=needle)
    )


def post_get(user: Any, pk: int) -> Post | None:
    return posts_visible(user).filter(pk=pk).first()


def deliveries_visible(user: Any) -> QuerySet[Delivery]:
    access = access_for(user)
    return Delivery.objects.filter(
        Q(post__unit__system_id__in=access.systems, post__state__in=PUBLIC_STATES)
        | Q(post__unit_id__in=access.read_units)
    ).select_related("channel", "post")


def events_visible(user: Any) -> QuerySet[Event]:
    access = access_for(user)
    return Event.objects.filter(unit__system_id__in=access.systems).select_related("unit")


def public_message_q() -> Q:
    """Messages that are public on the network: replies to comments. Every other message is private
    correspondence with one person (a direct message, a reminder, the readers' dialogue, a reply in a dialogue)."""
    return Q(kind=OutgoingMessage.Kind.REPLY, reply_to__kind="comment")


def message_is_private(message: OutgoingMessage) -> bool:
    return not (message.kind == OutgoingMessage.Kind.REPLY and (message.reply_to or {}).get("kind") == "comment")


def messages_visible(user: Any) -> QuerySet[OutgoingMessage]:
    """Outgoing messages of the pages of units the user may read; private ones only where the user may see the
    unit's readers (``Access.may_see_correspondence``)."""
    access = access_for(user)
    query = Q(channel__unit_id__in=access.reader_units)
    if access.public_only_units:
        query |= Q(channel__unit_id__in=access.public_only_units) & public_message_q()
    return OutgoingMessage.objects.filter(query).select_related("channel__unit", "created_by")


def messages_for_list(user: Any, *, state: str = "", channel_id: int | None = None,
                      purpose: str = "") -> QuerySet[OutgoingMessage]:
    """Messages for the "Outgoing messages" page: failed and uncertain first, then the newest; with their attempts."""
    qs = messages_visible(user)
    if state:
        qs = qs.filter(state=state)
    if channel_id:
        qs = qs.filter(channel_id=channel_id)
    if purpose:
        qs = qs.filter(purpose=purpose)
    attention = Case(When(state__in=[OutgoingMessage.State.FAILED, OutgoingMessage.State.UNCERTAIN], then=Value(0)),
                     default=Value(1), output_field=IntegerField())
    return qs.annotate(attention=attention).order_by("attention", "-due_at", "-id").prefetch_related(
        Prefetch("attempt_log", queryset=Attempt.objects.select_related("actor").order_by("started_at", "id")))


def message_get(user: Any, pk: int) -> OutgoingMessage | None:
    return messages_visible(user).filter(pk=pk).first()


def channels_needing_reauth(user: Any) -> list[Channel]:
    """Pages of the user's readable units whose credentials the network refused, each with ``waiting_posts``
    (scheduled deliveries) and ``waiting_messages`` (outgoing messages not yet sent): three queries however
    many pages there are."""
    access = access_for(user)
    pages = list(Channel.objects.filter(unit_id__in=access.read_units, status=Channel.Status.NEEDS_REAUTH)
                 .select_related("unit").order_by("unit__path", "network", "name"))
    if not pages:
        return []
    ids = [c.pk for c in pages]
    posts = dict(Delivery.objects.filter(channel_id__in=ids, state=Delivery.State.SCHEDULED).order_by()
                 .values("channel_id").annotate(n=Count("id")).values_list("channel_id", "n"))
    messages = dict(OutgoingMessage.objects.filter(channel_id__in=ids, state=OutgoingMessage.State.SCHEDULED)
                    .order_by().values("channel_id").annotate(n=Count("id")).values_list("channel_id", "n"))
    for page in pages:
        page.waiting_posts = posts.get(page.pk, 0)  # type: ignore[attr-defined]
        page.waiting_messages = messages.get(page.pk, 0)  # type: ignore[attr-defined]
        page.can_reconnect = access.is_admin_of(page.unit.system_id)  # type: ignore[attr-defined]
    return pages
