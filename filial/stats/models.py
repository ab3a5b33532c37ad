"""Daily snapshots of what the networks say about the pages and their publications.

One row per page and day (``PageDay``) and per publication and day (``PublicationDay``), the day counted in the
page's unit's time zone. Rows are written by the daily job, a backfill, the demo's seeding command (which writes what
the job would) or by hand for historic figures; ``source`` says which, ``measured_at`` when. A figure the network does
not give is ``None`` (unknown), never 0; ``error`` says why a figure that should be there is missing.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class Source(models.TextChoices):
    JOB = "job", _("Daily collection")
    BACKFILL = "backfill", _("Backfill")
    SEED = "seed", _("Demo history")
    MANUAL = "manual", _("Entered by hand")


class PageDay(models.Model):
    """A page's audience on one day: members, friends or subscribers, as the network names them."""

    channel = models.ForeignKey("channels.Channel", on_delete=models.CASCADE, related_name="stat_days")
    day = models.DateField(_("day"))
    audience = models.PositiveIntegerField(_("audience"), null=True, blank=True)
    measured_at = models.DateTimeField(_("measured at"))
    source = models.CharField(_("source"), max_length=10, choices=Source.choices, default=Source.JOB)
    error = models.CharField(_("why unknown"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("page statistics")
        verbose_name_plural = _("page statistics")
        ordering = ["channel", "day"]
        constraints = [models.UniqueConstraint(fields=["channel", "day"], name="stats_pageday_unique")]
        indexes = [models.Index(fields=["day", "channel"], name="stats_pageday_day_idx")]

    def __str__(self) -> str:
        return f"{self.channel_id} {self.day}: {self.audience}"


class PublicationDay(models.Model):
    """One publication's figures (one post on one page) as measured on one day; ``None`` is unknown."""

    delivery = models.ForeignKey("publishing.Delivery", on_delete=models.CASCADE, related_name="stat_days")
    channel = models.ForeignKey("channels.Channel", on_delete=models.CASCADE, related_name="publication_days")
    day = models.DateField(_("day"))
    views = models.PositiveIntegerField(_("views"), null=True, blank=True)
    likes = models.PositiveIntegerField(_("likes"), null=True, blank=True)
    reposts = models.PositiveIntegerField(_("reposts"), null=True, blank=True)
    comments = models.PositiveIntegerField(_("comments"), null=True, blank=True)
    reach = models.PositiveIntegerField(_("reach"), null=True, blank=True)
    measured_at = models.DateTimeField(_("measured at"))
    source = models.CharField(_("source"), max_length=10, choices=Source.choices, default=Source.JOB)
    error = models.CharField(_("why unknown"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("publication statistics")
        verbose_name_plural = _("publication statistics")
        ordering = ["delivery", "day"]
        constraints = [models.UniqueConstraint(fields=["delivery", "day"], name="stats_publicationday_unique")]
        indexes = [models.Index(fields=["channel", "day"], name="stats_pubday_channel_day_idx")]

    def __str__(self) -> str:
        return f"{self.delivery_id} {self.day}: {self.views} views"


class PublicationLatest(models.Model):
    """Each publication's latest measured figures: a copy of its last ``PublicationDay`` (the one with the latest
    day) with the time it was published, kept by every writer of ``PublicationDay`` in the same transaction
    (:func:`filial.stats.latest.refresh_latest`). The dashboards of a whole network read a period's publications
    from here (one row each) instead of finding each one's last measurement among all of them."""

    delivery = models.OneToOneField("publishing.Delivery", on_delete=models.CASCADE, primary_key=True,
                                    related_name="stat_latest")
    channel = models.ForeignKey("channels.Channel", on_delete=models.CASCADE, related_name="+")
    published_at = models.DateTimeField(_("published"))
    day = models.DateField(_("day"))
    views = models.PositiveIntegerField(_("views"), null=True, blank=True)
    likes = models.PositiveIntegerField(_("likes"), null=True, blank=True)
    reposts = models.PositiveIntegerField(_("reposts"), null=True, blank=True)
    comments = models.PositiveIntegerField(_("comments"), null=True, blank=True)
    reach = models.PositiveIntegerField(_("reach"), null=True, blank=True)
    measured_at = models.DateTimeField(_("measured at"))

    class Meta:
        verbose_name = _("latest publication statistics")
        verbose_name_plural = _("latest publication statistics")
        indexes = [models.Index(fields=["published_at", "channel"], name="stats_publatest_time_idx"),
                   models.Index(fields=["channel", "published_at"], name="stats_publatest_channel_idx")]

    def __str__(self) -> str:
        return f"{self.delivery_id} {self.day}: {self.views} views"
