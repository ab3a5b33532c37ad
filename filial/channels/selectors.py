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
