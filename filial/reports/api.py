"""API: reports. ``POST /api/v1/reports/`` makes a report of a scope (a unit, or null for the whole network) and
a period, and answers with its computed figures and the addresses of its DOCX and HTML preview;
``GET /api/v1/reports/{id}/docx/`` serves the DOCX. Scoped like the pages: the network's administrator and the
methodologists of the units (``Access.may_report``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import QuerySet
from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import exceptions, mixins, renderers, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from filial.accounts.selectors import access_for
from filial.core.params import ID_MAX, ID_MIN, date_message, in_range
from filial.libraries.models import LibrarySystem, Unit
from filial.reports import selectors, services
from filial.reports.models import Report
from filial.reports.views import DOCX


@extend_schema_field({"type": "object", "additionalProperties": True,
                      "description": "The computed figures: pages (by kind, audience, polls, events), totals, inbox, "
                                     "debtors, paid services, remote users (form 6-НК section 4) and its rule. "
                                     "A figure that is unknown is null, never 0."})
class FiguresField(serializers.JSONField):
    pass


class ReportSerializer(serializers.ModelSerializer):
    scope = serializers.IntegerField(source="scope_id", allow_null=True, read_only=True)
    period_from = serializers.DateField(read_only=True)
    period_to = serializers.DateField(read_only=True)
    figures = FiguresField(read_only=True)
    docx_url = serializers.SerializerMethodField()
    html_url = serializers.SerializerMethodField()

    class Meta:
        model = Report
        fields = ["id", "scope", "kind", "period_from", "period_to", "state", "conclusions", "generated_at",
                  "published_at", "figures", "docx_url", "html_url"]
        read_only_fields = fields

    def _url(self, name: str, pk: int) -> str:
        request = self.context.get("request")
        path = reverse(name, kwargs={"pk": pk})
        return request.build_absolute_uri(path) if request is not None else path

    def get_docx_url(self, obj: Report) -> str:
        return self._url("api:report-docx", obj.pk)

    def get_html_url(self, obj: Report) -> str:
        return self._url("reports:report_detail", obj.pk)


class BoundedDateField(serializers.DateField):
    """A date within ``core.params`` bounds (a year 0001 is a 400, not a computation over 2000 years)."""

    def to_internal_value(self, value: Any) -> Any:
        day = super().to_internal_value(value)
        if not in_range(day):
            raise serializers.ValidationError(date_message())
        return day


class ReportCreateSerializer(serializers.Serializer):
    scope = serializers.IntegerField(allow_null=True, min_value=ID_MIN, max_value=ID_MAX,
                                     help_text="A unit's id (the unit and its sub-units), or null for the whole "
                                               "library network.")
    kind = serializers.ChoiceField(choices=Report.Kind.choices)

    def get_fields(self) -> dict[str, Any]:
        fields = super().get_fields()
        # "from" and "to" are Python keywords: declared here under their JSON names.
        fields["from"] = BoundedDateField(help_text="The period's first day, YYYY-MM-DD (1970-01-01 … 2100-12-31).")
        fields["to"] = BoundedDateField(help_text="The period's last day, YYYY-MM-DD (1970-01-01 … 2100-12-31).")
        return fields


class DocxRenderer(renderers.BaseRenderer):
    """Lets a client that asks for the DOCX type have the file; an error is rendered as JSON."""

    media_type = DOCX
    format = "docx"
    charset = None
    render_style = "binary"

    def render(self, data: Any, accepted_media_type: str | None = None,
               renderer_context: Mapping[str, Any] | None = None) -> bytes:
        return renderers.JSONRenderer().render(data)


@extend_schema(tags=["reports"])
class ReportViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Reports of the pages for a period, computed from the data (the same period gives the same numbers)."""

    serializer_class = ReportSerializer
    queryset = Report.objects.none()

    def get_queryset(self) -> QuerySet[Report]:
        return selectors.reports_visible(self.request.user).order_by("-period_to", "-id")

    @extend_schema(request=ReportCreateSerializer, responses={201: ReportSerializer},
                   summary="Make a report (figures computed now)")
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        form = ReportCreateSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        data = form.validated_data
        access = access_for(request.user)
        scope: Unit | None = None
        if data["scope"] is not None:
            scope = Unit.objects.filter(pk=data["scope"], id__in=access.read_units).select_related("system").first()
            if scope is None:
                raise exceptions.ValidationError({"scope": [_("No such unit.")]})
            system = scope.system
        else:
            systems = list(LibrarySystem.objects.filter(id__in=access.systems))
            if len(systems) != 1:
                raise exceptions.PermissionDenied(_("Only the network's administrator or the methodologist of these "
                                                    "units makes their report."))
            system = systems[0]
        try:
            report = services.report_create(actor=request.user, system=system, scope=scope, kind=data["kind"],
                                            start=data["from"], end=data["to"])
        except DjangoValidationError as exc:
            detail = exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
            renamed = {{"period_from": "from", "period_to": "to"}.get(k, k): v for k, v in detail.items()}
            raise exceptions.ValidationError(renamed) from None
        return Response(self.get_serializer(report).data, status=status.HTTP_201_CREATED)

    @extend_schema(responses={(200, DOCX): OpenApiTypes.BINARY}, summary="The report as DOCX",
                   description="The frozen file of a published report, or one made now from a draft's figures.")
    @action(detail=True, methods=["get"], renderer_classes=[renderers.JSONRenderer, DocxRenderer])
    def docx(self, request: Request, pk: int | None = None) -> HttpResponse:
        report = get_object_or_404(self.get_queryset(), pk=pk)
        response = HttpResponse(services.docx_bytes(report), content_type=DOCX)
        response["Content-Disposition"] = f'attachment; filename="{services.file_name(report)}"'
        return response
