"""The "Outgoing messages" page: direct messages and replies the engine sends through the pages, failed and uncertain
first, each with its attempts; and what a person does with one it could not finish: retry a failed one, "it is
there" / "send again" for an uncertain one, cancel. POST only, CSRF-protected; permissions and the audit entry are
the services' (``may write`` for the page's unit). With htmx the acted-on message is swapped in place."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

from django import forms
from django.contrib import messages as flash
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from filial.accounts.selectors import access_for, system_timezone
from filial.channels.models import Channel
from filial.publishing import messages as message_writes
from filial.publishing.models import OutgoingMessage
from filial.publishing.selectors import message_get, messages_for_list, messages_visible

PAGE_SIZE = 25


class MessageFilterForm(forms.Form):
    state = forms.ChoiceField(label=gettext_lazy("State"), required=False)
    channel = forms.TypedChoiceField(label=gettext_lazy("Page"), required=False, coerce=int, empty_value=None)
    purpose = forms.ChoiceField(label=gettext_lazy("Purpose"), required=False)

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        access = access_for(user)
        everything: list[tuple[Any, Any]] = [("", _("All"))]
        pages = Channel.objects.filter(unit_id__in=access.read_units).order_by("name")
        purposes = messages_visible(user).order_by("purpose").values_list("purpose", flat=True).distinct()
        choices: dict[str, list[tuple[Any, Any]]] = {"state": everything + list(OutgoingMessage.State.choices),
                   "channel": everything + [(c.pk, str(c)) for c in pages],
                   "purpose": everything + [(p, p) for p in purposes]}
        for name, values in choices.items():
            cast(forms.ChoiceField, self.fields[name]).choices = values


class ConfirmForm(forms.Form):
    external_id = forms.CharField(label=gettext_lazy("The network's id of the message"), required=False,
                                  max_length=100)


def _context(request: HttpRequest, message: OutgoingMessage) -> dict[str, Any]:
    return {"m": message, "can_act": access_for(request.user).can_write(message.channel.unit_id),
            "tz_name": message.channel.unit.tz_name, "back": request.get_full_path()}


@login_required
@require_GET
def message_list(request: HttpRequest) -> HttpResponse:
    filters = MessageFilterForm(request.GET or None, user=request.user)
    cleaned = filters.cleaned_data if filters.is_valid() else {}
    qs = messages_for_list(request.user, state=cleaned.get("state") or "", channel_id=cleaned.get("channel"),
                           purpose=cleaned.get("purpose") or "")
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    access = access_for(request.user)
    rows = list(page.object_list)
    for row in rows:
        row.can_act = access.can_write(row.channel.unit_id)  # type: ignore[attr-defined]
    return render(request, "publishing/message_list.html", {
        "filters": filters, "page_obj": page, "messages_page": rows, "system_tz": system_timezone(access).key,
    })


def _message(request: HttpRequest, pk: int) -> OutgoingMessage:
    message = message_get(request.user, pk)
    if message is None:
        raise Http404(_("No such message."))
    return message


def _done(request: HttpRequest, message: OutgoingMessage) -> HttpResponse:
    """htmx: the message's item again (its new state and actions); otherwise back to the list."""
    if request.headers.get("HX-Request"):
        fresh = messages_for_list(request.user).get(pk=message.pk)
        return render(request, "publishing/_message_item.html", {**_context(request, fresh), "swapped": True})
    back = request.POST.get("next", "")
    if back and url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()},
                                                require_https=request.is_secure()):
        return redirect(back)
    return redirect("publishing:message_list")


def _act(request: HttpRequest, pk: int, action: Callable[[OutgoingMessage], Any], success: str) -> HttpResponse:
    message = _message(request, pk)
    try:
        action(message)
    except ValidationError as exc:
        flash.error(request, " ".join(exc.messages))
    else:
        flash.success(request, success)
    return _done(request, message)


@login_required
@require_POST
def message_retry(request: HttpRequest, pk: int) -> HttpResponse:
    return _act(request, pk, lambda m: message_writes.message_retry(actor=request.user, message=m),
                _("The message will be tried again now."))


@login_required
@require_POST
def message_resend(request: HttpRequest, pk: int) -> HttpResponse:
    return _act(request, pk, lambda m: message_writes.message_resend(actor=request.user, message=m),
                _("The message will be sent again now."))


@login_required
@require_POST
def message_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    return _act(request, pk, lambda m: message_writes.message_cancel(actor=request.user, message=m),
                _("The message is cancelled."))


@login_required
@require_POST
def message_confirm(request: HttpRequest, pk: int) -> HttpResponse:
    form = ConfirmForm(request.POST)
    external_id = form.cleaned_data["external_id"] if form.is_valid() else ""
    if not form.is_valid():
        flash.error(request, " ".join(str(e) for errors in form.errors.values() for e in errors))
        return _done(request, _message(request, pk))
    return _act(request, pk, lambda m: message_writes.message_confirm(actor=request.user, message=m,
                                                                        external_id=external_id),
                _("Marked as sent."))
