"""API: readers, loans (with renewal), imports, and the unit's library-system link (the ``circulation`` field of
``PATCH /api/v1/units/{id}/``). Readers' data is scoped to the staff of the reader's unit."""

from __future__ import annotations

import json
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field, extend_schema_view
from rest_framework import exceptions, mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from filial.accounts.selectors import Access, access_for, system_timezone
from filial.circulation import imports, selectors, services
from filial.circulation.models import ImportJob, Loan, Reader, Renewal
from filial.core.api import id_field, int_param
from filial.core.crypto import SecretUnreadable
from filial.libraries.models import Unit

# --- The unit's link (a field of UnitSerializer) ---------------------------------------------------


@extend_schema_field({
    "type": "object",
    "description": 'The library-system link: {"adapter": "file"}, {"adapter": "sip2", "host", "port", "login", '
                   '"password", "location", "institution", "encoding"} or {"adapter": "koha", "base_url", '
                   '"client_id", "client_secret"}. Secrets are write-only: left out, the stored ones stay.',
})
class CirculationLinkField(serializers.Field):
    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("source", "*")
        kwargs.setdefault("required", False)
        super().__init__(**kwargs)

    def to_representation(self, unit: Unit) -> dict[str, Any]:
        link = getattr(unit, "circulation_link", None)  # select_related by the unit API; None when not linked
        request = self.context.get("request")
        access = access_for(request.user) if request is not None else None
        try:
            data = selectors.link_public(link, access)
        except SecretUnreadable:
            data = {"adapter": link.adapter if link else "file", "error": "settings unreadable"}
        for key in ("last_sync_at", "last_error_at"):
            if data.get(key) is not None:
                data[key] = data[key].isoformat()
        return data

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        if not isinstance(data, dict) or "adapter" not in data:
            raise serializers.ValidationError(_('Expected an object such as {"adapter": "file"}.'))
        return {"circulation": data}


def unit_link_update(request: Request, unit: Unit, data: dict[str, Any]) -> None:
    """Called by the unit API's PATCH: validation errors come back on the ``circulation`` field."""
    try:
        services.link_set(actor=request.user, unit=unit, data=data)
    except DjangoValidationError as exc:
        detail = exc.message_dict if hasattr(exc, "error_dict") else {"adapter": exc.messages}
        raise exceptions.ValidationError({"circulation": detail}) from None


# --- Readers and loans ------------------------------------------------------------------------------


class ReaderSerializer(serializers.ModelSerializer):
    open_loans = serializers.IntegerField(read_only=True, default=0)

    class Meta:
        model = Reader
        fields = ["id", "card", "name", "unit", "contact_preferences", "open_loans", "created_at", "updated_at"]
        read_only_fields = fields


@extend_schema(tags=["circulation"])
@extend_schema_view(list=extend_schema(parameters=[
    OpenApiParameter("card", OpenApiTypes.STR, description="The exact card number."),
    OpenApiParameter("q", OpenApiTypes.STR, description="The start of a card number or part of a name."),
    OpenApiParameter("unit", OpenApiTypes.INT),
]))
class ReaderViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Readers of the units the user works in (staff of the reader's unit and administrators only)."""

    serializer_class = ReaderSerializer
    queryset = Reader.objects.none()

    def get_queryset(self) -> QuerySet[Reader]:
        params = self.request.query_params
        unit = int_param(params["unit"], "unit") if params.get("unit") else None
        return selectors.readers_visible(self.request.user, unit_id=unit, card=params.get("card", ""),
                                         q=params.get("q", "")).order_by("name", "card")


class LoanSerializer(serializers.ModelSerializer):
    card = serializers.CharField(source="reader.card", read_only=True)
    due_date = serializers.DateField(source="due", read_only=True)
    overdue_days = serializers.SerializerMethodField()

    class Meta:
        model = Loan
        fields = ["id", "reader", "card", "unit", "barcode", "title", "issued", "due_date", "returned", "renewals",
                  "overdue_days", "external_id", "source", "updated_at"]
        read_only_fields = fields

    def get_overdue_days(self, loan: Loan) -> int:
        if loan.returned is not None:
            return 0
        return max((services.unit_today(loan.unit) - loan.due).days, 0)


@extend_schema(tags=["circulation"])
@extend_schema_view(list=extend_schema(parameters=[
    OpenApiParameter("reader", OpenApiTypes.INT),
    OpenApiParameter("unit", OpenApiTypes.INT),
    OpenApiParameter("overdue", OpenApiTypes.BOOL, description="1: only loans past their due date, not returned."),
    OpenApiParameter("open", OpenApiTypes.BOOL, description="1: only loans not returned."),
]))
class LoanViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    serializer_class = LoanSerializer
    queryset = Loan.objects.none()

    def get_queryset(self) -> QuerySet[Loan]:
        params = self.request.query_params
        flag = {"1", "true", "yes"}
        today = timezone.localtime(timezone.now(), system_timezone(access_for(self.request.user))).date()
        return selectors.loans_visible(
            self.request.user,
            reader_id=int_param(params["reader"], "reader") if params.get("reader") else None,
            unit_id=int_param(params["unit"], "unit") if params.get("unit") else None,
            overdue=params.get("overdue", "").lower() in flag,
            open_only=params.get("open", "").lower() in flag,
            today=today,
        ).select_related("unit__system")

    @extend_schema(request=None, responses={200: OpenApiTypes.OBJECT})
    @action(detail=True, methods=["post"])
    def renew(self, request: Request, pk: str | None = None) -> Response:
        """Ask the unit's library system: {"renewed": true, "due_date": …} or {"renewed": false, "reason": …}.
        Where the unit has no online renewal the request waits for a librarian (``"queued": true``)."""
        loan = get_object_or_404(self.get_queryset(), pk=pk)
        renewal = services.loan_renew(loan, source=Renewal.Channel.API, actor=request.user)
        return Response(renewal_answer(renewal, access_for(request.user)))


def renewal_answer(renewal: Renewal, access: Access) -> dict[str, Any]:
    if renewal.state == Renewal.State.GRANTED:
        return {"renewed": True, "due_date": renewal.new_due.isoformat() if renewal.new_due else None,
                "renewal": renewal.pk}
    if renewal.state == Renewal.State.QUEUED:
        answer: dict[str, Any] = {"renewed": False, "queued": True, "renewal": renewal.pk,
                                  "reason": renewal.reason or _("The request waits for a librarian.")}
        if renewal.error_kind and access.is_admin_of(renewal.loan.unit.system_id):
            # what went wrong, for the library system's administrators only
            answer["error_kind"] = renewal.error_kind
            answer["error"] = selectors.renewal_reason(renewal, access)
        return answer
    return {"renewed": False, "reason": renewal.reason, "reason_code": renewal.reason_code, "renewal": renewal.pk}


# --- Imports --------------------------------------------------------------------------------------


class ImportJobSerializer(serializers.ModelSerializer):
    progress = serializers.IntegerField(source="percent", read_only=True)

    class Meta:
        model = ImportJob
        fields = ["id", "unit", "format", "original_name", "state", "total", "processed", "progress",
                  "created_count", "updated_count", "readers_count", "returned_count", "skipped_count",
                  "import_valid_rows", "full", "mapping", "error", "row_errors", "created_at", "queued_at",
                  "started_at", "finished_at"]
        read_only_fields = fields


class ImportCreateSerializer(serializers.Serializer):
    file = serializers.FileField()
    unit = id_field()
    format = serializers.ChoiceField(choices=ImportJob.Format.values, required=False)
    mapping = serializers.JSONField(required=False, help_text='CSV/XLSX: {"card": "Читательский билет", '
                                                              '"due": 5, ...} (header or column index); '
                                    'guessed from the headers when left out.')
    import_valid_rows = serializers.BooleanField(required=False, default=False)
    full = serializers.BooleanField(required=False, default=False,
                                    help_text="The file is the unit's full list of loans: loans missing from it "
                                              "are marked returned.")

    def validate_mapping(self, value: Any) -> dict[str, Any]:
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except ValueError:
                raise serializers.ValidationError(_("Expected a JSON object.")) from None
        if not isinstance(value, dict):
            raise serializers.ValidationError(_("Expected a JSON object."))
        return value


@extend_schema(tags=["circulation"])
class ImportViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin,
                    viewsets.GenericViewSet):
    """Upload an export (multipart ``file``, ``unit``, ``format`` csv | xlsx | irbis); the worker imports it.
    A file with any bad row changes nothing (``state`` failed, ``row_errors`` row by row) unless
    ``import_valid_rows`` is set."""

    serializer_class = ImportJobSerializer
    queryset = ImportJob.objects.none()
    parser_classes = [MultiPartParser]  # the export is a file: multipart only

    def get_queryset(self) -> QuerySet[ImportJob]:
        return selectors.imports_visible(self.request.user)

    @extend_schema(request={"multipart/form-data": ImportCreateSerializer}, responses={201: ImportJobSerializer})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        form = ImportCreateSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        data = form.validated_data
        unit = Unit.objects.filter(pk=data["unit"], id__in=access_for(request.user).read_units).first()
        if unit is None:
            raise exceptions.ValidationError({"unit": [_("No such unit.")]})
        upload = data["file"]
        fmt = data.get("format") or imports.format_for(upload.name)
        if not fmt:
            raise exceptions.ValidationError({"format": [_("Choose csv, xlsx or irbis.")]})
        job = imports.import_create(actor=request.user, unit=unit, fmt=fmt, file=upload, name=upload.name,
                                    mapping=data.get("mapping"), import_valid_rows=data["import_valid_rows"],
                                    full=data["full"])
        imports.import_start(actor=request.user, job=job)
        job.refresh_from_db()
        return Response(self.get_serializer(job).data, status=status.HTTP_201_CREATED)
