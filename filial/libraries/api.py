"""API: the library network's units. Everyone reads the units they may read; an admin creates and edits."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, mixins, serializers, status, viewsets
from rest_framework.request import Request
from rest_framework.response import Response

from filial.accounts.selectors import access_for
from filial.circulation.api import CirculationLinkField, unit_link_update
from filial.core.api import IdRelatedField, system_units
from filial.libraries import services
from filial.libraries.models import LibrarySystem, Unit

WRITABLE = ("name", "short_name", "kind", "timezone", "address", "approval_required", "position", "parent")


class UnitSerializer(serializers.ModelSerializer):
    serializer_related_field = IdRelatedField  # "parent"
    tz_name = serializers.CharField(read_only=True, help_text="The time zone in effect (own or the system's).")
    depth = serializers.IntegerField(read_only=True)
    circulation = CirculationLinkField()
    system = IdRelatedField(
        queryset=LibrarySystem.objects.none(), required=False,
        help_text="Needed only by an administrator of several library systems.",
    )

    class Meta:
        model = Unit
        fields = ["id", "system", "parent", "name", "short_name", "kind", "timezone", "tz_name", "address",
                  "approval_required", "position", "path", "depth", "circulation", "created_at"]
        read_only_fields = ["path", "created_at"]
        extra_kwargs = {"parent": {"required": False, "allow_null": True}}
        # Uniqueness and the rest of the model's rules are checked by the service (model.full_clean).
        validators: list[Any] = []

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        request = self.context.get("request")
        if request is not None:
            access = access_for(request.user)
            fields: Any = self.fields
            fields["system"].queryset = LibrarySystem.objects.filter(id__in=access.admin_systems)
            fields["parent"].queryset = system_units(access).filter(system_id__in=access.admin_systems)


@extend_schema(tags=["units"])
class UnitViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Units (central library, children's library, branches, departments) as a tree ordered by path."""

    serializer_class = UnitSerializer
    http_method_names = ["get", "post", "patch", "head", "options"]
    queryset = Unit.objects.none()

    def get_queryset(self) -> QuerySet[Unit]:
        access = access_for(self.request.user)
        return (Unit.objects.filter(id__in=access.read_units).select_related("system", "circulation_link")
                .order_by("path"))

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        access = access_for(request.user)
        if not access.is_admin:
            raise exceptions.PermissionDenied(_("Only an administrator of the library system manages units."))
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        link = data.pop("circulation", None)
        system = data.pop("system", None)
        if system is None:
            if len(access.admin_systems) != 1:
                raise exceptions.ValidationError({"system": [_("Choose the library system.")]})
            system = LibrarySystem.objects.get(pk=next(iter(access.admin_systems)))
        _check_name_free(system.pk, data.get("name", ""))
        unit = services.unit_create_checked(actor=request.user, system=system, **data)
        if link is not None:
            unit_link_update(request, unit, link)
            unit = self.get_queryset().get(pk=unit.pk)
        return Response(self.get_serializer(unit).data, status=status.HTTP_201_CREATED)

    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        unit = get_object_or_404(self.get_queryset(), pk=kwargs["pk"])
        if not access_for(request.user).is_admin_of(unit.system_id):
            raise exceptions.PermissionDenied(_("Only an administrator of the library system manages units."))
        serializer = self.get_serializer(unit, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        if "system" in data and data.pop("system") != unit.system:
            raise exceptions.ValidationError({"system": [_("A unit cannot move to another library system.")]})
        if "name" in data:
            _check_name_free(unit.system_id, data["name"], exclude=unit.pk)
        changes = {k: data[k] for k in WRITABLE if k in data}
        if "circulation" in data:
            unit_link_update(request, unit, data.pop("circulation"))
        unit = services.unit_update_checked(actor=request.user, unit=unit, **changes)
        unit = self.get_queryset().get(pk=unit.pk)  # the link as stored now
        return Response(self.get_serializer(unit).data)


def _check_name_free(system_id: int, name: str, exclude: int | None = None) -> None:
    """The model's own message for the unique name is generic; say it plainly, on the field."""
    taken = Unit.objects.filter(system_id=system_id, name=name)
    if exclude is not None:
        taken = taken.exclude(pk=exclude)
    if name and taken.exists():
        raise exceptions.ValidationError({"name": [_("A unit with this name already exists.")]})
