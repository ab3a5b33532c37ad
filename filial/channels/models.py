from __future__ import annotations

import copy
from typing import Any

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from filial.core.crypto import decrypt_json, encrypt_json


class Network(models.TextChoices):
    VK = "vk", "VK"
    OK = "ok", _("Odnoklassniki")
    TELEGRAM = "telegram", "Telegram"
    MAX = "max", "MAX"


class Channel(models.Model):
    """One page, group or channel on one network, owned by one unit."""

    class Status(models.TextChoices):
        ACTIVE = "active", _("Active")
        NEEDS_REAUTH = "needs_reauth", _("Needs re-authorisation")
        PAUSED = "paused", _("Paused")
        ARCHIVED = "archived", _("Archived")

    class Kind(models.TextChoices):
        COMMUNITY = "community", _("Community / group")
        PROFILE = "profile", _("Profile")
        CHANNEL = "channel", _("Channel")

    unit = models.ForeignKey("libraries.Unit", on_delete=models.PROTECT, related_name="channels",
                             verbose_name=_("unit"))
    network = models.CharField(_("network"), max_length=20, choices=Network.choices)
    kind = models.CharField(_("page type"), max_length=20, choices=Kind.choices, default=Kind.COMMUNITY)
    name = models.CharField(_("name"), max_length=200)
    url = models.URLField(_("link"), max_length=300, blank=True)
    external_id = models.CharField(_("external id"), max_length=100, blank=True)
    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.ACTIVE)
    audience = models.PositiveIntegerField(_("audience"), null=True, blank=True)
    audience_updated_at = models.DateTimeField(null=True, blank=True)
    started_on = models.DateField(_("on the network since"), null=True, blank=True)
    api_base_url = models.URLField(
        _("API address"), max_length=300, blank=True,
        help_text=_("Leave empty for the network's own address (or the configured one)."),
    )
    credentials_encrypted = models.TextField(blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    # The inbox's polling of the network for new comments and messages (``filial/inbox/pipeline.py``): the
    # network's cursor, saved in the transaction that commits the items; one poller at a time holds the lease.
    updates_cursor = models.TextField(blank=True, editable=False)
    updates_polled_at = models.DateTimeField(null=True, blank=True, editable=False)
    updates_lease_owner = models.CharField(max_length=100, blank=True, editable=False)
    updates_lease_until = models.DateTimeField(null=True, blank=True, editable=False)
    updates_error = models.CharField(max_length=500, blank=True, editable=False)

    class Meta:
        verbose_name = _("page")
        verbose_name_plural = _("pages")
        ordering = ["unit__path", "network", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["network", "external_id"], condition=~models.Q(external_id=""),
                name="channel_unique_external_id",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_network_display()})"

    @property
    def credentials(self) -> dict[str, Any]:
        """The decrypted credentials (a fresh copy). Decrypted once per instance and stored value: the engine reads
        them several times for one send (rate budgets, token refresh, the connector)."""
        cached = self.__dict__.get("_credentials_plain")
        if cached is None or cached[0] != self.credentials_encrypted:
            cached = (self.credentials_encrypted, decrypt_json(self.credentials_encrypted))
            self.__dict__["_credentials_plain"] = cached
        return copy.deepcopy(cached[1])

    def set_credentials(self, data: dict[str, Any]) -> None:
        self.credentials_encrypted = encrypt_json(data) if data else ""

    @property
    def has_credentials(self) -> bool:
        return bool(self.credentials_encrypted)


class InboundEvent(models.Model):
    """A reader's comment or message (or a consent change) pushed by a network's webhook, not yet handled.

    Webhook endpoints (``filial/channels/webhooks.py``) verify the request and store one row per item; the
    inbox processes ``pending`` rows. ``external_id`` is the network's id of the item, so a repeated delivery of
    the same update is stored once.
    """

    class Kind(models.TextChoices):
        COMMENT = "comment", _("Comment")
        COMMENT_EDIT = "comment_edit", _("Edited comment")
        MESSAGE = "message", _("Message")
        CONSENT = "consent", _("Messaging consent")

    class State(models.TextChoices):
        PENDING = "pending", _("Pending")
        PROCESSED = "processed", _("Processed")

    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="inbound_events")
    network = models.CharField(max_length=20, choices=Network.choices)
    received_at = models.DateTimeField(default=timezone.now, db_index=True)
    external_id = models.CharField(max_length=255)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    payload = models.JSONField(default=dict)
    state = models.CharField(max_length=20, choices=State.choices, default=State.PENDING)

    class Meta:
        ordering = ["received_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["channel", "external_id"], name="inbound_event_unique_external_id"),
        ]
        indexes = [models.Index(fields=["state", "received_at"], name="inbound_event_state_idx")]

    def __str__(self) -> str:
        return f"{self.network} {self.kind} {self.external_id} ({self.state})"
