"""Reads for pages (channels), scoped to what the user may see.

Every member of a library system sees the list of its pages; credentials are never part of a read for
display: use ``credential_hints`` for the masked view.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from filial.accounts.selectors import access_for
from filial.channels.models import Channel
from filial.core.crypto import SecretUnreadable, mask


def channels_visible(user: Any) -> QuerySet[Channel]:
    """Pages of the user's library systems, with their unit and system joined."""
    access = access_for(user)
    return Channel.objects.filter(unit__system_id__in=access.systems).select_related("unit", "unit__system")


def channel_get(user: Any, pk: int) -> Channel | None:
    return channels_visible(user).filter(pk=pk).first()


def channels_manageable(user: Any) -> QuerySet[Channel]:
    """Pages the user may edit: those of the systems they administer."""
    access = access_for(user)
    return Channel.objects.filter(unit__system_id__in=access.admin_systems).select_related("unit", "unit__system")


def credential_hints(channel: Channel) -> tuple[dict[str, str], bool]:
    """``({key: masked value}, readable)``: which secrets are stored, never the secrets themselves."""
    if not channel.credentials_encrypted:
        return {}, True
    try:
        stored = channel.credentials
    except SecretUnreadable:
        return {}, False
    return {key: mask(str(value)) for key, value in sorted(stored.items()) if value}, True


def channels_needing_reauth(user: Any) -> list[Channel]:
    """Pages of the user's readable units whose credentials the network refused, each with ``waiting_posts``
    (scheduled deliveries) and ``waiting_messages`` (outgoing messages not yet sent): three queries however
    many pages there are."""
    from django.db.models import Count

    from filial.publishing.models import Delivery, OutgoingMessage

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
