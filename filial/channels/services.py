"""Writes for pages (channels): create, connect (check the secrets against the network), update, verify, store
credentials encrypted."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import httpx
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from filial.accounts.models import AuditEntry, Membership, Role
from filial.accounts.selectors import access_for
from filial.accounts.services import audit_record
from filial.channels.models import Channel, Network
from filial.channels.signals import audience_measured, page_resumed
from filial.libraries.models import Unit
from filial.networks import egress, registry
from filial.networks.advice import Kind
from filial.networks.base import ChannelInfo, NetworkError
from filial.networks.connect import base_url, connector_for

log = logging.getLogger("filial.channels")

log = logging.getLogger("filial.engine")

CHANNEL_FIELDS = ("unit", "network", "kind", "name", "url", "external_id", "status", "started_on",
                  "api_base_url", "audience")


def _require_admin(actor: Any, unit: Unit) -> None:
    if not access_for(actor).is_admin_of(unit.system_id):
        raise PermissionDenied(_("Only an administrator of the library system manages pages."))


@transaction.atomic
def channel_create(*, actor: Any, unit: Unit, credentials: dict[str, Any] | None = None, **fields: Any
                   ) -> Channel:
    """Record a page as it is given, without asking its network (the demo, pages kept only for the record).
    Pages whose secrets are given go through :func:`channel_connect`."""
    _require_admin(actor, unit)
    channel = Channel(unit=unit, **fields)
    channel.full_clean(exclude=["credentials_encrypted"])
    check_api_address(channel.network, channel.api_base_url)
    if credentials:
        channel.set_credentials(credentials)
    channel.save()
    audit_record(actor, "channel.create", channel,
                 {"name": channel.name, "network": channel.network, "credentials": sorted(credentials or {})},
                 system_id=unit.system_id)
    return channel


def channel_connect(*, actor: Any, unit: Unit, network: str, external_id: str, credentials: dict[str, Any],
                    **fields: Any) -> Channel:
    """Add a page after checking its secrets against its network ("connect a page").

    The page's name (if left blank), link and audience come from the network, with a first audience
    snapshot; the page is active (unless it is created paused or archived). When the network refuses, a
    ``ValidationError`` says why in the network's own words and nothing is saved.
    """
    _require_admin(actor, unit)
    channel = Channel(unit=unit, network=network, external_id=(external_id or "").strip(), **fields)
    _validate(channel, checking=True)
    check_api_address(channel.network, channel.api_base_url)
    secrets = clean_credentials(network, credentials)
    info, secrets = check_connection(network=channel.network, external_id=channel.external_id,
                                     credentials=secrets, api_base_url=channel.api_base_url)
    with transaction.atomic():
        _apply_info(channel, info)
        _reactivate(channel)
        channel.full_clean(exclude=["credentials_encrypted"])
        channel.set_credentials(secrets)
        channel.save()
        _snapshot(channel)
        audit_record(actor, "channel.create", channel,
                     {"name": channel.name, "network": channel.network, "credentials": sorted(secrets),
                      "verified": True, "audience": channel.audience},
                     system_id=unit.system_id)
    return channel


def channel_update(*, actor: Any, channel: Channel, credentials: dict[str, Any] | None = None,
                   **fields: Any) -> Channel:
    """Change a page. New secrets, or a new network, id or API address for a page with secrets, are checked
    against the network first (as in :func:`channel_connect`); a refusal saves nothing."""
    _require_admin(actor, channel.unit)
    if "unit" in fields:
        _require_admin(actor, fields["unit"])
    for name in fields:
        if name not in CHANNEL_FIELDS:
            raise ValueError(f"channel field {name!r} cannot be changed here")
    network = fields.get("network", channel.network)
    api_base_url = fields.get("api_base_url", channel.api_base_url)
    new_secrets = clean_credentials(network, credentials or {}, complete=False)
    moved = any(name in fields and fields[name] != getattr(channel, name)
                for name in ("network", "external_id", "api_base_url"))
    if network != channel.network or api_base_url != channel.api_base_url:
        check_api_address(network, api_base_url)
    relocated = address_changed(channel, network, api_base_url)
    if relocated and channel.has_credentials and not new_secrets:
        raise ValidationError({"credentials": [secrets_again_message()]})
    merged: dict[str, Any] | None = None
    if new_secrets or (moved and channel.has_credentials):
        # Secrets are replaced key by key: a form that leaves a secret blank keeps the stored one — but stored
        # secrets never follow the page to another API address: there only the secrets entered now are sent.
        stored = channel.credentials if network == channel.network and not relocated else {}
        merged = clean_credentials(network, {**stored, **new_secrets}, known_only=False, complete=relocated)
    changes: dict[str, Any] = {}
    originals = {name: getattr(channel, name) for name in CHANNEL_FIELDS}
    for name, value in fields.items():
        if originals[name] != value:
            changes[name] = [str(originals[name]), str(value)]
            setattr(channel, name, value)
    if merged is None:
        if changes or new_secrets:
            channel.full_clean(exclude=["credentials_encrypted"])
        with transaction.atomic():
            update_fields = list(changes)
            if update_fields:
                channel.save(update_fields=update_fields)
                audit_record(actor, "channel.update", channel, changes, system_id=channel.unit.system_id)
        return channel

    _validate(channel, checking=True)
    info, merged = check_connection(network=channel.network, external_id=channel.external_id,
                                    credentials=merged, api_base_url=channel.api_base_url)
    with transaction.atomic():
        _apply_info(channel, info)
        _reactivate(channel)
        channel.full_clean(exclude=["credentials_encrypted"])
        changes = {name: [str(originals[name]), str(getattr(channel, name))] for name in CHANNEL_FIELDS
                   if originals[name] != getattr(channel, name)}
        channel.set_credentials(merged)
        channel.save()
        _snapshot(channel)
        changes["credentials"] = sorted(new_secrets)
        changes["verified"] = True
        audit_record(actor, "channel.update", channel, changes, system_id=channel.unit.system_id)
    return channel


def _reactivate(channel: Channel) -> None:
    """A page that needed re-authorisation passed the check: active again, its waiting posts go out now."""
    if channel.status != Channel.Status.NEEDS_REAUTH:
        return
    channel.status = Channel.Status.ACTIVE
    if channel.pk:
        channel_id = channel.pk
        transaction.on_commit(lambda: page_resumed.send(sender=Channel, channel_id=channel_id))


def channel_verify(*, actor: Any, channel: Channel) -> Channel:
    """"Check connection": ask the network with the stored secrets; on success refresh the page's name (if
    blank), link and audience and mark it active again if it needed re-authorisation. A refusal is a
    ``ValidationError`` with the network's reason, and nothing is saved."""
    _require_admin(actor, channel.unit)
    if not channel.has_credentials:
        raise ValidationError(_("No secrets are stored for this page: enter them first."))
    stored = channel.credentials
    before = {"name": channel.name, "url": channel.url, "audience": channel.audience, "status": channel.status}
    info, fresh = check_connection(network=channel.network, external_id=channel.external_id,
                                   credentials=clean_credentials(channel.network, stored, known_only=False),
                                   api_base_url=channel.api_base_url)
    with transaction.atomic():
        _apply_info(channel, info)
        _reactivate(channel)
        channel.full_clean(exclude=["credentials_encrypted"])
        if fresh != stored:  # VK ID rotated the tokens while checking: keep the new ones
            channel.set_credentials(fresh)
        channel.save()
        _snapshot(channel)
        changes = {k: [str(v), str(getattr(channel, k))] for k, v in before.items() if v != getattr(channel, k)}
        audit_record(actor, "channel.verify", channel, changes, system_id=channel.unit.system_id)
    return channel


# --- where a page's secrets may go ---------------------------------------------------------------------------
def address_changed(channel: Channel, network: str, api_base_url: str) -> bool:
    """Would the page's requests (with its secrets) go to another API address than now?"""
    if not channel.pk:
        return False
    return network != channel.network or (base_url(network, api_base_url) != base_url(channel.network,
                                                                                       channel.api_base_url))


def secrets_again_message() -> str:
    return _("The API address changes: enter the page's secrets again together with the new address. Stored "
             "secrets are never sent to another address.")


def api_address_message(network: str, url: str) -> str:
    """A person's sentence for an API address the installation does not allow ("" if it is allowed)."""
    problem = egress.api_url_problem(network, url)
    if not problem:
        return ""
    if problem == "malformed":
        return _("Enter the API address as a full https:// address, or leave it empty.")
    if problem == "plain_http":
        return _("The API address must start with https://: secrets are never sent unencrypted.")
    return _("%(network)s's API is at %(hosts)s: leave the API address empty to use it. Another address must first "
             "be allowed by the administrator of this Filial installation (setting FILIAL_EXTRA_API_HOSTS).") % {
        "network": _network_label(network), "hosts": ", ".join(sorted(egress.allowed_api_hosts(network)))}


def address_problem(channel: Channel | None, network: str, api_base_url: str, credentials: dict[str, Any]) -> str:
    """What is wrong with this page's (new) API address, for the forms and the API to say on the address field
    before anything is sent ("" if nothing); the services enforce the same."""
    if not network:
        return ""
    message = api_address_message(network, api_base_url) if network in CREDENTIAL_KEYS else ""
    if message or channel is None:
        return message
    if address_changed(channel, network, api_base_url) and channel.has_credentials and not any(
            v not in (None, "") for v in credentials.values()):
        return secrets_again_message()
    return ""


def check_api_address(network: str, url: str) -> None:
    message = api_address_message(network, url) if network in CREDENTIAL_KEYS else ""
    if message:
        raise ValidationError({"api_base_url": [message]})


# --- secrets and the network check ------------------------------------------------------------------------

# Which secrets each network's connector takes (its spec's ``credential_keys``); the management form offers
# exactly these.
CREDENTIAL_KEYS: Mapping[str, tuple[str, ...]] = registry.SpecField(lambda s: s.credential_keys)
REQUIRED_CREDENTIALS: Mapping[str, tuple[str, ...]] = registry.SpecField(lambda s: s.required_credentials)
LOCAL_CODES = frozenset({"local", "no_token"})  # a connector's own refusal, before any answer of the network


def clean_credentials(network: str, credentials: Any, *, complete: bool = True, known_only: bool = True
                      ) -> dict[str, Any]:
    """The secrets with blanks dropped; unknown keys (``known_only``) and missing required ones (``complete``)
    are a ``ValidationError`` on ``credentials``."""
    if not isinstance(credentials, dict):
        raise ValidationError({"credentials": [_("Secrets are given as an object of names and values.")]})
    label = _network_label(network)
    allowed = CREDENTIAL_KEYS.get(network, ())
    unknown = sorted(str(k) for k in credentials if k not in allowed)
    if known_only and unknown:
        raise ValidationError({"credentials": [
            _("%(network)s does not use these secrets: %(keys)s. It takes: %(allowed)s.")
            % {"network": label, "keys": ", ".join(unknown), "allowed": ", ".join(allowed) or "—"}]})
    cleaned: dict[str, Any] = {}
    for key, value in credentials.items():
        if value is None or value == "":
            continue
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise ValidationError({"credentials": [_("The secret %(key)s must be text.") % {"key": key}]})
        cleaned[str(key)] = value.strip() if isinstance(value, str) else value
    if complete:
        missing = [k for k in REQUIRED_CREDENTIALS.get(network, ()) if not cleaned.get(k)]
        if missing:
            raise ValidationError({"credentials": [
                _("%(network)s needs these secrets to check and publish: %(keys)s.")
                % {"network": label, "keys": ", ".join(missing)}]})
    return cleaned


def check_connection(*, network: str, external_id: str, credentials: dict[str, Any], api_base_url: str = ""
                     ) -> tuple[ChannelInfo, dict[str, Any]]:
    """Ask the network whether these secrets can publish on this page: ``(page info, secrets to store)``.

    The secrets to store differ from the given ones when the check refreshed a VK token (it rotates).
    """
    if not external_id:
        raise ValidationError({"external_id": [
            _("Give the page's id on the network (community, group or chat id) to check its secrets.")]})
    connector = None
    try:
        connector = connector_for(network, external_id=external_id, credentials=credentials,
                                  api_base_url=api_base_url)
        info = connector.verify()
    except NetworkError as exc:
        field = "external_id" if connector is None else "credentials"
        raise ValidationError({field: [network_error_message(network, exc, credentials)]}) from exc
    finally:
        close = getattr(connector, "close", None)
        if callable(close):
            close()
    fresh = getattr(connector, "updated_credentials", None)
    return info, dict(fresh) if fresh else dict(credentials)


# The kinds of advice that make sense for a page being checked (a missing post's advice would not).
CHECK_ADVICE = frozenset({Kind.NO_RIGHTS, Kind.PAGE_SETUP, Kind.CHAT_MIGRATED, Kind.CAPTCHA, Kind.DAILY_LIMIT,
                          Kind.SERVER, Kind.WEBHOOK, Kind.CONFIG, Kind.PRIVACY})


def network_error_message(network: str, exc: NetworkError, secrets: dict[str, Any] | None = None) -> str:
    """A person's sentence for a failed check: what happened and what to do, never the remote server's own words
    (an API address could make a server say anything there). The network's answer goes to the server log,
    without the secrets."""
    label = _network_label(network)
    log.warning("checking a page on %s failed: %s", network, redact(str(exc), secrets))
    cause = exc.__cause__ or exc.__context__
    code = {"network": label, "code": exc.code}
    if isinstance(cause, httpx.HTTPError) or str(exc.code) in ("connect", "timeout", "network"):
        return _("%(network)s cannot be reached. Check the API address (or leave it empty) and this server's "
                 "connection to the internet, then try again.") % {"network": label}
    if str(exc.code) in LOCAL_CODES:
        # The connector's own refusal, before any answer of the network: Filial's words, not the network's.
        reason = (exc.message or "").strip().rstrip(".")
        return _("The page on %(network)s cannot be checked: %(reason)s.") % {"network": label, "reason": reason}
    if exc.needs_reauth:
        return _("%(network)s refused the secrets (code %(code)s). Check the secrets and that their owner "
                 "administers the page.") % code
    if exc.retry_after:
        return _("%(network)s asks to wait (code %(code)s). Try again in %(seconds)s s.") % {
            **code, "seconds": int(exc.retry_after + 0.999)}
    advice = registry.explain_error(network, exc.code, str(exc))  # Filial's words, chosen by the network's rule
    if advice.kind in CHECK_ADVICE:
        return _("%(network)s refused the check (code %(code)s).") % code + " " + advice.text
    return _("%(network)s refused the check (code %(code)s). Check the page's id and its secrets; the network's "
             "own answer is in the server log.") % code


def redact(text: str, secrets: dict[str, Any] | None) -> str:
    """``text`` with every secret value replaced (for logs)."""
    for value in (secrets or {}).values():
        if isinstance(value, str) and len(value) >= 4:
            text = text.replace(value, "***")
    return text[:1000]


def _network_label(network: str) -> str:
    try:
        return str(Network(network).label)
    except ValueError:
        return network


def _validate(channel: Channel, *, checking: bool) -> None:
    """The page's own fields, before asking the network (a blank name is filled in from the network)."""
    exclude = ["credentials_encrypted"]
    if checking and not channel.name.strip():
        exclude.append("name")
    channel.full_clean(exclude=exclude)


def _apply_info(channel: Channel, info: ChannelInfo) -> None:
    if not channel.name.strip():
        channel.name = info.name[:200]
    if info.url:
        channel.url = info.url[:300]
    if info.external_id:
        channel.external_id = info.external_id
    if info.audience is not None:
        channel.audience = max(0, int(info.audience))
        channel.audience_updated_at = timezone.now()


def _snapshot(channel: Channel) -> None:
    """Tell the statistics the audience the network just gave (``signals.audience_measured``)."""
    if channel.audience is not None and channel.audience_updated_at is not None:
        audience_measured.send(sender=Channel, channel=channel, audience=channel.audience,
                               at=channel.audience_updated_at)


@transaction.atomic
def channel_credentials_clear(*, actor: Any, channel: Channel) -> Channel:
    """Forget the page's stored secrets (e.g. revoked tokens, or ones no key can decrypt any more)."""
    _require_admin(actor, channel.unit)
    if channel.credentials_encrypted:
        channel.credentials_encrypted = ""
        channel.save(update_fields=["credentials_encrypted"])
        audit_record(actor, "channel.credentials_clear", channel, {}, system_id=channel.unit.system_id)
    return channel


# --- re-authorisation -----------------------------------------------------------------------------------------
def channel_needs_reauth(channel_id: int, error: NetworkError, *, delivery_id: int | None = None) -> None:
    """The page's credentials were refused: pause its work (status "needs re-authorisation", audit entry) and tell
    its unit (:func:`channel_reauth_alert`). ``delivery_id``: the delivery whose try was refused, for the audit."""
    with transaction.atomic():
        changed = Channel.objects.filter(pk=channel_id, status=Channel.Status.ACTIVE).update(
            status=Channel.Status.NEEDS_REAUTH)
        if changed:
            channel = Channel.objects.select_related("unit").get(pk=channel_id)
            audit_record(None, "channel.needs_reauth", channel, {
                "network": channel.network, "error": str(error)[:500], "code": str(error.code or ""),
                "delivery": delivery_id,
            }, system_id=channel.unit.system_id)
            log.warning("page %s needs re-authorisation: %s", channel_id, error)
            channel_reauth_alert(channel, error)


# --- re-authorisation alerts -----------------------------------------------------------------------------------
def _alert_recipients(channel: Channel) -> list[str]:
    """E-mail addresses of the library system's administrators and of the methodologists whose units include the
    page's unit (they plan and approve its posts)."""
    from django.db.models import Q

    unit = channel.unit
    prefixes = [unit.path[:i + 1] for i, ch in enumerate(unit.path) if ch == "/"]
    rows = (Membership.objects.filter(unit__system_id=unit.system_id, user__is_active=True)
            .filter(Q(role=Role.ADMIN) | Q(role=Role.METHODOLOGIST, unit__path__in=prefixes))
            .exclude(user__email="").values_list("user__email", flat=True))
    return sorted({email.strip() for email in rows if email.strip()})


def channel_reauth_alert(channel: Channel, error: Any) -> bool:
    """Tell the page's unit that the network refused its credentials: one e-mail to its administrators and
    methodologists and one audit entry per episode (from the page's switch to "needs re-authorisation" until it is
    connected again), however many calls failed meanwhile. Returns True when this call sent the alert."""
    from django.conf import settings
    from django.core.mail import send_mail
    from django.urls import reverse

    channel = Channel.objects.select_related("unit").get(pk=channel.pk)
    if channel.status != Channel.Status.NEEDS_REAUTH:
        return False
    entries = AuditEntry.objects.filter(object_type=channel._meta.label_lower, object_id=str(channel.pk))
    episode = entries.filter(action="channel.needs_reauth").order_by("-at", "-id").values_list("pk", flat=True).first()
    if entries.filter(action="channel.reauth_alert", changes__episode=episode or 0).exists():
        return False
    recipients = _alert_recipients(channel)
    audit_record(None, "channel.reauth_alert", channel, {
        "episode": episode or 0, "recipients": len(recipients), "error": str(error)[:500],
    }, system_id=channel.unit.system_id)
    if recipients:
        subject = _("Page “%(page)s” needs re-authorisation") % {"page": channel.name}
        body = _(
            "The network %(network)s refused the credentials of the page “%(page)s” (%(unit)s).\n\n"
            "Its posts and messages wait until the page is connected again: open %(path)s and enter new "
            "credentials.\n\nThe network said: %(error)s"
        ) % {"network": channel.get_network_display(), "page": channel.name, "unit": channel.unit.name,
             "path": reverse("channels:channel_edit", args=[channel.pk]), "error": str(error)[:500]}

        def send() -> None:
            try:
                send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, recipients)
            except Exception:  # an unreachable mail server must not break the worker
                import logging

                logging.getLogger("filial.channels").warning("the re-authorisation alert was not sent",
                                                             exc_info=True)

        transaction.on_commit(send)
    return True
