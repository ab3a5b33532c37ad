"""API: posts (compose, edit, submit, approve, return, cancel).

Thin: parse and check the shape of the input here, let ``services`` / ``compose`` decide what is allowed, read
through ``selectors``. Times without an offset are the unit's wall clock.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Prefetch, QuerySet
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import exceptions, mixins, serializers, status, viewsets
from rest_framework.decorators import action
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
    make_aware,
    parse_bound,
    system_units,
    user_tz,
)
from filial.libraries.models import Unit
from filial.publishing import selectors, services
from filial.publishing.api.common import LOCAL_TIME_HELP, no_duplicates, set_queryset
from filial.publishing.compose import post_compose
from filial.publishing.models import Event, Media, Poll, Post, PostChannel, PostMedia
from filial.publishing.services import PollData, PostData

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
            set_queryset(self, "unit", system_units(access))
            set_queryset(self, "event", selectors.events_visible(request.user))
            set_queryset(self, "channels",
                          Channel.objects.filter(unit__system_id__in=access.systems).select_related("unit"))
            set_queryset(self, "media", Media.objects.filter(unit__system_id__in=access.systems))

    def validate_channels(self, value: list[Channel]) -> list[Channel]:
        return no_duplicates(value, _("A page is chosen twice."))

    def validate_media(self, value: list[Media]) -> list[Media]:
        return no_duplicates(value, _("A photo is chosen twice."))

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
