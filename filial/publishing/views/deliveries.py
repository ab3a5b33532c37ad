"""What a person does with a delivery the engine could not finish: retry a failed one, and for an uncertain one
(no answer after the request left) say "it is there" or "send again". POST only, CSRF-protected; permissions
and the audit entry are the services' (``may write`` for the post's unit)."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from filial.publishing import services
from filial.publishing.models import Delivery
from filial.publishing.selectors import post_get


class ConfirmForm(forms.Form):
    url = forms.URLField(label=gettext_lazy("Link to the post"), required=False, max_length=500,
                         assume_scheme="https")
    external_id = forms.CharField(label=gettext_lazy("The network's id of the post"), required=False,
                                  max_length=100)


def _delivery(request: HttpRequest, pk: int, delivery_id: int) -> Delivery:
    post = post_get(request.user, pk)
    if post is None:
        raise Http404(_("No such post."))
    delivery = Delivery.objects.filter(pk=delivery_id, post_id=post.pk).first()
    if delivery is None:
        raise Http404(_("No such delivery."))
    return delivery


def _back(pk: int) -> HttpResponse:
    return redirect("publishing:post_detail", pk=pk)


@login_required
@require_POST
def delivery_retry(request: HttpRequest, pk: int, delivery_id: int) -> HttpResponse:
    delivery = _delivery(request, pk, delivery_id)
    try:
        services.delivery_retry(actor=request.user, delivery=delivery)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("The delivery to %(page)s will be tried again now.")
                         % {"page": delivery.channel.name})
    return _back(pk)


@login_required
@require_POST
def delivery_confirm(request: HttpRequest, pk: int, delivery_id: int) -> HttpResponse:
    delivery = _delivery(request, pk, delivery_id)
    form = ConfirmForm(request.POST)
    if not form.is_valid():
        messages.error(request, " ".join(str(e) for errors in form.errors.values() for e in errors))
        return _back(pk)
    try:
        services.delivery_confirm_uncertain(actor=request.user, delivery=delivery, url=form.cleaned_data["url"],
                                            external_id=form.cleaned_data["external_id"])
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("Marked as published on %(page)s.") % {"page": delivery.channel.name})
    return _back(pk)


@login_required
@require_POST
def delivery_resend(request: HttpRequest, pk: int, delivery_id: int) -> HttpResponse:
    delivery = _delivery(request, pk, delivery_id)
    try:
        services.delivery_resend(actor=request.user, delivery=delivery)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("The post will be sent to %(page)s again now.") % {"page": delivery.channel.name})
    return _back(pk)
