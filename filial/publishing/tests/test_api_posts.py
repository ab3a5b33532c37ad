"""/api/v1/posts/: the whole flow over the API, input checks (nothing written on bad input), PATCH merge,
filters and the query count of the list."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.test import APIClient

from filial.accounts.models import AuditEntry
from filial.conftest import PASSWORD
from filial.core.tests.test_api_support import client_for, compose, fingerprint, jpeg_upload, world
from filial.publishing import services
from filial.publishing.models import Delivery, Post


@pytest.fixture(autouse=True)
def _clear_throttles() -> None:
    cache.clear()


def _token_client(username: str) -> APIClient:
    client = APIClient()
    response = client.post("/api/v1/auth/token/", {"username": username, "password": PASSWORD}, format="json")
    assert response.status_code == 200, response.content
    client.credentials(HTTP_AUTHORIZATION=f"Token {response.json()['token']}")
    return client


def test_full_flow_token_photo_poll_two_pages_submit_approve(net: Any) -> None:
    editor = _token_client("ed_children")
    upload = editor.post("/api/v1/media/", {"file": jpeg_upload(size=(800, 600)), "alt_text": "Выставка"},
                         format="multipart")
    assert upload.status_code == 201, upload.content
    photo = upload.json()
    assert (photo["width"], photo["height"], photo["unit"]) == (800, 600, net.children.pk)
    assert photo["url"] == f"http://testserver/api/v1/media/{photo['id']}/file/"
    image = editor.get(photo["url"])  # the link works with the token alone
    assert image.status_code == 200 and image["Content-Type"] == "image/jpeg"
    assert image.getvalue()[:2] == b"\xff\xd8"

    pages = [net.channels["children_ok"].pk, net.channels["children_tg"].pk]
    created = editor.post("/api/v1/posts/", {
        "kind": "poll", "title": "Опрос о чтении", "text": "Что вы читаете летом?", "channels": pages,
        "publish_at": "2031-06-01T10:00:00", "media": [photo["id"]], "link": "https://mednogorsk-cbs.ru/",
        "text_overrides": {str(pages[1]): "Что вы читаете летом? Ответьте в опросе."},
        "poll": {"question": "Что вы читаете?", "answers": ["Классику", "Фантастику", "Детективы"],
                 "multiple": True, "ends_at": "2031-06-10T18:00:00"},
    }, format="json")
    assert created.status_code == 201, created.content
    post = created.json()
    assert post["state"] == "draft" and post["unit"] == net.children.pk
    assert post["channels"] == pages and post["media"] == [photo["id"]]
    # A time without an offset is the children's library's wall clock (Asia/Yekaterinburg, +05:00).
    assert post["publish_at"] == "2031-06-01T10:00:00+05:00"
    assert Post.objects.get(pk=post["id"]).publish_at == datetime(2031, 6, 1, 5, 0, tzinfo=UTC)
    assert post["poll"] == {"question": "Что вы читаете?", "answers": ["Классику", "Фантастику", "Детективы"],
                            "multiple": True, "anonymous": True, "ends_at": "2031-06-10T18:00:00+05:00"}
    assert post["text_overrides"] == {str(pages[1]): "Что вы читаете летом? Ответьте в опросе."}

    submitted = editor.post(f"/api/v1/posts/{post['id']}/submit/")
    assert submitted.status_code == 200 and submitted.json()["state"] == "pending"
    assert editor.post(f"/api/v1/posts/{post['id']}/approve/", {}, format="json").status_code == 403

    methodologist = _token_client("metodist")
    approved = methodologist.post(f"/api/v1/posts/{post['id']}/approve/", {"comment": "Хорошо"}, format="json")
    assert approved.status_code == 200, approved.content
    assert approved.json()["state"] == "scheduled" and approved.json()["review_comment"] == "Хорошо"

    deliveries = editor.get(f"/api/v1/deliveries/?post={post['id']}")
    assert deliveries.status_code == 200
    rows = deliveries.json()["results"]
    assert [(d["channel"], d["state"], d["network"]) for d in rows] == [
        (pages[0], "scheduled", "ok"), (pages[1], "scheduled", "telegram")]
    assert {d["due_at"] for d in rows} == {"2031-06-01T10:00:00+05:00"}
    assert rows[0]["channel_name"] == net.channels["children_ok"].name
    assert {"external_id", "url", "attempts", "last_error", "published_at"} <= set(rows[0])
    actions = set(AuditEntry.objects.filter(object_type="publishing.post", object_id=str(post["id"]))
                  .values_list("action", flat=True))
    assert actions == {"post.create", "post.submit", "post.approve"}


def _payload(net: Any, **kw: Any) -> dict[str, Any]:
    body = {"kind": "afisha", "text": "Приходите!", "channels": [net.channels["branch4_ok"].pk],
            "publish_at": net.soon().isoformat()}
    body.update(kw)
    return body


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"kind": "leaflet"}, "kind"),
        ({"kind": ["afisha"]}, "kind"),
        ({"text": {"a": 1}}, "text"),
        ({"channels": "all"}, "channels"),
        ({"channels": [999999]}, "channels"),
        ({"channels": ["abc"]}, "channels"),
        ({"channels": "children"}, "channels"),  # replaced below by the children's page
        ({"media": [424242]}, "media"),
        ({"publish_at": "tomorrow"}, "publish_at"),
        ({"publish_at": "2001-01-01T10:00:00"}, "publish_at"),
        ({"link": "not a link"}, "link"),
        ({"poll": {"question": "Вам нравится?", "answers": ["Да", " "]}}, "poll"),
        ({"poll": {"question": "Вам нравится?", "answers": ["Да"]}}, "poll"),
        ({"poll": "yes"}, "poll"),
        ({"poll": {"question": "Вам нравится?", "answers": ["Да", "Нет"], "ends_at": "2001-01-01T00:00"}},
         "poll"),
        ({"kind": "poll"}, "poll"),
        ({"text_overrides": {"x": "текст"}}, "text_overrides"),
        ({"text_overrides": {"999999": "текст"}}, "channels"),
        ({"event": 777777}, "event"),
        ({"text": "   "}, "text"),
    ],
)
def test_bad_input_is_400_with_field_errors_and_writes_nothing(net: Any, change: dict[str, Any],
                                                               field: str) -> None:
    if change.get("channels") == "children":
        change = {"channels": [net.channels["children_ok"].pk]}
    client = client_for(net, "editor_branch4")
    before = fingerprint()
    response = client.post("/api/v1/posts/", _payload(net, **change), format="json")
    assert response.status_code == 400, response.content
    assert field in response.json(), response.json()
    assert fingerprint() == before


def test_page_of_another_unit_names_the_page(net: Any) -> None:
    response = client_for(net, "editor_branch4").post(
        "/api/v1/posts/", _payload(net, channels=[net.channels["branch4_ok"].pk, net.channels["children_ok"].pk]),
        format="json")
    assert response.status_code == 400
    assert net.channels["children_ok"].name in response.json()["channels"][0]
    assert not Post.objects.exists()


@pytest.mark.parametrize(
    ("body", "content_type", "code"),
    [('{"kind": "note", "text": ', "application/json", 400), ("[1, 2]", "application/json", 400),
     # one content type per operation (the schema's): a form or multipart body is not read at all
     ("kind=note", "application/x-www-form-urlencoded", 415), ("kind=note", "multipart/form-data; boundary=x", 415)],
)
def test_malformed_body_is_refused(net: Any, body: str, content_type: str, code: int) -> None:
    response = client_for(net, "editor_branch4").generic("POST", "/api/v1/posts/", body, content_type)
    assert response.status_code == code
    assert set(response.json()) <= {"detail", "non_field_errors"}
    assert not Post.objects.exists()


def test_duplicate_pages_and_photos_are_400(net: Any) -> None:
    client = client_for(net, "editor_branch4")
    photo = client.post("/api/v1/media/", {"file": jpeg_upload()}, format="multipart").json()["id"]
    page = net.channels["branch4_ok"].pk
    response = client.post("/api/v1/posts/", _payload(net, channels=[page, page], media=[photo, photo]),
                           format="json")
    assert response.status_code == 400
    assert set(response.json()) == {"channels", "media"}
    assert not Post.objects.exists()


def test_nonexistent_local_time_is_400(net: Any) -> None:
    net.branch4.timezone = "Europe/Berlin"
    net.branch4.save(update_fields=["timezone"])
    client = client_for(net, "editor_branch4")
    response = client.post("/api/v1/posts/", _payload(net, publish_at="2031-03-30T02:30:00"), format="json")
    assert response.status_code == 400
    assert "publish_at" in response.json()
    ok = client.post("/api/v1/posts/", _payload(net, publish_at="2031-07-01T12:00"), format="json")
    assert ok.status_code == 201
    assert ok.json()["publish_at"] == "2031-07-01T12:00:00+02:00"


def test_aware_time_is_kept(net: Any) -> None:
    response = client_for(net, "editor_branch4").post(
        "/api/v1/posts/", _payload(net, publish_at="2031-07-01T12:00:00Z"), format="json")
    assert response.status_code == 201
    assert response.json()["publish_at"] == "2031-07-01T17:00:00+05:00"


def test_unit_defaults(net: Any) -> None:
    metodist = client_for(net, "methodologist")
    first_page = metodist.post("/api/v1/posts/", _payload(net, channels=[net.channels["children_tg"].pk]),
                               format="json")
    assert first_page.json()["unit"] == net.children.pk
    no_pages = metodist.post("/api/v1/posts/", _payload(net, channels=[]), format="json")
    assert no_pages.status_code == 201
    assert no_pages.json()["unit"] == net.central.pk  # the first unit in tree order
    explicit = metodist.post("/api/v1/posts/", _payload(net, unit=net.branch4.pk), format="json")
    assert explicit.json()["unit"] == net.branch4.pk


def test_patch_merges_with_current_values(net: Any) -> None:
    client = client_for(net, "editor_children")
    pages = [net.channels["children_ok"].pk, net.channels["children_tg"].pk]
    post = client.post("/api/v1/posts/", {
        "kind": "poll", "text": "Старый текст", "channels": pages, "publish_at": "2031-05-01T09:00",
        "text_overrides": {str(pages[1]): "Для Telegram"},
        "poll": {"question": "Придёте?", "answers": ["Да", "Нет"]},
    }, format="json").json()
    changed = client.patch(f"/api/v1/posts/{post['id']}/", {"text": "Новый текст", "publish_at": "2031-05-02T09:30"},
                           format="json")
    assert changed.status_code == 200, changed.content
    body = changed.json()
    assert body["text"] == "Новый текст" and body["kind"] == "poll" and body["channels"] == pages
    assert body["publish_at"] == "2031-05-02T09:30:00+05:00"
    assert body["poll"]["answers"] == ["Да", "Нет"]
    assert body["text_overrides"] == {str(pages[1]): "Для Telegram"}

    # Dropping a page drops its text variant; changing part of the poll keeps the rest.
    changed = client.patch(f"/api/v1/posts/{post['id']}/",
                           {"channels": pages[:1], "poll": {"answers": ["Да", "Нет", "Может быть"]}}, format="json")
    assert changed.status_code == 200, changed.content
    body = changed.json()
    assert body["channels"] == pages[:1] and body["text_overrides"] == {}
    assert body["poll"]["question"] == "Придёте?" and len(body["poll"]["answers"]) == 3
    assert AuditEntry.objects.filter(action="post.update", object_id=str(post["id"])).count() == 2

    before = fingerprint()
    bad = client.patch(f"/api/v1/posts/{post['id']}/", {"poll": {"answers": ["Да", ""]}}, format="json")
    assert bad.status_code == 400 and "poll" in bad.json()
    assert fingerprint() == before


def test_patch_of_scheduled_post_by_editor_goes_back_to_approval(net: Any) -> None:
    w = world(net)
    response = client_for(net, "editor_children").patch(f"/api/v1/posts/{w.scheduled_ch.pk}/",
                                                        {"title": "Новое название"}, format="json")
    assert response.status_code == 200
    assert response.json()["state"] == "pending"
    assert set(Delivery.objects.filter(post=w.scheduled_ch).values_list("state", flat=True)) == {"cancelled"}


def test_delete_and_cancel(net: Any) -> None:
    w = world(net)
    client = client_for(net, "editor_children")
    assert client.delete(f"/api/v1/posts/{w.draft_ch.pk}/").status_code == 204
    assert not Post.objects.filter(pk=w.draft_ch.pk).exists()
    assert AuditEntry.objects.filter(action="post.delete", object_id=str(w.draft_ch.pk)).exists()
    cancelled = client.post(f"/api/v1/posts/{w.scheduled_ch.pk}/cancel/")
    assert cancelled.status_code == 200 and cancelled.json()["state"] == "cancelled"
    assert set(w.scheduled_ch.deliveries.values_list("state", flat=True)) == {"cancelled"}
    again = client.post(f"/api/v1/posts/{w.scheduled_ch.pk}/cancel/")
    assert again.status_code == 400 and "non_field_errors" in again.json()


def test_delete_of_post_that_went_out_is_400(net: Any) -> None:
    w = world(net)
    w.scheduled_ch.deliveries.update(state=Delivery.State.PUBLISHED)
    response = client_for(net, "editor_children").delete(f"/api/v1/posts/{w.scheduled_ch.pk}/")
    assert response.status_code == 400
    assert Post.objects.filter(pk=w.scheduled_ch.pk).exists()


def test_return_needs_a_comment_and_wrong_state_is_400(net: Any) -> None:
    w = world(net)
    metodist = client_for(net, "methodologist")
    missing = metodist.post(f"/api/v1/posts/{w.pending_b4.pk}/return/", {}, format="json")
    blank = metodist.post(f"/api/v1/posts/{w.pending_b4.pk}/return/", {"comment": "  "}, format="json")
    assert missing.status_code == blank.status_code == 400
    assert "comment" in missing.json() and "comment" in blank.json()
    returned = metodist.post(f"/api/v1/posts/{w.pending_b4.pk}/return/", {"comment": "Уточните время"},
                             format="json")
    assert returned.status_code == 200
    assert (returned.json()["state"], returned.json()["review_comment"]) == ("returned", "Уточните время")
    assert metodist.post(f"/api/v1/posts/{w.draft_b4.pk}/approve/", {}, format="json").status_code == 400
    # Submitting without a time is refused with a field error.
    post = compose(net, "editor_branch4", net.branch4, [net.channels["branch4_ok"]], publish_at=None)
    response = client_for(net, "editor_branch4").post(f"/api/v1/posts/{post.pk}/submit/")
    assert response.status_code == 400 and "publish_at" in response.json()


def test_list_filters(net: Any) -> None:
    w = world(net)
    far = compose(net, "editor_branch4", net.branch4, [net.channels["branch4_ok"]], kind="book_fact",
                  text="Факт о книге: «Тихий Дон»", publish_at=timezone.now() + timedelta(days=40))
    client = client_for(net, "admin")

    def ids(query: str) -> set[int]:
        response = client.get(f"/api/v1/posts/?{query}")
        assert response.status_code == 200, response.content
        return {row["id"] for row in response.json()["results"]}

    assert ids("state=draft") == {w.draft_b4.pk, w.draft_ch.pk, far.pk}
    assert ids("state=pending,scheduled") == {w.pending_b4.pk, w.scheduled_ch.pk}
    assert ids(f"unit={net.children.pk}") == {w.draft_ch.pk, w.scheduled_ch.pk}
    assert ids(f"channel={net.channels['children_tg'].pk}") == {w.scheduled_ch.pk}
    assert ids("network=telegram") == {w.scheduled_ch.pk}
    assert ids("kind=book_fact") == {far.pk}
    assert ids("search=Тихий") == {far.pk}
    assert ids("search=недел") == {w.scheduled_ch.pk}  # the title
    day = timezone.localtime(far.publish_at, net.branch4.tz).date()
    assert ids(f"from={day.isoformat()}") == {far.pk}
    assert ids(f"to={(day - timedelta(days=1)).isoformat()}") == {w.draft_b4.pk, w.pending_b4.pk,
                                                                  w.draft_ch.pk, w.scheduled_ch.pk}
    assert ids(f"from={day.isoformat()}&to={day.isoformat()}") == {far.pk}
    for bad in ("state=bogus", "kind=bogus", "network=facebook", "unit=abc", "from=yesterday"):
        response = client.get(f"/api/v1/posts/?{bad}")
        assert response.status_code == 400, bad
        assert bad.split("=")[0] in response.json()


def test_posts_list_query_count_does_not_grow(net: Any, django_assert_max_num_queries: Any) -> None:
    client = client_for(net, "methodologist")
    photo = client.post("/api/v1/media/", {"file": jpeg_upload()}, format="multipart").json()["id"]
    pages = [net.channels["children_ok"].pk, net.channels["children_tg"].pk]

    def add_posts(count: int) -> None:
        for i in range(count):
            response = client.post("/api/v1/posts/", {
                "kind": "poll", "text": f"Опрос {i}", "channels": pages, "publish_at": net.soon(i + 1).isoformat(),
                "media": [photo], "text_overrides": {str(pages[0]): "вариант"},
                "poll": {"question": "Да или нет?", "answers": ["Да", "Нет"]},
            }, format="json")
            assert response.status_code == 201
            if i % 2:
                services.post_submit(actor=net.users["methodologist"],
                                     post=Post.objects.get(pk=response.json()["id"]))

    def queries(path: str) -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get(path).status_code == 200
        return len(captured)

    filtered = "/api/v1/posts/?network=ok&search=Опрос&from=2000-01-01"
    add_posts(2)
    few, few_filtered = queries("/api/v1/posts/"), queries(filtered)
    add_posts(10)
    with django_assert_max_num_queries(8):
        response = client.get("/api/v1/posts/")
    rows = response.json()["results"]
    assert len(rows) == 12
    assert all(r["media"] == [photo] and r["channels"] == pages and r["poll"]["answers"] == ["Да", "Нет"]
               for r in rows)
    assert queries("/api/v1/posts/") == few
    assert queries(filtered) == few_filtered <= 9
