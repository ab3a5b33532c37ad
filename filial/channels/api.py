"""API: pages (channels). Members read the pages of their library system; an admin adds and edits them.

Credentials are write-only: they are stored encrypted and only ``has_credentials`` and masked hints
(admins only) come back. Secrets are checked against the page's network before they are stored ("connect a
page"): a refusal is a 400 that gives the network's reason, and nothing is saved.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field, extend_schema_view
from rest_framework import exceptions, mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from filial.accounts.selectors import access_for
from filial.channels import services
from filial.channels.models import Channel, Network
from filial.core.api import IdRelatedField, choice_params, int_param, system_units
from filial.core.crypto import SecretUnreadable, mask
from filial.libraries.models import Unit

WRITABLE = services.CHANNEL_FIELDS


class ChannelSerializer(serializers.ModelSerializer):
    unit = IdRelatedField(queryset=Unit.objects.none())
    credentials = serializers.DictField(
        write_only=True, required=False,
        help_text="Tokens and keys for the network, checked against it before they are stored (write-only; on "
                  "update merged key by key, an empty value keeps the stored one). VK: access_token (the "
                  "community admin's user token), optional refresh_token, client_id, device_id, expires_at, "
                  "community_token. OK: application_key, application_secret_key, access_token, optional "
                  "bot_token (the group's messages key). Telegram and MAX: bot_token.",
    )
    has_credentials = serializers.BooleanField(read_only=True)
    credential_hints = serializers.SerializerMethodField(
        help_text="The stored credentials' keys with masked values (administrators only)."
    )

    class Meta:
        model = Channel
        fields = ["id", "unit", "network", "kind", "name", "url", "external_id", "status", "audience",
                  "audience_updated_at", "started_on", "api_base_url", "credentials", "has_credentials",
                  "credential_hints", "created_at"]
        read_only_fields = ["audience_updated_at", "created_at"]
        # With credentials, a blank name is filled in from the network.
        extra_kwargs = {"name": {"required": False, "allow_blank": True}}
        # The unique external id is checked by the service (model.full_clean) and becomes a 400 there.
        validators: list[Any] = []

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        request = self.context.get("request")
        if request is not None:
            fields: Any = self.fields
            fields["unit"].queryset = system_units(access_for(request.user))

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        """A new API address must be allowed and, for a page with secrets, come with its secrets again (the
        service enforces the same; saying it here keeps the answer on the address field)."""
        channel = self.instance if isinstance(self.instance, Channel) else None
        if channel is not None and "network" not in attrs and "api_base_url" not in attrs:
            return attrs
        network = str(attrs.get("network", channel.network if channel else ""))
        url = str(attrs.get("api_base_url", channel.api_base_url if channel else "") or "")
        credentials = attrs.get("credentials") or {}
        problem = services.address_problem(channel, network, url, credentials if isinstance(credentials, dict)
                                           else {})
        if problem:
            raise serializers.ValidationError({"api_base_url": [problem]})
        return attrs

    @extend_schema_field({"type": "object", "additionalProperties": {"type": "string"}})
    def get_credential_hints(self, channel: Channel) -> dict[str, str]:
        request = self.context.get("request")
        if request is None or not channel.has_credentials:
            return {}
        if not access_for(request.user).is_admin_of(channel.unit.system_id):
            return {}
        try:
            stored = channel.credentials
        except SecretUnreadable:
            return {}
        return {key: mask(str(value)) for key, value in sorted(stored.items())}


def _require_admin(request: Request) -> None:
    if not access_for(request.user).is_admin:
        raise exceptions.PermissionDenied(_("Only an administrator of the library system manages pages."))


@extend_schema_view(
    list=extend_schema(parameters=[
        OpenApiParameter("unit", OpenApiTypes.INT, description="Only pages of this unit."),
        OpenApiParameter("network", OpenApiTypes.STR, enum=Network.values),
        OpenApiParameter("status", OpenApiTypes.STR, enum=Channel.Status.values),
    ]),
)
@extend_schema(tags=["channels"])
class ChannelViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Pages on VK, Odnoklassniki, Telegram and MAX, each owned by one unit."""

    serializer_class = ChannelSerializer
    http_method_names = ["get", "post", "patch", "head", "options"]
    queryset = Channel.objects.none()

    def get_queryset(self) -> QuerySet[Channel]:
        access = access_for(self.request.user)
        qs = Channel.objects.filter(unit__system_id__in=access.systems).select_related("unit")
        params = self.request.query_params
        if self.action == "list":
            if params.get("unit"):
                qs = qs.filter(unit_id=int_param(params["unit"], "unit"))
            if params.get("network"):
                qs = qs.filter(network__in=choice_params(params["network"], Network.values, "network"))
            if params.get("status"):
                qs = qs.filter(status__in=choice_params(params["status"], Channel.Status.values, "status"))
        return qs.order_by("unit__path", "network", "name", "id")

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        _require_admin(request)
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        _check_external_id_free(data.get("network", ""), data.get("external_id", ""))
        credentials = data.pop("credentials", None)
        if credentials:  # connect: checked against the network before anything is saved
            channel = services.channel_connect(actor=request.user, credentials=credentials,
                                               external_id=data.pop("external_id", ""), **data)
        else:  # a page recorded without secrets (nothing can be published on it yet)
            channel = services.channel_create(actor=request.user, **data)
        return Response(self.get_serializer(channel).data, status=status.HTTP_201_CREATED)

    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        channel = get_object_or_404(self.get_queryset(), pk=kwargs["pk"])
        if not access_for(request.user).is_admin_of(channel.unit.system_id):
            raise exceptions.PermissionDenied(_("Only an administrator of the library system manages pages."))
        serializer = self.get_serializer(channel, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        credentials = data.pop("credentials", None)
        if "network" in data or "external_id" in data:
            _check_external_id_free(data.get("network", channel.network),
                                    data.get("external_id", channel.external_id), exclude=channel.pk)
        try:
            channel = services.channel_update(
                actor=request.user, channel=channel, credentials=credentials,
                **{k: v for k, v in data.items() if k in WRITABLE},
            )
        except SecretUnreadable:
            raise exceptions.ValidationError({"credentials": [_(
                "The stored secrets cannot be read with the current keys. Remove them first, then enter them "
                "again.")]}) from None
        return Response(self.get_serializer(channel).data)

    @extend_schema(request=None, responses=ChannelSerializer,
                   description="Check the stored secrets against the network now; on success the page's name (if "
                               "blank), link and audience are refreshed. 400 with the network's reason otherwise.")
    @action(detail=True, methods=["post"])
    def verify(self, request: Request, pk: int | None = None) -> Response:
        channel = get_object_or_404(self.get_queryset(), pk=pk)
        if not access_for(request.user).is_admin_of(channel.unit.system_id):
            raise exceptions.PermissionDenied(_("Only an administrator of the library system manages pages."))
        try:
            channel = services.channel_verify(actor=request.user, channel=channel)
        except SecretUnreadable:
            raise exceptions.ValidationError({"credentials": [_(
                "The stored secrets cannot be read with the current keys. Remove them first, then enter them "
                "again.")]}) from None
        return Response(self.get_serializer(channel).data)


def _check_external_id_free(network: str, external_id: str, exclude: int | None = None) -> None:
    """The database's own message for the unique id is obscure; say it plainly, on the field."""
    taken = Channel.objects.filter(network=network, external_id=external_id)
    if exclude is not None:
        taken = taken.exclude(pk=exclude)
    if external_id and taken.exists():
        raise exceptions.ValidationError({"external_id": [_("This page is already registered.")]})
