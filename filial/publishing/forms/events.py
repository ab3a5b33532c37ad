"""Forms for events: the times are entered as wall-clock times in the chosen unit's time zone."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from filial.core.params import validate_day
from filial.core.timeutils import local_to_aware
from filial.libraries.models import Unit
from filial.publishing.models import Event

LOCAL_INPUT_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%d.%m.%Y %H:%M"]
WIDGET_FORMAT = "%Y-%m-%dT%H:%M"


class LocalDateTimeField(forms.Field):
    """A naive wall-clock date and time (``<input type="datetime-local">``); the form makes it aware."""

    default_validators = [validate_day]  # within the bounds of filial/core/params.py

    widget = forms.DateTimeInput(attrs={"type": "datetime-local"}, format=WIDGET_FORMAT)
    default_error_messages = {"invalid": gettext_lazy("Enter a valid date and time.")}

    def to_python(self, value: Any) -> datetime | None:
        if value in self.empty_values:
            return None
        if isinstance(value, datetime):
            return value.replace(tzinfo=None)
        text = str(value).strip()
        for fmt in LOCAL_INPUT_FORMATS:
            try:
                return datetime.strptime(text, fmt)  # naive on purpose: made aware in the unit's zone
            except ValueError:
                continue
        raise ValidationError(self.error_messages["invalid"], code="invalid")


class UnitChoiceField(forms.ModelChoiceField):
    """Units indented by their depth in the tree."""

    def label_from_instance(self, obj: Any) -> str:
        return f"{'— ' * obj.depth}{obj.name}"


class EventForm(forms.Form):
    unit = UnitChoiceField(queryset=Unit.objects.none(), label=gettext_lazy("Unit"), empty_label=None)
    title = forms.CharField(label=gettext_lazy("Title"), max_length=200)
    scope = forms.ChoiceField(label=gettext_lazy("Type"), choices=Event.Scope.choices,
                              initial=Event.Scope.LIBRARY)
    starts_at = LocalDateTimeField(label=gettext_lazy("Starts"),
                                   help_text=gettext_lazy("In the unit's local time."))
    ends_at = LocalDateTimeField(label=gettext_lazy("Ends"), required=False)
    place = forms.CharField(label=gettext_lazy("Place"), max_length=200, required=False)
    description = forms.CharField(label=gettext_lazy("Description"), required=False, widget=forms.Textarea)

    def __init__(self, *args: Any, units: QuerySet[Unit], event: Event | None = None, **kwargs: Any) -> None:
        if event is not None and "initial" not in kwargs:
            tz = event.unit.tz
            kwargs["initial"] = {
                "unit": event.unit_id,
                "title": event.title,
                "scope": event.scope,
                "starts_at": event.starts_at.astimezone(tz).replace(tzinfo=None),
                "ends_at": event.ends_at.astimezone(tz).replace(tzinfo=None) if event.ends_at else None,
                "place": event.place,
                "description": event.description,
            }
        super().__init__(*args, **kwargs)
        unit_field = self.fields["unit"]
        assert isinstance(unit_field, forms.ModelChoiceField)
        unit_field.queryset = units.select_related("system").order_by("system__name", "path")

    def clean(self) -> dict[str, Any]:
        data = super().clean() or self.cleaned_data
        unit: Unit | None = data.get("unit")
        if unit is None:
            return data
        tz = unit.tz
        for name in ("starts_at", "ends_at"):
            value = data.get(name)
            if value is None:
                continue
            try:
                data[name] = local_to_aware(value, tz)
            except ValidationError as err:
                self.add_error(name, err)
        starts, ends = data.get("starts_at"), data.get("ends_at")
        if starts is not None and ends is not None and ends <= starts:
            self.add_error("ends_at", _("The event must end after it starts."))
        return data

    def service_fields(self) -> dict[str, Any]:
        """The cleaned values as keyword arguments for ``event_create`` / ``event_update``."""
        data = self.cleaned_data
        return {
            "unit": data["unit"],
            "title": data["title"].strip(),
            "scope": data["scope"],
            "starts_at": data["starts_at"],
            "ends_at": data.get("ends_at"),
            "place": data.get("place", "").strip(),
            "description": data.get("description", "").strip(),
        }

    def add_service_errors(self, err: ValidationError) -> None:
        """Show a service's ``ValidationError`` on the right fields (unknown fields on the form)."""
        if hasattr(err, "error_dict"):
            for name, errors in err.error_dict.items():
                self.add_error(name if name in self.fields else None, errors)
        else:
            self.add_error(None, err)


class EventFilterForm(forms.Form):
    unit = UnitChoiceField(queryset=Unit.objects.none(), required=False, label=gettext_lazy("Unit"),
                           empty_label=gettext_lazy("All units"))
    scope = forms.ChoiceField(label=gettext_lazy("Type"), required=False,
                              choices=[("", gettext_lazy("All types")), *Event.Scope.choices])

    def __init__(self, *args: Any, units: QuerySet[Unit], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        unit_field = self.fields["unit"]
        assert isinstance(unit_field, forms.ModelChoiceField)
        unit_field.queryset = units.order_by("system__name", "path")
