"""Reads of the inbox, scoped to the units the user may read, with what the pages show loaded in bulk."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import Count, Exists, OuterRef, Prefetch, Q, QuerySet
from django.db.models.functions import Lower
from django.utils import timezone

from filial.accounts.selectors import Access, access_for
from filial.inbox.models import Conversation, InboxItem, Note, ReplyTemplate


@dataclass
class InboxFilters:
    unit: int | None = None
    channel: int | None = None
    network: str = ""
    state: str = ""  # a state, "open" (new + in progress) or "" (all)
    overdue: bool = False
    mine: bool = False
    q: str = ""


def visible_q(access: Access) -> Q:
    """Conversations the user may see (``Access.may_see_correspondence``): comment threads of the units they read;
    direct-message dialogues (private: the readers' dialogue, reminders echoed back, a person's questions) only
    where they may see the unit's readers."""
    query = Q(unit_id__in=access.reader_units)
    if access.public_only_units:
        query |= Q(unit_id__in=access.public_only_units, kind=Conversation.Kind.COMMENTS)
    return query


def conversations_visible(user: Any) -> QuerySet[Conversation]:
    access = access_for(user)
    return (Conversation.objects.filter(visible_q(access))
            .select_related("channel", "unit__system", "assignee", "post"))


def overdue_q(now: Any = None) -> Q:
    return Q(state__in=Conversation.OPEN_STATES, due_at__lt=now or timezone.now())


def conversations_filtered(user: Any, f: InboxFilters) -> QuerySet[Conversation]:
    qs = conversations_visible(user)
    if f.unit:
        qs = qs.filter(unit_id=f.unit)
    if f.channel:
        qs = qs.filter(channel_id=f.channel)
    if f.network:
        qs = qs.filter(channel__network=f.network)
    if f.state == "open":
        qs = qs.filter(state__in=Conversation.OPEN_STATES)
    elif f.state:
        qs = qs.filter(state=f.state)
    if f.overdue:
        qs = qs.filter(overdue_q())
    if f.mine:
        qs = qs.filter(assignee_id=getattr(user, "pk", None))
    needle = f.q.strip().lower()
    if needle:
        matching = InboxItem.objects.filter(conversation_id=OuterRef("pk")).annotate(
            _t=Lower("text"), _a=Lower("author_name")).filter(Q(_t__contains=needle) | Q(_a__contains=needle))
        qs = qs.annotate(_pn=Lower("person_name")).filter(Q(Exists(matching)) | Q(_pn__contains=needle))
    # The page's rows are picked from the conversations table alone (read in the order of its index: no join and
    # no sort of every visible row, 127 -> a few ms with 200,000 conversations), then their pages, units, people
    # and posts come in four small queries.
    return (qs.select_related(None).prefetch_related("channel", "unit__system", "assignee", "post")
            .order_by("-last_item_at", "-id"))


def conversation_get(user: Any, pk: int) -> Conversation | None:
    return conversations_visible(user).filter(pk=pk).select_related("delivery", "unit__system").prefetch_related(
        Prefetch("items", queryset=InboxItem.objects.select_related("outgoing", "author_user", "channel")
                 .prefetch_related("revisions").order_by("at", "id")),
        Prefetch("notes", queryset=Note.objects.select_related("author")),
    ).first()


def counts_for(user: Any) -> dict[str, int]:
    """New and overdue conversations of the user's units (the navigation badge is their sum)."""
    access = access_for(user)
    if not access.read_units:
        return {"new": 0, "overdue": 0}
    return Conversation.objects.filter(visible_q(access)).aggregate(
        new=Count("id", filter=Q(state=Conversation.State.NEW)), overdue=Count("id", filter=overdue_q()))


def nav_badge(access: Any) -> int:
    """ONE query: conversations that are new, or in progress and overdue, in the units the user reads."""
    if not access.read_units:
        return 0
    return Conversation.objects.filter(
        Q(state=Conversation.State.NEW) | Q(state=Conversation.State.IN_PROGRESS, due_at__lt=timezone.now()),
        visible_q(access)).count()


def templates_for(user: Any, unit_id: int | None = None) -> QuerySet[ReplyTemplate]:
    access = access_for(user)
    qs = ReplyTemplate.objects.filter(unit_id__in=access.read_units).select_related("unit")
    if unit_id is not None:
        qs = qs.filter(unit_id=unit_id)
    return qs


def open_question(user: Any, post_id: int) -> QuerySet[InboxItem]:
    """Every reader's comment under one post on every page, oldest first (the methodologist's thread view)."""
    access = access_for(user)
    return (InboxItem.objects.filter(conversation__post_id=post_id, conversation__unit_id__in=access.read_units,
                                     conversation__kind=Conversation.Kind.COMMENTS, kind="comment")
            .select_related("channel", "conversation").order_by("at", "id"))
