"""Unit management for administrators of a library system: the tree, create, edit.

Thin views: the form parses input, filial/libraries/services.py writes (and checks permissions and the
tree rules); a ValidationError from the service becomes a form error.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from filial.accounts.forms import add_service_errors
from filial.accounts.selectors import Access, access_for
from filial.core.params import id_or_none
from filial.libraries.forms import UnitForm
from filial.libraries.models import LibrarySystem, Unit
from filial.libraries.services import unit_create_checked, unit_update_checked


@dataclass
class UnitNode:
    unit: Unit
    children: list[UnitNode] = field(default_factory=list)


def _admin_access(request: HttpRequest) -> Access:
    access = access_for(request.user)
    if not access.is_admin:
        raise PermissionDenied(_("Only an administrator of the library system manages units."))
    return access


def _unit_trees(access: Access) -> list[tuple[LibrarySystem, list[UnitNode]]]:
    """The administered systems, each with its units as a tree (one query)."""
    units = list(
        Unit.objects.filter(system_id__in=access.admin_systems)
        .select_related("system", "parent")
        .annotate(n_pages=Count("channels", distinct=True), n_staff=Count("memberships", distinct=True))
        .order_by("system__name", "system_id", "path")
    )
    nodes = {u.pk: UnitNode(u) for u in units}
    trees: dict[int, tuple[LibrarySystem, list[UnitNode]]] = {}
    for unit in units:
        system_entry = trees.setdefault(unit.system_id, (unit.system, []))
        parent = nodes.get(unit.parent_id) if unit.parent_id else None
        (parent.children if parent else system_entry[1]).append(nodes[unit.pk])

    def sort(children: list[UnitNode]) -> None:
        children.sort(key=lambda n: (n.unit.position, n.unit.path))
        for child in children:
            sort(child.children)

    for _system, roots in trees.values():
        sort(roots)
    systems_without_units = LibrarySystem.objects.filter(pk__in=access.admin_systems - set(trees))
    return [*trees.values(), *((s, []) for s in systems_without_units)]


@login_required
def unit_list(request: HttpRequest) -> HttpResponse:
    access = _admin_access(request)
    return render(request, "libraries/unit_list.html", {"trees": _unit_trees(access)})


@login_required
@require_http_methods(["GET", "POST"])
def unit_create(request: HttpRequest) -> HttpResponse:
    access = _admin_access(request)
    systems = LibrarySystem.objects.filter(pk__in=access.admin_systems)
    initial: dict[str, Any] = {}
    parent_id = id_or_none(request.GET.get("parent"))
    if parent_id is not None:
        initial["parent"] = parent_id
    form = UnitForm(request.POST or None, systems=systems, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            unit = unit_create_checked(actor=request.user, system=form.system_for_create(), **form.unit_fields())
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            messages.success(request, _("Unit “%(name)s” created.") % {"name": unit.name})
            return redirect("libraries:unit_list")
    return render(request, "libraries/unit_form.html", {"form": form, "unit": None})


@login_required
@require_http_methods(["GET", "POST"])
def unit_edit(request: HttpRequest, pk: int) -> HttpResponse:
    access = access_for(request.user)
    unit = Unit.objects.select_related("system", "parent").filter(pk=pk, system_id__in=access.systems).first()
    if unit is None:
        raise Http404
    if not access.is_admin_of(unit.system_id):
        raise PermissionDenied(_("Only an administrator of the library system manages units."))
    systems = LibrarySystem.objects.filter(pk=unit.system_id)
    if request.method == "POST":
        form = UnitForm(request.POST, systems=systems, unit=unit)
        if form.is_valid():
            try:
                unit_update_checked(actor=request.user, unit=unit, **form.unit_fields())
            except ValidationError as exc:
                add_service_errors(form, exc)
                unit.refresh_from_db()
            else:
                messages.success(request, _("Unit “%(name)s” saved.") % {"name": unit.name})
                return redirect("libraries:unit_list")
    else:
        form = UnitForm(systems=systems, unit=unit, initial=UnitForm.initial_for(unit))
    return render(request, "libraries/unit_form.html", {"form": form, "unit": unit})
