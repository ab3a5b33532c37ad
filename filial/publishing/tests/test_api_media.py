"""/api/v1/media/: a checked photo in, {id, url, width, height} out; bad files are a 400 from the service."""

from __future__ import annotations

import io
from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import translation
from PIL import Image

from filial.core.tests.test_api_support import client_for, jpeg_bytes, jpeg_upload, world
from filial.publishing.models import Media, Post, PostMedia


def test_upload_defaults_to_first_writable_unit_and_strips_exif(
    net: Any, django_capture_on_commit_callbacks: Any
) -> None:
    exif = Image.Exif()
    exif[0x8825] = {1: "N", 2: (55.0, 45.0, 0.0)}  # GPS latitude
    exif[0x0112] = 6  # rotated: stored sideways
    out = io.BytesIO()
    Image.new("RGB", (80, 40), "red").save(out, "JPEG", exif=exif)
    photo = SimpleUploadedFile("афиша.jpg", out.getvalue(), content_type="image/jpeg")
    client = client_for(net, "editor_branch4")
    with django_capture_on_commit_callbacks(execute=True):  # the resized copies are made after commit
        response = client.post("/api/v1/media/", {"file": photo, "alt_text": "Афиша"}, format="multipart")
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["unit"], body["width"], body["height"]) == (net.branch4.pk, 40, 80)  # turned upright
    assert body["original_name"] == "афиша.jpg" and body["alt_text"] == "Афиша"
    media = Media.objects.get(pk=body["id"])
    with media.file.open("rb") as fh:
        assert not Image.open(fh).getexif()
    media.refresh_from_db()
    assert set(media.renditions) == {"thumb", "web"}
    # A photo of no post yet is for the readers of its unit only (the viewer reads the central library).
    assert client_for(net, "methodologist").get(f"/api/v1/media/{media.pk}/").status_code == 200
    assert client_for(net, "viewer").get(f"/api/v1/media/{media.pk}/").status_code == 404
    assert client_for(net, "outsider").get(f"/api/v1/media/{media.pk}/").status_code == 404


def test_bad_files_are_400_with_the_service_message(net: Any, settings: Any) -> None:
    client = client_for(net, "editor_branch4")
    cases = [
        ({"file": SimpleUploadedFile("notes.txt", b"just text", content_type="text/plain")},
         "The file is not a photo or is damaged."),
        ({"file": SimpleUploadedFile("anim.gif", _gif(), content_type="image/gif")},
         "Only JPEG, PNG and WebP photos are accepted."),
        ({"file": SimpleUploadedFile("empty.jpg", b"", content_type="image/jpeg")}, None),
        ({"alt_text": "без файла"}, None),
    ]
    with translation.override("en"):
        for body, message in cases:
            response = client.post("/api/v1/media/", body, format="multipart", HTTP_ACCEPT_LANGUAGE="en")
            assert response.status_code == 400, response.content
            assert "file" in response.json()
            if message:
                assert response.json()["file"] == [message]
        settings.FILIAL_MAX_PHOTO_BYTES = 2 * 1024 * 1024
        big = SimpleUploadedFile("big.jpg", jpeg_bytes() + b"\0" * (3 * 1024 * 1024), content_type="image/jpeg")
        response = client.post("/api/v1/media/", {"file": big}, format="multipart", HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400
    assert response.json()["file"] == ["The photo is too large: 3 MB, at most 2 MB."]
    assert not Media.objects.exists()


def test_json_upload_is_refused(net: Any) -> None:
    response = client_for(net, "editor_branch4").post("/api/v1/media/", {"file": "x"}, format="json")
    assert response.status_code == 415
    assert not Media.objects.exists()


def test_photo_of_a_unit_one_cannot_write_for_is_refused_in_a_post(net: Any) -> None:
    photo = client_for(net, "editor_children").post("/api/v1/media/", {"file": jpeg_upload()},
                                                    format="multipart").json()
    assert photo["unit"] == net.children.pk
    response = client_for(net, "editor_branch4").post("/api/v1/posts/", {
        "kind": "photo_report", "text": "Как прошла встреча", "media": [photo["id"]],
        "channels": [net.channels["branch4_ok"].pk], "publish_at": net.soon().isoformat(),
    }, format="json")
    assert response.status_code == 400 and "media" in response.json()


def _gif() -> bytes:
    out = io.BytesIO()
    Image.new("P", (10, 10)).save(out, "GIF")
    return out.getvalue()


def test_a_50_mb_photo_is_400_at_the_default_limit(net: Any, settings: Any) -> None:
    assert settings.FILIAL_MAX_PHOTO_BYTES < 50 * 1024 * 1024
    head = jpeg_bytes()
    huge = SimpleUploadedFile("huge.jpg", head + b"\0" * (50 * 1024 * 1024 - len(head)), content_type="image/jpeg")
    with translation.override("en"):
        response = client_for(net, "editor_branch4").post("/api/v1/media/", {"file": huge}, format="multipart",
                                                          HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400
    limit = settings.FILIAL_MAX_PHOTO_BYTES // 2**20
    assert response.json()["file"] == [f"The photo is too large: 50 MB, at most {limit} MB."]
    assert not Media.objects.exists()


def test_photo_metadata_and_file_follow_the_post_visibility_of_the_ui(
    net: Any, django_capture_on_commit_callbacks: Any
) -> None:
    """A photo of the children's library's draft is theirs (and their approvers') only; once the post is
    scheduled, everyone in the network may see it, as in the UI (publishing:media_file)."""
    w = world(net)
    with django_capture_on_commit_callbacks(execute=True):
        photo = client_for(net, "editor_children").post("/api/v1/media/", {"file": jpeg_upload(size=(800, 600))},
                                                        format="multipart").json()
    PostMedia.objects.create(post=w.draft_ch, media_id=photo["id"])
    detail, file_url = f"/api/v1/media/{photo['id']}/", f"/api/v1/media/{photo['id']}/file/"
    expected = {"admin": 200, "methodologist": 200, "editor_children": 200, "editor_branch4": 404, "viewer": 404,
                "outsider": 404, "anonymous": 401}
    for role, status in expected.items():
        client = client_for(net, role)
        assert client.get(detail).status_code == status, role
        assert client.get(file_url).status_code == status, role
        assert client.get(file_url, HTTP_ACCEPT="image/webp,image/*").status_code == status, role
    ui = Client()
    ui.force_login(net.users["editor_branch4"])
    assert ui.get(reverse("publishing:media_file", args=[photo["key"], "original"])).status_code == 404

    Post.objects.filter(pk=w.draft_ch.pk).update(state=Post.State.SCHEDULED)
    branch4 = client_for(net, "editor_branch4")
    body = branch4.get(detail).json()
    assert body["thumb_url"] == f"http://testserver{file_url}?size=thumb"
    thumb = branch4.get(body["thumb_url"], HTTP_ACCEPT="image/jpeg,image/*")
    assert thumb.status_code == 200 and thumb["Content-Type"] == "image/jpeg"
    with Image.open(io.BytesIO(thumb.getvalue())) as image:
        assert max(image.size) == 320  # the resized copy, not the 800 px original
    assert ui.get(reverse("publishing:media_file", args=[photo["key"], "original"])).status_code == 200
