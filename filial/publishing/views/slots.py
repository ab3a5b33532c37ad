"""A page's posting slots (weekday + local time): the form behind Pages → "Posting times"."""

from __future__ import annotations

from datetime import time
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.dates import WEEKDAYS
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from filial.accounts.selectors import access_for
from filial.channels.selectors import channel_get
from filial.publishing import slots


class SlotsForm(forms.Form):
    """One line of times per weekday, e.g. "10:00, 18:30"."""

    def __init__(self, *args: Any, initial_slots: dict[int, list[time]] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for day in range(7):
            times = (initial_slots or {}).get(day, [])
            self.fields[f"day_{day}"] = forms.CharField(
                label=str(WEEKDAYS[day]), required=False, max_length=300,
                initial=", ".join(t.strftime("%H:%M") for t in times),
                widget=forms.TextInput(attrs={"autocomplete": "off"}))

    def clean(self) -> dict[str, Any]:
        cleaned: dict[str, Any] = super().clean() or {}
        found: list[tuple[int, time]] = []
        for day in range(7):
            try:
                found += [(day, t) for t in slots.parse_times(cleaned.get(f"day_{day}") or "")]
            except ValidationError as exc:
                self.add_error(f"day_{day}", exc)
        cleaned["slots"] = found
        return cleaned


@login_required
@require_http_methods(["GET", "POST"])
def channel_slots(request: HttpRequest, channel_id: int) -> HttpResponse:
    channel = channel_get(request.user, channel_id)
    if channel is None:
        raise Http404(_("No such page."))
    if not access_for(request.user).can_write(channel.unit_id):
        raise PermissionDenied(_("You cannot plan the posting times of this page."))
    current = slots.slots_by_weekday(channel)
    if request.method == "POST":
        form = SlotsForm(request.POST, initial_slots=current)
        if form.is_valid():
            try:
                slots.slots_set(actor=request.user, channel=channel, slots=form.cleaned_data["slots"])
            except ValidationError as exc:
                form.add_error(None, exc)
            else:
                messages.success(request, _("The posting times of “%(page)s” are saved.") % {"page": channel.name})
                return redirect("publishing:channel_slots", channel_id=channel.pk)
    else:
        form = SlotsForm(initial_slots=current)
    return render(request, "publishing/channel_slots.html", {
        "channel": channel, "form": form, "tz_name": channel.unit.tz_name, "minutes": slots.slot_minutes(),
    }, status=400 if form.is_bound and form.errors else 200)
