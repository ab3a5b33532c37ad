"""A person's data from the conversation's page: export (JSON) and erasure, by their network identity."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from filial.inbox import privacy, selectors
from filial.inbox.models import Conversation


def _person(request: HttpRequest, pk: int, person_id: str) -> Conversation:
    conversation = selectors.conversation_get(request.user, pk)
    if conversation is None:
        raise Http404
    if person_id not in {pid for pid, _name in privacy.conversation_people(conversation)}:
        raise Http404  # only someone who wrote in this conversation
    return conversation


@login_required
@require_GET
def person_export(request: HttpRequest, pk: int) -> HttpResponse:
    person_id = request.GET.get("person", "")
    conversation = _person(request, pk, person_id)
    content_type, body = privacy.person_export(actor=request.user, conversation=conversation, person_id=person_id)
    response = HttpResponse(body, content_type=f"{content_type}; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="person-{conversation.channel.network}.json"'
    return response


@login_required
@require_POST
def person_erase(request: HttpRequest, pk: int) -> HttpResponse:
    person_id = request.POST.get("person", "")
    conversation = _person(request, pk, person_id)
    if request.POST.get("confirm") != "yes":
        messages.error(request, _("Tick the box to confirm the erasure, then press the button again."))
        return redirect("inbox:conversation", pk=pk)
    counts = privacy.person_erase(actor=request.user, conversation=conversation, person_id=person_id)
    messages.success(request, _("The person's data was erased: %(items)d messages and comments, %(messages)d "
                                "messages from the pages. Their network id is replaced by a pseudonym.") % counts)
    return redirect("inbox:conversation", pk=pk)
