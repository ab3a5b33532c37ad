"""The outbox's tables: ``EngineRow``, the columns every row it sends carries (the producing apps' models inherit
it: ``publishing.Delivery``, ``publishing.OutgoingMessage``), and ``Attempt``, one try of such a row.

``Attempt`` moved here from ``publishing`` and keeps its table (``publishing_attempt``): migration
``outbox.0001_attempt`` only moves it in Django's state.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class EngineRow(models.Model):
    """What the outbox keeps on every row it sends (``Delivery``, ``OutgoingMessage``): when it is due, the claim's
    lease, the retry and wait counters, the network's id and the last error. The outbox runs every kind with the
    same machinery (``filial/outbox/lanes.py``)."""

    due_at = models.DateTimeField(_("due"), db_index=True)
    external_id = models.CharField(max_length=100, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    # The outbox's bookkeeping (filial/outbox/).
    next_attempt_at = models.DateTimeField(null=True, blank=True)  # a retry or a rate-limit wait: not before
    lease_owner = models.CharField(max_length=100, blank=True)  # the claim's token while ``sending``
    last_error_code = models.CharField(max_length=50, blank=True)
    failures = models.PositiveIntegerField(default=0)  # temporary errors counted against the retry bound
    deferrals = models.PositiveIntegerField(default=0)  # "retry after" waits (rate limits, captcha)
    generation = models.PositiveIntegerField(default=0)  # +1 on each explicit "send again": a new key
    enqueued_eta = models.DateTimeField(null=True, blank=True)  # when the last queued task for it runs
    sent_at = models.DateTimeField(null=True, blank=True)  # the current attempt's request may have left since

    KEY_PREFIX = "filial-x"

    class Meta:
        abstract = True

    @property
    def key(self) -> str:
        """The idempotency key sent to the network: stable per row, new after an explicit "send again"."""
        suffix = f"-g{self.generation}" if self.generation else ""
        return f"{self.KEY_PREFIX}{self.pk}{suffix}"

    @property
    def needs_attention(self) -> bool:
        return str(getattr(self, "state", "")) in ("failed", "uncertain")

    @property
    def attention_rank(self) -> int:
        """0 for failed and uncertain rows (listed first), 1 for the rest."""
        return 0 if self.needs_attention else 1



class Attempt(models.Model):
    """One try of a delivery or an outgoing message (or a check of it): when, how long, what was sent (no
    secrets), what came back. Exactly one of ``delivery`` and ``message`` is set."""

    class Kind(models.TextChoices):
        PUBLISH = "publish", _("Publication")
        SEND = "send", pgettext_lazy("sending a message", "Sending")
        LOOKUP = "lookup", _("Check on the network")
        SWEEPER = "sweeper", _("Recovery")
        HUMAN = "human", pgettext_lazy("who made a delivery attempt", "Person")
        EDIT = "edit", _("Edit on the network")

    class Outcome(models.TextChoices):
        PUBLISHED = "published", _("Published")
        SENT = "sent", pgettext_lazy("a message", "Sent")
        FOUND = "found", _("Found on the network")
        NOT_FOUND = "not_found", _("Not found on the network")
        CONFIRMED = "confirmed", _("Confirmed by a person")
        RESEND = "resend", _("Sent again by a person")
        RETRY = "retry", _("Retried by a person")
        RETRY_LATER = "retry_later", _("Waiting for the network's limit")
        TRANSIENT = "transient", _("Temporary error")
        FAILED = "failed", _("Failed")
        NEEDS_REAUTH = "needs_reauth", _("Needs re-authorisation")
        UNCERTAIN = "uncertain", _("Outcome unknown")
        LOOKUP_FAILED = "lookup_failed", _("Check failed")
        LEASE_EXPIRED = "lease_expired", _("Worker lost")
        DUPLICATE = "duplicate", _("Published twice")
        EDITED = "edited", _("Edited on the network")
        EDIT_FAILED = "edit_failed", _("Edit failed")

    delivery = models.ForeignKey("publishing.Delivery", null=True, blank=True, on_delete=models.CASCADE,
                                 related_name="attempt_log")
    message = models.ForeignKey("publishing.OutgoingMessage", null=True, blank=True, on_delete=models.CASCADE,
                                related_name="attempt_log")
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.PUBLISH)
    started_at = models.DateTimeField(_("started"), db_index=True)
    duration_ms = models.PositiveIntegerField(_("duration, ms"), default=0)
    request = models.JSONField(_("request"), default=dict, blank=True)  # a summary: never tokens or secrets
    outcome = models.CharField(_("outcome"), max_length=20, choices=Outcome.choices)
    error_code = models.CharField(_("error code"), max_length=50, blank=True)
    error_message = models.TextField(_("error"), blank=True)
    external_id = models.CharField(max_length=100, blank=True)
    worker = models.CharField(max_length=100, blank=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="+")

    class Meta:
        db_table = "publishing_attempt"  # the table it had when it lived in ``publishing``
        verbose_name = _("attempt")
        verbose_name_plural = _("attempts")
        ordering = ["started_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=(models.Q(delivery__isnull=False, message__isnull=True)
                           | models.Q(delivery__isnull=True, message__isnull=False)),
                name="attempt_delivery_or_message",
            ),
        ]

    def __str__(self) -> str:
        owner = f"d{self.delivery_id}" if self.delivery_id else f"m{self.message_id}"
        return f"{owner} {self.started_at:%Y-%m-%d %H:%M:%S}: {self.outcome}"
