"""Writes for pages (channels): create, update, store credentials encrypted."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils.translation import gettext as _

from filial.accounts.selectors import access_for
from filial.accounts.services import audit_record
from filial.channels.models import Channel, Network
from filial.libraries.models import Unit

CHANNEL_FIELDS = ("unit", "network", "kind", "name", "url", "external_id", "status", "started_on",
                  "api_base_url", "audience")


def _require_admin(actor: Any, unit: Unit) -> None:
    if not access_for(actor).is_admin_of(unit.system_id):
        raise PermissionDenied(_("Only an administrator of the library system manages pages."))


@transaction.atomic
def channel_create(*, actor: Any, unit: Unit, credentials: dict[str, Any] | None = None, **fields: Any
                   ) -> Channel:
    _require_admin(actor, unit)
    channel = Channel(unit=unit, **fields)
    channel.full_clean(exclude=["credentials_encrypted"])
    if credentials:
        channel.set_credentials(credentials)
    channel.save()
    audit_record(actor, "channel.create", channel,
                 {"name": channel.name, "network": channel.network, "credentials": sorted(credentials or {})},
                 system_id=unit.system_id)
    return channel


@transaction.atomic
def channel_update(*, actor: Any, channel: Channel, credentials: dict[str, Any] | None = None,
                   **fields: Any) -> Channel:
    _require_admin(actor, channel.unit)
    if "unit" in fields:
        _require_admin(actor, fields["unit"])
    changes: dict[str, Any] = {}
    for name, value in fields.items():
        if name not in CHANNEL_FIELDS:
            raise ValueError(f"channel field {name!r} cannot be changed here")
        old = getattr(channel, name)
        if old != value:
            changes[name] = [str(old), str(value)]
            setattr(channel, name, value)
    update_fields = list(changes)
    if credentials:
        # Secrets are replaced key by key: a form that leaves a secret blank keeps the stored one.
        merged = {**channel.credentials, **{k: v for k, v in credentials.items() if v not in (None, "")}}
        channel.set_credentials(merged)
        update_fields.append("credentials_encrypted")
        changes["credentials"] = sorted(k for k, v in credentials.items() if v not in (None, ""))
    if update_fields:
        channel.full_clean(exclude=["credentials_encrypted"])
        channel.save(update_fields=update_fields)
        audit_record(actor, "channel.update", channel, changes, system_id=channel.unit.system_id)
    return channel


# Which secrets each network's connector needs; the management form offers exactly these.
CREDENTIAL_KEYS: dict[str, tuple[str, ...]] = {
    Network.VK: ("access_token", "refresh_token", "client_id", "community_token"),
    Network.OK: ("application_key", "application_secret_key", "access_token"),
    Network.TELEGRAM: ("bot_token",),
    Network.MAX: ("bot_token",),
}


@transaction.atomic
def channel_credentials_clear(*, actor: Any, channel: Channel) -> Channel:
    """Forget the page's stored secrets (e.g. revoked tokens, or ones no key can decrypt any more)."""
    _require_admin(actor, channel.unit)
    if channel.credentials_encrypted:
        channel.credentials_encrypted = ""
        channel.save(update_fields=["credentials_encrypted"])
        audit_record(actor, "channel.credentials_clear", channel, {}, system_id=channel.unit.system_id)
    return channel
