"""API: events (the library's announcements), written through ``publishing.events``. Times without an offset are
the unit's wall clock."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import exceptions, mixins, serializers, status, viewsets
from rest_framework.request import Request
from rest_framework.response import Response

from filial.accounts.selectors import access_for
from filial.core.api import (
    IdRelatedField,
    LocalDateTimeField,
    first_writable_unit,
    int_param,
    localize_fields,
    make_aware,
    parse_bound,
    system_units,
    user_tz,
)
from filial.libraries.models import Unit
from filial.publishing import events as event_writes
from filial.publishing import selectors
from filial.publishing.api.common import LOCAL_TIME_HELP, set_queryset
from filial.publishing.models import Event

# --- Events -------------------------------------------------------------------------------------


class EventSerializer(serializers.ModelSerializer):
    unit = IdRelatedField(
        queryset=Unit.objects.none(), required=False, help_text="By default your first unit."
    )
    starts_at = LocalDateTimeField(help_text=LOCAL_TIME_HELP)
    ends_at = LocalDateTimeField(required=False, allow_null=True, help_text=LOCAL_TIME_HELP)

    class Meta:
        model = Event
        fields = ["id", "unit", "title", "description", "scope", "starts_at", "ends_at", "place", "uid",
                  "created_at", "updated_at"]
        read_only_fields = ["uid", "created_at", "updated_at"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        request = self.context.get("request")
        if request is not None and not isinstance(self.instance, list | QuerySet):
            set_queryset(self, "unit", system_units(access_for(request.user)))

    def to_representation(self, instance: Event) -> dict[str, Any]:
        data = dict(super().to_representation(instance))
        localize_fields(data, instance, instance.unit.tz, ("starts_at", "ends_at", "created_at", "updated_at"))
        return data


def _event_fields(attrs: dict[str, Any], unit: Unit) -> dict[str, Any]:
    fields = {k: v for k, v in attrs.items() if k in event_writes.EVENT_FIELDS and k != "unit"}
    for name in ("starts_at", "ends_at"):
        if name in fields:
            fields[name] = make_aware(fields[name], unit.tz, name)
    return fields


@extend_schema_view(
    list=extend_schema(parameters=[
        OpenApiParameter("unit", OpenApiTypes.INT),
        OpenApiParameter("from", OpenApiTypes.STR, description="Starting from: a date or an ISO time."),
        OpenApiParameter("to", OpenApiTypes.STR, description="Starting up to (a date: the whole day)."),
    ]),
)
@extend_schema(tags=["events"])
class EventViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Library and city events; posters and photo reports are posts attached to them."""

    serializer_class = EventSerializer
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]
    queryset = Event.objects.none()

    def get_queryset(self) -> QuerySet[Event]:
        qs = selectors.events_visible(self.request.user).select_related("unit__system")
        params = self.request.query_params
        if self.action == "list":
            unit = None
            if params.get("unit"):
                unit_id = int_param(params["unit"], "unit")
                qs = qs.filter(unit_id=unit_id)
                unit = Unit.objects.select_related("system").filter(pk=unit_id).first()
            if params.get("from") or params.get("to"):
                tz = user_tz(access_for(self.request.user), unit)
                if params.get("from"):
                    qs = qs.filter(starts_at__gte=parse_bound(params["from"], tz, end=False, field="from"))
                if params.get("to"):
                    qs = qs.filter(starts_at__lte=parse_bound(params["to"], tz, end=True, field="to"))
        return qs.order_by("starts_at", "id")

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        access = access_for(request.user)
        if not access.write_units:
            raise exceptions.PermissionDenied(_("You cannot add events."))
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        attrs = dict(serializer.validated_data)
        unit = attrs.get("unit") or first_writable_unit(access)
        fields = _event_fields(attrs, unit)
        event = event_writes.event_create(actor=request.user, unit=unit, title=fields.pop("title"),
                                            starts_at=fields.pop("starts_at"), **fields)
        return Response(self.get_serializer(event).data, status=status.HTTP_201_CREATED)

    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        event = get_object_or_404(self.get_queryset(), pk=kwargs["pk"])
        if not access_for(request.user).can_write(event.unit_id):
            raise exceptions.PermissionDenied(_("You cannot edit events of this unit."))
        serializer = self.get_serializer(event, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        attrs = dict(serializer.validated_data)
        unit = attrs.get("unit") or event.unit
        fields = _event_fields(attrs, unit)
        if "unit" in attrs:
            fields["unit"] = unit
        event = event_writes.event_update(actor=request.user, event=event, **fields)
        return Response(self.get_serializer(event).data)

    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        event = get_object_or_404(self.get_queryset(), pk=kwargs["pk"])
        event_writes.event_delete(actor=request.user, event=event)
        return Response(status=status.HTTP_204_NO_CONTENT)
