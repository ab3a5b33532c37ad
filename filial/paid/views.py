"""Paid-services pages: orders (the list with filters, the desk's fast form, edit, delete, the journal's import with a
preview), the catalogue, customers (erasure), categories, tracked links and promo codes, the report (CSV/XLSX), the
advertiser's requisites and the export of marked publications; and the public ``/go/<code>``."""

from __future__ import annotations

import secrets
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core import signing
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.paginator import Paginator
from django.db.models import Sum
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST, require_safe

from filial.accounts.forms import add_service_errors
from filial.accounts.selectors import access_for
from filial.channels.models import Channel
from filial.circulation.parsers.rows import ImportFileError
from filial.core.params import id_or_none, optional_id
from filial.libraries.models import LibrarySystem
from filial.paid import exports, imports, selectors, services
from filial.paid.forms import (
    AdvertiserForm,
    CategoryForm,
    ImportForm,
    LinkForm,
    OrderForm,
    PeriodForm,
    PromoForm,
    ServiceForm,
)
from filial.paid.models import CustomerCategory, Order, Service
from filial.publishing.models import Post

PAGE_SIZE = 50


def _require_paid(request: HttpRequest) -> Any:
    access = access_for(request.user)
    if not access.paid_units:
        raise PermissionDenied(_("Paid services are kept by the units' editors, methodologists and administrators."))
    return access


def _order_form(request: HttpRequest, data: Any = None, **kwargs: Any) -> OrderForm:
    systems = selectors.paid_systems(request.user)
    return OrderForm(
        data, units=selectors.selling_units(request.user),
        services=selectors.services_visible(request.user, active_only=True).filter(
            unit_id__in=access_for(request.user).write_units),
        categories=CustomerCategory.objects.filter(system__in=systems).order_by("position", "name"),
        customers=selectors.customers_visible(request.user).exclude(name="").filter(category__is_individual=False),
        channels=Channel.objects.filter(unit__system__in=systems).order_by("unit__path", "name"),
        promos=selectors.promos_visible(request.user), **kwargs)


@login_required
@require_GET
def order_list(request: HttpRequest) -> HttpResponse:
    access = _require_paid(request)
    period = PeriodForm(request.GET or None)
    start = period.cleaned_data.get("start") if period.is_valid() else None
    end = period.cleaned_data.get("end") if period.is_valid() else None
    filters = {"unit_id": optional_id(request.GET.get("unit"), "unit"),
               "category_id": optional_id(request.GET.get("category"), "category"),
               "service_id": optional_id(request.GET.get("service"), "service"),
               "source_id": optional_id(request.GET.get("source"), "source")}
    orders = selectors.orders_visible(request.user, start=start, end=end, **filters)
    page = Paginator(orders, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "paid/order_list.html", {
        "page_obj": page, "orders": page.object_list, "period": period, "filters": filters,
        "sum": orders.aggregate(s=Sum("total"))["s"],
        "units": selectors.paid_units(request.user), "categories": selectors.categories_for(request.user),
        "services": selectors.services_visible(request.user),
        "channels": Channel.objects.filter(unit__system__in=selectors.paid_systems(request.user)).order_by("name"),
        "may_sell": bool(access.write_units),
    })


@login_required
@require_http_methods(["GET", "POST"])
def order_new(request: HttpRequest) -> HttpResponse:
    access = _require_paid(request)
    if not access.write_units:
        raise PermissionDenied(_("You do not record orders for any unit."))
    initial: dict[str, Any] = {}
    if (unit_id := id_or_none(request.GET.get("unit"))) is not None:
        initial["unit"] = unit_id
    individuals = selectors.categories_for(request.user).filter(is_individual=True).first()
    if individuals is not None:  # the desk's usual customer: a person who came in
        initial["category"] = individuals.pk
    form = _order_form(request, request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            order = services.order_create(actor=request.user, data=form.order_data())
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("Order recorded: %(service)s, %(total)s ₽.")
                             % {"service": order.service.name, "total": order.total})
            return redirect(f"{request.path}?unit={order.unit_id}")
    recent = selectors.orders_visible(request.user).filter(unit_id__in=access.write_units)[:10]
    return render(request, "paid/order_form.html", {"form": form, "recent": recent, "order": None})


def _order(request: HttpRequest, pk: int) -> Order:
    order = selectors.orders_visible(request.user).filter(pk=pk).first()
    if order is None:
        raise Http404
    if not access_for(request.user).may_sell(order.unit_id):
        raise PermissionDenied(_("You do not record orders for this unit."))
    return order


@login_required
@require_http_methods(["GET", "POST"])
def order_edit(request: HttpRequest, pk: int) -> HttpResponse:
    order = _order(request, pk)
    initial = {"unit": order.unit_id, "service": order.service_id, "quantity": order.quantity,
               "total": order.total, "category": order.customer.category_id, "date": order.date,
               "customer": order.customer_id if order.customer.name else None,
               "source_channel": order.source_channel_id,
               "promo_code": order.promo_code.code if order.promo_code else "", "note": order.note}
    form = _order_form(request, request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.order_data()
        if data.customer is None and data.new_customer is not None and not data.new_customer.name \
                and data.new_customer.category == order.customer.category:
            data.customer, data.new_customer = order.customer, None  # the same anonymous person
        try:
            services.order_update(actor=request.user, order=order, data=data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("The order is saved."))
            return redirect("paid:order_list")
    return render(request, "paid/order_form.html", {"form": form, "recent": [], "order": order})


@login_required
@require_POST
def order_delete(request: HttpRequest, pk: int) -> HttpResponse:
    order = _order(request, pk)
    services.order_delete(actor=request.user, order=order)
    messages.success(request, _("The order is deleted."))
    return redirect("paid:order_list")


# --- the journal's import ---------------------------------------------------------------------------------

IMPORT_SALT = "filial.paid.import"


def _stash(request: HttpRequest, data: bytes, filename: str) -> str:
    name = default_storage.save(f"paid-imports/{secrets.token_hex(12)}", ContentFile(data))
    return signing.dumps({"name": name, "user": request.user.pk, "filename": filename[:100]}, salt=IMPORT_SALT)


def _unstash(request: HttpRequest, token: str) -> tuple[str, bytes, str]:
    try:
        stash = signing.loads(token, salt=IMPORT_SALT, max_age=3600)
    except signing.BadSignature:
        raise ImportFileError(_("The checked file has expired; upload it again.")) from None
    if stash.get("user") != request.user.pk or not str(stash.get("name", "")).startswith("paid-imports/"):
        raise ImportFileError(_("The checked file has expired; upload it again."))
    try:
        with default_storage.open(stash["name"], "rb") as fh:
            return stash["name"], fh.read(), stash["filename"]
    except OSError:
        raise ImportFileError(_("The checked file has expired; upload it again.")) from None


@login_required
@require_http_methods(["GET", "POST"])
def order_import(request: HttpRequest) -> HttpResponse:
    """Upload → a preview of every row (or every bad row) → import all of them, or nothing."""
    access = _require_paid(request)
    if not access.write_units:
        raise PermissionDenied(_("You do not record orders for any unit."))
    form = ImportForm(request.POST or None, request.FILES or None, units=selectors.selling_units(request.user))
    context: dict[str, Any] = {"form": form}
    if request.method == "POST" and form.is_valid():
        unit = form.cleaned_data["unit"]
        try:
            if form.cleaned_data.get("token") and request.POST.get("action") == "import":
                name, data, filename = _unstash(request, form.cleaned_data["token"])
                parsed = imports.parse_rows(imports.read_table(data, filename), unit)
                if parsed.errors:
                    raise ImportFileError(_("The file has errors; nothing was imported."))
                try:
                    orders = services.orders_import(actor=request.user, unit=unit, rows=parsed.rows)
                except ValidationError as exc:
                    raise ImportFileError(_("A row was refused (%(reason)s); nothing was imported.")
                                          % {"reason": "; ".join(exc.messages)}) from exc
                default_storage.delete(name)
                messages.success(request, _("%(n)s orders imported.") % {"n": len(orders)})
                return redirect("paid:order_list")
            upload = form.cleaned_data.get("file")
            if upload is None:
                raise ImportFileError(_("Choose the journal's file."))
            if upload.size > imports.MAX_FILE_BYTES:
                raise ImportFileError(_("The file is larger than 10 MB; nothing was imported. Split it into smaller "
                                        "files."))
            data = upload.read()
            parsed = imports.parse_rows(imports.read_table(data, upload.name or ""), unit)
            context.update(parsed=parsed, rows=parsed.rows[:200], unit=unit,
                           total=sum((r.total if r.total is not None else r.service.price * r.quantity
                                      for r in parsed.rows), start=0))
            if not parsed.errors:
                context["token"] = _stash(request, data, upload.name or "")
        except ImportFileError as exc:
            form.add_error(None, str(exc))
    return render(request, "paid/import.html", context)


# --- catalogue, customers, categories ---------------------------------------------------------------------


@login_required
@require_GET
def service_list(request: HttpRequest) -> HttpResponse:
    access = _require_paid(request)
    items = list(selectors.services_visible(request.user))
    for s in items:
        s.may_edit = access.may_price(s.unit_id)  # type: ignore[attr-defined]
    return render(request, "paid/service_list.html", {
        "services": items, "may_add": bool(access.approve_units & access.paid_units)})


@login_required
@require_http_methods(["GET", "POST"])
def service_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    access = _require_paid(request)
    service: Service | None = None
    if pk is not None:
        service = selectors.services_visible(request.user).filter(pk=pk).first()
        if service is None:
            raise Http404
        if not access.may_price(service.unit_id):
            raise PermissionDenied(_("Only the unit's methodologist or an administrator changes its paid services."))
    elif not access.approve_units:
        raise PermissionDenied(_("Only the unit's methodologist or an administrator changes its paid services."))
    units = selectors.paid_units(request.user).filter(id__in=access.approve_units)
    initial = {} if service is None else {"unit": service.unit_id, "name": service.name, "measure": service.measure,
                                          "price": service.price, "active": service.active}
    form = ServiceForm(request.POST or None, units=units, initial=initial)
    if service is not None:
        form.fields["unit"].disabled = True
    if request.method == "POST" and form.is_valid():
        c = form.cleaned_data
        try:
            services.service_save(actor=request.user, unit=service.unit if service else c["unit"], name=c["name"],
                                  price=c["price"], measure=c["measure"], active=c["active"], service=service)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("The service is saved."))
            return redirect("paid:service_list")
    return render(request, "paid/service_form.html", {"form": form, "service": service})


@login_required
@require_GET
def customer_list(request: HttpRequest) -> HttpResponse:
    access = _require_paid(request)
    q = (request.GET.get("q") or "").strip()[:100]
    category = optional_id(request.GET.get("category"), "category")
    customers = selectors.customers_visible(request.user, category_id=category, query=q)
    page = Paginator(customers, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "paid/customer_list.html", {
        "page_obj": page, "customers": page.object_list, "q": q, "category": category,
        "categories": selectors.categories_for(request.user), "may_erase": bool(access.approve_units)})


@login_required
@require_POST
def customer_erase(request: HttpRequest, pk: int) -> HttpResponse:
    _require_paid(request)
    customer = selectors.customers_visible(request.user).filter(pk=pk).first()
    if customer is None:
        raise Http404
    deleted = services.customer_erase(actor=request.user, customer=customer)
    messages.success(request, _("The customer is deleted.") if deleted else
                     _("The customer's name and contact are erased; their orders stay, anonymous."))
    return redirect("paid:customer_list")


@login_required
@require_http_methods(["GET", "POST"])
def category_list(request: HttpRequest) -> HttpResponse:
    access = _require_paid(request)
    systems = [s for s in selectors.paid_systems(request.user) if access.is_admin_of(s.pk)]
    form = CategoryForm(request.POST or None)
    if request.method == "POST":
        if not systems:
            raise PermissionDenied(_("Only an administrator changes the list of customer categories."))
        if form.is_valid():
            try:
                services.category_save(actor=request.user, system=systems[0], **form.cleaned_data)
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, _("The category is added."))
                return redirect("paid:category_list")
    return render(request, "paid/category_list.html", {
        "categories": selectors.categories_for(request.user), "form": form if systems else None})


# --- attribution ------------------------------------------------------------------------------------------


@login_required
@require_GET
def attribution(request: HttpRequest) -> HttpResponse:
    _require_paid(request)
    return render(request, "paid/attribution.html", {
        "links": selectors.links_visible(request.user)[:200], "promos": selectors.promos_visible(request.user)[:200],
        "base": request.build_absolute_uri("/go/")})


def _attribution_target(request: HttpRequest) -> tuple[Post | None, Any]:
    access = access_for(request.user)
    post_id = id_or_none(request.GET.get("post") or request.POST.get("post"))
    post = None
    if post_id is not None:
        post = Post.objects.filter(pk=post_id, unit_id__in=access.write_units).select_related("unit").first()
        if post is None:
            raise Http404
    channels = Channel.objects.filter(unit_id__in=access.write_units).select_related("unit").order_by("name")
    if post is not None:
        channels = channels.filter(pk__in=post.targets.values("channel_id"))
    return post, channels


@login_required
@require_http_methods(["GET", "POST"])
def link_new(request: HttpRequest) -> HttpResponse:
    access = _require_paid(request)
    if not access.write_units:
        raise PermissionDenied(_("You do not write for any page."))
    post, channels = _attribution_target(request)
    form = LinkForm(request.POST or None, channels=channels)
    if request.method == "POST" and form.is_valid():
        c = form.cleaned_data
        try:
            link = services.link_create(actor=request.user, target=c["target"], channel=c.get("channel"), post=post,
                                        code=c.get("code") or "")
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("The link is ready: %(url)s")
                             % {"url": request.build_absolute_uri(f"/go/{link.code}")})
            return redirect("paid:attribution")
    return render(request, "paid/link_form.html", {"form": form, "post": post, "kind": "link"})


@login_required
@require_http_methods(["GET", "POST"])
def promo_new(request: HttpRequest) -> HttpResponse:
    access = _require_paid(request)
    if not access.write_units:
        raise PermissionDenied(_("You do not write for any page."))
    post, channels = _attribution_target(request)
    form = PromoForm(request.POST or None, channels=channels)
    if request.method == "POST" and form.is_valid():
        try:
            services.promo_create(actor=request.user, code=form.cleaned_data["code"],
                                  channel=form.cleaned_data.get("channel"), post=post)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("The promo code is saved."))
            return redirect("paid:attribution")
    return render(request, "paid/link_form.html", {"form": form, "post": post, "kind": "promo"})


@never_cache
@require_safe
def go(request: HttpRequest, code: str) -> HttpResponse:
    """Public, no login: count the visit and go to the link's stored address (set by staff: no open redirect).
    A HEAD request (a link checker, a messenger's preview bot) is answered without counting."""
    target = selectors.link_target(code) if request.method == "HEAD" else services.link_visit(code)
    if target is None:
        raise Http404
    response = HttpResponseRedirect(target)
    response["Referrer-Policy"] = "no-referrer"
    response["X-Robots-Tag"] = "noindex"
    return response


# --- the report, the advertiser, the marked publications -------------------------------------------------


def _download(body: bytes, name: str, fmt: str) -> HttpResponse:
    content_type = ("text/csv; charset=utf-8" if fmt == "csv" else
                    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    response = HttpResponse(body, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{name}.{fmt}"'
    return response


@login_required
@require_GET
def report(request: HttpRequest) -> HttpResponse:
    _require_paid(request)
    period = PeriodForm(request.GET or None)
    start, end = period.period()
    units = selectors.paid_units(request.user)
    unit_id = optional_id(request.GET.get("unit"), "unit")
    if unit_id is not None:
        units = units.filter(pk=unit_id)
    categories = selectors.customer_summary(units, start, end)
    sources = selectors.source_summary(units, start, end)
    fmt = request.GET.get("format")
    if fmt in ("csv", "xlsx"):
        rows = exports.report_rows(start, end, categories, sources)
        body = exports.to_csv(rows) if fmt == "csv" else exports.to_xlsx(rows, _("Paid services"))
        return _download(body, f"paid-services-{start:%Y%m%d}-{end:%Y%m%d}", fmt)
    return render(request, "paid/report.html", {
        "period": period, "start": start, "end": end, "categories": categories, "sources": sources,
        "units": selectors.paid_units(request.user), "unit_id": unit_id,
        "totals": {"customers": sum(c.customers for c in categories), "orders": sum(c.orders for c in categories),
                   "total": sum((c.total for c in categories), start=0)},
        "query": request.GET.urlencode()})


@login_required
@require_http_methods(["GET", "POST"])
def advertiser(request: HttpRequest) -> HttpResponse:
    access = access_for(request.user)
    system = LibrarySystem.objects.filter(pk__in=access.admin_systems).order_by("pk").first()
    if system is None:
        raise PermissionDenied(_("Only an administrator sets the library's requisites."))
    form = AdvertiserForm(request.POST or None, initial={"legal_name": system.legal_name, "inn": system.inn})
    if request.method == "POST" and form.is_valid():
        try:
            services.advertiser_update(actor=request.user, system=system, **form.cleaned_data)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("The requisites are saved."))
            return redirect("paid:advertiser")
    return render(request, "paid/advertiser.html", {"form": form, "system": system})


@login_required
@require_GET
def marked_export(request: HttpRequest) -> HttpResponse:
    """Marked publications for the advertising-data operator: a page, or the file (``?format=csv|xlsx``)."""
    access = access_for(request.user)
    if not access.approve_units:
        raise PermissionDenied(_("The export for the advertising-data operator is for methodologists and "
                                 "administrators."))
    period = PeriodForm(request.GET or None)
    start, end = period.period()
    posts = selectors.marked_posts(request.user, start, end)
    fmt = request.GET.get("format")
    if fmt in ("csv", "xlsx"):
        rows = exports.marked_rows(posts)
        body = exports.to_csv(rows) if fmt == "csv" else exports.to_xlsx(rows, _("Advertising"))
        return _download(body, f"advertising-{start:%Y%m%d}-{end:%Y%m%d}", fmt)
    return render(request, "paid/marked.html", {"period": period, "posts": posts[:500], "start": start, "end": end,
                                                "query": request.GET.urlencode()})

