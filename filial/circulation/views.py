"""Circulation pages: per unit the library-system link and its sync state, imports (upload → mapping and preview →
run with a progress bar → report), readers and their loans, and the librarians' renewal queue."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from filial.accounts.forms import add_service_errors
from filial.accounts.selectors import access_for
from filial.circulation import imports, selectors, services
from filial.circulation.forms import DecideForm, LinkForm, MappingForm, UploadForm
from filial.circulation.models import ImportJob, Renewal
from filial.circulation.parsers.rows import ImportFileError
from filial.circulation.parsers.tabular import FIELDS
from filial.core.crypto import SecretUnreadable
from filial.core.params import optional_id
from filial.libraries.models import Unit


def _unit(request: HttpRequest, pk: int) -> Unit:
    unit = selectors.circulation_units(request.user).filter(pk=pk).first()
    if unit is None:
        raise Http404
    return unit


def _staff_units(request: HttpRequest) -> Any:
    access = access_for(request.user)
    ids = [u for u in selectors.reader_units(request.user)
           if access.can_write(u) or access.is_admin]
    return Unit.objects.filter(id__in=ids).select_related("system")


@login_required
def index(request: HttpRequest) -> HttpResponse:
    units: list[Any] = list(selectors.circulation_units(request.user).annotate(
        open_loans=Count("loans", filter=Q(loans__returned__isnull=True), distinct=True),
    ))
    if not units:
        raise PermissionDenied(_("You do not work with readers in any unit."))
    access = access_for(request.user)
    queue = dict(selectors.renewal_queue(request.user).values_list("loan__unit_id").annotate(n=Count("id"))
                 .values_list("loan__unit_id", "n"))
    for unit in units:
        unit.queue_count = queue.get(unit.pk, 0)
        try:
            unit.link_info = selectors.link_public(getattr(unit, "circulation_link", None), access)
        except SecretUnreadable:
            unit.link_info = {"adapter": unit.circulation_link.adapter, "sync_state": "failed",
                              "last_error": _("The stored settings cannot be decrypted.")}
    return render(request, "circulation/index.html", {"units": units})


@login_required
def unit_detail(request: HttpRequest, pk: int) -> HttpResponse:
    unit = _unit(request, pk)
    access = access_for(request.user)
    link = selectors.link_for(unit)
    try:
        info = selectors.link_public(link, access)
    except SecretUnreadable:
        info = {"adapter": link.adapter if link else "file", "sync_state": "failed",
                "last_error": _("The stored settings cannot be decrypted.")}
    today = services.unit_today(unit)
    loans = selectors.loans_visible(request.user, unit_id=unit.pk, open_only=True)
    return render(request, "circulation/unit_detail.html", {
        "unit": unit, "info": info, "link": link,
        "can_manage": access.is_admin_of(unit.system_id),
        "is_staff": access.can_write(unit.pk) or access.is_admin_of(unit.system_id),
        "open_count": loans.count(), "overdue_count": loans.filter(due__lt=today).count(),
        "jobs": selectors.imports_visible(request.user, unit_id=unit.pk)[:10],
        "queue_count": selectors.renewal_queue(request.user, unit_id=unit.pk).count(),
        "drop_folder": imports.drop_folder(unit),
    })


@login_required
@require_http_methods(["GET", "POST"])
def link_edit(request: HttpRequest, pk: int) -> HttpResponse:
    unit = _unit(request, pk)
    if not access_for(request.user).is_admin_of(unit.system_id):
        raise PermissionDenied(_("Only an administrator of the library system connects it."))
    link = selectors.link_for(unit)
    try:
        stored = link.settings if link else {}
    except SecretUnreadable:
        stored = {}
    initial = {"adapter": link.adapter if link else "file",
               **{k: v for k, v in stored.items() if k not in selectors.SECRET_KEYS}}
    form = LinkForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.link_set(actor=request.user, unit=unit, data=form.link_data())
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("The library-system link is saved."))
            return redirect("circulation:unit_detail", pk=unit.pk)
    return render(request, "circulation/link_form.html", {
        "unit": unit, "form": form, "secrets_stored": [k for k in selectors.SECRET_KEYS if stored.get(k)]})


@login_required
@require_POST
def unit_sync(request: HttpRequest, pk: int) -> HttpResponse:
    unit = _unit(request, pk)
    counts = services.circulation_sync(unit, actor=request.user)
    link = selectors.link_for(unit)
    if link is not None and link.last_error:
        error = selectors.link_error(link, access_for(request.user))["last_error"]
        messages.error(request, _("Synchronisation failed: %(error)s") % {"error": error})
    else:
        messages.success(request, _("Synchronised: %(readers)s reader(s), %(loans)s loan(s), %(files)s file(s).")
                         % counts)
    return redirect("circulation:unit_detail", pk=unit.pk)


# --- Imports --------------------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def import_new(request: HttpRequest) -> HttpResponse:
    units = _staff_units(request)
    if not units.exists():
        raise PermissionDenied(_("You do not import loans for any unit."))
    initial = {"unit": request.GET.get("unit")} if request.GET.get("unit") else {}
    form = UploadForm(request.POST or None, request.FILES or None, units=units, initial=initial)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        fmt = form.cleaned_data["format"] or imports.format_for(upload.name)
        if not fmt:
            form.add_error("format", _("Choose the format: the file name does not say it."))
        else:
            try:
                job = imports.import_create(actor=request.user, unit=form.cleaned_data["unit"], fmt=fmt,
                                            file=upload, name=upload.name)
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                return redirect("circulation:import_detail", pk=job.pk)
    return render(request, "circulation/import_new.html", {"form": form})


def _job(request: HttpRequest, pk: int) -> ImportJob:
    job = selectors.import_get(request.user, pk)
    if job is None:
        raise Http404
    return job


@login_required
@require_http_methods(["GET", "POST"])
def import_detail(request: HttpRequest, pk: int) -> HttpResponse:
    job = _job(request, pk)
    if job.state != ImportJob.State.PENDING or job.queued_at is not None:
        return render(request, "circulation/import_detail.html", {"job": job, "fields": FIELDS})
    context: dict[str, Any] = {"job": job, "fields": FIELDS}
    try:
        preview = imports.import_preview(job)
    except ImportFileError as exc:
        context["file_error"] = str(exc)
        return render(request, "circulation/import_mapping.html", context)
    form = MappingForm(request.POST or request.GET or None, headers=preview["headers"],
                       initial={f"col_{k}": str(v) for k, v in preview["mapping"].items()})
    if form.is_bound and form.is_valid():
        mapping = form.mapping()
        try:
            preview = imports.import_preview(job, mapping if job.format != ImportJob.Format.IRBIS else None)
        except ImportFileError as exc:
            form.add_error(None, str(exc))
        else:
            if request.method == "POST":
                if preview["errors"] and not form.cleaned_data["import_valid_rows"]:
                    form.add_error(None, _("Some rows have errors (see the report below). Fix the file, or choose "
                                           "to import the valid rows."))
                else:
                    try:
                        imports.import_start(actor=request.user, job=job, mapping=mapping or None,
                                             import_valid_rows=form.cleaned_data["import_valid_rows"],
                                             full=form.cleaned_data["full"])
                    except ValidationError as exc:
                        add_service_errors(form, exc)
                    else:
                        return redirect("circulation:import_detail", pk=job.pk)
    context.update({"form": form, "preview": preview, "mapped": preview.get("mapping", {})})
    return render(request, "circulation/import_mapping.html", context)


@login_required
def import_progress(request: HttpRequest, pk: int) -> HttpResponse:
    return render(request, "circulation/_import_progress.html", {"job": _job(request, pk)})


# --- Readers, loans, renewals ---------------------------------------------------------------------


@login_required
def reader_list(request: HttpRequest) -> HttpResponse:
    units = selectors.circulation_units(request.user)
    if not units.exists():
        raise PermissionDenied(_("You do not work with readers in any unit."))
    unit_id = request.GET.get("unit", "")
    q = request.GET.get("q", "").strip()
    readers = selectors.readers_visible(request.user, unit_id=optional_id(unit_id, "unit"), q=q)
    page = Paginator(readers.order_by("name", "card"), 50).get_page(request.GET.get("page"))
    return render(request, "circulation/reader_list.html", {
        "page_obj": page, "readers": page.object_list, "units": units, "unit_id": unit_id, "q": q})


@login_required
def reader_detail(request: HttpRequest, pk: int) -> HttpResponse:
    reader = selectors.reader_get(request.user, pk)
    if reader is None:
        raise Http404
    loans: list[Any] = list(selectors.loans_visible(request.user, reader_id=reader.pk).order_by("returned", "due"))
    today = services.unit_today(reader.unit)
    access = access_for(request.user)
    for loan in loans:
        loan.overdue_days = max((today - loan.due).days, 0) if loan.returned is None else 0
        loan.can_renew = loan.returned is None and (access.can_write(loan.unit_id)
                                                    or access.is_admin_of(reader.system_id))
    renewals: list[Any] = list(Renewal.objects.filter(loan__reader=reader)
                               .select_related("loan", "loan__unit", "decided_by")[:20])
    for renewal in renewals:
        renewal.shown_reason = selectors.renewal_reason(renewal, access)
    return render(request, "circulation/reader_detail.html", {"reader": reader, "loans": loans,
                                                              "renewals": renewals})


@login_required
@require_POST
def loan_renew(request: HttpRequest, pk: int) -> HttpResponse:
    loan = selectors.loan_get(request.user, pk)
    if loan is None:
        raise Http404
    try:
        renewal = services.loan_renew(loan, source=Renewal.Channel.UI, actor=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        if renewal.state == Renewal.State.GRANTED:
            messages.success(request, _("Renewed until %(date)s.") % {"date": renewal.new_due.strftime("%d.%m.%Y")
                                                                       if renewal.new_due else ""})
        elif renewal.state == Renewal.State.REFUSED:
            messages.warning(request, _("The library system refused: %(reason)s") % {"reason": renewal.reason})
        else:
            messages.info(request, _("The request is in the librarians' renewal queue."))
    return redirect("circulation:reader_detail", pk=loan.reader_id)


@login_required
def renewal_queue(request: HttpRequest) -> HttpResponse:
    if not selectors.circulation_units(request.user).exists():
        raise PermissionDenied(_("You do not work with readers in any unit."))
    queue: list[Any] = list(selectors.renewal_queue(request.user)[:200])
    access = access_for(request.user)
    for renewal in queue:
        renewal.form = DecideForm(prefix=f"r{renewal.pk}")
        renewal.shown_reason = selectors.renewal_reason(renewal, access)
    return render(request, "circulation/renewal_queue.html", {"queue": queue})


@login_required
@require_POST
def renewal_decide(request: HttpRequest, pk: int) -> HttpResponse:
    renewal = get_object_or_404(selectors.renewal_queue(request.user), pk=pk)
    form = DecideForm(request.POST, prefix=f"r{pk}")
    if form.is_valid():
        try:
            services.renewal_decide(actor=request.user, renewal=renewal,
                                    grant=form.cleaned_data["decision"] == "grant",
                                    new_due=form.cleaned_data["new_due"], reason=form.cleaned_data["reason"])
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, _("The decision is saved; the reader will be told."))
    else:
        messages.error(request, _("Choose renew or refuse."))
    return redirect("circulation:renewal_queue")
