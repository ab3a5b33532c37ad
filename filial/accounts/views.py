"""Staff management (administrators), the audit log (administrators; methodologists read it), and the
"change my password" page (everyone).

Thin views: forms parse input, filial/accounts/services.py writes and checks permissions and the lock-out
guard, filial/accounts/selectors.py reads. A ValidationError from a service becomes a form error.
"""

from __future__ import annotations

import json
import zoneinfo
from datetime import datetime, time, timedelta
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import Q
from django.forms import Form
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse_lazy
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from filial.accounts.forms import (
    AuditFilterForm,
    MembershipForm,
    MembershipRoleForm,
    StaffCreateForm,
    StaffEditForm,
    StaffFilterForm,
    add_service_errors,
)
from filial.accounts.models import Membership, User
from filial.accounts.selectors import (
    Access,
    access_for,
    audit_entries,
    audit_shown,
    audit_systems,
    manages_person,
    staff_get,
    staff_visible,
    units_administered,
)
from filial.accounts.services import (
    membership_grant,
    membership_revoke,
    password_changed,
    staff_create,
    user_set_password,
    user_update,
)
from filial.core.params import id_or_none
from filial.libraries.models import LibrarySystem

STAFF_PAGE_SIZE = 50
AUDIT_PAGE_SIZE = 50


def _admin_access(request: HttpRequest) -> Access:
    access = access_for(request.user)
    if not access.is_admin:
        raise PermissionDenied(_("Only an administrator of the library system manages staff."))
    return access


def _staff_user(request: HttpRequest, pk: int) -> User:
    _admin_access(request)
    user = staff_get(request.user, pk)
    if user is None:
        raise Http404
    return user


# --- Staff --------------------------------------------------------------------------------------------


@login_required
def user_list(request: HttpRequest) -> HttpResponse:
    access = _admin_access(request)
    form = StaffFilterForm(request.GET or None, units=units_administered(access))
    users = staff_visible(request.user)
    if form.is_valid():
        data = form.cleaned_data
        if data["q"]:
            q = data["q"]
            users = users.filter(
                Q(username__icontains=q) | Q(display_name__icontains=q) | Q(email__icontains=q)
                | Q(first_name__icontains=q) | Q(last_name__icontains=q)
            )
        if data["unit"] or data["role"]:
            membership = Q()
            if data["unit"]:
                membership &= Q(memberships__unit=data["unit"])
            if data["role"]:
                membership &= Q(memberships__role=data["role"], memberships__unit__system_id__in=access.admin_systems)
            users = users.filter(membership).distinct()
        if data["status"]:
            users = users.filter(is_active=data["status"] == "active")
    page = Paginator(users, STAFF_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "accounts/user_list.html", {"form": form, "page": page, "users": page.object_list})


@login_required
@require_http_methods(["GET", "POST"])
def user_create(request: HttpRequest) -> HttpResponse:
    access = _admin_access(request)
    initial: dict[str, Any] = {}
    unit_id = id_or_none(request.GET.get("unit"))
    if unit_id is not None:
        initial["unit"] = unit_id
    form = StaffCreateForm(request.POST or None, units=units_administered(access), initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            user = staff_create(
                actor=request.user, username=data["username"], password=data["password"], email=data["email"],
                display_name=data["display_name"], unit=data["unit"], role=data["role"],
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("User “%(name)s” created.") % {"name": user.get_username()})
            return redirect("accounts:user_edit", pk=user.pk)
    return render(request, "accounts/user_form.html", {"form": form})


def _render_user_page(request: HttpRequest, user: User, access: Access, *, edit_form: Form | None = None,
                      membership_form: Form | None = None) -> HttpResponse:
    if edit_form is None:
        edit_form = StaffEditForm(initial={
            "display_name": user.display_name, "email": user.email, "is_active": user.is_active,
        })
    if membership_form is None:
        membership_form = MembershipForm(units=units_administered(access), prefix="m")
    memberships = getattr(user, "system_memberships", [])
    role_forms = [(m, MembershipRoleForm(initial={"role": m.role}, prefix=f"r{m.pk}")) for m in memberships]
    return render(request, "accounts/user_edit.html", {
        "staff": user, "form": edit_form, "membership_form": membership_form, "role_forms": role_forms,
        "is_self": user.pk == request.user.pk, "manages_person": manages_person(request.user, user),
    })


@login_required
@require_http_methods(["GET", "POST"])
def user_edit(request: HttpRequest, pk: int) -> HttpResponse:
    user = _staff_user(request, pk)
    access = access_for(request.user)
    if request.method == "GET":
        return _render_user_page(request, user, access)
    form = StaffEditForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            with transaction.atomic():
                user_update(actor=request.user, user=user, display_name=data["display_name"],
                            email=data["email"], is_active=data["is_active"])
                if data["new_password"]:
                    user_set_password(actor=request.user, user=user, password=data["new_password"],
                                      field="new_password")
        except ValidationError as exc:
            add_service_errors(form, exc)
            user.refresh_from_db()
        else:
            messages.success(request, _("User “%(name)s” saved.") % {"name": user.get_username()})
            return redirect("accounts:user_edit", pk=user.pk)
    return _render_user_page(request, user, access, edit_form=form)


@login_required
@require_POST
def membership_add(request: HttpRequest, pk: int) -> HttpResponse:
    user = _staff_user(request, pk)
    access = access_for(request.user)
    form = MembershipForm(request.POST, units=units_administered(access), prefix="m")
    if form.is_valid():
        try:
            membership_grant(actor=request.user, user=user, unit=form.cleaned_data["unit"],
                             role=form.cleaned_data["role"])
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("Role saved."))
            return redirect("accounts:user_edit", pk=user.pk)
    return _render_user_page(request, user, access, membership_form=form)


def _membership(request: HttpRequest, pk: int) -> Membership:
    access = _admin_access(request)
    membership = (
        Membership.objects.select_related("user", "unit", "unit__system")
        .filter(pk=pk, unit__system_id__in=access.admin_systems)
        .first()
    )
    if membership is None:
        raise Http404
    return membership


@login_required
@require_POST
def membership_update(request: HttpRequest, pk: int) -> HttpResponse:
    membership = _membership(request, pk)
    form = MembershipRoleForm(request.POST, prefix=f"r{membership.pk}")
    if not form.is_valid():
        messages.error(request, _("Choose a role."))
    else:
        try:
            membership_grant(actor=request.user, user=membership.user, unit=membership.unit,
                             role=form.cleaned_data["role"])
        except ValidationError as exc:
            for message in exc.messages:
                messages.error(request, message)
        else:
            messages.success(request, _("Role saved."))
    return redirect("accounts:user_edit", pk=membership.user_id)


@login_required
@require_POST
def membership_remove(request: HttpRequest, pk: int) -> HttpResponse:
    membership = _membership(request, pk)
    try:
        membership_revoke(actor=request.user, membership=membership)
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
    else:
        messages.success(request, _("Role removed."))
    return redirect("accounts:user_edit", pk=membership.user_id)


# --- Audit log ----------------------------------------------------------------------------------------


def change_lines(changes: Any) -> list[tuple[str, str]]:
    """An audit entry's changes as (field, text) pairs: "old → new" for [old, new] pairs."""
    if not isinstance(changes, dict):
        return [("", json.dumps(changes, ensure_ascii=False))]

    def text(value: Any) -> str:
        if value is None:
            return "—"
        return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)

    lines = []
    for key, value in changes.items():
        if isinstance(value, list) and len(value) == 2 and not key.startswith("credentials"):
            lines.append((str(key), f"{text(value[0])} → {text(value[1])}"))
        else:
            lines.append((str(key), text(value)))
    return lines


def _audit_tz(systems: frozenset[int]) -> zoneinfo.ZoneInfo:
    name = LibrarySystem.objects.filter(pk__in=systems).order_by("name").values_list("timezone", flat=True).first()
    return zoneinfo.ZoneInfo(name or settings.TIME_ZONE)


@login_required
def audit_log(request: HttpRequest) -> HttpResponse:
    systems = audit_systems(request.user)
    if not systems:
        raise PermissionDenied(_("Only administrators and methodologists read the audit log."))
    entries = audit_entries(request.user)
    distinct = entries.order_by()
    form = AuditFilterForm(
        request.GET or None,
        actions=list(distinct.order_by("action").values_list("action", flat=True).distinct()),
        object_types=list(distinct.order_by("object_type").values_list("object_type", flat=True).distinct()),
        actors=list(distinct.order_by("actor_name").values_list("actor_name", flat=True).distinct()),
    )
    tz = _audit_tz(systems)
    if form.is_valid():
        data = form.cleaned_data
        if data["action"]:
            entries = entries.filter(action=data["action"])
        if data["object_type"]:
            entries = entries.filter(object_type=data["object_type"])
        if data["actor"]:
            entries = entries.filter(actor_name=data["actor"])
        if data["date_from"]:
            entries = entries.filter(at__gte=datetime.combine(data["date_from"], time.min, tzinfo=tz))
        if data["date_to"]:
            entries = entries.filter(at__lt=datetime.combine(data["date_to"] + timedelta(days=1), time.min, tzinfo=tz))
    page = Paginator(entries, AUDIT_PAGE_SIZE).get_page(request.GET.get("page"))
    access = access_for(request.user)
    shown = [audit_shown(access, entry) for entry in page.object_list]
    rows = [(entry, change_lines(entry.changes)) for entry in shown]
    return render(request, "accounts/audit_log.html", {
        "form": form, "page": page, "rows": rows, "tz_name": tz.key,
        "read_only": not access_for(request.user).is_admin,
    })


# --- My password --------------------------------------------------------------------------------------


class PasswordChangeView(auth_views.PasswordChangeView):
    template_name = "accounts/password_change.html"
    success_url = reverse_lazy("accounts:password_change_done")

    def form_valid(self, form: Any) -> HttpResponse:
        response = super().form_valid(form)
        password_changed(user=form.user)
        return response


class PasswordChangeDoneView(auth_views.PasswordChangeDoneView):
    template_name = "accounts/password_change_done.html"
