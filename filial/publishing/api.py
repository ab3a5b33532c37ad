"""API: photos, posts (compose, edit, submit, approve, return, cancel), deliveries and events.

Thin: parse and check the shape of the input here, let ``services`` / ``media`` / ``event_services``
decide what is allowed, read through ``selectors``. Times without an offset are the unit's wall clock.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db.models import Prefetch, QuerySet
from django.http import FileResponse
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import exceptions, mixins, renderers, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from filial.accounts.selectors import Access, access_for
from filial.channels.models import Channel, Network
from filial.core.api import (
    IdRelatedField,
    LocalDateTimeField,
    choice_params,
    first_writable_unit,
    int_param,
    local_iso,
    localize_fields,
    make_aware,
    parse_bound,
    system_units,
    user_tz,
)
from filial.libraries.models import Unit
from filial.publishing import event_services, selectors, services
from filial.publishing.compose import post_compose
from filial.publishing.media import media_upload
from filial.publishing.models import Delivery, Event, Media, Poll, Post, PostChannel, PostMedia
from filial.publishing.services import PollData, PostData
from filial.publishing.views.posts import media_response

LOCAL_TIME_HELP = "ISO 8601. Without an offset it is the wall-clock time of the unit's time zone."


def _set_queryset(serializer: serializers.Serializer, name: str, queryset: QuerySet[Any]) -> None:
    field: Any = serializer.fields[name]
    target: Any = field.child_relation if isinstance(field, serializers.ManyRelatedField) else field
    target.queryset = queryset


def _no_duplicates(values: list[Any], message: str) -> list[Any]:
    if len({v.pk for v in values}) != len(values):
        raise serializers.ValidationError(message)
    return values


# --- Photos -------------------------------------------------------------------------------------


class MediaSerializer(serializers.ModelSerializer):
    url = serializers.SerializerMethodField()
    thumb_url = serializers.SerializerMethodField()

    class Meta:
        model = Media
        fields = ["id", "key", "unit", "url", "thumb_url", "width", "height", "content_type", "size",
                  "original_name", "alt_text", "created_at"]
        read_only_fields = fields

    def _absolute(self, url: str) -> str:
        request = self.context.get("request")
        return request.build_absolute_uri(url) if request is not None else url

    def get_url(self, media: Media) -> str:
        return self._absolute(reverse("api:media-file", args=[media.pk]))

    def get_thumb_url(self, media: Media) -> str:
        return self._absolute(reverse("api:media-file", args=[media.pk]) + "?size=thumb")


class MediaUploadSerializer(serializers.Serializer):
    file = serializers.FileField(help_text="A JPEG, PNG or WebP photo.")
    unit = IdRelatedField(
        queryset=Unit.objects.none(), required=False,
        help_text="The unit the photo belongs to; by default the first unit you write for.",
    )
    alt_text = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        request = self.context.get("request")
        if request is not None:
            _set_queryset(self, "unit", system_units(access_for(request.user)))


class PhotoRenderer(renderers.BaseRenderer):
    """Lets a client that asks for ``image/*`` have the photo; the file itself bypasses rendering, and an error
    (404, 401) is rendered as JSON."""

    media_type = "image/*"
    format = "image"
    charset = None
    render_style = "binary"

    def render(self, data: Any, accepted_media_type: str | None = None,
               renderer_context: Mapping[str, Any] | None = None) -> bytes:
        return renderers.JSONRenderer().render(data)


@extend_schema(tags=["media"])
class MediaViewSet(mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Photos for posts: checked, oriented, stripped of EXIF (location included), resized by the worker."""

    serializer_class = MediaSerializer
    parser_classes = [MultiPartParser]  # a photo is a file: multipart only
    queryset = Media.objects.none()

    def get_queryset(self) -> QuerySet[Media]:
        # The same photos the UI shows (publishing.views.posts.media_file): the readers of the photo's unit
        # and those who may see a post it belongs to.
        return selectors.media_visible(self.request.user)

    @extend_schema(
        parameters=[OpenApiParameter("size", str, enum=["original", "web", "thumb"], required=False,
                                     description="The original (default) or a resized copy.")],
        responses={(200, "image/jpeg"): OpenApiTypes.BINARY, (200, "image/png"): OpenApiTypes.BINARY},
        description="The photo itself, for those who may see it.",
    )
    @action(detail=True, methods=["get"], renderer_classes=[renderers.JSONRenderer, PhotoRenderer])
    def file(self, request: Request, pk: int | None = None) -> FileResponse:
        media = get_object_or_404(self.get_queryset(), pk=pk)
        return media_response(media, request.query_params.get("size", "original"))

    @extend_schema(request={"multipart/form-data": MediaUploadSerializer}, responses={201: MediaSerializer})
    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        access = access_for(request.user)
        if not access.write_units:
            raise exceptions.PermissionDenied(_("You cannot upload photos."))
        upload = MediaUploadSerializer(data=request.data, context=self.get_serializer_context())
        upload.is_valid(raise_exception=True)
        data = upload.validated_data
        unit = data.get("unit") or first_writable_unit(access)
        fh = data["file"]
        media = media_upload(actor=request.user, unit=unit, fh=fh, size=fh.size or 0, name=fh.name or "",
                             alt_text=data.get("alt_text", ""))
        return Response(self.get_serializer(media).data, status=status.HTTP_201_CREATED)


# --- Posts --------------------------------------------------------------------------------------


class PollSerializer(serializers.Serializer):
    question = serializers.CharField(max_length=255, allow_blank=True)
    answers = serializers.ListField(
        child=serializers.CharField(allow_blank=True, max_length=300), max_length=50,
        help_text="From 2 to 10 answers of up to 100 characters.",
    )
    multiple = serializers.BooleanField(required=False, default=False)
    anonymous = serializers.BooleanField(required=False, default=True)
    ends_at = LocalDateTimeField(required=False, allow_null=True, help_text=LOCAL_TIME_HELP)


class PostSerializer(serializers.Serializer):
    """A post. On create ``kind`` and ``text`` are required; PATCH changes only the fields it names."""

    id = serializers.IntegerField(read_only=True)
    state = serializers.ChoiceField(choices=Post.State.choices, read_only=True)
    unit = IdRelatedField(
        queryset=Unit.objects.none(), required=False,
        help_text="By default the unit of the first page if you write for it, else your first unit.",
    )
    author = serializers.IntegerField(read_only=True, allow_null=True)
    author_name = serializers.CharField(read_only=True)
    kind = serializers.ChoiceField(choices=Post.Kind.choices)
    title = serializers.CharField(max_length=200, required=False, allow_blank=True)
    text = serializers.CharField(max_length=16000, allow_blank=True, trim_whitespace=False)
    link = serializers.URLField(max_length=500, required=False, allow_blank=True)
    event = IdRelatedField(queryset=Event.objects.none(), required=False, allow_null=True)
    publish_at = LocalDateTimeField(required=False, allow_null=True, help_text=LOCAL_TIME_HELP)
    channels = IdRelatedField(
        many=True, queryset=Channel.objects.none(), required=False, help_text="Ids of the pages."
    )
    media = IdRelatedField(
        many=True, queryset=Media.objects.none(), required=False, help_text="Ids of uploaded photos, in order."
    )
    poll = PollSerializer(required=False, allow_null=True)
    text_overrides = serializers.DictField(
        child=serializers.CharField(max_length=16000, allow_blank=True), required=False,
        help_text="A different text for some pages: {page id: text}.",
    )
    advertises = serializers.BooleanField(required=False, help_text="The post advertises a paid service: it goes "
                                          "out marked as advertising, and is not approved without an ERID unless "
                                          "not_ad_reason says why it is not advertising.")
    erid = serializers.CharField(max_length=64, required=False, allow_blank=True,
                                 help_text="The advertisement's token from the advertising-data operator.")
    not_ad_reason = serializers.CharField(max_length=500, required=False, allow_blank=True)
    review_comment = serializers.CharField(read_only=True)
    reviewed_at = serializers.DateTimeField(read_only=True, allow_null=True)
    created_at = serializers.DateTimeField(read_only=True)
    updated_at = serializers.DateTimeField(read_only=True)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        request = self.context.get("request")
        if request is not None and not isinstance(self.instance, list | QuerySet):
            access = access_for(request.user)
            _set_queryset(self, "unit", system_units(access))
            _set_queryset(self, "event", selectors.events_visible(request.user))
            _set_queryset(self, "channels",
                          Channel.objects.filter(unit__system_id__in=access.systems).select_related("unit"))
            _set_queryset(self, "media", Media.objects.filter(unit__system_id__in=access.systems))

    def validate_channels(self, value: list[Channel]) -> list[Channel]:
        return _no_duplicates(value, _("A page is chosen twice."))

    def validate_media(self, value: list[Media]) -> list[Media]:
        return _no_duplicates(value, _("A photo is chosen twice."))

    def validate_text_overrides(self, value: dict[str, str]) -> dict[int, str]:
        try:
            return {int(key): text for key, text in value.items()}
        except ValueError:
            raise serializers.ValidationError(_("Use page ids as keys.")) from None

    def to_representation(self, instance: Post) -> dict[str, Any]:
        """Built from the prefetched relations (see ``_posts``): no query per post."""
        tz = instance.unit.tz
        targets = sorted(instance.targets.all(), key=lambda t: t.pk)
        poll: Poll | None = instance.poll if _has_poll(instance) else None
        return {
            "id": instance.pk,
            "state": instance.state,
            "unit": instance.unit_id,
            "author": instance.author_id,
            "author_name": str(instance.author) if instance.author else "",
            "kind": instance.kind,
            "title": instance.title,
            "text": instance.text,
            "link": instance.link,
            "event": instance.event_id,
            "publish_at": local_iso(instance.publish_at, tz),
            "channels": [t.channel_id for t in targets],
            "media": [pm.media_id for pm in sorted(instance.post_media.all(), key=lambda m: m.position)],
            "poll": None if poll is None else {
                "question": poll.question,
                "answers": [a.text for a in sorted(poll.answers.all(), key=lambda a: a.position)],
                "multiple": poll.multiple,
                "anonymous": poll.anonymous,
                "ends_at": local_iso(poll.ends_at, tz),
            },
            "text_overrides": {str(t.channel_id): t.text_override for t in targets if t.text_override},
            "advertises": instance.advertises,
            "erid": instance.erid,
            "not_ad_reason": instance.not_ad_reason,
            "review_comment": instance.review_comment,
            "reviewed_at": local_iso(instance.reviewed_at, tz),
            "created_at": local_iso(instance.created_at, tz),
            "updated_at": local_iso(instance.updated_at, tz),
        }


def _has_poll(post: Post) -> bool:
    try:
        post.poll  # noqa: B018 - select_related: no query
    except Poll.DoesNotExist:
        return False
    return True


class CommentSerializer(serializers.Serializer):
    comment = serializers.CharField(required=False, allow_blank=True, default="", max_length=4000)


class ReturnSerializer(serializers.Serializer):
    comment = serializers.CharField(allow_blank=True, max_length=4000, help_text="What should be changed.")


def _posts(user: Any) -> QuerySet[Post]:
    return selectors.posts_visible(user).select_related("unit__system", "poll").prefetch_related(
        Prefetch("targets", queryset=PostChannel.objects.order_by("id")),
        Prefetch("post_media", queryset=PostMedia.objects.order_by("position")),
        "poll__answers",
    )


def _current(post: Post) -> dict[str, Any]:
    """The post as composer input, for PATCH to merge into."""
    targets = list(post.targets.select_related("channel__unit").order_by("id"))
    poll = None
    if _has_poll(post):
        poll = PollData(question=post.poll.question, answers=[a.text for a in post.poll.answers.all()],
                        multiple=post.poll.multiple, anonymous=post.poll.anonymous, ends_at=post.poll.ends_at)
    return {
        "unit": post.unit, "kind": post.kind, "text": post.text, "title": post.title, "link": post.link,
        "event": post.event, "publish_at": post.publish_at, "channels": [t.channel for t in targets],
        "media": [pm.media for pm in post.post_media.select_related("media").order_by("position")],
        "poll": poll, "text_overrides": {t.channel_id: t.text_override for t in targets if t.text_override},
        "advertises": post.advertises, "erid": post.erid, "not_ad_reason": post.not_ad_reason,
    }


def _poll_data(given: dict[str, Any], current: PollData | None, unit: Unit) -> PollData:
    base = current or PollData(question="", answers=[])
    ends_at = given["ends_at"] if "ends_at" in given else base.ends_at
    return PollData(
        question=given.get("question", base.question),
        answers=list(given.get("answers", base.answers)),
        multiple=given.get("multiple", base.multiple),
        anonymous=given.get("anonymous", base.anonymous),
        ends_at=make_aware(ends_at, unit.tz, "poll"),
    )


def _post_data(access: Access, attrs: dict[str, Any], post: Post | None = None) -> PostData:
    """The composer's input merged over the post's current values (PATCH), with the unit resolved and
    local times placed in that unit's zone."""
    current = _current(post) if post is not None else {}
    merged = {**current, **attrs}
    channels: list[Channel] = list(merged.get("channels") or [])
    unit: Unit | None = merged.get("unit")
    if unit is None:
        if channels and access.can_write(channels[0].unit_id):
            unit = channels[0].unit
        else:
            unit = first_writable_unit(access)
    poll = current.get("poll")
    if "poll" in attrs:
        poll = None if attrs["poll"] is None else _poll_data(attrs["poll"], current.get("poll"), unit)
    overrides = dict(merged.get("text_overrides") or {})
    if "text_overrides" not in attrs:  # keep the stored variants of pages that are still chosen
        overrides = {k: v for k, v in overrides.items() if k in {c.pk for c in channels}}
    return PostData(
        unit=unit, kind=merged["kind"], text=merged["text"], channels=channels,
        title=merged.get("title", ""), link=merged.get("link", ""), event=merged.get("event"),
        publish_at=make_aware(merged.get("publish_at"), unit.tz, "publish_at"),
        media=list(merged.get("media") or []), poll=poll, text_overrides=overrides,
        advertises=bool(merged.get("advertises", False)), erid=merged.get("erid", ""),
        not_ad_reason=merged.get("not_ad_reason", ""),
    )


POST_FILTERS = [
    OpenApiParameter("state", OpenApiTypes.STR, description="One or more states, comma-separated: "
                     + ", ".join(Post.State.values)),
    OpenApiParameter("unit", OpenApiTypes.INT, description="Posts of this unit."),
    OpenApiParameter("channel", OpenApiTypes.INT, description="Posts meant for this page."),
    OpenApiParameter("kind", OpenApiTypes.STR, description="One or more kinds, comma-separated: "
                     + ", ".join(Post.Kind.values)),
    OpenApiParameter("network", OpenApiTypes.STR, enum=Network.values,
                     description="Posts meant for a page on this network."),
    OpenApiParameter("search", OpenApiTypes.STR, description="Words in the title or text."),
    OpenApiParameter("from", OpenApiTypes.STR, description="Publication time from: a date or an ISO time."),
    OpenApiParameter("to", OpenApiTypes.STR, description="Publication time up to (a date: the whole day)."),
]


@extend_schema_view(
    list=extend_schema(parameters=POST_FILTERS, summary="Posts you may see"),
    create=extend_schema(summary="Compose a post (a draft)"),
    partial_update=extend_schema(summary="Change a post"),
    destroy=extend_schema(summary="Delete a post that has not gone out"),
)
@extend_schema(tags=["posts"])
class PostViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Posts: written once for several pages, approved, then delivered to each page."""

    serializer_class = PostSerializer
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]
    queryset = Post.objects.none()

    def get_queryset(self) -> QuerySet[Post]:
        qs = _posts(self.request.user)
        if self.action == "list":
            qs = self._filter(qs)
        return qs

    def _filter(self, qs: QuerySet[Post]) -> QuerySet[Post]:
        params = self.request.query_params
        unit = None
        if params.get("state"):
            qs = qs.filter(state__in=choice_params(params["state"], Post.State.values, "state"))
        if params.get("kind"):
            qs = qs.filter(kind__in=choice_params(params["kind"], Post.Kind.values, "kind"))
        if params.get("unit"):
            unit_id = int_param(params["unit"], "unit")
            qs = qs.filter(unit_id=unit_id)
            unit = Unit.objects.select_related("system").filter(pk=unit_id).first()
        if params.get("channel"):
            channel_id = int_param(params["channel"], "channel")
            qs = qs.filter(pk__in=PostChannel.objects.filter(channel_id=channel_id).values("post_id"))
        if params.get("network"):
            networks = choice_params(params["network"], Network.values, "network")
            qs = qs.filter(pk__in=PostChannel.objects.filter(channel__network__in=networks).values("post_id"))
        if params.get("search", "").strip():
            qs = selectors.posts_matching(qs, params["search"])
        if params.get("from") or params.get("to"):
            tz = user_tz(access_for(self.request.user), unit)
            if params.get("from"):
                qs = qs.filter(publish_at__gte=parse_bound(params["from"], tz, end=False, field="from"))
            if params.get("to"):
                qs = qs.filter(publish_at__lte=parse_bound(params["to"], tz, end=True, field="to"))
        return qs

    def _post(self, pk: Any) -> Post:
        return get_object_or_404(_posts(self.request.user), pk=pk)

    def _answer(self, post: Post, code: int = status.HTTP_200_OK) -> Response:
        return Response(PostSerializer(self._post(post.pk), context=self.get_serializer_context()).data,
                        status=code)

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        access = access_for(request.user)
        if not access.write_units:
            raise exceptions.PermissionDenied(_("You cannot write posts."))
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        post = post_compose(actor=request.user, data=_post_data(access, serializer.validated_data)).post
        return self._answer(post, status.HTTP_201_CREATED)

    def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        post = self._post(kwargs["pk"])
        access = access_for(request.user)
        if not access.can_write(post.unit_id):
            raise exceptions.PermissionDenied(_("You cannot edit posts of this unit."))
        serializer = self.get_serializer(post, data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        # As in the composer: a post already on its pages is edited there too (filial/publishing/edits.py).
        post = post_compose(actor=request.user, data=_post_data(access, serializer.validated_data, post),
                            post=post).post
        return self._answer(post)

    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        services.post_delete(actor=request.user, post=self._post(kwargs["pk"]))
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(request=None, responses=PostSerializer, summary="Send for approval (or schedule)")
    @action(detail=True, methods=["post"])
    def submit(self, request: Request, pk: Any = None) -> Response:
        return self._answer(services.post_submit(actor=request.user, post=self._post(pk)))

    @extend_schema(request=CommentSerializer, responses=PostSerializer, summary="Approve and schedule")
    @action(detail=True, methods=["post"])
    def approve(self, request: Request, pk: Any = None) -> Response:
        post = self._post(pk)
        body = CommentSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        return self._answer(services.post_approve(actor=request.user, post=post,
                                                  comment=body.validated_data["comment"]))

    @extend_schema(request=ReturnSerializer, responses=PostSerializer, summary="Return for changes")
    @action(detail=True, methods=["post"], url_path="return", url_name="return")
    def return_for_changes(self, request: Request, pk: Any = None) -> Response:
        post = self._post(pk)
        body = ReturnSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        return self._answer(services.post_return(actor=request.user, post=post,
                                                 comment=body.validated_data["comment"]))

    @extend_schema(request=None, responses=PostSerializer, summary="Cancel (and its scheduled deliveries)")
    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, pk: Any = None) -> Response:
        return self._answer(services.post_cancel(actor=request.user, post=self._post(pk)))


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
            _set_queryset(self, "unit", system_units(access_for(request.user)))

    def to_representation(self, instance: Event) -> dict[str, Any]:
        data = dict(super().to_representation(instance))
        localize_fields(data, instance, instance.unit.tz, ("starts_at", "ends_at", "created_at", "updated_at"))
        return data


def _event_fields(attrs: dict[str, Any], unit: Unit) -> dict[str, Any]:
    fields = {k: v for k, v in attrs.items() if k in event_services.EVENT_FIELDS and k != "unit"}
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
        event = event_services.event_create(actor=request.user, unit=unit, title=fields.pop("title"),
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
        event = event_services.event_update(actor=request.user, event=event, **fields)
        return Response(self.get_serializer(event).data)

    def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        event = get_object_or_404(self.get_queryset(), pk=kwargs["pk"])
        event_services.event_delete(actor=request.user, event=event)
        return Response(status=status.HTTP_204_NO_CONTENT)
