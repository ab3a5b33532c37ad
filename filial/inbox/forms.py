"""Forms of the inbox UI: filters, reply, note, assignment, state, quick replies, deadlines, opening hours."""

from __future__ import annotations

from datetime import time
from typing import Any

from django import forms
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from filial.accounts.models import User
from filial.accounts.selectors import access_for
from filial.channels.models import Channel, Network
from filial.inbox.models import Conversation
from filial.inbox.selectors import InboxFilters
from filial.libraries.models import Unit


class FilterForm(forms.Form):
    unit = forms.ModelChoiceField(label=_("Unit"), queryset=Unit.objects.none(), required=False,
                                  empty_label=_("All units"))
    channel = forms.ModelChoiceField(label=_("Page"), queryset=Channel.objects.none(), required=False,
                                     empty_label=_("All pages"))
    network = forms.ChoiceField(label=_("Network"), required=False, choices=[("", _("All networks")),
                                                                            *Network.choices])
    state = forms.ChoiceField(label=_("State"), required=False, initial="open", choices=[
        ("open", _("Open (new and in progress)")), ("", _("All states")), *Conversation.State.choices])
    overdue = forms.BooleanField(label=_("Overdue only"), required=False)
    mine = forms.BooleanField(label=_("Assigned to me"), required=False)
    q = forms.CharField(label=_("Search text or author"), required=False, max_length=200)

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        access = access_for(user)
        self.fields["unit"].queryset = Unit.objects.filter(id__in=access.read_units).order_by("path")  # type: ignore[attr-defined]
        self.fields["channel"].queryset = Channel.objects.filter(  # type: ignore[attr-defined]
            unit_id__in=access.read_units).order_by("unit__path", "network", "name")

    def filters(self) -> InboxFilters:
        if not self.is_valid():
            return InboxFilters(state="open")
        data = self.cleaned_data
        state = data.get("state") if "state" in self.data else "open"
        return InboxFilters(unit=data["unit"].pk if data.get("unit") else None,
                            channel=data["channel"].pk if data.get("channel") else None,
                            network=data.get("network") or "", state=state or "", overdue=bool(data.get("overdue")),
                            mine=bool(data.get("mine")), q=data.get("q") or "")


class ReplyForm(forms.Form):
    text = forms.CharField(label=_("Reply"), widget=forms.Textarea(attrs={"rows": 4}), max_length=4096)


class NoteForm(forms.Form):
    text = forms.CharField(label=_("Internal note"), widget=forms.Textarea(attrs={"rows": 2}), max_length=4000)


class AssignForm(forms.Form):
    assignee = forms.ModelChoiceField(label=_("Assigned to"), queryset=User.objects.none(), required=False,
                                      empty_label=_("Nobody"))

    def __init__(self, *args: Any, conversation: Conversation, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        unit = conversation.unit
        parts = [p for p in unit.path.split("/") if p]
        ancestors = ["".join(f"{p}/" for p in parts[:i]) for i in range(1, len(parts) + 1)]
        self.fields["assignee"].queryset = User.objects.filter(  # type: ignore[attr-defined]
            is_active=True, memberships__unit__system_id=unit.system_id,
            memberships__role__in=["admin", "methodologist", "editor"]).filter(
            Q(memberships__role="admin") | Q(memberships__unit__path__in=ancestors)).distinct().order_by("username")


class StateForm(forms.Form):
    state = forms.ChoiceField(label=_("State"), choices=Conversation.State.choices)


class TemplateForm(forms.Form):
    unit = forms.ModelChoiceField(label=_("Unit"), queryset=Unit.objects.none())
    title = forms.CharField(label=_("Title"), max_length=120)
    text = forms.CharField(label=_("Text"), widget=forms.Textarea(attrs={"rows": 3}), max_length=4096)

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["unit"].queryset = Unit.objects.filter(  # type: ignore[attr-defined]
            id__in=access_for(user).approve_units).order_by("path")


class SettingsForm(forms.Form):
    normal_hours = forms.IntegerField(label=_("Answer within (working hours)"), min_value=1, max_value=200)
    urgent_hours = forms.IntegerField(label=_("Urgent: answer within (working hours)"), min_value=1, max_value=200)
    urgent_keywords = forms.CharField(label=_("Urgent keywords (one per line)"), required=False,
                                      widget=forms.Textarea(attrs={"rows": 3}))
    digest_enabled = forms.BooleanField(label=_("Daily digest to methodologists"), required=False)


WEEKDAYS = [_("Monday"), _("Tuesday"), _("Wednesday"), _("Thursday"), _("Friday"), _("Saturday"), _("Sunday")]


class OpeningHoursForm(forms.Form):
    """Seven optional pairs of times; a day with both empty is closed."""

    def __init__(self, *args: Any, initial_days: dict[int, tuple[time, time]] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for day, label in enumerate(WEEKDAYS):
            hours = (initial_days or {}).get(day)
            self.fields[f"opens_{day}"] = forms.TimeField(label=_("%(day)s opens") % {"day": label}, required=False,
                                                          initial=hours[0] if hours else None,
                                                          widget=forms.TimeInput(attrs={"type": "time"}))
            self.fields[f"closes_{day}"] = forms.TimeField(label=_("%(day)s closes") % {"day": label},
                                                           required=False, initial=hours[1] if hours else None,
                                                           widget=forms.TimeInput(attrs={"type": "time"}))

    def rows(self) -> list[tuple[str, Any, Any]]:
        return [(str(label), self[f"opens_{d}"], self[f"closes_{d}"]) for d, label in enumerate(WEEKDAYS)]

    def days(self) -> dict[int, tuple[time, time] | None]:
        out: dict[int, tuple[time, time] | None] = {}
        for day in range(7):
            opens, closes = self.cleaned_data.get(f"opens_{day}"), self.cleaned_data.get(f"closes_{day}")
            out[day] = (opens, closes) if opens and closes else None
        return out


MAX_VOTES = 100_000_000  # more than any library page's audience: a typo, not a result


class PollResultsForm(forms.Form):
    """A poll's results on one page, typed from the page by hand (a historic or offline poll): one number per
    answer, in the poll's order, and the number of voters where the page shows it."""

    total_voters = forms.IntegerField(
        label=_("Voters"), required=False, min_value=0, max_value=MAX_VOTES,
        help_text=_("Leave empty when the page does not show it: the sum of the votes is used."))

    def __init__(self, *args: Any, answers: list[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.answer_names = []
        for i, text in enumerate(answers):
            name = f"answer_{i}"
            self.fields[name] = forms.IntegerField(label=text, min_value=0, max_value=MAX_VOTES)
            self.answer_names.append(name)
        self.order_fields([*self.answer_names, "total_voters"])

    def votes(self) -> list[int]:
        return [int(self.cleaned_data[name]) for name in self.answer_names]
