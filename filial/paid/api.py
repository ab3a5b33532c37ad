"""API of paid services: ``/api/v1/services/``, ``/api/v1/customers/``, ``/api/v1/orders/``. Scoped like the pages
(``Access.paid_units``); every write goes through ``filial/paid/services.py``."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.db.models import QuerySet
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import exceptions, mixins, serializers, status, viewsets
from rest_framework.request import Request
from rest_framework.response import Response

from filial.accounts.selectors import access_for
from filial.channels.models import Channel
from filial.core.api import IdRelatedField, int_param
from filial.core.params import optional_day, validate_day
from filial.libraries.models import Unit
from filial.paid import selectors, services
from filial.paid.models import Customer, CustomerCategory, Order, PromoCode, Service
from filial.paid.services import MAX_QUANTITY, MAX_TOTAL, CustomerData, OrderData


def _set_queryset(serializer: serializers.Serializer, name: str, queryset: QuerySet[Any]) -> None:
    field = serializer.fields[name]
    field.queryset = queryset  # type: ignore[attr-defined]


def _systems(request: Request) -> QuerySet[Any]:
    return selectors.paid_systems(request.user)


def _require_paid(request: Request) -> None:
    if not access_for(request.user).paid_units:
        raise exceptions.PermissionDenied(_("Paid services are kept by the units' editors, methodologists and "
                                            "administrators."))


# --- services -----------------------------------------------------------------------------------------------


class ServiceSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    unit = IdRelatedField(queryset=Unit.objects.none(), help_text="The unit that offers it (fixed after creation).")
    name = serializers.CharField(max_length=200)
    measure = serializers.CharField(max_length=40, required=False, default="шт.")
    price = serializers.DecimalField(max_digits=12, decimal_places=2, min_value=Decimal(0), max_value=MAX_TOTAL)
    active = serializers.BooleanField(required=False, default=True)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        request = self.context.get("request")
        if request is not None:
            _set_queryset(self, "unit", Unit.objects.filter(id__in=access_for(request.user).paid_units))

    def to_representation(self, instance: Service) -> dict[str, Any]:
        return {"id": instance.pk, "unit": instance.unit_id, "name": instance.name, "measure": instance.measure,
                "price": f"{instance.price:.2f}", "active": instance.active}


@extend_schema(tags=["paid services"])
@extend_schema_view(list=extend_schema(parameters=[
    OpenApiParameter("unit", OpenApiTypes.INT, description="Services of this unit."),
    OpenApiParameter("active", OpenApiTypes.BOOL, description="1: only the services offered now."),
]))
class ServiceViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin,
                     mixins.UpdateModelMixin, viewsets.GenericViewSet):
    """The catalogue of paid services with prices. Methodologists and administrators change it."""

    serializer_class = ServiceSerializer
    queryset = Service.objects.none()
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_queryset(self) -> QuerySet[Service]:
        if getattr(self, "swagger_fake_view", False):  # the schema generator
            return Service.objects.none()
        _require_paid(self.request)
        params = self.request.query_params
        return selectors.services_visible(
            self.request.user, unit_id=int_param(params["unit"], "unit") if params.get("unit") else None,
            active_only=params.get("active", "").lower() in {"1", "true", "yes"})

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        _require_paid(request)
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        d = serializer.validated_data
        service = services.service_save(actor=request.user, unit=d["unit"], name=d["name"], price=d["price"],
                                        measure=d.get("measure", "шт."), active=d.get("active", True))
        return Response(self.get_serializer(service).data, status=status.HTTP_201_CREATED)

    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        service = self.get_object()
        serializer = self.get_serializer(service, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        d = serializer.validated_data
        service = services.service_save(
            actor=request.user, unit=service.unit, service=service, name=d.get("name", service.name),
            price=d.get("price", service.price), measure=d.get("measure", service.measure),
            active=d.get("active", service.active))
        return Response(self.get_serializer(service).data)


# --- customers ----------------------------------------------------------------------------------------------


class CustomerSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    category = IdRelatedField(queryset=CustomerCategory.objects.none(), help_text="The customer category's id.")
    category_code = serializers.CharField(read_only=True)
    is_individual = serializers.BooleanField(read_only=True)
    name = serializers.CharField(max_length=300, required=False, allow_blank=True,
                                 help_text="An organisation's name; a person's only with ``consent``.")
    inn = serializers.CharField(max_length=12, required=False, allow_blank=True)
    contact = serializers.CharField(max_length=200, required=False, allow_blank=True)
    consent = serializers.BooleanField(required=False, default=False, write_only=True,
                                       help_text="The person agreed that their name and contact are kept.")
    consent_at = serializers.DateTimeField(read_only=True, allow_null=True)
    created_at = serializers.DateTimeField(read_only=True)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        request = self.context.get("request")
        if request is not None:
            _set_queryset(self, "category", CustomerCategory.objects.filter(system__in=_systems(request)))

    def to_representation(self, instance: Customer) -> dict[str, Any]:
        return {"id": instance.pk, "category": instance.category_id, "category_code": instance.category.code,
                "is_individual": instance.category.is_individual, "name": instance.name, "inn": instance.inn,
                "contact": instance.contact,
                "consent_at": instance.consent_at.isoformat() if instance.consent_at else None,
                "created_at": instance.created_at.isoformat()}


@extend_schema(tags=["paid services"])
@extend_schema_view(list=extend_schema(parameters=[
    OpenApiParameter("category", OpenApiTypes.INT, description="Customers of this category."),
    OpenApiParameter("q", OpenApiTypes.STR, description="Part of the name, or the start of the INN."),
]))
class CustomerViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin,
                      mixins.UpdateModelMixin, viewsets.GenericViewSet):
    """Customers of paid services. An individual's name is kept only with their consent."""

    serializer_class = CustomerSerializer
    queryset = Customer.objects.none()
    http_method_names = ["get", "post", "patch", "head", "options"]

    def get_queryset(self) -> QuerySet[Customer]:
        if getattr(self, "swagger_fake_view", False):  # the schema generator
            return Customer.objects.none()
        _require_paid(self.request)
        params = self.request.query_params
        return selectors.customers_visible(
            self.request.user, category_id=int_param(params["category"], "category") if params.get("category")
            else None, query=(params.get("q") or "")[:100])

    def _data(self, d: dict[str, Any], current: Customer | None = None) -> CustomerData:
        category = d.get("category") or (current.category if current else None)
        if category is None:
            raise exceptions.ValidationError({"category": [_("Choose the customer or their category.")]})
        return CustomerData(
            category=category,
            name=d.get("name", current.name if current else ""), inn=d.get("inn", current.inn if current else ""),
            contact=d.get("contact", current.contact if current else ""),
            consent=d.get("consent", bool(current.consent_at) if current else False))

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        _require_paid(request)
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = self._data(serializer.validated_data)
        customer = services.customer_create(actor=request.user, system=data.category.system, data=data)
        return Response(self.get_serializer(customer).data, status=status.HTTP_201_CREATED)

    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        customer = self.get_object()
        serializer = self.get_serializer(customer, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        customer = services.customer_update(actor=request.user, customer=customer,
                                            data=self._data(serializer.validated_data, customer))
        return Response(self.get_serializer(customer).data)


# --- orders -------------------------------------------------------------------------------------------------


class OrderSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    unit = IdRelatedField(queryset=Unit.objects.none(), required=False,
                          help_text="By default the service's unit.")
    service = IdRelatedField(queryset=Service.objects.none())
    date = serializers.DateField(validators=[validate_day], help_text="The day of the sale, not in the future.")
    quantity = serializers.DecimalField(max_digits=12, decimal_places=2, min_value=Decimal("0.01"),
                                        max_value=MAX_QUANTITY, required=False, default=Decimal(1))
    total = serializers.DecimalField(max_digits=12, decimal_places=2, min_value=Decimal(0), max_value=MAX_TOTAL,
                                     required=False, allow_null=True, help_text="Left out: price × quantity.")
    customer = IdRelatedField(queryset=Customer.objects.none(), required=False, allow_null=True,
                              help_text="A known customer; or leave out and give ``category`` (a new customer).")
    category = IdRelatedField(queryset=CustomerCategory.objects.none(), required=False,
                              help_text="The customer's category (for a new customer; read: the customer's).")
    customer_name = serializers.CharField(max_length=300, required=False, allow_blank=True, write_only=True)
    consent = serializers.BooleanField(required=False, default=False, write_only=True)
    promo_code = serializers.CharField(max_length=32, required=False, allow_blank=True, allow_null=True,
                                       help_text="A promo code given out on a page (its page becomes the source).")
    source_channel = IdRelatedField(queryset=Channel.objects.none(), required=False, allow_null=True,
                                    help_text="The page the customer learned about us from.")
    note = serializers.CharField(max_length=300, required=False, allow_blank=True)
    created_at = serializers.DateTimeField(read_only=True)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        request = self.context.get("request")
        if request is not None:
            access = access_for(request.user)
            systems = _systems(request)
            _set_queryset(self, "unit", Unit.objects.filter(id__in=access.paid_units))
            _set_queryset(self, "service", Service.objects.filter(unit_id__in=access.paid_units).select_related("unit"))
            _set_queryset(self, "customer", Customer.objects.filter(system__in=systems))
            _set_queryset(self, "category", CustomerCategory.objects.filter(system__in=systems))
            _set_queryset(self, "source_channel", Channel.objects.filter(unit__system__in=systems)
                          .select_related("unit"))

    def to_representation(self, instance: Order) -> dict[str, Any]:
        return {
            "id": instance.pk, "unit": instance.unit_id, "service": instance.service_id,
            "date": instance.date.isoformat(), "quantity": f"{instance.quantity:.2f}",
            "total": f"{instance.total:.2f}", "customer": instance.customer_id,
            "category": instance.customer.category_id,
            "promo_code": instance.promo_code.code if instance.promo_code else None,
            "source_channel": instance.source_channel_id, "note": instance.note,
            "created_at": instance.created_at.isoformat(),
        }


ORDER_FILTERS = [
    OpenApiParameter("unit", OpenApiTypes.INT, description="Orders of this unit."),
    OpenApiParameter("from", OpenApiTypes.DATE, description="Orders on or after this day (1970-01-01 … 2100-12-31)."),
    OpenApiParameter("to", OpenApiTypes.DATE, description="Orders on or before this day."),
    OpenApiParameter("category", OpenApiTypes.INT, description="Orders of customers of this category."),
    OpenApiParameter("service", OpenApiTypes.INT),
    OpenApiParameter("source_channel", OpenApiTypes.INT, description="Orders brought by this page."),
]


@extend_schema(tags=["paid services"])
@extend_schema_view(list=extend_schema(parameters=ORDER_FILTERS))
class OrderViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin,
                   mixins.UpdateModelMixin, mixins.DestroyModelMixin, viewsets.GenericViewSet):
    """Orders (sales) of paid services, with the customer's category, the promo code and the page that brought
    them. Editors record them for their units."""

    serializer_class = OrderSerializer
    queryset = Order.objects.none()
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def get_queryset(self) -> QuerySet[Order]:
        if getattr(self, "swagger_fake_view", False):  # the schema generator
            return Order.objects.none()
        _require_paid(self.request)
        p = self.request.query_params

        def some(name: str) -> int | None:
            return int_param(p[name], name) if p.get(name) else None

        return selectors.orders_visible(
            self.request.user, unit_id=some("unit"), start=optional_day(p.get("from"), "from"),
            end=optional_day(p.get("to"), "to"), category_id=some("category"), service_id=some("service"),
            source_id=some("source_channel"))

    def _promo(self, code: str | None, unit: Unit) -> PromoCode | None:
        if not code:
            return None
        promo = PromoCode.objects.filter(system_id=unit.system_id, code=code.strip().upper(), active=True).first()
        if promo is None:
            raise exceptions.ValidationError({"promo_code": [_("No such promo code. Check the spelling or leave it "
                                                               "empty.")]})
        return promo

    def _data(self, d: dict[str, Any], current: Order | None = None) -> OrderData:
        service: Service = d.get("service") or (current.service if current else None)  # type: ignore[assignment]
        unit: Unit = d.get("unit") or (current.unit if current and "service" not in d else service.unit)
        day = d.get("date") or (current.date if current else None)
        if day is None:
            raise exceptions.ValidationError({"date": [_("The date is empty: fill it in.")]})
        data = OrderData(
            unit=unit, service=service, date=day,
            quantity=d.get("quantity", current.quantity if current else Decimal(1)),
            total=d["total"] if "total" in d else (current.total if current and "quantity" not in d
                                                   and "service" not in d else None),
            promo_code=self._promo(d["promo_code"], unit) if "promo_code" in d else
            (current.promo_code if current else None),
            source_channel=d["source_channel"] if "source_channel" in d else
            (current.source_channel if current else None),
            note=d.get("note", current.note if current else ""))
        if d.get("customer") is not None:
            data.customer = d["customer"]
        elif "category" in d:
            data.new_customer = CustomerData(category=d["category"], name=d.get("customer_name", ""),
                                             consent=d.get("consent", False))
        elif current is not None:
            data.customer = current.customer
        else:
            raise exceptions.ValidationError({"category": [_("Give the customer's id, or their category for a new "
                                                              "customer.")]})
        return data

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        _require_paid(request)
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        order = services.order_create(actor=request.user, data=self._data(serializer.validated_data))
        return Response(self.get_serializer(order).data, status=status.HTTP_201_CREATED)

    def update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        order = self.get_object()
        serializer = self.get_serializer(order, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        order = services.order_update(actor=request.user, order=order,
                                      data=self._data(serializer.validated_data, order))
        return Response(self.get_serializer(order).data)

    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        services.order_delete(actor=request.user, order=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)
