"""The inbox: readers' comments and direct messages, grouped into conversations, routed, assigned and answered on
time (``pipeline.py`` brings them in, ``services.py`` changes them, ``workhours.py`` computes the deadlines)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import time

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from filial.networks import registry


class InboxSettings(models.Model):
    """Answer deadlines of one library system, in working hours of the unit that owns the page."""

    system = models.OneToOneField("libraries.LibrarySystem", on_delete=models.CASCADE,
                                  related_name="inbox_settings")
    normal_hours = models.PositiveSmallIntegerField(_("answer within (working hours)"), default=8)
    urgent_hours = models.PositiveSmallIntegerField(_("urgent: answer within (working hours)"), default=4)
    urgent_keywords = models.TextField(
        _("urgent keywords"), blank=True, default="срочно\nжалоба\nurgent",
        help_text=_("One word or phrase per line; a message containing one is urgent."))
    digest_enabled = models.BooleanField(_("daily digest to methodologists"), default=True)

    class Meta:
        verbose_name = _("inbox settings")
        verbose_name_plural = _("inbox settings")

    def __str__(self) -> str:
        return f"{self.system}: {self.normal_hours}/{self.urgent_hours} h"

    @property
    def keywords(self) -> list[str]:
        return [w.strip().casefold() for w in self.urgent_keywords.splitlines() if w.strip()]


class OpeningHours(models.Model):
    """One weekday of a unit's weekly schedule (no row for a weekday: closed that day). A unit without any row
    works Monday to Friday, 09:00–18:00."""

    unit = models.ForeignKey("libraries.Unit", on_delete=models.CASCADE, related_name="opening_hours")
    weekday = models.PositiveSmallIntegerField(_("weekday"), choices=[
        (0, _("Monday")), (1, _("Tuesday")), (2, _("Wednesday")), (3, _("Thursday")), (4, _("Friday")),
        (5, _("Saturday")), (6, _("Sunday"))])
    opens = models.TimeField(_("opens"), default=time(9))
    closes = models.TimeField(_("closes"), default=time(18))

    class Meta:
        verbose_name = _("opening hours")
        verbose_name_plural = _("opening hours")
        ordering = ["unit", "weekday"]
        constraints = [models.UniqueConstraint(fields=["unit", "weekday"], name="opening_hours_unique_day")]

    def __str__(self) -> str:
        return f"{self.unit_id} {self.weekday} {self.opens:%H:%M}-{self.closes:%H:%M}"


def _person_label(name: str, person_id: str, network: Callable[[], str]) -> str:
    if name:
        return name
    if person_id.startswith("p:"):  # filial.core.privacy.pseudonym: the person's data was erased
        return str(_("erased person"))
    if not person_id:
        return ""
    return registry.person_label(network(), person_id)  # «Читатель VK 990011», in the network's words


class Conversation(models.Model):
    """A comment thread under one post, or a direct-message dialogue with one person, on one page."""

    class Kind(models.TextChoices):
        COMMENTS = "comments", _("Comments")
        DIALOGUE = "dialogue", _("Direct messages")

    class State(models.TextChoices):
        NEW = "new", _("New")
        IN_PROGRESS = "in_progress", _("In progress")
        ANSWERED = "answered", _("Answered")
        CLOSED = "closed", _("Closed")

    OPEN_STATES = (State.NEW, State.IN_PROGRESS)

    channel = models.ForeignKey("channels.Channel", on_delete=models.CASCADE, related_name="conversations")
    unit = models.ForeignKey("libraries.Unit", on_delete=models.CASCADE, related_name="conversations")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    thread_key = models.CharField(max_length=255)
    post_external_id = models.CharField(max_length=255, blank=True)
    delivery = models.ForeignKey("publishing.Delivery", null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="conversations")
    post = models.ForeignKey("publishing.Post", null=True, blank=True, on_delete=models.SET_NULL,
                             related_name="conversations")
    person_id = models.CharField(max_length=100, blank=True)
    person_name = models.CharField(max_length=200, blank=True)
    state = models.CharField(_("state"), max_length=20, choices=State.choices, default=State.NEW)
    assignee = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="inbox_assigned", verbose_name=_("assigned to"))
    urgent = models.BooleanField(_("urgent"), default=False)
    waiting_since = models.DateTimeField(null=True, blank=True)  # the oldest reader item not yet answered
    due_at = models.DateTimeField(null=True, blank=True, db_index=True)
    last_item_at = models.DateTimeField(default=timezone.now)
    last_text = models.CharField(max_length=300, blank=True)
    items_count = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-last_item_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["channel", "kind", "thread_key"],
                                               name="conversation_unique_thread")]
        indexes = [
            models.Index(fields=["unit", "state", "due_at"], name="conversation_unit_state_idx"),
            models.Index(fields=["unit", "-last_item_at"], name="conversation_unit_recent_idx"),
            # The list's order across many units (a methodologist's inbox): read in order, no sort of every row.
            models.Index(fields=["-last_item_at", "-id"], name="conversation_recent_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.channel_id} {self.kind} {self.thread_key}"

    @property
    def person_label(self) -> str:
        """Who the dialogue is with, as staff see it ("erased person" once the id is a pseudonym)."""
        return _person_label(self.person_name, self.person_id, lambda: self.channel.network)

    @property
    def is_open(self) -> bool:
        return self.state in self.OPEN_STATES

    @property
    def overdue(self) -> bool:
        return self.is_open and self.due_at is not None and self.due_at < timezone.now()


class InboxItem(models.Model):
    """One comment or message: a reader's (``in``) or our reply (``out``). Unique per page by the network's id."""

    class Direction(models.TextChoices):
        IN = "in", _("From a reader")
        OUT = "out", _("Our reply")

    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="items")
    channel = models.ForeignKey("channels.Channel", on_delete=models.CASCADE, related_name="inbox_items")
    direction = models.CharField(max_length=5, choices=Direction.choices, default=Direction.IN)
    kind = models.CharField(max_length=20)  # comment / message
    external_id = models.CharField(max_length=255, blank=True)
    thread_id = models.CharField(max_length=255, blank=True)
    post_external_id = models.CharField(max_length=255, blank=True)
    reply_to = models.CharField(max_length=255, blank=True)
    author_id = models.CharField(max_length=100, blank=True)
    author_name = models.CharField(max_length=200, blank=True)
    author_user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+")
    text = models.TextField(blank=True)
    at = models.DateTimeField()
    received_at = models.DateTimeField(default=timezone.now)
    attachments = models.JSONField(default=list, blank=True)
    raw = models.JSONField(default=dict, blank=True)
    edited_at = models.DateTimeField(null=True, blank=True)
    handled_by = models.CharField(max_length=50, blank=True)  # the handler that claimed it (not shown as new)
    echo = models.BooleanField(default=False)  # our own reply, echoed back by the network
    removed_at = models.DateTimeField(null=True, blank=True)  # hidden/deleted on the network by staff
    outgoing = models.ForeignKey("publishing.OutgoingMessage", null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="inbox_items")  # our reply: what the engine sends

    class Meta:
        ordering = ["at", "id"]
        constraints = [models.UniqueConstraint(fields=["channel", "external_id"], condition=~models.Q(external_id=""),
                                               name="inbox_item_unique_external_id")]
        indexes = [models.Index(fields=["conversation", "at"], name="inbox_item_conversation_idx")]

    def __str__(self) -> str:
        return f"{self.direction} {self.external_id}"

    @property
    def author_label(self) -> str:
        return _person_label(self.author_name, self.author_id, lambda: self.channel.network)


class ItemRevision(models.Model):
    """An earlier text of an item the reader edited."""

    item = models.ForeignKey(InboxItem, on_delete=models.CASCADE, related_name="revisions")
    text = models.TextField(blank=True)
    replaced_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["replaced_at", "id"]

    def __str__(self) -> str:
        return f"{self.item_id} @ {self.replaced_at:%Y-%m-%d %H:%M}"


class MessagingConsent(models.Model):
    """May the page write to this person first (VK message_allow/deny, Telegram /start or a blocked bot, MAX
    bot_started/bot_stopped)? The latest event wins."""

    channel = models.ForeignKey("channels.Channel", on_delete=models.CASCADE, related_name="messaging_consents")
    person_id = models.CharField(max_length=100)
    allowed = models.BooleanField()
    source = models.CharField(max_length=50, blank=True)
    changed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["channel", "person_id"], name="consent_unique_person")]

    def __str__(self) -> str:
        return f"{self.channel_id}:{self.person_id}={'yes' if self.allowed else 'no'}"


class Note(models.Model):
    """An internal note on a conversation (never sent to the reader)."""

    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="notes")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    text = models.TextField(_("note"))
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"{self.conversation_id}: {self.text[:40]}"


class ReplyTemplate(models.Model):
    """A quick reply of one unit, managed by methodologists and administrators."""

    unit = models.ForeignKey("libraries.Unit", on_delete=models.CASCADE, related_name="reply_templates",
                             verbose_name=_("unit"))
    title = models.CharField(_("title"), max_length=120)
    text = models.TextField(_("text"))
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["unit", "title"]

    def __str__(self) -> str:
        return self.title


# --- Polls: the votes of a post's poll on each page (filial/inbox/polls.py) -----------------------------------------
class PollTally(models.Model):
    """The votes of one post's poll on one page (one published delivery), as last counted by the worker.

    ``counted_at`` is the time of the last successful count; ``error`` says why the last try failed (the counts,
    if any, are then older). ``closed``: the final counts are taken (the poll ended), nothing is fetched again.
    """

    class ClosedBy(models.TextChoices):
        NETWORK = "network", _("Closed by the network")  # VK's end_date, Telegram's stopPoll
        FILIAL = "filial", _("Counts frozen at the end time")  # OK has no end time: the poll stays open there
        MANUAL = "manual", _("Entered by hand")  # historic results typed from the page (no count by Filial)

    delivery = models.OneToOneField("publishing.Delivery", on_delete=models.CASCADE, related_name="poll_tally")
    post = models.ForeignKey("publishing.Post", on_delete=models.CASCADE, related_name="poll_tallies")
    total_voters = models.PositiveIntegerField(null=True, blank=True)
    counted_at = models.DateTimeField(null=True, blank=True)
    closed = models.BooleanField(default=False)
    closed_at = models.DateTimeField(null=True, blank=True)
    closed_by = models.CharField(max_length=20, choices=ClosedBy.choices, blank=True)
    next_fetch_at = models.DateTimeField(null=True, blank=True)
    lease_owner = models.CharField(max_length=100, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    stop_sent_at = models.DateTimeField(null=True, blank=True)  # Telegram: stopPoll went out (never twice)
    error = models.CharField(max_length=500, blank=True)
    error_at = models.DateTimeField(null=True, blank=True)
    failures = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("poll count")
        verbose_name_plural = _("poll counts")
        indexes = [models.Index(fields=["closed", "next_fetch_at"], name="poll_tally_due_idx")]

    def __str__(self) -> str:
        return f"{self.delivery_id}: {self.total_voters} voters"


class PollCount(models.Model):
    """Votes for one answer (matched by position with ``PollAnswer.position``) in one page's tally."""

    tally = models.ForeignKey(PollTally, on_delete=models.CASCADE, related_name="counts")
    position = models.PositiveSmallIntegerField()
    text = models.CharField(max_length=300, blank=True)  # the answer as the network shows it
    votes = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["tally", "position"]
        constraints = [models.UniqueConstraint(fields=["tally", "position"], name="poll_count_unique_position")]

    def __str__(self) -> str:
        return f"{self.tally_id}#{self.position}: {self.votes}"
