"""The posts UI: composer, list, detail, actions and the approvals queue, per role."""

from __future__ import annotations

import io
import zoneinfo
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from PIL import ExifTags, Image

from filial.accounts.models import AuditEntry
from filial.publishing import services
from filial.publishing.models import Delivery, Event, Media, Poll, Post, PostChannel, PostMedia
from filial.publishing.services import PostData

YEKT = zoneinfo.ZoneInfo("Asia/Yekaterinburg")


# --- helpers ------------------------------------------------------------------------------------
def login(client: Client, net: Any, role: str) -> Client:
    client.force_login(net.users[role])
    return client


def local_input(dt: datetime, tz: zoneinfo.ZoneInfo = YEKT) -> str:
    return dt.astimezone(tz).strftime("%Y-%m-%dT%H:%M")


def make_post(net: Any, role: str = "editor_branch4", unit: Any = None, channels: tuple[str, ...] = ("branch4_ok",),
              state: str = "draft", **kw: Any) -> Post:
    actor = net.users[role]
    data = PostData(unit=unit or net.branch4, kind=kw.pop("kind", Post.Kind.NOTE),
                    text=kw.pop("text", "Приходите в библиотеку!"), channels=[net.channels[c] for c in channels],
                    publish_at=kw.pop("publish_at", net.soon()), **kw)
    post = services.post_create(actor=actor, data=data)
    if state in ("pending", "scheduled", "published"):
        post = services.post_submit(actor=actor, post=post)
    if state in ("scheduled", "published") and post.state == Post.State.PENDING:
        post = services.post_approve(actor=net.users["methodologist"], post=post)
    if state == "published":
        Post.objects.filter(pk=post.pk).update(state=Post.State.PUBLISHED)
    if state == "cancelled":
        post = services.post_cancel(actor=actor, post=post)
    post.refresh_from_db()
    return post


def jpeg_with_gps(name: str = "photo.jpg", size: tuple[int, int] = (64, 48)) -> SimpleUploadedFile:
    img = Image.new("RGB", size, (200, 30, 30))
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "TestCam"
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = (51.0, 24.0, 0.0)
    gps[ExifTags.GPS.GPSLongitudeRef] = "E"
    gps[ExifTags.GPS.GPSLongitude] = (57.0, 35.0, 0.0)
    buf = io.BytesIO()
    img.save(buf, "JPEG", exif=exif)
    return SimpleUploadedFile(name, buf.getvalue(), content_type="image/jpeg")


def gif_file(name: str = "anim.gif") -> SimpleUploadedFile:
    buf = io.BytesIO()
    Image.new("P", (10, 10)).save(buf, "GIF")
    return SimpleUploadedFile(name, buf.getvalue(), content_type="image/gif")


def form_data(net: Any, **overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "unit": net.branch4.pk, "kind": "afisha", "title": "Вечер поэзии",
        "text": "Приглашаем на вечер поэзии!", "link": "", "event": "",
        "channels": [net.channels["branch4_ok"].pk],
        "publish_at": local_input(net.soon(48)),
        "poll_question": "", "poll_answers": "", "poll_ends_at": "", "poll_anonymous": "on",
        "action": "draft",
    }
    data.update(overrides)
    return data


def media_files(settings: Any) -> list[Path]:
    root = Path(settings.MEDIA_ROOT)
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


# --- access ------------------------------------------------------------------------------------
@pytest.mark.parametrize("name,args", [
    ("publishing:post_list", []), ("publishing:post_create", []), ("publishing:approvals", []),
    ("publishing:post_detail", [1]), ("publishing:post_edit", [1]),
])
def test_login_required(net, client, name, args):
    response = client.get(reverse(name, args=args))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_url_names_the_menu_expects():
    assert reverse("publishing:post_list") == "/posts/"
    assert reverse("publishing:post_create") == "/posts/new/"
    assert reverse("publishing:approvals") == "/approvals/"
    assert reverse("publishing:post_detail", args=[7]) == "/posts/7/"


def test_viewer_sees_no_compose_button_and_cannot_post(net, client):
    login(client, net, "viewer")
    response = client.get(reverse("publishing:post_list"))
    assert response.status_code == 200
    assert reverse("publishing:post_create") not in response.content.decode()
    assert client.get(reverse("publishing:post_create")).status_code == 403
    response = client.post(reverse("publishing:post_create"),
                           form_data(net, unit=net.central.pk, channels=[net.channels["central_ok"].pk]))
    assert response.status_code == 403
    assert not Post.objects.exists()


def test_viewer_cannot_act_on_a_visible_post(net, client):
    post = make_post(net, "editor_central", unit=net.central, channels=("central_ok",), state="pending")
    login(client, net, "viewer")
    assert client.get(reverse("publishing:post_detail", args=[post.pk])).status_code == 200
    for name in ("post_submit", "post_approve", "post_return", "post_cancel", "post_delete"):
        response = client.post(reverse(f"publishing:{name}", args=[post.pk]), {"comment": "x"})
        assert response.status_code == 403, name
    assert client.get(reverse("publishing:post_edit", args=[post.pk])).status_code == 403
    assert client.get(reverse("publishing:approvals")).status_code == 403
    post.refresh_from_db()
    assert post.state == Post.State.PENDING


def test_outsider_sees_nothing(net, client):
    make_post(net, state="scheduled")
    login(client, net, "outsider")
    response = client.get(reverse("publishing:post_list"))
    assert response.status_code == 200
    assert "Приходите" not in response.content.decode()
    assert client.get(reverse("publishing:post_create")).status_code == 403


def test_branch4_editor_cannot_see_childrens_drafts(net, client):
    draft = make_post(net, "editor_children", unit=net.children, channels=("children_ok",),
                      title="Детский черновик")
    scheduled = make_post(net, "editor_children", unit=net.children, channels=("children_tg",),
                          title="Детская афиша", state="scheduled")
    login(client, net, "editor_branch4")
    body = client.get(reverse("publishing:post_list")).content.decode()
    assert "Детский черновик" not in body
    assert "Детская афиша" in body  # scheduled posts are visible to the whole network
    assert client.get(reverse("publishing:post_detail", args=[draft.pk])).status_code == 404
    assert client.get(reverse("publishing:post_edit", args=[draft.pk])).status_code == 404
    assert client.post(reverse("publishing:post_submit", args=[draft.pk])).status_code == 404
    assert client.post(reverse("publishing:post_delete", args=[draft.pk])).status_code == 404
    # visible but not theirs: 403
    assert client.get(reverse("publishing:post_edit", args=[scheduled.pk])).status_code == 403
    assert client.post(reverse("publishing:post_cancel", args=[scheduled.pk])).status_code == 403
    assert Post.objects.get(pk=scheduled.pk).state == Post.State.SCHEDULED


def test_branch4_editor_cannot_post_to_childrens_pages(net, client):
    login(client, net, "editor_branch4")
    page = client.get(reverse("publishing:post_create")).content.decode()
    assert net.channels["branch4_ok"].name in page
    assert net.channels["children_ok"].name not in page
    response = client.post(reverse("publishing:post_create"),
                           form_data(net, channels=[net.channels["children_ok"].pk]))
    assert response.status_code == 400
    assert "You cannot publish to one of the chosen pages." in response.content.decode()
    # nor write for the children's library as a unit
    response = client.post(reverse("publishing:post_create"), form_data(net, unit=net.children.pk))
    assert response.status_code == 400
    assert not Post.objects.exists()


def test_csrf_enforced_on_forms(net):
    post = make_post(net, state="pending")
    client = Client(enforce_csrf_checks=True)
    client.force_login(net.users["methodologist"])
    assert client.post(reverse("publishing:post_create"), form_data(net)).status_code == 403
    assert client.post(reverse("publishing:post_approve", args=[post.pk])).status_code == 403
    assert client.post(reverse("publishing:post_delete", args=[post.pk])).status_code == 403
    assert Post.objects.get(pk=post.pk).state == Post.State.PENDING
    # and with the token it works
    page = client.get(reverse("publishing:post_detail", args=[post.pk]))
    token = page.cookies["csrftoken"].value
    response = client.post(reverse("publishing:post_approve", args=[post.pk]), {"csrfmiddlewaretoken": token})
    assert response.status_code == 302
    assert Post.objects.get(pk=post.pk).state == Post.State.SCHEDULED


def test_actions_are_post_only(net, client):
    post = make_post(net)
    login(client, net, "editor_branch4")
    for name in ("post_submit", "post_approve", "post_return", "post_cancel", "post_delete"):
        assert client.get(reverse(f"publishing:{name}", args=[post.pk])).status_code == 405


# --- composer ----------------------------------------------------------------------------------
def test_composer_happy_path_with_photo_for_two_pages(net, client, settings):
    login(client, net, "editor_central")
    when = datetime(2030, 5, 10, 1, 30)  # local Yekaterinburg time → 20:30 UTC the day before
    response = client.post(reverse("publishing:post_create"), form_data(
        net, unit=net.central.pk, channels=[net.channels["central_ok"].pk, net.channels["central_vk"].pk],
        publish_at=when.strftime("%Y-%m-%dT%H:%M"), photos=[jpeg_with_gps()], action="submit",
        **{f"variant_{net.channels['central_vk'].pk}": "Текст для ВКонтакте"},
    ))
    assert response.status_code == 302, response.content.decode()[:2000]
    post = Post.objects.get()
    assert response["Location"] == reverse("publishing:post_detail", args=[post.pk])
    assert post.state == Post.State.PENDING
    assert post.publish_at == datetime(2030, 5, 9, 20, 30, tzinfo=UTC)
    assert post.author == net.users["editor_central"]
    targets = {pc.channel_id: pc.text_override for pc in PostChannel.objects.filter(post=post)}
    assert targets == {net.channels["central_ok"].pk: "", net.channels["central_vk"].pk: "Текст для ВКонтакте"}
    media = Media.objects.get()
    assert PostMedia.objects.filter(post=post, media=media).exists()
    assert media.original_name == "photo.jpg"
    with Image.open(Path(settings.MEDIA_ROOT) / str(media.file.name)) as stored:
        assert stored.format == "JPEG"
        assert len(stored.getexif()) == 0
        assert "exif" not in stored.info
    actions = set(AuditEntry.objects.filter(object_type="publishing.post", object_id=str(post.pk))
                  .values_list("action", flat=True))
    assert actions == {"post.create", "post.submit"}
    detail = client.get(response["Location"]).content.decode()
    assert "10.05.2030 01:30" in detail
    assert "Awaiting approval" in detail
    assert reverse("publishing:media_file", args=[media.key, "thumb"]) in detail


def test_photo_is_served_only_to_those_who_may_see_it(net, client):
    login(client, net, "editor_central")
    client.post(reverse("publishing:post_create"), form_data(
        net, unit=net.central.pk, channels=[net.channels["central_ok"].pk], photos=[jpeg_with_gps()]))
    media = Media.objects.get()
    url = reverse("publishing:media_file", args=[media.key, "original"])
    response = client.get(url)
    assert response.status_code == 200
    assert response["Content-Type"] == "image/jpeg"
    assert b"".join(response.streaming_content)[:2] == b"\xff\xd8"
    assert client.get(reverse("publishing:media_file", args=["not-a-key", "thumb"])).status_code == 404
    login(client, net, "editor_branch4")  # a draft of another unit
    assert client.get(url).status_code == 404
    login(client, net, "outsider")
    assert client.get(url).status_code == 404


def test_methodologist_schedules_directly(net, client):
    login(client, net, "methodologist")
    page = client.get(reverse("publishing:post_create")).content.decode()
    assert "Schedule" in page and "Submit for approval" not in page
    response = client.post(reverse("publishing:post_create"), form_data(net, action="submit"))
    assert response.status_code == 302
    post = Post.objects.get()
    assert post.state == Post.State.SCHEDULED
    assert list(post.deliveries.values_list("channel_id", "state")) == [
        (net.channels["branch4_ok"].pk, Delivery.State.SCHEDULED)]


def test_editor_sees_submit_for_approval(net, client):
    login(client, net, "editor_branch4")
    page = client.get(reverse("publishing:post_create")).content.decode()
    assert "Submit for approval" in page
    assert "in Yekaterinburg time" in page  # the zone as people say it


@pytest.mark.parametrize("case", ["gif", "not_an_image", "too_large"])
def test_bad_photo_gives_error_and_saves_nothing(net, client, settings, case):
    settings.FILIAL_MAX_PHOTO_BYTES = 2000
    photo = {
        "gif": gif_file(),
        "not_an_image": SimpleUploadedFile("notes.jpg", b"just some text, not a photo", content_type="image/jpeg"),
        "too_large": jpeg_with_gps("big.jpg", size=(400, 300)),
    }[case]
    if case == "too_large":
        assert (photo.size or 0) > 2000
    good = jpeg_with_gps("small.jpg", size=(8, 8))
    login(client, net, "editor_branch4")
    response = client.post(reverse("publishing:post_create"), form_data(net, photos=[good, photo]))
    assert response.status_code == 400
    body = response.content.decode()
    expected = {"gif": "Only JPEG, PNG and WebP photos are accepted.",
                "not_an_image": "The file is not a photo or is damaged.",
                "too_large": "the photo is too large"}[case]
    assert expected in body
    assert not Post.objects.exists()
    assert not Media.objects.exists()
    assert media_files(settings) == []


def test_past_time_is_rejected(net, client):
    login(client, net, "editor_branch4")
    past = local_input(timezone.now() - timedelta(hours=2))
    response = client.post(reverse("publishing:post_create"), form_data(net, publish_at=past))
    assert response.status_code == 400
    assert "The publication time is in the past." in response.content.decode()
    assert not Post.objects.exists()


@pytest.mark.parametrize("answers,message", [
    ("Да\n\nНет", "A poll answer is empty."),
    ("Только один", "A poll needs from 2 to 10 answers."),
    ("\n".join(str(i) for i in range(11)), "A poll needs from 2 to 10 answers."),
])
def test_bad_poll_is_rejected(net, client, answers, message):
    login(client, net, "editor_branch4")
    response = client.post(reverse("publishing:post_create"),
                           form_data(net, kind="poll", poll_question="Что почитать?", poll_answers=answers))
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not Post.objects.exists() and not Poll.objects.exists()


def test_poll_saved(net, client):
    login(client, net, "editor_branch4")
    ends = net.soon(24 * 7)
    response = client.post(reverse("publishing:post_create"), form_data(
        net, kind="poll", poll_question="Что почитать?", poll_answers="Классику\nФантастику\n",
        poll_multiple="on", poll_anonymous="", poll_ends_at=local_input(ends)))
    assert response.status_code == 302
    poll = Poll.objects.get()
    assert [a.text for a in poll.answers.all()] == ["Классику", "Фантастику"]
    assert (poll.multiple, poll.anonymous) == (True, False)
    assert poll.ends_at == ends.replace(second=0, microsecond=0)


def test_submit_without_pages_rolls_everything_back(net, client, settings):
    login(client, net, "editor_branch4")
    response = client.post(reverse("publishing:post_create"),
                           form_data(net, channels=[], photos=[jpeg_with_gps()], action="submit"))
    assert response.status_code == 400
    body = response.content.decode()
    assert "Choose at least one page." in body
    assert "choose the photos again" in body
    assert not Post.objects.exists() and not Media.objects.exists()
    assert media_files(settings) == []


def test_nonexistent_local_time_is_an_error(net, client):
    net.branch4.timezone = "Europe/Berlin"
    net.branch4.save(update_fields=["timezone"])
    login(client, net, "editor_branch4")
    response = client.post(reverse("publishing:post_create"), form_data(net, publish_at="2030-03-31T02:30"))
    assert response.status_code == 400
    assert "does not exist in the time zone Europe/Berlin" in response.content.decode()
    assert not Post.objects.exists()


def test_prefill_from_event_link(net, client):
    event = Event.objects.create(unit=net.branch4, title="Встреча с писателем", starts_at=net.soon(72))
    login(client, net, "editor_branch4")
    page = client.get(reverse("publishing:post_create") + f"?event={event.pk}&kind=photo_report").content.decode()
    assert f'<option value="{event.pk}" selected>' in page
    assert '<option value="photo_report" selected>' in page


def test_edit_removes_photo_and_keeps_variant(net, client):
    login(client, net, "editor_branch4")
    client.post(reverse("publishing:post_create"), form_data(net, photos=[jpeg_with_gps("a.jpg"),
                                                                         jpeg_with_gps("b.jpg")]))
    post = Post.objects.get()
    a, b = list(Media.objects.order_by("original_name"))
    page = client.get(reverse("publishing:post_edit", args=[post.pk])).content.decode()
    assert "Вечер поэзии" in page and 'name="remove_media"' in page
    response = client.post(reverse("publishing:post_edit", args=[post.pk]), form_data(
        net, text="Новый текст", remove_media=[a.pk],
        **{f"variant_{net.channels['branch4_ok'].pk}": "Для ОК"}))
    assert response.status_code == 302
    post.refresh_from_db()
    assert post.text == "Новый текст"
    assert list(post.media.all()) == [b]
    assert PostChannel.objects.get(post=post).text_override == "Для ОК"
    entry = AuditEntry.objects.get(object_type="publishing.post", object_id=str(post.pk), action="post.update")
    assert "text" in entry.changes


def test_reschedule_through_edit_moves_deliveries(net, client):
    post = make_post(net, "methodologist", state="scheduled")
    login(client, net, "methodologist")
    new_time = datetime(2031, 2, 3, 9, 15)
    response = client.post(reverse("publishing:post_edit", args=[post.pk]), form_data(
        net, text=post.text, publish_at=new_time.strftime("%Y-%m-%dT%H:%M"), action="save"))
    assert response.status_code == 302
    post.refresh_from_db()
    expected = datetime(2031, 2, 3, 4, 15, tzinfo=UTC)
    assert post.state == Post.State.SCHEDULED
    assert post.publish_at == expected
    assert list(post.deliveries.values_list("due_at", flat=True)) == [expected]


def test_published_post_cannot_be_edited(net, client):
    post = make_post(net, state="published")
    login(client, net, "editor_branch4")
    response = client.get(reverse("publishing:post_edit", args=[post.pk]))
    assert response.status_code == 302
    assert response["Location"] == reverse("publishing:post_detail", args=[post.pk])


# --- detail, approval flow -------------------------------------------------------------------------
def test_approval_flow_through_the_ui(net, client):
    editor = login(Client(), net, "editor_branch4")
    response = editor.post(reverse("publishing:post_create"), form_data(net, action="submit"))
    post = Post.objects.get()
    assert post.state == Post.State.PENDING

    metodist = login(client, net, "methodologist")
    queue = metodist.get(reverse("publishing:approvals"))
    assert queue.status_code == 200
    assert "Вечер поэзии" in queue.content.decode()

    # returning needs a comment
    response = metodist.post(reverse("publishing:post_return", args=[post.pk]), {"comment": " "})
    assert response.status_code == 400
    assert "Say what should be changed." in response.content.decode()
    response = metodist.post(reverse("publishing:post_return", args=[post.pk]),
                             {"comment": "Добавьте фото", "from": "approvals"})
    assert response.status_code == 302 and response["Location"] == reverse("publishing:approvals")
    post.refresh_from_db()
    assert (post.state, post.review_comment) == (Post.State.RETURNED, "Добавьте фото")

    # the editor sees the comment, fixes and resubmits from the detail page
    detail = editor.get(reverse("publishing:post_detail", args=[post.pk])).content.decode()
    assert "Добавьте фото" in detail
    assert editor.post(reverse("publishing:post_submit", args=[post.pk])).status_code == 302
    post.refresh_from_db()
    assert post.state == Post.State.PENDING
    # an editor may not approve
    assert editor.post(reverse("publishing:post_approve", args=[post.pk])).status_code == 403

    response = metodist.post(reverse("publishing:post_approve", args=[post.pk]), {"from": "approvals"})
    assert response.status_code == 302
    post.refresh_from_db()
    assert post.state == Post.State.SCHEDULED
    assert post.reviewed_by == net.users["methodologist"]
    assert Delivery.objects.filter(post=post, state=Delivery.State.SCHEDULED).count() == 1
    assert "Вечер поэзии" not in metodist.get(reverse("publishing:approvals")).content.decode()
    actions = list(AuditEntry.objects.filter(object_type="publishing.post", object_id=str(post.pk))
                   .order_by("at", "id").values_list("action", flat=True))
    assert actions == ["post.create", "post.submit", "post.return", "post.submit", "post.approve"]
    detail = metodist.get(reverse("publishing:post_detail", args=[post.pk])).content.decode()
    for text in ("Returned for changes", "Approved", net.channels["branch4_ok"].name, "Deliveries"):
        assert text in detail


def test_htmx_approve_returns_the_row(net, client):
    post = make_post(net, state="pending")
    login(client, net, "methodologist")
    response = client.post(reverse("publishing:post_approve", args=[post.pk]), {"from": "approvals"},
                           HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    body = response.content.decode()
    assert f'id="approval-{post.pk}"' in body and "<html" not in body
    assert "Approved: the post is scheduled." in body
    assert Post.objects.get(pk=post.pk).state == Post.State.SCHEDULED


def test_htmx_return_without_comment_shows_error_in_row(net, client):
    post = make_post(net, state="pending")
    login(client, net, "methodologist")
    response = client.post(reverse("publishing:post_return", args=[post.pk]), {"from": "approvals"},
                           HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert "Say what should be changed." in response.content.decode()
    assert Post.objects.get(pk=post.pk).state == Post.State.PENDING


def test_approve_of_post_in_the_past_is_a_message_not_a_500(net, client):
    post = make_post(net, state="pending")
    Post.objects.filter(pk=post.pk).update(publish_at=timezone.now() - timedelta(minutes=5))
    login(client, net, "methodologist")
    response = client.post(reverse("publishing:post_approve", args=[post.pk]))
    assert response.status_code == 400
    assert "The publication time is in the past." in response.content.decode()
    assert Post.objects.get(pk=post.pk).state == Post.State.PENDING


def test_cancel_and_delete(net, client):
    scheduled = make_post(net, "methodologist", state="scheduled")
    draft = make_post(net)
    login(client, net, "editor_branch4")
    assert client.post(reverse("publishing:post_cancel", args=[scheduled.pk])).status_code == 302
    scheduled.refresh_from_db()
    assert scheduled.state == Post.State.CANCELLED
    assert not scheduled.deliveries.filter(state=Delivery.State.SCHEDULED).exists()
    response = client.post(reverse("publishing:post_delete", args=[draft.pk]))
    assert response.status_code == 302 and response["Location"] == reverse("publishing:post_list")
    assert not Post.objects.filter(pk=draft.pk).exists()
    assert AuditEntry.objects.filter(action="post.delete", object_id=str(draft.pk)).exists()


def test_detail_shows_times_in_unit_zone_deliveries_and_escapes(net, client):
    post = make_post(net, "methodologist", state="scheduled", title="<script>alert(1)</script>",
                     publish_at=datetime(2030, 7, 1, 19, 0, tzinfo=UTC))
    Delivery.objects.filter(post=post).update(external_id="ok-777", last_error="timeout")
    login(client, net, "editor_branch4")
    body = client.get(reverse("publishing:post_detail", args=[post.pk])).content.decode()
    assert "02.07.2030 00:00" in body  # 19:00 UTC = midnight in Yekaterinburg
    assert "ok-777" in body and "timeout" in body
    assert "<script>alert(1)</script>" not in body
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body
    # an editor of the unit sees edit and cancel, not approve
    assert reverse("publishing:post_edit", args=[post.pk]) in body
    assert reverse("publishing:post_approve", args=[post.pk]) not in body


# --- list -----------------------------------------------------------------------------------------
def test_list_filters_and_search(net, client):
    a = make_post(net, "methodologist", unit=net.central, channels=("central_vk",), kind="book_fact",
                  title="Факт о книге", text="Пушкин родился в Москве", state="scheduled")
    b = make_post(net, "methodologist", unit=net.children, channels=("children_tg",), kind="afisha",
                  title="Детская афиша", publish_at=datetime(2030, 9, 1, 5, 0, tzinfo=UTC))
    c = make_post(net, "methodologist", unit=net.automation, channels=("automation_vk",), kind="product",
                  title="Винил")
    login(client, net, "methodologist")

    def titles(**params: Any) -> set[str]:
        response = client.get(reverse("publishing:post_list"), params)
        assert response.status_code == 200
        return {p.title for p in response.context["posts"]}

    assert titles() == {a.title, b.title, c.title}
    assert titles(q="пушкин") == {a.title}  # Cyrillic, case-insensitive
    assert titles(q="АФИША") == {b.title}
    assert titles(kind="product") == {c.title}
    assert titles(state="scheduled") == {a.title}
    assert titles(network="telegram") == {b.title}
    assert titles(network="vk") == {a.title, c.title}
    assert titles(channel=net.channels["automation_vk"].pk) == {c.title}
    assert titles(unit=net.central.pk) == {a.title, c.title}  # the department is part of the central library
    assert titles(unit=net.children.pk) == {b.title}
    assert titles(date_from="2030-09-01", date_to="2030-09-01") == {b.title}
    assert titles(unit="999999", kind="nonsense") == {a.title, b.title, c.title}  # bad filters are ignored


def test_list_pagination_and_query_count(net, client, django_assert_max_num_queries):
    for i in range(30):
        make_post(net, "methodologist", unit=[net.central, net.children, net.branch4][i % 3],
                  channels=[("central_ok", "central_vk"), ("children_ok",), ("branch4_ok",)][i % 3],
                  title=f"Пост {i}", state="scheduled" if i % 2 else "draft")
    login(client, net, "methodologist")
    with django_assert_max_num_queries(12):
        response = client.get(reverse("publishing:post_list"))
    assert response.status_code == 200
    assert len(response.context["posts"]) == 25
    response = client.get(reverse("publishing:post_list"), {"page": 2, "state": "draft"})
    assert response.context["page_obj"].number == 1  # only 15 drafts: one page
    assert len(response.context["posts"]) == 15
    response = client.get(reverse("publishing:post_list"), {"page": 2})
    assert len(response.context["posts"]) == 5
    assert "page=1" in response.content.decode()


def test_approvals_queue_oldest_first_and_query_count(net, client, django_assert_max_num_queries):
    first = make_post(net, title="Первый", state="pending")
    for i in range(8):
        make_post(net, title=f"Следующий {i}", state="pending")
    make_post(net, "editor_children", unit=net.children, channels=("children_ok",), title="Детский",
              state="pending")
    login(client, net, "methodologist")
    with django_assert_max_num_queries(12):
        response = client.get(reverse("publishing:approvals"))
    rows = response.context["rows"]
    assert len(rows) == 10
    assert rows[0]["post"] == first
    # the admin approves for the whole system
    login(client, net, "admin")
    assert len(client.get(reverse("publishing:approvals")).context["rows"]) == 10


def test_the_post_list_pages_keep_the_filters(net, client):
    Post.objects.bulk_create([Post(unit=net.central, kind=Post.Kind.NOTE, text=f"Заметка {i}",
                                   author=net.users["editor_central"]) for i in range(30)])
    client.force_login(net.users["methodologist"])
    first = client.get(reverse("publishing:post_list"), {"q": "Заметка"}).content.decode()
    assert 'rel="next"' in first and "?q=%D0%97%D0%B0%D0%BC%D0%B5%D1%82%D0%BA%D0%B0&amp;page=2" in first
    assert 'rel="prev"' not in first
    second = client.get(reverse("publishing:post_list"), {"q": "Заметка", "page": 2}).content.decode()
    assert 'rel="prev"' in second and 'rel="next"' not in second and "Page 2 of 2" in second


def test_a_50_mb_photo_is_refused_at_the_default_limit(net, client, settings):
    """The real default limit (no test override): a 50 MB photo is a translated form error, nothing is stored."""
    assert settings.FILIAL_MAX_PHOTO_BYTES < 50 * 1024 * 1024
    head = jpeg_with_gps("huge.jpg", size=(64, 48)).read()
    huge = SimpleUploadedFile("huge.jpg", head + b"\0" * (50 * 1024 * 1024 - len(head)), content_type="image/jpeg")
    login(client, net, "editor_branch4")
    response = client.post(reverse("publishing:post_create"), form_data(net, photos=[huge]))
    assert response.status_code == 400
    limit = settings.FILIAL_MAX_PHOTO_BYTES // 2**20
    assert f"huge.jpg: the photo is too large: 50 MB, at most {limit} MB." in response.content.decode()
    assert not Post.objects.exists()
    assert not Media.objects.exists()
    assert media_files(settings) == []
    assert not AuditEntry.objects.filter(action__startswith="post.").exists()
