"""Circulation: readers, their loans, the unit's link to its library system, imports and renewals."""

from __future__ import annotations

from datetime import time
from typing import Any

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

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
        from filial.circulation.cards import card_key

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


# --- Readers' social identities, consent, dialogue and reminders (``linking.py``, ``dialogue.py``,
# ``reminders.py``) ------------------------------------------------------------------------------------------


class ConsentText(models.Model):
    """The purpose and consent text a reader agrees to when linking a social identity; versioned per library
    system (a new text is a new version, consents keep the version they were given under)."""

    system = models.ForeignKey(LibrarySystem, on_delete=models.CASCADE, related_name="consent_texts")
    version = models.PositiveIntegerField(_("version"))
    purpose = models.TextField(_("purpose"))
    text = models.TextField(_("consent text"))
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")

    class Meta:
        verbose_name = _("consent text")
        verbose_name_plural = _("consent texts")
        ordering = ["system", "-version"]
        constraints = [models.UniqueConstraint(fields=["system", "version"], name="consent_text_unique_version")]

    def __str__(self) -> str:
        return f"{self.system_id} v{self.version}"


class LinkCode(models.Model):
    """A one-time code staff give a reader to link a social identity: short-lived, single use, hashed at rest."""

    reader = models.ForeignKey(Reader, on_delete=models.CASCADE, related_name="link_codes")
    code_hash = models.CharField(max_length=64, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)  # wrong codes tried against this reader's card
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"code for {self.reader_id}"


class ReaderConsent(models.Model):
    """A reader's consent to be written to through a page. Kept after erasure as the proof 152-FZ asks for: the
    dates, the text's version and page, and a pseudonymous id instead of the person."""

    reader = models.ForeignKey(Reader, null=True, blank=True, on_delete=models.SET_NULL, related_name="consents")
    system = models.ForeignKey(LibrarySystem, on_delete=models.CASCADE, related_name="+")
    channel = models.ForeignKey("channels.Channel", null=True, blank=True, on_delete=models.SET_NULL,
                                related_name="+", verbose_name=_("page"))
    person_id = models.CharField(max_length=100, blank=True)
    consent_text = models.ForeignKey(ConsentText, on_delete=models.PROTECT, related_name="consents")
    version = models.PositiveIntegerField(_("version"))
    given_at = models.DateTimeField(_("given"))
    withdrawn_at = models.DateTimeField(_("withdrawn"), null=True, blank=True)
    # Set when the reader's data was erased: then ``reader`` is empty and ``person_id`` is the pseudonym
    # (``filial.core.privacy.pseudonym``), so the record proves consent and withdrawal without the person.
    erased_at = models.DateTimeField(_("erased"), null=True, blank=True)

    class Meta:
        ordering = ["-given_at", "-id"]
        indexes = [models.Index(fields=["person_id"], name="reader_consent_person_idx")]

    def __str__(self) -> str:
        return f"{self.reader_id} v{self.version} @ {self.given_at:%Y-%m-%d}"


class ReaderIdentity(models.Model):
    """A reader's identity on one page's network: reminders and the dialogue's words go to it."""

    reader = models.ForeignKey(Reader, on_delete=models.CASCADE, related_name="identities")
    channel = models.ForeignKey("channels.Channel", on_delete=models.CASCADE, related_name="reader_identities",
                                verbose_name=_("page"))
    person_id = models.CharField(max_length=100)
    person_name = models.CharField(max_length=200, blank=True)
    consent = models.ForeignKey(ReaderConsent, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    linked_at = models.DateTimeField(_("linked"))
    stopped_at = models.DateTimeField(_("reminders stopped"), null=True, blank=True)

    class Meta:
        verbose_name = _("reader identity")
        verbose_name_plural = _("reader identities")
        ordering = ["linked_at", "id"]
        constraints = [models.UniqueConstraint(fields=["channel", "person_id"], name="reader_identity_unique")]

    def __str__(self) -> str:
        return f"{self.reader_id} @ {self.channel_id}:{self.person_id}"


class DialogueState(models.Model):
    """Where a person is in the linking dialogue on one page (card → code → consent), and the lock."""

    class Step(models.TextChoices):
        IDLE = "idle", _("Idle")
        CARD = "card", _("Asked for the card number")
        CODE = "code", _("Asked for the code")
        CONSENT = "consent", _("Asked for consent")

    channel = models.ForeignKey("channels.Channel", on_delete=models.CASCADE, related_name="+")
    person_id = models.CharField(max_length=100)
    step = models.CharField(max_length=10, choices=Step.choices, default=Step.IDLE)
    card = models.CharField(max_length=64, blank=True)
    reader = models.ForeignKey(Reader, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    code = models.ForeignKey(LinkCode, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    failures = models.PositiveSmallIntegerField(default=0)
    locked_until = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["channel", "person_id"], name="dialogue_state_unique")]

    def __str__(self) -> str:
        return f"{self.channel_id}:{self.person_id} {self.step}"


class DialogueAction(models.Model):
    """One step of a readers' dialogue to carry out after the ingesting transaction commits: a reply, a renewal,
    a list of loans. The dialogue's history for staff (texts are blanked on erasure)."""

    class Kind(models.TextChoices):
        REPLY = "reply", _("Reply")
        RENEW = "renew", _("Renewal")
        LOANS = "loans", _("My loans")
        RELAY = "relay", _("Librarian's answer")

    class State(models.TextChoices):
        PENDING = "pending", _("Pending")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")

    channel = models.ForeignKey("channels.Channel", on_delete=models.CASCADE, related_name="+")
    person_id = models.CharField(max_length=100, blank=True)
    reader = models.ForeignKey(Reader, null=True, blank=True, on_delete=models.SET_NULL,
                               related_name="dialogue_actions")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    heard = models.TextField(blank=True)  # what the reader wrote
    argument = models.CharField(max_length=100, blank=True)  # "2" in «продлить 2»
    text = models.TextField(blank=True)  # our answer (filled when done)
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING)
    renewals = models.JSONField(default=list, blank=True)  # Renewal ids asked for
    message = models.ForeignKey("publishing.OutgoingMessage", null=True, blank=True, on_delete=models.SET_NULL,
                                related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    done_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.kind} {self.state}"


class ReminderRule(models.Model):
    """When and how readers are reminded: one per library system (``unit`` empty), overridable per unit."""

    system = models.ForeignKey(LibrarySystem, on_delete=models.CASCADE, related_name="reminder_rules")
    unit = models.OneToOneField(Unit, null=True, blank=True, on_delete=models.CASCADE, related_name="reminder_rule",
                                verbose_name=_("unit"))
    enabled = models.BooleanField(_("send reminders"), default=True)
    pre_due_days = models.PositiveSmallIntegerField(_("days before the due date (0: none)"), default=3)
    on_due = models.BooleanField(_("on the due date"), default=True)
    overdue_steps = models.CharField(_("days overdue"), max_length=100, default="1,7,30",
                                     help_text=_("Comma-separated, e.g. 1, 7, 30."))
    quiet_start = models.TimeField(_("quiet hours from"), default=time(21))
    quiet_end = models.TimeField(_("quiet hours until"), default=time(9))
    template = models.TextField(_("message template"), blank=True)
    return_window_days = models.PositiveSmallIntegerField(_("a return counts for a reminder within (days)"),
                                                          default=7)
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")

    class Meta:
        verbose_name = _("reminder rule")
        verbose_name_plural = _("reminder rules")
        constraints = [models.UniqueConstraint(fields=["system"], condition=models.Q(unit__isnull=True),
                                               name="reminder_rule_one_per_system")]

    def __str__(self) -> str:
        return f"{self.system_id}/{self.unit_id or '*'}"

    @property
    def steps(self) -> list[int]:
        out: set[int] = set()
        for part in self.overdue_steps.replace(";", ",").split(","):
            if part.strip().isdigit() and int(part) > 0:
                out.add(int(part))
        return sorted(out)


class Reminder(models.Model):
    """One digest a reader got (or will get) through one page on one local day; kept without the reader after
    erasure so the counts stay."""

    reader = models.ForeignKey(Reader, null=True, blank=True, on_delete=models.SET_NULL, related_name="reminders")
    unit = models.ForeignKey(Unit, on_delete=models.CASCADE, related_name="reminders")
    channel = models.ForeignKey("channels.Channel", null=True, blank=True, on_delete=models.SET_NULL,
                                related_name="+")
    date = models.DateField(_("date"))
    loans = models.ManyToManyField(Loan, related_name="reminders", blank=True)
    steps = models.JSONField(default=dict, blank=True)  # {loan id: "pre" | "due" | "+7"}
    message = models.ForeignKey("publishing.OutgoingMessage", null=True, blank=True, on_delete=models.SET_NULL,
                                related_name="+")
    state = models.CharField(_("state"), max_length=20, default="scheduled")  # mirrors the message's
    planned_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("reminder")
        verbose_name_plural = _("reminders")
        ordering = ["-date", "-id"]
        constraints = [models.UniqueConstraint(fields=["reader", "channel", "date"], name="reminder_one_per_day")]
        indexes = [models.Index(fields=["unit", "date", "state"], name="reminder_unit_date_idx")]

    def __str__(self) -> str:
        return f"{self.reader_id} {self.date} {self.state}"
