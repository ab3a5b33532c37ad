"""Posts UI: the composer, the list with search, the detail with its actions and the approvals queue.

Views stay thin: they parse the request, call ``filial.publishing.services`` and render. Reads go through
``filial.publishing.selectors``; permissions come from ``access_for(request.user)``.
"""

from __future__ import annotations

import uuid
from datetime import datetime, time
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.storage import default_storage
from django.core.paginator import Paginator
from django.db.models import F, Prefetch, QuerySet
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from filial.accounts.models import AuditEntry
from filial.accounts.selectors import Access, access_for, system_timezone
from filial.core.params import day_or_none, id_or_none
from filial.publishing import compose, edits, previews, services, slots
from filial.publishing import series as series_services
from filial.publishing.forms.posts import LOCAL_FORMAT, PostForm, PostListFilterForm, ReviewForm
from filial.publishing.models import Delivery, DeliveryEdit, Media, Poll, Post, PostChannel, PostMedia, PostSeries
from filial.publishing.selectors import events_visible, media_visible, post_get, posts_visible

PAGE_SIZE = 25

ACTION_LABELS = {
    "post.create": gettext_lazy("Created"),
    "post.update": gettext_lazy("Edited"),
    "post.submit": gettext_lazy("Submitted for approval"),
    "post.submit_publish": gettext_lazy("Scheduled without approval"),
    "post.approve": gettext_lazy("Approved"),
    "post.return": gettext_lazy("Returned for changes"),
    "post.cancel": gettext_lazy("Cancelled"),
    "post.delete": gettext_lazy("Deleted"),
    "post.edit_published": gettext_lazy("Edited on the pages"),
    "series.create": gettext_lazy("Set to repeat"),
    "series.update": gettext_lazy("Repeat changed"),
    "series.stop": gettext_lazy("Series stopped"),
    "series.delete": gettext_lazy("Repeat removed"),
    "series.skipped": gettext_lazy("Series times skipped while the worker was down"),
}
FIELD_LABELS = {
    "kind": gettext_lazy("kind"), "title": gettext_lazy("title"), "text": gettext_lazy("text"),
    "link": gettext_lazy("link"), "event": gettext_lazy("event"), "publish_at": gettext_lazy("time"),
    "channels": gettext_lazy("pages"), "state": gettext_lazy("state"),
}


# --- helpers ------------------------------------------------------------------------------------
def post_qs_for_lists(user: Any) -> QuerySet[Post]:
    """Visible posts with what a list row shows, in a fixed number of queries."""
    return posts_visible(user).select_related("unit__system").prefetch_related(
        Prefetch("targets", queryset=PostChannel.objects.select_related("channel").order_by("channel__network",
                                                                                              "channel__name"))
    )


def _visible_or_404(request: HttpRequest, pk: int) -> Post:
    post = post_get(request.user, pk)
    if post is None:
        raise Http404(_("No such post."))
    return post


def _next_url(request: HttpRequest, default: str) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()},
                                                   require_https=request.is_secure()):
        return target
    return default


def _can_approve(access: Access, post: Post, targets: list[PostChannel] | None = None) -> bool:
    if targets is None:
        targets = list(post.targets.select_related("channel"))
    return access.can_approve(post.unit_id) and all(access.can_approve(t.channel.unit_id) for t in targets)


def _publishes_directly(access: Access, form: PostForm) -> bool:
    """Whether "submit" schedules at once for this user and unit, whichever of their pages they choose."""
    unit = form.selected_unit()
    return unit is not None and access.may_publish_directly(unit, access.write_units)


def _writable_or_404(request: HttpRequest, pk: int, access: Access) -> Post:
    """A post the user may see (else 404) and write (else 403), read again with its unit and system."""
    post = _visible_or_404(request, pk)
    if not access.can_write(post.unit_id):
        raise PermissionDenied(_("You cannot edit posts of this unit."))
    return Post.objects.select_related("unit__system").get(pk=post.pk)


def _require_writer(request: HttpRequest) -> Access:
    access = access_for(request.user)
    if not access.write_units:
        raise PermissionDenied(_("You cannot write posts."))
    return access


# --- list ---------------------------------------------------------------------------------------
@login_required
@require_GET
def post_list(request: HttpRequest) -> HttpResponse:
    access = access_for(request.user)
    filters = PostListFilterForm(request.GET or None, user=request.user)
    tz = system_timezone(access)
    qs = filters.apply_all(post_qs_for_lists(request.user), tz).order_by(
        F("publish_at").desc(nulls_first=True), "-id"
    )
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "publishing/post_list.html", {
        "filters": filters, "page_obj": page, "posts": page.object_list, "can_compose": bool(access.write_units),
        "system_tz": tz.key,
    })


# --- composer -----------------------------------------------------------------------------------
def _initial_from_query(request: HttpRequest, access: Access) -> dict[str, Any]:
    """Prefill from links such as /posts/new/?event=3&kind=afisha or ?date=2025-03-01 (calendar)."""
    initial: dict[str, Any] = {}
    kind = request.GET.get("kind", "")
    if kind in Post.Kind.values:
        initial["kind"] = kind
    event_id = id_or_none(request.GET.get("event"))
    if event_id is not None:
        event = events_visible(request.user).filter(pk=event_id).first()
        if event is not None:
            initial["event"] = event.pk
            if access.can_write(event.unit_id):
                initial["unit"] = event.unit_id
    day = day_or_none(request.GET.get("date"))
    if day is not None:
        initial["publish_at"] = datetime.combine(day, time(10, 0))
    unit_id = id_or_none(request.GET.get("unit"))
    if unit_id is not None and access.can_write(unit_id):
        initial["unit"] = unit_id
    return initial


def _save(request: HttpRequest, form: PostForm, post: Post | None) -> Post | None:
    """Write the post through ``compose.post_compose`` (photos, post, repeat rule, submission: all or nothing).
    What the networks will edit is kept in ``request.filial_edit``."""
    try:
        composed = compose.post_compose(
            actor=request.user, data=form.post_data(), photos=form.cleaned_data.get("photos") or [],
            repeat=form.repeat_rule() if form.repeats else compose.KEEP,
            submit=request.POST.get("action", "draft") == "submit", post=post)
    except (ValidationError, PermissionDenied) as exc:
        form.add_service_errors(exc if isinstance(exc, ValidationError) else ValidationError(str(exc)))
        if form.cleaned_data.get("photos"):
            form.add_error("photos", _("Nothing was saved: choose the photos again."))
        return None
    if composed.edit is not None:
        request.filial_edit = composed.edit  # type: ignore[attr-defined]
    return composed.post


def _edit_message(request: HttpRequest) -> str:
    """After saving a post that is on pages already: where the change goes and where it cannot."""
    result: edits.EditResult | None = getattr(request, "filial_edit", None)
    if result is None or not result.plan:
        return ""
    parts = []
    if result.edited:
        parts.append(_("It will be edited on: %(pages)s.") % {
            "pages": ", ".join(r.delivery.channel.name for r in result.edited)})
    for row in result.not_edited:
        parts.append(_("Not on “%(page)s”: %(why)s.") % {"page": row.delivery.channel.name,
                                                         "why": "; ".join(row.problems)})
    for row in result.edited:
        if row.notes:
            parts.append(_("On “%(page)s”: %(notes)s.") % {"page": row.delivery.channel.name,
                                                           "notes": "; ".join(row.notes)})
    return " ".join(parts)


def _saved_message(post: Post, created: bool) -> str:
    if post.state == Post.State.PENDING:
        return _("The post is waiting for approval.")
    if post.state == Post.State.SCHEDULED:
        return _("The post is scheduled.")
    return _("Draft saved.") if created else _("Changes saved.")


def _preview_context(request: HttpRequest, form: PostForm) -> dict[str, Any]:
    """Previews of the composer's current input; new photos are counted from the upload or the browser's hint."""
    uploaded = len(request.FILES.getlist("photos")) if request.method == "POST" else 0
    hint = request.POST.get("photos_selected", "") if request.method == "POST" else ""
    new_photos = uploaded or (int(hint) if hint.isdigit() else 0)
    return {"previews": previews.for_form(form, new_photos=new_photos), "photos_not_kept": bool(uploaded)}


def _composer(request: HttpRequest, form: PostForm, post: Post | None, access: Access,
              previewing: bool = False, slot_note: str = "", slot_found: bool = False) -> HttpResponse:
    unit = form.selected_unit()
    failed = form.is_bound and bool(form.errors) and not previewing
    return render(request, "publishing/post_form.html", {
        "form": form, "post": post, "channel_groups": form.channel_groups(),
        "tz_name": unit.tz_name if unit else settings.TIME_ZONE,
        "publishes_directly": _publishes_directly(access, form),
        "submittable": post is None or post.state in {Post.State.DRAFT, Post.State.RETURNED},
        "existing_media": form.existing_media,
        "edit_plan": edits.edit_plan(post) if post is not None else [],
        "series": series_services.series_of(post) if post is not None else None,
        "slot_note": slot_note, "slot_found": slot_found,
        **_preview_context(request, form),
    }, status=400 if failed else 200)


def _next_slot(request: HttpRequest, post: Post | None) -> tuple[PostForm, str, bool]:
    """The composer's "next free slot": the form with its time set to the earliest slot free on every chosen page
    (in the unit's zone), and a sentence saying what was found."""
    form = PostForm(request.POST, request.FILES, user=request.user, post=post)
    chosen = {str(v) for v in request.POST.getlist("channels")}
    if post is not None and form.fields["channels"].disabled:
        chosen = {str(pk) for pk in post.targets.values_list("channel_id", flat=True)}
    pages = [c for c in form.channel_list if str(c.pk) in chosen]
    unit = form.selected_unit()
    if not pages:
        return form, _("Choose the pages first."), False
    found = slots.next_free_slot(request.user, pages, exclude_post_id=post.pk if post else None)
    if found is None:
        return form, _("No free posting slot on the chosen pages in the next %(n)d weeks (set the pages' posting "
                       "times in Pages).") % {"n": slots.SEARCH_WEEKS}, False
    tz = unit.tz if unit is not None else found.tzinfo
    local = found.astimezone(tz)
    data = request.POST.copy()
    data["publish_at"] = local.strftime(LOCAL_FORMAT)
    form = PostForm(data, request.FILES, user=request.user, post=post)
    return form, _("Next free slot: %(when)s (%(tz)s).") % {"when": local.strftime("%d.%m.%Y %H:%M"),
                                                            "tz": getattr(tz, "key", str(tz))}, True


def _slot_requested(request: HttpRequest) -> bool:
    return request.method == "POST" and request.POST.get("action") == "next_slot"


def _previewing(request: HttpRequest) -> bool:
    """The composer's "Preview" button (the no-JavaScript way to see previews): re-render, save nothing."""
    return request.method == "POST" and request.POST.get("action") == "preview"


@login_required
@require_http_methods(["GET", "POST"])
def post_create(request: HttpRequest) -> HttpResponse:
    access = _require_writer(request)
    if _slot_requested(request):
        form, note, found = _next_slot(request, None)
        return _composer(request, form, None, access, previewing=True, slot_note=note, slot_found=found)
    if _previewing(request):
        form = PostForm(request.POST, request.FILES, user=request.user)
        return _composer(request, form, None, access, previewing=True)
    if request.method == "POST":
        form = PostForm(request.POST, request.FILES, user=request.user)
        if form.is_valid():
            post = _save(request, form, None)
            if post is not None:
                messages.success(request, _saved_message(post, created=True))
                return redirect("publishing:post_detail", pk=post.pk)
    else:
        form = PostForm(user=request.user, initial=_initial_from_query(request, access))
    return _composer(request, form, None, access)


@login_required
@require_http_methods(["GET", "POST"])
def post_edit(request: HttpRequest, pk: int) -> HttpResponse:
    access = access_for(request.user)
    post = _writable_or_404(request, pk, access)
    if not edits.may_edit(request.user, post):
        messages.error(request, _("This post can no longer be edited.") if post.state not in edits.EDITABLE_STATES
                       else _("Only someone who may publish without approval can change a post that is already "
                              "on its pages."))
        return redirect("publishing:post_detail", pk=post.pk)
    if _slot_requested(request):
        form, note, found = _next_slot(request, post)
        return _composer(request, form, post, access, previewing=True, slot_note=note, slot_found=found)
    if _previewing(request):
        form = PostForm(request.POST, request.FILES, user=request.user, post=post)
        return _composer(request, form, post, access, previewing=True)
    if request.method == "POST":
        form = PostForm(request.POST, request.FILES, user=request.user, post=post)
        if form.is_valid():
            saved = _save(request, form, post)
            if saved is not None:
                messages.success(request, " ".join(filter(None, [_saved_message(saved, created=False),
                                                                 _edit_message(request)])))
                return redirect("publishing:post_detail", pk=saved.pk)
    else:
        form = PostForm(user=request.user, post=post)
    return _composer(request, form, post, access)


@login_required
@require_POST
def post_next_slot(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    """The composer's "next free slot" button through htmx: the time card with the slot filled in."""
    access = _require_writer(request)
    post = None if pk is None else _writable_or_404(request, pk, access)
    form, note, found = _next_slot(request, post)
    unit = form.selected_unit()
    return render(request, "publishing/_post_when.html", {
        "form": form, "post": post, "slot_note": note, "slot_found": found,
        "tz_name": unit.tz_name if unit else settings.TIME_ZONE,
    })


@login_required
@require_POST
def series_stop(request: HttpRequest, pk: int) -> HttpResponse:
    post = _visible_or_404(request, pk)
    found = series_services.series_of(post)
    if found is None:
        raise Http404
    try:
        series_services.series_stop(actor=request.user, series=found)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("The series is stopped: no more posts will be made from it."))
    return redirect("publishing:post_detail", pk=pk)


@login_required
@require_POST
def post_preview(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    """The composer's previews as a partial (htmx): the same form data, nothing saved."""
    access = _require_writer(request)
    post = None if pk is None else _writable_or_404(request, pk, access)
    form = PostForm(request.POST, user=request.user, post=post)
    return render(request, "publishing/_post_previews.html", _preview_context(request, form))


# --- detail and actions ---------------------------------------------------------------------------
def _history(post: Post) -> list[dict[str, Any]]:
    entries = (AuditEntry.objects.filter(object_type="publishing.post", object_id=str(post.pk))
               .select_related("actor").order_by("at", "id"))
    rows = []
    for entry in entries:
        changes = entry.changes if isinstance(entry.changes, dict) else {}
        details = ""
        if entry.action == "post.update":
            details = ", ".join(str(FIELD_LABELS.get(k, k)) for k in changes)
        elif entry.action == "post.return":
            details = str(changes.get("comment", ""))
        rows.append({"entry": entry, "label": ACTION_LABELS.get(entry.action, entry.action), "details": details})
    return rows


def _detail_context(request: HttpRequest, post: Post, review_form: ReviewForm | None = None) -> dict[str, Any]:
    access = access_for(request.user)
    post = (
        Post.objects.select_related("unit__system", "author", "event", "reviewed_by")
        .prefetch_related(
            Prefetch("targets", queryset=PostChannel.objects.select_related("channel").order_by("channel__name")),
            Prefetch("post_media", queryset=PostMedia.objects.select_related("media").order_by("position")),
            Prefetch("deliveries", queryset=Delivery.objects.select_related("channel").order_by("due_at", "id")
                     .prefetch_related(Prefetch("edits", queryset=DeliveryEdit.objects.order_by("-requested_at",
                                                                                                 "-id")))),
        )
        .get(pk=post.pk)
    )
    targets = list(post.targets.all())
    poll = Poll.objects.filter(post=post).prefetch_related("answers").first()
    deliveries = list(post.deliveries.all())
    can_write = access.can_write(post.unit_id)
    gone_out = any(d.state not in {Delivery.State.SCHEDULED, Delivery.State.CANCELLED} for d in deliveries)
    pending = post.state == Post.State.PENDING
    series = series_services.series_of(post)
    for d in deliveries:
        d.last_edit = next(iter(d.edits.all()), None)  # type: ignore[attr-defined]
    return {
        "edit_plan": edits.edit_plan(post),
        "series": series,
        "series_text": series_services.describe(series) if series is not None else "",
        "series_upcoming": series_services.upcoming(series) if series is not None else [],
        "series_skipped": series_services.skipped(series) if series is not None else [],
        "can_stop_series": series is not None and series.state == PostSeries.State.ACTIVE
        and access.can_write(series.template.unit_id),
        "post": post, "targets": targets, "poll": poll, "deliveries": deliveries,
        "photos": [pm.media for pm in post.post_media.all()],
        "history": _history(post),
        "can_edit": can_write and edits.may_edit(request.user, post),
        "can_submit": can_write and post.state in {Post.State.DRAFT, Post.State.RETURNED},
        "can_review": pending and _can_approve(access, post, targets),
        "can_cancel": can_write and post.state not in {Post.State.PUBLISHED, Post.State.CANCELLED},
        "can_delete": can_write and not gone_out,
        "review_form": review_form or ReviewForm(),
        "tz_name": post.unit.tz_name,
    }


@login_required
@require_GET
def post_detail(request: HttpRequest, pk: int) -> HttpResponse:
    post = _visible_or_404(request, pk)
    return render(request, "publishing/post_detail.html", _detail_context(request, post))


def _simple_action(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    post = _visible_or_404(request, pk)
    user = request.user
    try:
        if action == "submit":
            post = services.post_submit(actor=user, post=post)
            done = _saved_message(post, created=False)
        elif action == "cancel":
            services.post_cancel(actor=user, post=post)
            done = _("The post is cancelled.")
        else:
            raise Http404
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, done)
    return redirect(_next_url(request, reverse("publishing:post_detail", args=[pk])))


@login_required
@require_POST
def post_submit(request: HttpRequest, pk: int) -> HttpResponse:
    return _simple_action(request, pk, "submit")


@login_required
@require_POST
def post_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    return _simple_action(request, pk, "cancel")


@login_required
@require_POST
def post_delete(request: HttpRequest, pk: int) -> HttpResponse:
    post = _visible_or_404(request, pk)
    try:
        services.post_delete(actor=request.user, post=post)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("publishing:post_detail", pk=pk)
    messages.success(request, _("The post is deleted."))
    return redirect("publishing:post_list")


def _review(request: HttpRequest, pk: int, approve: bool) -> HttpResponse:
    post = _visible_or_404(request, pk)
    form = ReviewForm(request.POST)
    from_queue = request.POST.get("from") == "approvals"
    done = ""
    if form.is_valid():
        comment = form.cleaned_data["comment"]
        try:
            if approve:
                post = services.post_approve(actor=request.user, post=post, comment=comment)
                done = _("Approved: the post is scheduled.")
            else:
                post = services.post_return(actor=request.user, post=post, comment=comment)
                done = _("Returned to the author.")
        except ValidationError as exc:
            if hasattr(exc, "error_dict") and "comment" in exc.error_dict:
                for error in exc.error_dict["comment"]:
                    form.add_error("comment", error)
            else:
                form.add_error(None, exc.messages)
    if from_queue and getattr(request, "htmx", False):
        post = post_qs_for_lists(request.user).get(pk=post.pk)
        return render(request, "publishing/_post_approval.html", {
            "post": post, "form": form, "done": done, "targets": list(post.targets.all()),
        })  # 200 even with errors: htmx swaps only successful responses
    if form.errors:
        if from_queue:
            return _approvals_response(request, failed=(post.pk, form), status=400)
        return render(request, "publishing/post_detail.html", _detail_context(request, post, review_form=form),
                      status=400)
    messages.success(request, done)
    default = reverse("publishing:approvals") if from_queue else reverse("publishing:post_detail", args=[pk])
    return redirect(_next_url(request, default))


@login_required
@require_POST
def post_approve(request: HttpRequest, pk: int) -> HttpResponse:
    return _review(request, pk, approve=True)


@login_required
@require_POST
def post_return(request: HttpRequest, pk: int) -> HttpResponse:
    return _review(request, pk, approve=False)


# --- approvals queue --------------------------------------------------------------------------------
def _approvals_response(request: HttpRequest, failed: tuple[int, ReviewForm] | None = None,
                        status: int = 200) -> HttpResponse:
    access = access_for(request.user)
    if not access.approve_units:
        raise PermissionDenied(_("You do not approve posts."))
    qs = (
        post_qs_for_lists(request.user)
        .filter(state=Post.State.PENDING, unit_id__in=access.approve_units)
        .order_by("created_at", "id")
    )
    rows = []
    for post in qs:
        targets = list(post.targets.all())
        if not _can_approve(access, post, targets):
            continue
        form = failed[1] if failed and failed[0] == post.pk else ReviewForm()
        rows.append({"post": post, "targets": targets, "form": form})
    return render(request, "publishing/approvals.html", {"rows": rows}, status=status)


@login_required
@require_GET
def approvals(request: HttpRequest) -> HttpResponse:
    return _approvals_response(request)


# --- photos -------------------------------------------------------------------------------------------
@login_required
@require_GET
def media_file(request: HttpRequest, key: str, size: str = "original") -> HttpResponseBase:
    """A stored photo (or its resized copy) for those who may see it: its unit's readers or a visible post's."""
    try:
        media_key = uuid.UUID(key)
    except ValueError as exc:
        raise Http404 from exc
    media = media_visible(request.user).filter(key=media_key).first()
    if media is None:
        raise Http404
    return media_response(media, size)


def media_response(media: Media, size: str) -> FileResponse:
    """The stored photo or its resized copy (``thumb``, ``web``; the original until the copy is made)."""
    rendition = media.renditions.get(size) if size in ("thumb", "web") else None
    name = str(rendition or media.file.name or "")
    if not name:
        raise Http404
    try:
        fh = default_storage.open(name, "rb")
    except FileNotFoundError as exc:
        raise Http404 from exc
    content_type = "image/png" if name.endswith(".png") else "image/jpeg"
    response = FileResponse(fh, content_type=content_type)
    response["Cache-Control"] = "private, max-age=86400"
    return response
