"""Forms of the report pages: make a report (scope, kind, period) and write its conclusions."""

from __future__ import annotations

from datetime import date
from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from filial.core.params import DayField
from filial.libraries.models import LibrarySystem, Unit
from filial.reports.models import Report
from filial.reports.selectors import scope_choices


class ReportForm(forms.Form):
    scope = forms.ChoiceField(label=_("What the report covers"))
    kind = forms.ChoiceField(label=_("Kind"), choices=Report.Kind.choices, initial=Report.Kind.ANNUAL)
    period_from = DayField(label=_("From"), widget=forms.DateInput(attrs={"type": "date"}))
    period_to = DayField(label=_("To"), widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        systems, units = scope_choices(user)
        self.systems = {s.pk: s for s in systems}
        self.units = {u.pk: u for u in units}
        choices = [(f"system:{s.pk}", _("The whole network: %(name)s") % {"name": s.name}) for s in systems]
        choices += [(str(u.pk), f"{'— ' * u.depth}{u.name}") for u in units]
        field: Any = self.fields["scope"]
        field.choices = choices
        last = timezone.localdate().year - 1
        self.fields["period_from"].initial = date(last, 1, 1)
        self.fields["period_to"].initial = date(last, 12, 31)

    def scope_value(self) -> tuple[LibrarySystem, Unit | None]:
        raw = self.cleaned_data["scope"]
        if raw.startswith("system:"):
            return self.systems[int(raw.split(":", 1)[1])], None
        unit = self.units[int(raw)]
        return unit.system, unit


class ConclusionsForm(forms.Form):
    conclusions = forms.CharField(
        label=_("Conclusions"), required=False, max_length=20000,
        widget=forms.Textarea(attrs={"rows": 8}),
        help_text=_("The methodologist's own text: it goes into the report as written. A new line starts a "
                    "new paragraph."),
    )
