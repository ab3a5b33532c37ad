"""Pages (channels): the list for every member of a library system; create and edit for its
administrators. Secrets are write-only here: the page shows which ones are stored, masked, never the
values, and a blank secret input keeps the stored one. New secrets are checked against the network before
they are saved, and "Check connection" asks the network again with the stored ones.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from filial.accounts.forms import add_service_errors
from filial.accounts.selectors import Access, access_for, units_administered
from filial.channels.forms import ChannelFilterForm, ChannelForm
from filial.channels.models import Channel
from filial.channels.selectors import channel_get, channels_visible, credential_hints
from filial.channels.services import (
    channel_connect,
    channel_create,
    channel_credentials_clear,
    channel_update,
    channel_verify,
)
from filial.core.crypto import SecretUnreadable
from filial.core.params import id_or_none
from filial.libraries.models import Unit

PAGE_SIZE = 100


def _admin_access(request: HttpRequest) -> Access:
    access = access_for(request.user)
    if not access.is_admin:
        raise PermissionDenied(_("Only an administrator of the library system manages pages."))
    return access


def _manageable(request: HttpRequest, pk: int) -> tuple[Channel, Access]:
    """The page if the user may edit it: 404 if they cannot see it, 403 if they may only look."""
    access = access_for(request.user)
    channel = channel_get(request.user, pk)
    if channel is None:
        raise Http404
    if not access.is_admin_of(channel.unit.system_id):
        raise PermissionDenied(_("Only an administrator of the library system manages pages."))
    return channel, access


@login_required
def channel_list(request: HttpRequest) -> HttpResponse:
    access = access_for(request.user)
    if not access.is_member:
        raise PermissionDenied(_("You have no role in any library system yet. Ask your administrator."))
    channels = channels_visible(request.user)
    form = ChannelFilterForm(request.GET or None, units=Unit.objects.filter(system_id__in=access.systems))
    if form.is_valid():
        data = form.cleaned_data
        if data["unit"]:
            unit = data["unit"]
            channels = channels.filter(unit__system_id=unit.system_id, unit__path__startswith=unit.path)
        if data["network"]:
            channels = channels.filter(network=data["network"])
        if data["status"]:
            channels = channels.filter(status=data["status"])
        if data["q"]:
            channels = channels.filter(name__icontains=data["q"])
    page = Paginator(channels, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "channels/channel_list.html", {
        "form": form, "page": page, "channels": page.object_list, "can_manage": access.admin_systems,
        "write_units": access.write_units,
    })


@login_required
@require_http_methods(["GET", "POST"])
def channel_create_view(request: HttpRequest) -> HttpResponse:
    access = _admin_access(request)
    initial: dict[str, Any] = {}
    unit_id = id_or_none(request.GET.get("unit"))
    if unit_id is not None:
        initial["unit"] = unit_id
    form = ChannelForm(request.POST or None, units=units_administered(access), initial=initial)
    if request.method == "POST" and form.is_valid():
        fields = form.channel_fields()
        unit = fields.pop("unit")
        credentials = form.cleaned_data["credentials"]
        try:
            if credentials:
                channel = channel_connect(actor=request.user, unit=unit, credentials=credentials, **fields)
            else:
                channel = channel_create(actor=request.user, unit=unit, **fields)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            if credentials:
                messages.success(request, _connected_message(channel))
            else:
                messages.success(request, _("Page “%(name)s” created.") % {"name": channel.name})
            return redirect("channels:channel_list")
    return render(request, "channels/channel_form.html", {"form": form, "channel": None})


@login_required
@require_http_methods(["GET", "POST"])
def channel_edit(request: HttpRequest, pk: int) -> HttpResponse:
    channel, access = _manageable(request, pk)
    hints, readable = credential_hints(channel)
    if request.method == "POST":
        form = ChannelForm(request.POST, units=units_administered(access), channel=channel)
        if form.is_valid():
            credentials = form.cleaned_data["credentials"]
            try:
                channel_update(actor=request.user, channel=channel, credentials=credentials,
                               **form.channel_fields())
            except ValidationError as exc:
                add_service_errors(form, exc)
                channel.refresh_from_db()
            except SecretUnreadable:
                form.add_error(None, _("The stored secrets cannot be read with the current keys. "
                                       "Remove them first, then enter them again."))
                channel.refresh_from_db()
            else:
                messages.success(request, _("Page “%(name)s” saved.") % {"name": channel.name})
                return redirect("channels:channel_list")
    else:
        form = ChannelForm(units=units_administered(access), channel=channel, initial=ChannelForm.initial_for(channel))
    return render(request, "channels/channel_form.html", {
        "form": form, "channel": channel, "hints": hints, "readable": readable,
    })


def _connected_message(channel: Channel) -> str:
    if channel.audience is None:
        return _("Page “%(name)s” is connected: the network accepted its secrets.") % {"name": channel.name}
    return _("Page “%(name)s” is connected: the network accepted its secrets; audience %(audience)s.") % {
        "name": channel.name, "audience": channel.audience}


@login_required
@require_POST
def channel_check(request: HttpRequest, pk: int) -> HttpResponse:
    """"Check connection": ask the network with the stored secrets and refresh the page's link and audience."""
    channel, _access = _manageable(request, pk)
    try:
        channel = channel_verify(actor=request.user, channel=channel)
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
    except SecretUnreadable:
        messages.error(request, _("The stored secrets cannot be read with the current keys. "
                                  "Remove them first, then enter them again."))
    else:
        messages.success(request, _connected_message(channel))
    return redirect("channels:channel_edit", pk=pk)


@login_required
@require_POST
def channel_credentials_remove(request: HttpRequest, pk: int) -> HttpResponse:
    channel, _access = _manageable(request, pk)
    channel_credentials_clear(actor=request.user, channel=channel)
    messages.success(request, _("The stored secrets of “%(name)s” were removed.") % {"name": channel.name})
    return redirect("channels:channel_edit", pk=channel.pk)
