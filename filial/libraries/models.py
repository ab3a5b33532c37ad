from __future__ import annotations

import zoneinfo

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _


def validate_timezone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(_("Unknown time zone: %(tz)s"), params={"tz": value})


class LibrarySystem(models.Model):
    """A library network (ЦБС). One installation usually serves one."""

    name = models.CharField(_("name"), max_length=200)
    short_name = models.CharField(_("short name"), max_length=80, blank=True)
    timezone = models.CharField(
        _("time zone"), max_length=64, default="Asia/Yekaterinburg", validators=[validate_timezone]
    )
    # The advertiser's requisites that marked advertising carries (Russian law on advertising): set by an admin.
    legal_name = models.CharField(_("legal name"), max_length=300, blank=True,
                                  help_text=_("The full name of the library as the advertiser, for marked posts."))
    inn = models.CharField(_("INN"), max_length=12, blank=True,
                           help_text=_("The taxpayer number (10 digits for an organisation)."))
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("library system")
        verbose_name_plural = _("library systems")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.short_name or self.name


class Unit(models.Model):
    """A library, branch or department; units form a tree inside their system.

    ``path`` is a materialised path ("0001/0003/") so a subtree is one indexed prefix query.
    """

    class Kind(models.TextChoices):
        CENTRAL = "central", _("Central library")
        CHILDREN = "children", _("Children's library")
        BRANCH = "branch", _("Branch")
        DEPARTMENT = "department", _("Department")
        OTHER = "other", _("Other")

    system = models.ForeignKey(LibrarySystem, on_delete=models.CASCADE, related_name="units")
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children",
        verbose_name=_("parent unit"),
    )
    name = models.CharField(_("name"), max_length=200)
    short_name = models.CharField(_("short name"), max_length=80, blank=True)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices, default=Kind.BRANCH)
    timezone = models.CharField(
        _("time zone"), max_length=64, blank=True, validators=[validate_timezone],
        help_text=_("Leave empty to use the library system's time zone."),
    )
    address = models.CharField(_("address"), max_length=300, blank=True)
    approval_required = models.BooleanField(
        _("posts need approval"), default=True,
        help_text=_("If off, editors of this unit publish without a methodologist's approval."),
    )
    position = models.PositiveIntegerField(_("order"), default=0)
    path = models.CharField(max_length=255, db_index=True, editable=False, default="")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("unit")
        verbose_name_plural = _("units")
        ordering = ["path"]
        constraints = [
            models.UniqueConstraint(fields=["system", "name"], name="unit_unique_name_in_system"),
        ]

    def __str__(self) -> str:
        return self.short_name or self.name

    @property
    def depth(self) -> int:
        return max(self.path.count("/") - 1, 0)

    @property
    def tz(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.timezone or self.system.timezone)

    @property
    def tz_name(self) -> str:
        return self.timezone or self.system.timezone
