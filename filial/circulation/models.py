"""Circulation: readers, their loans, the unit's link to its library system, imports and renewals. The readers'
side (linking, dialogue, reminders) is the ``readers`` app."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from filial.circulation.cards import card_key
from filial.core.crypto import decrypt_json, encrypt_json
from filial.libraries.models import LibrarySystem, Unit


class Reader(models.Model):
    """A library reader. The card number is unique within the library system (one catalogue of readers)."""

    system = models.ForeignKey(LibrarySystem, on_delete=models.CASCADE, related_name="readers")
    unit = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="readers", verbose_name=_("unit"))
    card = models.CharField(_("card number"), max_length=64)
    # ``cards.card_key(card)``: what a typed card number is matched on (set on every save; bulk writers set it)
    card_key = models.CharField(max_length=64, blank=True, default="", editable=False)
    name = models.CharField(_("name"), max_length=300, blank=True)
    contact_preferences = models.JSONField(_("contact preferences"), default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("reader")
        verbose_name_plural = _("readers")
        ordering = ["name", "card"]
        constraints = [models.UniqueConstraint(fields=["system", "card"], name="reader_unique_card_in_system")]
        indexes = [models.Index(fields=["unit", "name"]),
                   models.Index(fields=["system", "card_key"], name="reader_card_key_idx")]

    def __str__(self) -> str:
        return f"{self.card} {self.name}".strip()

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.card_key = card_key(self.card)
        fields = kwargs.get("update_fields")
        if fields is not None and "card" in fields and "card_key" not in fields:
            kwargs["update_fields"] = [*fields, "card_key"]
        super().save(*args, **kwargs)


class Source(models.TextChoices):
    FILE = "file", _("File import")
    SIP2 = "sip2", _("SIP2")
    KOHA = "koha", _("Koha")
    MANUAL = "manual", _("Entered by hand")


class Loan(models.Model):
    """One item on loan. (reader, barcode, issued) identifies it, so a re-import updates instead of duplicating."""

    reader = models.ForeignKey(Reader, on_delete=models.CASCADE, related_name="loans")
    unit = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="loans")
    barcode = models.CharField(_("item barcode"), max_length=64)
    title = models.CharField(_("description"), max_length=500, blank=True)
    issued = models.DateField(_("issued"))
    due = models.DateField(_("due"))
    returned = models.DateField(_("returned"), null=True, blank=True)
    renewals = models.PositiveIntegerField(_("renewals"), default=0)
    external_id = models.CharField(max_length=64, blank=True)
    source = models.CharField(max_length=10, choices=Source.choices, default=Source.FILE)
    last_import = models.ForeignKey("ImportJob", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("loan")
        verbose_name_plural = _("loans")
        ordering = ["due", "id"]
        constraints = [
            models.UniqueConstraint(fields=["reader", "barcode", "issued"], name="loan_unique_reader_item_issued"),
        ]
        indexes = [models.Index(fields=["unit", "returned", "due"])]

    def __str__(self) -> str:
        return f"{self.barcode} → {self.reader.card}"


class CirculationLink(models.Model):
    """How a unit reaches the library system its loans live in. Settings (with secrets) are encrypted at rest."""

    class Adapter(models.TextChoices):
        FILE = "file", _("File import")
        SIP2 = "sip2", _("SIP2")
        KOHA = "koha", _("Koha REST API")

    class SyncState(models.TextChoices):
        NEVER = "never", _("Never synchronised")
        RUNNING = "running", _("Synchronising")
        OK = "ok", _("Synchronised")
        FAILED = "failed", _("Failed")

    unit = models.OneToOneField(Unit, on_delete=models.CASCADE, related_name="circulation_link")
    adapter = models.CharField(_("library system"), max_length=10, choices=Adapter.choices, default=Adapter.FILE)
    settings_encrypted = models.TextField(blank=True, editable=False)
    sync_state = models.CharField(max_length=10, choices=SyncState.choices, default=SyncState.NEVER)
    last_sync_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)  # the technical text, for the library system's administrators
    # the kind of the last failure talking to the library system (``adapters.base.ERROR_KINDS``: "refused",
    # "timeout", "unreachable"…) and when; set by a failed sync or renewal, cleared by a successful sync
    last_error_kind = models.CharField(max_length=20, blank=True)
    last_error_at = models.DateTimeField(null=True, blank=True)
    last_counts = models.JSONField(default=dict, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("library-system link")
        verbose_name_plural = _("library-system links")

    def __str__(self) -> str:
        return f"{self.unit}: {self.adapter}"

    @property
    def settings(self) -> dict[str, Any]:
        return decrypt_json(self.settings_encrypted)

    def set_settings(self, data: dict[str, Any]) -> None:
        self.settings_encrypted = encrypt_json(data) if data else ""


class ImportJob(models.Model):
    """One uploaded export. Validated whole before anything changes; applied in committed chunks with a checkpoint
    (``processed``) so an interrupted job runs again from where it stopped, and upserts make a repeat harmless."""

    class Format(models.TextChoices):
        CSV = "csv", _("CSV")
        XLSX = "xlsx", _("Excel (XLSX)")
        IRBIS = "irbis", _("IRBIS64 readers (ISO 2709)")

    class State(models.TextChoices):
        PENDING = "pending", _("Waiting")
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")

    unit = models.ForeignKey(Unit, on_delete=models.CASCADE, related_name="circulation_imports")
    format = models.CharField(_("format"), max_length=10, choices=Format.choices)
    file = models.FileField(upload_to="circulation/imports/%Y/%m/")
    original_name = models.CharField(max_length=255, blank=True)
    mapping = models.JSONField(default=dict, blank=True)
    import_valid_rows = models.BooleanField(_("import the valid rows"), default=False)
    full = models.BooleanField(_("full export of the unit"), default=False)
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING)
    total = models.PositiveIntegerField(default=0)
    processed = models.PositiveIntegerField(default=0)
    created_count = models.PositiveIntegerField(default=0)
    updated_count = models.PositiveIntegerField(default=0)
    readers_count = models.PositiveIntegerField(default=0)
    returned_count = models.PositiveIntegerField(default=0)
    skipped_count = models.PositiveIntegerField(default=0)
    row_errors = models.JSONField(default=list, blank=True)
    error = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    queued_at = models.DateTimeField(null=True, blank=True)  # the user started it: waiting for the worker
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("import")
        verbose_name_plural = _("imports")
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.get_format_display()} {self.original_name}"

    @property
    def percent(self) -> int:
        if self.state == self.State.DONE:
            return 100
        return int(self.processed * 100 / self.total) if self.total else 0


class Renewal(models.Model):
    """One request to renew a loan and its outcome."""

    class State(models.TextChoices):
        REQUESTED = "requested", _("Requested")
        GRANTED = "granted", _("Granted")
        REFUSED = "refused", _("Refused")
        QUEUED = "queued_for_librarian", _("Waiting for a librarian")

    class Channel(models.TextChoices):
        UI = "ui", _("Staff")
        API = "api", _("API")
        READER = "reader", _("Reader's message")
        CLI = "cli", _("Command line")

    loan = models.ForeignKey(Loan, on_delete=models.CASCADE, related_name="renewal_requests")
    requested_at = models.DateTimeField(auto_now_add=True)
    source = models.CharField(_("asked through"), max_length=10, choices=Channel.choices, default=Channel.UI)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    state = models.CharField(max_length=24, choices=State.choices, default=State.REQUESTED)
    new_due = models.DateField(_("new due date"), null=True, blank=True)
    reason = models.CharField(_("reason"), max_length=500, blank=True)
    reason_code = models.CharField(max_length=32, blank=True)
    # queued because the library system failed: what went wrong, for its administrators only (``reason`` stays the
    # plain sentence anyone is shown)
    error_kind = models.CharField(max_length=20, blank=True)
    error_detail = models.CharField(max_length=500, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("renewal")
        verbose_name_plural = _("renewals")
        ordering = ["-requested_at", "-id"]
        indexes = [models.Index(fields=["state", "requested_at"])]

    def __str__(self) -> str:
        return f"{self.loan_id}: {self.state}"
