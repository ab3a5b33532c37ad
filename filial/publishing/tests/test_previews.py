"""Composer previews: per page, the text as the network will show it, photos, poll, link and limit warnings."""

from __future__ import annotations

import io
import zoneinfo
from datetime import datetime
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from PIL import Image

from filial.channels.models import Channel
from filial.conftest import Net
from filial.publishing import services
from filial.publishing.models import Media, Post
from filial.publishing.previews import PagePreview, PreviewInput, page_preview
from filial.publishing.services import PostData

pytestmark = pytest.mark.django_db

YEKT = zoneinfo.ZoneInfo("Asia/Yekaterinburg")


def jpeg(name: str = "photo.jpg") -> SimpleUploadedFile:
    buf = io.BytesIO()
    Image.new("RGB", (32, 24), (10, 120, 200)).save(buf, "JPEG")
    return SimpleUploadedFile(name, buf.getvalue(), content_type="image/jpeg")


def ch(net: Net, key: str) -> Channel:
    return net.channels[key]


def preview(net: Net, key: str, **data: Any) -> PagePreview:
    if "poll_answers" in data:
        data["poll_answers"] = tuple(data["poll_answers"])
    return page_preview(ch(net, key), PreviewInput(**data))


def form_data(net: Net, channels: tuple[str, ...], **overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "unit": net.central.pk, "kind": "note", "title": "", "text": "Приходите в библиотеку!", "link": "",
        "event": "", "channels": [net.channels[c].pk for c in channels],
        "publish_at": datetime(2031, 5, 1, 10, 0).strftime("%Y-%m-%dT%H:%M"),
        "poll_question": "", "poll_answers": "", "poll_ends_at": "", "poll_anonymous": "on",
    }
    data.update(overrides)
    return data


def logged_in(net: Net, role: str = "methodologist") -> Client:
    client = Client(headers={"accept-language": "en"})
    client.force_login(net.users[role])
    return client


# --- the computation ----------------------------------------------------------------------------------
def test_text_over_the_limit_is_cut_and_warned(net: Net) -> None:
    text = "а" * 4000 + "б" * 200
    tg = preview(net, "children_tg", text=text)
    assert (tg.length, tg.limit, tg.cut) == (4200, 4096, 104)
    assert tg.shown == text[:4096] and tg.overflow == "б" * 104
    assert any("4200 characters; Telegram takes at most 4096" in w for w in tg.warnings)
    mx = preview(net, "central_max", text=text)
    assert mx.cut == 200 and not mx.ok
    vk = preview(net, "central_vk", text=text)
    assert vk.cut == 0 and vk.ok and vk.overflow == ""


def test_the_link_goes_where_the_network_puts_it(net: Net) -> None:
    data = {"text": "Афиша недели", "link": "https://lib.example/afisha"}
    tg, mx = preview(net, "children_tg", **data), preview(net, "central_max", **data)
    vk, ok = preview(net, "central_vk", **data), preview(net, "central_ok", **data)
    assert tg.text == mx.text == "Афиша недели\n\nhttps://lib.example/afisha"
    assert tg.link_in_text and tg.link_card and mx.link_in_text and not mx.link_card
    assert vk.text == ok.text == "Афиша недели" and vk.link_card and not vk.link_in_text
    # the link counts against the limit where it travels in the text
    near = "я" * 3990
    assert preview(net, "central_max", text=near, link="https://lib.example/afisha").cut > 0
    assert preview(net, "central_max", text=near).cut == 0


def test_photos_against_the_network_maximum(net: Net) -> None:
    assert preview(net, "central_vk", text="x", photos=10).ok
    over = preview(net, "central_ok", text="x", photos=11)
    assert over.photos_over and any("11 photos; OK takes at most 10" in w for w in over.warnings)
    crowded = preview(net, "central_vk", text="x", photos=10, link="https://lib.example")
    assert any("at most 10 attachments" in w for w in crowded.warnings)


def test_telegram_caption_note(net: Net) -> None:
    long_caption = preview(net, "children_tg", text="с" * 1500, photos=2)
    assert long_caption.ok and any("own message after the photos" in n for n in long_caption.notes)
    assert preview(net, "children_tg", text="с" * 1500).notes == []


def test_polls_per_network(net: Net) -> None:
    poll = {"text": "Голосуем", "poll_question": "Когда встречаемся?", "poll_answers": ["Утром", "Вечером"]}
    assert preview(net, "central_vk", **poll).ok and preview(net, "central_ok", **poll).ok
    mx = preview(net, "central_max", **poll)
    assert not mx.polls_supported and any("MAX has no polls" in w for w in mx.warnings)
    eleven = {**poll, "poll_answers": [f"Вариант {i}" for i in range(11)]}
    assert any("from 2 to 10 answers" in w for w in preview(net, "central_vk", **eleven).warnings)
    assert preview(net, "children_tg", **eleven).ok  # Telegram takes up to 12
    one = {**poll, "poll_answers": ["Только один"]}
    assert any("from 2 to 12 answers" in w for w in preview(net, "children_tg", **one).warnings)
    public = preview(net, "children_tg", **poll, poll_anonymous=False)
    assert any("anonymous" in w for w in public.warnings)
    assert preview(net, "central_vk", **poll, poll_anonymous=False).ok


def test_own_text_and_empty_post(net: Net) -> None:
    page = ch(net, "central_vk")
    own = page_preview(page, PreviewInput(text="Общий текст", overrides={page.pk: "Текст для VK"}))
    assert own.own_text and own.text == "Текст для VK"
    empty = preview(net, "central_ok", text="")
    assert any("empty" in w for w in empty.warnings)


# --- the htmx endpoint --------------------------------------------------------------------------------
def test_partial_previews_each_selected_page(net: Net) -> None:
    client = logged_in(net)
    data = form_data(net, ("central_vk", "central_max", "children_tg"), text="Т" * 4500,
                     poll_question="Вопрос?", poll_answers="Да\nНет", photos_selected="3")
    response = client.post(reverse("publishing:post_preview"), data, headers={"HX-Request": "true"})
    assert response.status_code == 200
    html = response.content.decode()
    assert "<html" not in html  # a partial
    for key in ("central_vk", "central_max", "children_tg"):
        assert net.channels[key].name in html
    assert net.channels["central_ok"].name not in html  # not selected
    assert "Polls not supported" in html and "3 of 10 photos" in html
    assert "4500 of 4096 characters" in html and "4500 of 16384 characters" in html
    assert 'class="preview-overflow"' in html and "404 characters over the limit" in html
    assert Post.objects.count() == 0


def test_partial_escapes_the_text(net: Net) -> None:
    client = logged_in(net)
    data = form_data(net, ("central_vk",), text="<script>alert(1)</script>")
    html = client.post(reverse("publishing:post_preview"), data).content.decode()
    assert "<script>alert" not in html and "&lt;script&gt;" in html


def test_pages_of_other_units_are_not_previewed(net: Net) -> None:
    client = logged_in(net, "editor_branch4")
    data = form_data(net, ("branch4_ok", "central_vk"), unit=net.branch4.pk)
    html = client.post(reverse("publishing:post_preview"), data).content.decode()
    assert net.channels["branch4_ok"].name in html and net.channels["central_vk"].name not in html


@pytest.mark.parametrize("role,status", [("viewer", 403), ("outsider", 403)])
def test_preview_needs_a_writer(net: Net, role: str, status: int) -> None:
    response = logged_in(net, role).post(reverse("publishing:post_preview"), form_data(net, ("central_vk",)))
    assert response.status_code == status


def test_preview_needs_login_and_post(net: Net) -> None:
    assert Client().post(reverse("publishing:post_preview"), {}).status_code == 302
    assert logged_in(net).get(reverse("publishing:post_preview")).status_code == 405


def test_preview_of_an_existing_post_counts_its_photos(net: Net) -> None:
    client = logged_in(net)
    client.post(reverse("publishing:post_create"), {**form_data(net, ("central_ok",)), "action": "draft",
                                                    "photos": [jpeg("a.jpg"), jpeg("b.jpg")]})
    post = Post.objects.get()
    first = Media.objects.order_by("id").first()
    assert first is not None
    url = reverse("publishing:post_preview_edit", args=[post.pk])
    html = client.post(url, form_data(net, ("central_ok",), photos_selected="1")).content.decode()
    assert "3 of 10 photos" in html
    html = client.post(url, form_data(net, ("central_ok",), remove_media=[first.pk])).content.decode()
    assert "1 of 10 photos" in html
    other = services.post_create(actor=net.users["editor_branch4"], data=PostData(
        unit=net.branch4, kind=Post.Kind.NOTE, text="Чужой пост", channels=[net.channels["branch4_ok"]]))
    assert logged_in(net, "editor_children").post(
        reverse("publishing:post_preview_edit", args=[other.pk]), form_data(net, ())).status_code == 404


# --- the composer page, with and without JavaScript -----------------------------------------------------
def test_composer_has_live_previews_and_a_preview_button(net: Net) -> None:
    html = logged_in(net).get(reverse("publishing:post_create")).content.decode()
    assert f'hx-post="{reverse("publishing:post_preview")}"' in html
    assert 'name="action" value="preview"' in html and "formnovalidate" in html
    assert "Choose pages to see how the post will look" in html
    assert "publishing/composer.js" in html


def test_preview_button_rerenders_without_saving(net: Net) -> None:
    client = logged_in(net)
    data = {**form_data(net, ("children_tg", "central_max"), text="Р" * 5000, link="lib.example/news"),
            "action": "preview", "photos": [jpeg("a.jpg"), jpeg("b.jpg")]}
    response = client.post(reverse("publishing:post_create"), data)
    assert response.status_code == 200
    html = response.content.decode()
    assert "<html" in html and 'id="previews"' in html
    assert net.channels["children_tg"].name in html and "2 of 10 photos" in html
    assert "https://lib.example/news" in html  # as the URL field will store it
    assert "choose them again" in html
    assert "Р" * 50 in html  # the form keeps what was typed
    assert Post.objects.count() == 0 and Media.objects.count() == 0


def test_preview_button_works_with_an_invalid_form(net: Net) -> None:
    client = logged_in(net)
    response = client.post(reverse("publishing:post_create"),
                           {**form_data(net, ("central_vk",), text=""), "action": "preview"})
    assert response.status_code == 200
    assert "The post is empty on this page." in response.content.decode()
    assert Post.objects.count() == 0


def test_edit_page_shows_previews_of_its_pages(net: Net) -> None:
    post = services.post_create(actor=net.users["methodologist"], data=PostData(
        unit=net.central, kind=Post.Kind.NOTE, text="Новости недели",
        channels=[net.channels["central_vk"], net.channels["central_max"]]))
    client = logged_in(net)
    html = client.get(reverse("publishing:post_edit", args=[post.pk])).content.decode()
    assert reverse("publishing:post_preview_edit", args=[post.pk]) in html
    assert "14 of 16384 characters" in html and "14 of 4000 characters" in html
    response = client.post(reverse("publishing:post_edit", args=[post.pk]),
                           {**form_data(net, ("central_vk",), text="Правка"), "action": "preview"})
    assert response.status_code == 200 and "6 of 16384 characters" in response.content.decode()
    post.refresh_from_db()
    assert post.text == "Новости недели"


# --- in a real browser: the previews follow the typing (htmx) ------------------------------------------
@pytest.mark.browser
def test_live_previews_in_the_browser(live_server: Any, transactional_db: Any, net: Net, page: Any,
                                      tmp_path: Any) -> None:
    from django.conf import settings

    from filial.conftest import ARTIFACTS, PASSWORD

    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    base = live_server.url
    page.context.add_cookies([{"name": settings.LANGUAGE_COOKIE_NAME, "value": "en", "url": base}])
    page.goto(f"{base}/login/")
    page.get_by_label("Username").fill(net.users["editor_children"].username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{base}/")
    page.goto(f"{base}{reverse('publishing:post_create')}")
    previews = page.locator("#previews")
    previews.get_by_text("Choose pages to see how the post will look").wait_for()
    page.locator(f"#id_channels_{net.channels['children_tg'].pk}").check()
    page.locator("#id_text").fill("Т" * 4200)
    previews.get_by_text("4200 of 4096 characters").wait_for()
    assert previews.locator(".preview-overflow").count() == 1
    ARTIFACTS.mkdir(exist_ok=True)
    previews.screenshot(path=str(ARTIFACTS / "browser-composer-previews-over.png"))
    photos = []
    for i in range(2):
        path = tmp_path / f"p{i}.jpg"
        Image.new("RGB", (40, 30), (200, 120, 40)).save(path, "JPEG")
        photos.append(str(path))
    page.locator("#id_photos").set_input_files(photos)
    previews.get_by_text("2 of 10 photos").wait_for()
    page.locator("#id_text").fill("Коротко")
    previews.get_by_text("7 of 4096 characters").wait_for()
    page.screenshot(path=str(ARTIFACTS / "browser-composer-previews.png"), full_page=True)
    assert Post.objects.count() == 0
    assert errors == []
