"""A report of the network's pages for a period: its figures (computed, never typed), the methodologist's
conclusions, and once published the frozen DOCX with its generation date."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class Report(models.Model):
    class Kind(models.TextChoices):
        ANNUAL = "annual", _("Annual")
        QUARTERLY = "quarterly", _("Quarterly")
        MONTHLY = "monthly", _("Monthly")

    class State(models.TextChoices):
        DRAFT = "draft", _("Draft")
        PUBLISHED = "published", _("Published")

    system = models.ForeignKey("libraries.LibrarySystem", on_delete=models.CASCADE, related_name="reports")
    scope = models.ForeignKey("libraries.Unit", null=True, blank=True, on_delete=models.CASCADE,
                              related_name="reports", verbose_name=_("scope"),
                              help_text=_("Empty: the whole library network."))
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices, default=Kind.ANNUAL)
    period_from = models.DateField(_("from"))
    period_to = models.DateField(_("to"))
    conclusions = models.TextField(_("conclusions"), blank=True, max_length=20000)
    figures = models.JSONField(default=dict, blank=True, editable=False)
    state = models.CharField(_("state"), max_length=10, choices=State.choices, default=State.DRAFT)
    generated_at = models.DateTimeField(_("generated"), null=True, blank=True)
    docx = models.FileField(upload_to="reports/%Y/", max_length=255, blank=True, editable=False)
    published_at = models.DateTimeField(pgettext_lazy("report", "published"), null=True, blank=True)
    published_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                     related_name="+")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("report")
        verbose_name_plural = _("reports")
        ordering = ["-period_to", "-id"]
        indexes = [models.Index(fields=["system", "period_to"], name="reports_system_period_idx")]

    def __str__(self) -> str:
        return f"{self.kind} {self.period_from}–{self.period_to}"

    @property
    def is_published(self) -> bool:
        return self.state == self.State.PUBLISHED
