"""Reads for posts, deliveries and events, scoped to what the user may see."""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet
from django.db.models.functions import Lower

from filial.accounts.selectors import access_for
from filial.publishing.models import Delivery, Event, Post

# Posts in these states are visible to everyone in the library system; the rest (drafts, posts awaiting
# approval or returned) only to those who may read the post's unit.
PUBLIC_STATES = (Post.State.SCHEDULED, Post.State.PUBLISHED, Post.State.CANCELLED)


def posts_visible(user: Any) -> QuerySet[Post]:
    access = access_for(user)
    return Post.objects.filter(
        Q(unit__system_id__in=access.systems, state__in=PUBLIC_STATES) | Q(unit_id__in=access.read_units)
    ).select_related("unit", "author", "event")


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
