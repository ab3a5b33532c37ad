from __future__ import annotations

import uuid

from django.conf import settings
from django.core.validators import MaxLengthValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from filial.outbox.models import EngineRow


class Event(models.Model):
    """A library or city event: its poster and photo report are posts attached to it."""

    class Scope(models.TextChoices):
        LIBRARY = "library", _("Library event")
        CITY = "city", _("City event")

    unit = models.ForeignKey("libraries.Unit", on_delete=models.PROTECT, related_name="events",
                             verbose_name=_("unit"))
    title = models.CharField(_("title"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    scope = models.CharField(_("type"), max_length=20, choices=Scope.choices, default=Scope.LIBRARY)
    starts_at = models.DateTimeField(_("starts"), db_index=True)
    ends_at = models.DateTimeField(_("ends"), null=True, blank=True)
    place = models.CharField(_("place"), max_length=200, blank=True)
    uid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("event")
        verbose_name_plural = _("events")
        ordering = ["starts_at"]

    def __str__(self) -> str:
        return self.title



class Media(models.Model):
    """An uploaded photo: checked, oriented, stripped of EXIF; resized copies are made by the worker."""

    key = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    unit = models.ForeignKey("libraries.Unit", on_delete=models.PROTECT, related_name="media")
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL,
                                    related_name="+")
    file = models.FileField(upload_to="photos/%Y/%m/", max_length=255)
    original_name = models.CharField(max_length=255, blank=True)
    content_type = models.CharField(max_length=50)
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    size = models.PositiveIntegerField()
    alt_text = models.CharField(_("description for the visually impaired"), max_length=300, blank=True)
    renditions = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("photo")
        verbose_name_plural = _("photos")

    def __str__(self) -> str:
        return self.original_name or str(self.key)


class Post(models.Model):
    """One piece of content, written once, published to one or more pages."""

    class Kind(models.TextChoices):
        AFISHA = "afisha", _("Event poster")
        PHOTO_REPORT = "photo_report", _("Photo report")
        REPORT = "report", _("Report")
        CONTEST = "contest", _("Contest")
        BOOK_FACT = "book_fact", _("Book fact")
        NEW_ARRIVALS = "new_arrivals", _("New arrivals")
        EXHIBITION = "exhibition", _("Virtual exhibition")
        PRODUCT = "product", _("Library products")
        POLL = "poll", _("Poll")
        LINKS = "links", _("Useful links")
        SERVICE_INFO = "service_info", _("Service information")
        NOTE = "note", _("Note")

    class State(models.TextChoices):
        DRAFT = "draft", _("Draft")
        PENDING = "pending", _("Awaiting approval")
        RETURNED = "returned", _("Returned for changes")
        SCHEDULED = "scheduled", _("Scheduled")
        PUBLISHED = "published", _("Published")
        CANCELLED = "cancelled", _("Cancelled")

    unit = models.ForeignKey("libraries.Unit", on_delete=models.PROTECT, related_name="posts",
                             verbose_name=_("unit"))
    author = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL,
                               related_name="posts", verbose_name=_("author"))
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices, default=Kind.NOTE)
    title = models.CharField(_("title"), max_length=200, blank=True,
                             help_text=_("For the calendar and lists; not published."))
    text = models.TextField(_("text"), validators=[MaxLengthValidator(16000)])
    link = models.URLField(_("link"), max_length=500, blank=True)
    event = models.ForeignKey(Event, null=True, blank=True, on_delete=models.SET_NULL, related_name="posts",
                              verbose_name=_("event"))
    publish_at = models.DateTimeField(_("publish at"), null=True, blank=True, db_index=True)
    state = models.CharField(_("state"), max_length=20, choices=State.choices, default=State.DRAFT,
                             db_index=True)
    review_comment = models.TextField(_("reviewer's comment"), blank=True)
    reviewed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                    on_delete=models.SET_NULL, related_name="+")
    reviewed_at = models.DateTimeField(null=True, blank=True)
    channels = models.ManyToManyField("channels.Channel", through="PostChannel", related_name="posts",
                                      verbose_name=_("pages"))
    media = models.ManyToManyField(Media, through="PostMedia", related_name="posts")
    # Advertising marking (Russian law on advertising): a post about a paid service carries «Реклама», the
    # advertiser and the ERID token, unless it is marked as not advertising with a reason.
    advertises = models.BooleanField(_("advertises a paid service"), default=False)
    erid = models.CharField(_("ERID"), max_length=64, blank=True,
                            help_text=_("The advertisement's token from the advertising-data operator."))
    not_ad_reason = models.CharField(_("why this is not advertising"), max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("post")
        verbose_name_plural = _("posts")
        ordering = ["-publish_at", "-id"]
        indexes = [models.Index(fields=["unit", "state", "publish_at"])]

    def __str__(self) -> str:
        return self.title or self.text[:60]

    @property
    def ad_marked(self) -> bool:
        """The post goes out with the advertising marking (it advertises and carries an ERID)."""
        return self.advertises and bool(self.erid) and not self.not_ad_reason

    @property
    def headline(self) -> str:
        return self.title or (self.text.splitlines()[0][:80] if self.text else "")


class PostChannel(models.Model):
    """A page the post is meant for, with an optional text variant for that page."""

    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="targets")
    channel = models.ForeignKey("channels.Channel", on_delete=models.PROTECT, related_name="+")
    text_override = models.TextField(_("text for this page"), blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["post", "channel"], name="post_channel_unique")]

    def __str__(self) -> str:
        return f"{self.post_id} → {self.channel_id}"


class PostMedia(models.Model):
    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="post_media")
    media = models.ForeignKey(Media, on_delete=models.PROTECT, related_name="+")
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position"]
        constraints = [models.UniqueConstraint(fields=["post", "media"], name="post_media_unique")]

    def __str__(self) -> str:
        return f"{self.post_id}: {self.media_id} #{self.position}"


class Poll(models.Model):
    """A poll published natively on each network (results are summed across networks)."""

    post = models.OneToOneField(Post, on_delete=models.CASCADE, related_name="poll")
    question = models.CharField(_("question"), max_length=255)
    multiple = models.BooleanField(_("several answers allowed"), default=False)
    anonymous = models.BooleanField(_("anonymous"), default=True)
    ends_at = models.DateTimeField(_("ends"), null=True, blank=True)

    class Meta:
        verbose_name = _("poll")
        verbose_name_plural = _("polls")

    def __str__(self) -> str:
        return self.question


class PollAnswer(models.Model):
    poll = models.ForeignKey(Poll, on_delete=models.CASCADE, related_name="answers")
    text = models.CharField(_("answer"), max_length=100)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position"]

    def __str__(self) -> str:
        return self.text


class Delivery(EngineRow):
    """One post on one page: what the worker publishes, with its state and the network's id."""

    class State(models.TextChoices):
        SCHEDULED = "scheduled", _("Scheduled")
        SENDING = "sending", _("Sending")
        PUBLISHED = "published", _("Published")
        FAILED = "failed", _("Failed")
        UNCERTAIN = "uncertain", _("Uncertain")
        CANCELLED = "cancelled", _("Cancelled")

    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="deliveries")
    channel = models.ForeignKey("channels.Channel", on_delete=models.PROTECT, related_name="deliveries")
    state = models.CharField(_("state"), max_length=20, choices=State.choices, default=State.SCHEDULED,
                             db_index=True)
    url = models.URLField(max_length=500, blank=True)
    published_at = models.DateTimeField(null=True, blank=True)

    KEY_PREFIX = "filial-d"

    class Meta:
        verbose_name = _("delivery")
        verbose_name_plural = _("deliveries")
        ordering = ["due_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["post", "channel"], condition=~models.Q(state="cancelled"),
                name="delivery_one_live_per_channel",
            ),
        ]
        indexes = [models.Index(fields=["state", "due_at"])]

    def __str__(self) -> str:
        return f"{self.post_id} → {self.channel_id}: {self.state}"


class OutgoingMessage(EngineRow):
    """A direct message to a person, or a reply to a comment or message, sent through a page by the engine.

    ``sent_at`` (from :class:`EngineRow`) means, as on ``Delivery``, "the request may have left"; the time the
    network accepted the message is ``delivered_at``.
    """

    class Kind(models.TextChoices):
        DIRECT = "direct", _("Direct message")
        REPLY = "reply", _("Reply")

    class State(models.TextChoices):
        SCHEDULED = "scheduled", _("Scheduled")
        SENDING = "sending", _("Sending")
        SENT = "sent", pgettext_lazy("a message", "Sent")
        FAILED = "failed", _("Failed")
        UNCERTAIN = "uncertain", _("Uncertain")
        CANCELLED = "cancelled", _("Cancelled")

    channel = models.ForeignKey("channels.Channel", on_delete=models.PROTECT, related_name="outgoing_messages",
                                verbose_name=_("page"))
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices, default=Kind.DIRECT)
    recipient_id = models.CharField(_("recipient"), max_length=100)  # the network's user or chat id
    reply_to = models.JSONField(default=dict, blank=True)  # the InboundItem fields a connector's reply() needs
    text = models.TextField(_("text"))
    purpose = models.CharField(_("purpose"), max_length=30, db_index=True)  # inbox_reply, reminder, dialogue...
    dedupe_key = models.CharField(max_length=200, null=True, blank=True, unique=True)
    state = models.CharField(_("state"), max_length=20, choices=State.choices, default=State.SCHEDULED,
                             db_index=True)
    delivered_at = models.DateTimeField(_("sent"), null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")

    KEY_PREFIX = "filial-m"

    class Meta:
        verbose_name = _("outgoing message")
        verbose_name_plural = _("outgoing messages")
        ordering = ["due_at", "id"]
        indexes = [models.Index(fields=["state", "due_at"], name="outgoing_state_due")]

    def __str__(self) -> str:
        return f"m{self.pk} → {self.recipient_id} via {self.channel_id}: {self.state}"


# --- edits of published posts, recurring posts, posting slots (filial/publishing/edits.py, series.py, slots.py) ---
class DeliveryEdit(EngineRow):
    """A change of a published post to apply on one page: the outbox's third kind of row (``publishing.jobs.EDIT``),
    sent by the page's lane like deliveries and messages, with the same lease, limits and retry policy; the try
    calls the connector's ``edit``. A newer edit of the same delivery replaces a waiting one (the network gets the
    latest content once). The states' stored values are the outbox's (``scheduled``, ``sending``)."""

    class State(models.TextChoices):
        PENDING = "scheduled", _("Waiting")
        EDITING = "sending", _("Editing")
        DONE = "done", _("Edited")
        FAILED = "failed", _("Edit failed")
        SUPERSEDED = "superseded", _("Replaced by a newer edit")

    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="edits")
    channel = models.ForeignKey("channels.Channel", on_delete=models.PROTECT, related_name="delivery_edits")
    state = models.CharField(_("state"), max_length=20, choices=State.choices, default=State.PENDING,
                             db_index=True)
    changes = models.JSONField(default=list, blank=True)  # the names of the fields that changed
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                     related_name="+")
    requested_at = models.DateTimeField(_("requested"), default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)

    KEY_PREFIX = "filial-e"

    class Meta:
        verbose_name = _("edit on a page")
        verbose_name_plural = _("edits on pages")
        ordering = ["requested_at", "id"]
        indexes = [models.Index(fields=["state", "next_attempt_at"]),
                   models.Index(fields=["state", "due_at"], name="deliveryedit_state_due")]

    def __str__(self) -> str:
        return f"edit of {self.delivery_id}: {self.state}"


class PostSeries(models.Model):
    """A recurring post: the template post (its first occurrence) repeats by a rule at the same local time."""

    class Frequency(models.TextChoices):
        WEEKLY = "weekly", _("Weekly on chosen days")
        MONTHLY = "monthly", _("Monthly on a day")
        DAILY = "daily", _("Every N days")

    class State(models.TextChoices):
        ACTIVE = "active", _("Active")
        STOPPED = "stopped", _("Stopped")
        FINISHED = "finished", _("Finished")

    template = models.OneToOneField(Post, on_delete=models.CASCADE, related_name="series",
                                    verbose_name=_("template post"))
    frequency = models.CharField(_("repeat"), max_length=10, choices=Frequency.choices)
    weekdays = models.JSONField(_("weekdays"), default=list, blank=True)  # 0 = Monday … 6 = Sunday
    month_day = models.PositiveSmallIntegerField(_("day of the month"), null=True, blank=True)
    interval = models.PositiveSmallIntegerField(_("every N days"), default=1)
    until = models.DateField(_("until"), null=True, blank=True)
    count = models.PositiveIntegerField(_("times"), null=True, blank=True)
    state = models.CharField(_("state"), max_length=10, choices=State.choices, default=State.ACTIVE)
    generated_until = models.DateTimeField(null=True, blank=True)  # occurrences up to here are created or skipped
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    stopped_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("recurring post")
        verbose_name_plural = _("recurring posts")

    def __str__(self) -> str:
        return f"{self.template_id}: {self.frequency}"


class SeriesOccurrence(models.Model):
    """One time of a series: its post, or why there is none (it fell while the worker was down)."""

    class State(models.TextChoices):
        CREATED = "created", _("Created")
        SKIPPED = "skipped", _("Skipped")

    series = models.ForeignKey(PostSeries, on_delete=models.CASCADE, related_name="occurrences")
    at = models.DateTimeField(_("time"))
    index = models.PositiveIntegerField(default=0)  # 0 is the template post
    post = models.OneToOneField(Post, null=True, blank=True, on_delete=models.SET_NULL, related_name="occurrence")
    state = models.CharField(max_length=10, choices=State.choices, default=State.CREATED)
    note = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["at"]
        constraints = [models.UniqueConstraint(fields=["series", "at"], name="series_occurrence_unique_time")]

    def __str__(self) -> str:
        return f"{self.series_id} @ {self.at:%Y-%m-%d %H:%M}: {self.state}"


class PostingSlot(models.Model):
    """A page's usual posting time: a weekday and a wall-clock time in the zone of the page's unit."""

    channel = models.ForeignKey("channels.Channel", on_delete=models.CASCADE, related_name="posting_slots")
    weekday = models.PositiveSmallIntegerField(_("weekday"))  # 0 = Monday … 6 = Sunday
    time = models.TimeField(_("time"))

    class Meta:
        verbose_name = _("posting slot")
        verbose_name_plural = _("posting slots")
        ordering = ["channel", "weekday", "time"]
        constraints = [models.UniqueConstraint(fields=["channel", "weekday", "time"], name="posting_slot_unique")]

    def __str__(self) -> str:
        return f"{self.channel_id}: {self.weekday} {self.time:%H:%M}"
