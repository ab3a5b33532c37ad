"""API: photos for posts (upload, the file itself, its resized copies)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db.models import QuerySet
from django.http import FileResponse
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions, mixins, renderers, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from filial.accounts.selectors import access_for
from filial.core.api import (
    IdRelatedField,
    first_writable_unit,
    system_units,
)
from filial.libraries.models import Unit
from filial.publishing import selectors
from filial.publishing.api.common import set_queryset
from filial.publishing.media import media_upload
from filial.publishing.models import Media
from filial.publishing.views.posts import media_response

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
            set_queryset(self, "unit", system_units(access_for(request.user)))


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
