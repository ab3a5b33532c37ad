"""API: deliveries, one post on one page (read only)."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import serializers, viewsets

from filial.channels.models import Network
from filial.core.api import (
    choice_params,
    int_param,
    localize_fields,
)
from filial.publishing import selectors
from filial.publishing.models import Delivery

# --- Deliveries ---------------------------------------------------------------------------------


class DeliverySerializer(serializers.ModelSerializer):
    channel_name = serializers.CharField(source="channel.name", read_only=True)
    network = serializers.ChoiceField(source="channel.network", choices=Network.choices, read_only=True)

    class Meta:
        model = Delivery
        fields = ["id", "post", "channel", "channel_name", "network", "state", "due_at", "external_id", "url",
                  "attempts", "last_error", "published_at"]
        read_only_fields = fields
        extra_kwargs = {"url": {"allow_null": True}}

    def to_representation(self, instance: Delivery) -> dict[str, Any]:
        data = dict(super().to_representation(instance))
        localize_fields(data, instance, instance.channel.unit.tz, ("due_at", "published_at"))
        data["url"] = instance.url or None  # not yet on the network: no address (the schema's "uri" or null)
        return data


@extend_schema_view(
    list=extend_schema(
        parameters=[
            OpenApiParameter("post", OpenApiTypes.INT, description="Deliveries of this post."),
            OpenApiParameter("channel", OpenApiTypes.INT),
            OpenApiParameter("state", OpenApiTypes.STR, description="One or more states, comma-separated: "
                             + ", ".join(Delivery.State.values)),
        ],
        description="Where each post goes out: state, page, the network's id of the post, the last error.",
    ),
)
@extend_schema(tags=["deliveries"])
class DeliveryViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = DeliverySerializer
    queryset = Delivery.objects.none()

    def get_queryset(self) -> QuerySet[Delivery]:
        qs = selectors.deliveries_visible(self.request.user).select_related("channel__unit__system")
        params = self.request.query_params
        if self.action == "list":
            if params.get("post"):
                qs = qs.filter(post_id=int_param(params["post"], "post"))
            if params.get("channel"):
                qs = qs.filter(channel_id=int_param(params["channel"], "channel"))
            if params.get("state"):
                qs = qs.filter(state__in=choice_params(params["state"], Delivery.State.values, "state"))
        return qs.order_by("due_at", "id")
