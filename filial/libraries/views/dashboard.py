"""The network overview (dashboard). Unit management lives in ``units.py``."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from filial.accounts.selectors import access_for
from filial.libraries.selectors import QUIET_AFTER_DAYS, UPCOMING_DAYS, dashboard_for
from filial.publishing.selectors import channels_needing_reauth


@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    access = access_for(request.user)
    if not access.is_member:
        return render(request, "libraries/dashboard_no_access.html")
    context = {
        "dash": dashboard_for(request.user),
        "needs_reauth": channels_needing_reauth(request.user),
        "quiet_after": QUIET_AFTER_DAYS,
        "upcoming_days": UPCOMING_DAYS,
    }
    return render(request, "libraries/dashboard.html", context)
