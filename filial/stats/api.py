"""API: a page's daily statistics (``GET /api/v1/channels/{id}/stats/``) and a post's on each of its pages
(``GET /api/v1/posts/{id}/stats/``). A figure the network does not give, or that could not be read that day, is
``null`` (never 0); ``unknown`` names the figures the page's network does not give and says why, ``error`` the
reason a day's figures are missing."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions, serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from filial.core.params import optional_day
from filial.stats import snapshots
from filial.stats.models import PageDay, PublicationDay

FIGURES_HELP = "null: unknown (the network does not give it, see `unknown`, or the day's reading failed, see `error`)"


class PageDaySerializer(serializers.ModelSerializer):
    audience = serializers.IntegerField(allow_null=True, help_text="Members, friends or subscribers. " + FIGURES_HELP)

    class Meta:
        model = PageDay
        fields = ["day", "audience", "measured_at", "source", "error"]
        read_only_fields = fields


class PublicationDaySerializer(serializers.ModelSerializer):
    post = serializers.IntegerField(source="delivery.post_id", help_text="The post this publication is of.")
    views = serializers.IntegerField(allow_null=True, help_text=FIGURES_HELP)
    likes = serializers.IntegerField(allow_null=True, help_text="Likes or reactions. " + FIGURES_HELP)
    reposts = serializers.IntegerField(allow_null=True, help_text="Reposts or forwards. " + FIGURES_HELP)
    comments = serializers.IntegerField(allow_null=True, help_text=FIGURES_HELP)
    reach = serializers.IntegerField(allow_null=True, help_text="People who saw it. " + FIGURES_HELP)

    class Meta:
        model = PublicationDay
        fields = ["delivery", "post", "day", "views", "likes", "reposts", "comments", "reach", "measured_at",
                  "source", "error"]
        read_only_fields = fields


class UnknownField(serializers.DictField):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(child=serializers.CharField(), read_only=True,
                         help_text="The figures (audience, views, likes, reposts, comments, reach) the page's network "
                                   "does not give to its kind of token, each with the reason, in the user's language.",
                         **kwargs)


class ChannelStatsSerializer(serializers.Serializer):
    channel = serializers.IntegerField(source="channel.pk")
    network = serializers.CharField(source="channel.network")
    date_from = serializers.DateField(source="start")
    date_to = serializers.DateField(source="end")
    unknown = UnknownField()
    days = PageDaySerializer(many=True, help_text="The page's audience, one entry per measured day.")
    publications = PublicationDaySerializer(many=True, help_text="Each publication's figures per measured day.")

    def get_fields(self) -> dict[str, Any]:
        fields = super().get_fields()
        fields["from"] = fields.pop("date_from")
        fields["to"] = fields.pop("date_to")
        return fields


class DeliveryStatsSerializer(serializers.Serializer):
    delivery = serializers.IntegerField(source="delivery.pk")
    channel = serializers.IntegerField(source="delivery.channel_id")
    network = serializers.CharField(source="delivery.channel.network")
    unknown = UnknownField()
    days = PublicationDaySerializer(many=True)


class PostStatsSerializer(serializers.Serializer):
    post = serializers.IntegerField()
    pages = DeliveryStatsSerializer(many=True, help_text="Each page the post went to, with its measured days.")


PERIOD = [
    OpenApiParameter("from", OpenApiTypes.DATE, description="First day (YYYY-MM-DD, the page's day); default: 29 "
                                                            "days before `to`. At most 366 days at a time."),
    OpenApiParameter("to", OpenApiTypes.DATE, description="Last day (YYYY-MM-DD); default: today."),
]


POST_PERIOD = [
    OpenApiParameter("from", OpenApiTypes.DATE, description="First day (YYYY-MM-DD); with `to` left out: today. "
                                                            "Without both, every measured day."),
    OpenApiParameter("to", OpenApiTypes.DATE, description="Last day (YYYY-MM-DD). At most 366 days at a time."),
]


def _period(request: Request) -> tuple[date | None, date | None]:
    params = request.query_params
    return optional_day(params.get("from"), "from"), optional_day(params.get("to"), "to")


def _invalid(exc: DjangoValidationError) -> exceptions.ValidationError:
    return exceptions.ValidationError(exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors":
                                                                                           exc.messages})


class ChannelStatsView(APIView):
    """The page's daily snapshots: its audience and its publications' figures."""

    @extend_schema(tags=["statistics"], operation_id="channels_stats", parameters=PERIOD,
                   responses={200: ChannelStatsSerializer})
    def get(self, request: Request, pk: int) -> Response:
        start, end = _period(request)
        try:
            stats = snapshots.page_stats(request.user, pk, start, end)
        except DjangoValidationError as exc:
            raise _invalid(exc) from exc
        if stats is None:
            raise exceptions.NotFound()
        return Response(ChannelStatsSerializer(stats).data)


class PostStatsView(APIView):
    """A post's figures on each page it went to, per measured day."""

    @extend_schema(tags=["statistics"], operation_id="posts_stats", parameters=POST_PERIOD,
                   responses={200: PostStatsSerializer})
    def get(self, request: Request, pk: int) -> Response:
        start, end = _period(request)
        try:
            found = snapshots.post_stats(request.user, pk, start, end)
        except DjangoValidationError as exc:
            raise _invalid(exc) from exc
        if found is None:
            raise exceptions.NotFound()
        post, pages = found
        return Response(PostStatsSerializer({"post": post.pk, "pages": pages}).data)
