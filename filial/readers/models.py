"""Readers: the readers' side of circulation — linking a reader to a social identity (one-time codes, consent,
identities), the readers' dialogue, reminders. The models came from ``circulation`` with their tables
(``circulation_*``, see ``migrations/0001_from_circulation.py``)."""

from __future__ import annotations

from datetime import time

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from filial.circulation.models import Loan, Reader
from filial.libraries.models import LibrarySystem, Unit


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
        db_table = "circulation_consenttext"
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
        db_table = "circulation_linkcode"
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
        db_table = "circulation_readerconsent"
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
        db_table = "circulation_readeridentity"
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
        db_table = "circulation_dialoguestate"
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
        db_table = "circulation_dialogueaction"
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
        db_table = "circulation_reminderrule"
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
        db_table = "circulation_reminder"
        verbose_name = _("reminder")
        verbose_name_plural = _("reminders")
        ordering = ["-date", "-id"]
        constraints = [models.UniqueConstraint(fields=["reader", "channel", "date"], name="reminder_one_per_day")]
        indexes = [models.Index(fields=["unit", "date", "state"], name="reminder_unit_date_idx")]

    def __str__(self) -> str:
        return f"{self.reader_id} {self.date} {self.state}"
