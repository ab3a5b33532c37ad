"""The unit form of the administrators' pages. Tree rules (no unit inside itself, parent in the same
system) are checked by filial/libraries/services.py; the form only parses input."""

from __future__ import annotations

import zoneinfo
from functools import cache
from typing import Any

from django import forms
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from filial.accounts.forms import UnitChoiceField
from filial.libraries.models import LibrarySystem, Unit

# Russia's zones, west to east: offered first, since the networks served are Russian libraries.
RUSSIAN_ZONES = (
    "Europe/Kaliningrad", "Europe/Moscow", "Europe/Kirov", "Europe/Volgograd", "Europe/Astrakhan",
    "Europe/Saratov", "Europe/Ulyanovsk", "Europe/Samara", "Asia/Yekaterinburg", "Asia/Omsk",
    "Asia/Novosibirsk", "Asia/Barnaul", "Asia/Tomsk", "Asia/Novokuznetsk", "Asia/Krasnoyarsk", "Asia/Irkutsk",
    "Asia/Chita", "Asia/Yakutsk", "Asia/Khandyga", "Asia/Vladivostok", "Asia/Ust-Nera", "Asia/Magadan",
    "Asia/Sakhalin", "Asia/Srednekolymsk", "Asia/Kamchatka", "Asia/Anadyr",
)


@cache
def timezone_names() -> tuple[str, ...]:
    return tuple(sorted(zoneinfo.available_timezones()))


def timezone_choices(blank_label: Any) -> list[Any]:
    available = set(timezone_names())
    russian = [z for z in RUSSIAN_ZONES if z in available]
    others = [z for z in timezone_names() if z not in set(russian)]
    return [
        ("", blank_label),
        (_("Russia"), [(z, z) for z in russian]),
        (_("All time zones"), [(z, z) for z in others]),
    ]


class UnitForm(forms.Form):
    system = forms.ModelChoiceField(queryset=LibrarySystem.objects.none(), label=_("Library system"))
    name = forms.CharField(label=_("Name"), max_length=200)
    short_name = forms.CharField(label=_("Short name"), max_length=80, required=False,
                                 help_text=_("Shown in lists and menus, e.g. “Branch No. 4”."))
    kind = forms.ChoiceField(label=_("Kind"), choices=Unit.Kind.choices, initial=Unit.Kind.BRANCH)
    parent = forms.ModelChoiceField(queryset=Unit.objects.none(), required=False)
    timezone = forms.ChoiceField(label=_("Time zone"), required=False)
    address = forms.CharField(label=_("Address"), max_length=300, required=False)
    approval_required = forms.BooleanField(
        label=_("Posts need approval"), required=False, initial=True,
        help_text=_("If off, editors of this unit publish without a methodologist's approval."),
    )
    position = forms.IntegerField(label=_("Order"), min_value=0, initial=0,
                                  help_text=_("Units with a smaller number come first among their siblings."))

    def __init__(self, *args: Any, systems: QuerySet[LibrarySystem], unit: Unit | None = None,
                 **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.unit = unit
        system_list = list(systems.order_by("name"))
        self.fixed_system: LibrarySystem | None = unit.system if unit is not None else None
        if self.fixed_system is None and len(system_list) == 1:
            self.fixed_system = system_list[0]
        if self.fixed_system is not None:
            del self.fields["system"]
            parents = Unit.objects.filter(system=self.fixed_system)
        else:
            self.fields["system"].queryset = systems  # type: ignore[attr-defined]
            parents = Unit.objects.filter(system__in=systems)
        if unit is not None:
            # Descendants stay in the list: the service refuses such a move with a clear message.
            parents = parents.exclude(pk=unit.pk)
        parents = parents.select_related("system").order_by("system__name", "system_id", "path")
        self.fields["parent"] = UnitChoiceField(
            queryset=parents, required=False, label=_("Parent unit"), empty_label=_("— none (top level) —"),
            show_system=self.fixed_system is None,
            help_text=_("A branch or department belongs to a library; leave empty for a top-level unit."),
        )
        default_tz = self.fixed_system.timezone if self.fixed_system else ""
        blank = (_("The library system's time zone (%(tz)s)") % {"tz": default_tz}) if default_tz else _(
            "The library system's time zone")
        self.fields["timezone"].choices = timezone_choices(blank)  # type: ignore[attr-defined]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        system = self.fixed_system or data.get("system")
        name = data.get("name")
        if system is not None and name:
            same = Unit.objects.filter(system=system, name=name)
            if self.unit is not None:
                same = same.exclude(pk=self.unit.pk)
            if same.exists():
                self.add_error("name", _("The library system already has a unit with this name."))
        return data

    def system_for_create(self) -> LibrarySystem:
        return self.fixed_system or self.cleaned_data["system"]

    def unit_fields(self) -> dict[str, Any]:
        """The cleaned values as keyword arguments for unit_create / unit_update."""
        names = ("name", "short_name", "kind", "parent", "timezone", "address", "approval_required", "position")
        return {name: self.cleaned_data[name] for name in names}

    @staticmethod
    def initial_for(unit: Unit) -> dict[str, Any]:
        return {
            "name": unit.name, "short_name": unit.short_name, "kind": unit.kind, "parent": unit.parent_id,
            "timezone": unit.timezone, "address": unit.address, "approval_required": unit.approval_required,
            "position": unit.position,
        }
