"""Inbox UI: the list (filters, search, pages), a conversation with its actions, quick replies, deadlines and
opening hours, and the open-question thread of a post. Readers' texts are rendered escaped, links as text."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.storage import default_storage
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from filial.accounts.selectors import access_for
from filial.core.params import id_or_none
from filial.inbox import privacy, selectors, services
from filial.inbox.forms import (
    AssignForm,
    FilterForm,
    NoteForm,
    OpeningHoursForm,
    ReplyForm,
    SettingsForm,
    StateForm,
    TemplateForm,
)
from filial.inbox.models import Conversation, InboxItem, OpeningHours, ReplyTemplate
from filial.inbox.pipeline import inbox_settings
from filial.libraries.models import LibrarySystem, Unit
from filial.publishing import messages as message_writes
from filial.publishing.selectors import post_get

PAGE_SIZE = 30


def _errors(request: HttpRequest, exc: ValidationError) -> None:
    for message in exc.messages:
        messages.error(request, message)


@login_required
def inbox_list(request: HttpRequest) -> HttpResponse:
    form = FilterForm(request.GET or None, user=request.user)
    filters = form.filters()
    qs = selectors.conversations_filtered(request.user, filters)
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "inbox/inbox_list.html", {
        "filters": form, "page_obj": page, "conversations": page.object_list,
        "counts": selectors.counts_for(request.user)})


def _conversation(request: HttpRequest, pk: int) -> Conversation:
    conversation = selectors.conversation_get(request.user, pk)
    if conversation is None:
        raise Http404
    return conversation


@login_required
def conversation_detail(request: HttpRequest, pk: int) -> HttpResponse:
    conversation = _conversation(request, pk)
    if any(i.outgoing_id and not i.external_id for i in conversation.items.all()):
        if services.sync_reply_states([conversation.pk]):
            conversation = _conversation(request, pk)
    access = access_for(request.user)
    items = list(conversation.items.all())
    for item in items:
        item.can_remove = item.direction == InboxItem.Direction.IN and services.can_remove(item)  # type: ignore[attr-defined]
    return render(request, "inbox/conversation_detail.html", {
        "conversation": conversation, "items": items, "notes": conversation.notes.all(),
        "can_write": access.can_write(conversation.unit_id),
        "people": privacy.conversation_people(conversation) if access.can_erase(conversation.unit_id) else [],
        "reply_form": ReplyForm(), "note_form": NoteForm(),
        "assign_form": AssignForm(conversation=conversation, initial={"assignee": conversation.assignee_id}),
        "state_form": StateForm(initial={"state": conversation.state}),
        "templates": selectors.templates_for(request.user, conversation.unit_id),
        "tz": conversation.unit.tz_name,
    })


def _act(request: HttpRequest, pk: int, action: Any) -> HttpResponse:
    conversation = _conversation(request, pk)
    try:
        done = action(conversation)
        if done:
            messages.success(request, done)
    except ValidationError as exc:
        _errors(request, exc)
    except PermissionDenied as exc:
        messages.error(request, str(exc) or _("You cannot do this."))
    return redirect("inbox:conversation", pk=pk)


@login_required
@require_POST
def conversation_reply(request: HttpRequest, pk: int) -> HttpResponse:
    def act(conversation: Conversation) -> str:
        form = ReplyForm(request.POST)
        if not form.is_valid():
            raise ValidationError(_("Write the reply first."))
        services.conversation_reply(actor=request.user, conversation=conversation, text=form.cleaned_data["text"])
        return _("The reply is on its way.")
    return _act(request, pk, act)


@login_required
@require_POST
def conversation_note(request: HttpRequest, pk: int) -> HttpResponse:
    def act(conversation: Conversation) -> str:
        services.note_add(actor=request.user, conversation=conversation, text=request.POST.get("text", ""))
        return _("Note added.")
    return _act(request, pk, act)


@login_required
@require_POST
def conversation_assign(request: HttpRequest, pk: int) -> HttpResponse:
    def act(conversation: Conversation) -> str:
        form = AssignForm(request.POST, conversation=conversation)
        if not form.is_valid():
            raise ValidationError(_("Choose a person who answers for this unit."))
        services.conversation_assign(actor=request.user, conversation=conversation,
                                     assignee=form.cleaned_data["assignee"])
        return _("Assignment saved.")
    return _act(request, pk, act)


@login_required
@require_POST
def conversation_state(request: HttpRequest, pk: int) -> HttpResponse:
    def act(conversation: Conversation) -> str:
        if "urgent" in request.POST:
            services.conversation_set_urgent(actor=request.user, conversation=conversation,
                                             urgent=request.POST["urgent"] == "1")
            return _("Saved.")
        form = StateForm(request.POST)
        if not form.is_valid():
            raise ValidationError(_("Unknown state."))
        services.conversation_set_state(actor=request.user, conversation=conversation,
                                        state=form.cleaned_data["state"])
        return _("State saved.")
    return _act(request, pk, act)


@login_required
@require_POST
def item_remove(request: HttpRequest, pk: int, item_id: int) -> HttpResponse:
    def act(conversation: Conversation) -> str:
        item = next((i for i in conversation.items.all() if i.pk == item_id), None)
        if item is None:
            raise Http404
        services.item_remove(actor=request.user, item=item)
        return _("The comment was deleted on the network.")
    return _act(request, pk, act)


@login_required
def attachment(request: HttpRequest, pk: int, item_id: int, n: int) -> HttpResponseBase:
    """Our own copy of a reader's picture (never the network's address), to those who may read the unit."""
    conversation = _conversation(request, pk)
    item = next((i for i in conversation.items.all() if i.pk == item_id), None)
    files = item.attachments if item is not None else []
    if not 0 <= n < len(files) or not files[n].get("stored"):
        raise Http404
    try:
        handle = default_storage.open(str(files[n]["stored"]), "rb")
    except OSError:
        raise Http404 from None
    response = FileResponse(handle, content_type=str(files[n].get("content_type") or "application/octet-stream"))
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Disposition"] = "inline"
    response["Cache-Control"] = "private, max-age=3600"
    return response


@login_required
@require_POST
def message_retry(request: HttpRequest, pk: int, item_id: int) -> HttpResponse:
    """Try a failed reply again (through the engine's own service)."""
    def act(conversation: Conversation) -> str:
        item = next((i for i in conversation.items.all() if i.pk == item_id and i.outgoing_id), None)
        if item is None or item.outgoing is None:
            raise Http404
        message_writes.message_retry(actor=request.user, message=item.outgoing)
        return _("The reply will be sent again.")
    return _act(request, pk, act)


# --- quick replies, deadlines, opening hours ---------------------------------------------------------------
@login_required
@require_http_methods(["GET", "POST"])
def template_list(request: HttpRequest) -> HttpResponse:
    access = access_for(request.user)
    form = TemplateForm(request.POST or None, user=request.user)
    if request.method == "POST":
        if "delete" in request.POST:
            template = ReplyTemplate.objects.filter(pk=id_or_none(request.POST.get("delete")) or 0,
                                                    unit_id__in=access.read_units).select_related("unit").first()
            if template is None:
                raise Http404
            try:
                services.template_delete(actor=request.user, template=template)
                messages.success(request, _("Quick reply deleted."))
            except PermissionDenied as exc:
                messages.error(request, str(exc))
            return redirect("inbox:templates")
        if form.is_valid():
            try:
                services.template_save(actor=request.user, unit=form.cleaned_data["unit"],
                                       title=form.cleaned_data["title"], text=form.cleaned_data["text"])
                messages.success(request, _("Quick reply saved."))
                return redirect("inbox:templates")
            except (ValidationError, PermissionDenied) as exc:
                messages.error(request, "; ".join(getattr(exc, "messages", [str(exc)])))
    return render(request, "inbox/templates.html", {
        "form": form, "templates": selectors.templates_for(request.user),
        "can_manage": bool(access.approve_units)})


@login_required
@require_http_methods(["GET", "POST"])
def inbox_settings_view(request: HttpRequest) -> HttpResponse:
    access = access_for(request.user)
    system = LibrarySystem.objects.filter(pk__in=access.admin_systems).order_by("pk").first()
    if system is None:
        raise PermissionDenied
    current = inbox_settings(system.pk)
    form = SettingsForm(request.POST or None, initial={
        "normal_hours": current.normal_hours, "urgent_hours": current.urgent_hours,
        "urgent_keywords": current.urgent_keywords, "digest_enabled": current.digest_enabled})
    if request.method == "POST" and form.is_valid():
        try:
            services.settings_save(actor=request.user, system=system, data=services.SettingsData(**form.cleaned_data))
            messages.success(request, _("Deadlines saved."))
            return redirect("inbox:settings")
        except ValidationError as exc:
            _errors(request, exc)
    units = Unit.objects.filter(system=system).order_by("path")
    return render(request, "inbox/settings.html", {"form": form, "system": system, "units": units})


@login_required
@require_http_methods(["GET", "POST"])
def opening_hours(request: HttpRequest, unit_id: int) -> HttpResponse:
    access = access_for(request.user)
    unit = Unit.objects.filter(pk=unit_id, pk__in=access.approve_units).select_related("system").first()
    if unit is None:
        raise Http404
    rows = {r.weekday: (r.opens, r.closes) for r in OpeningHours.objects.filter(unit=unit)}
    form = OpeningHoursForm(request.POST or None, initial_days=rows)
    if request.method == "POST" and form.is_valid():
        try:
            services.opening_hours_set(actor=request.user, unit=unit, days=form.days())
            messages.success(request, _("Opening hours saved."))
            return redirect(reverse("inbox:opening_hours", args=[unit.pk]))
        except ValidationError as exc:
            _errors(request, exc)
    return render(request, "inbox/opening_hours.html", {"form": form, "unit": unit, "default": not rows})


@login_required
def open_question(request: HttpRequest, post_id: int) -> HttpResponse:
    post = post_get(request.user, post_id)
    if post is None:
        raise Http404
    items = list(selectors.open_question(request.user, post_id))
    return render(request, "inbox/open_question.html", {"post": post, "items": items})
