"""The composer and filter forms on their own: choices per user, times in the unit's zone, polls, photos."""

from __future__ import annotations

import zoneinfo
from datetime import UTC, datetime
from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils.datastructures import MultiValueDict

from filial.publishing import services
from filial.publishing.forms.posts import LocalDateTimeField, PostForm, PostListFilterForm, split_answers
from filial.publishing.models import Post
from filial.publishing.services import PostData


def bound(net: Any, role: str = "editor_branch4", files: Any = None, post: Any = None, **data: Any) -> PostForm:
    values = {"unit": str(net.branch4.pk), "kind": "note", "text": "Текст", "publish_at": "2030-01-15T01:00",
              "channels": [str(net.channels["branch4_ok"].pk)], "poll_anonymous": "on"}
    values.update(data)
    qd = MultiValueDict({k: v if isinstance(v, list) else [v] for k, v in values.items()})
    return PostForm(qd, MultiValueDict(files or {}), user=net.users[role], post=post)


def choices(form: PostForm, name: str) -> Any:
    return getattr(form.fields[name], "queryset")  # noqa: B009


def test_local_field_keeps_naive_time():
    field = LocalDateTimeField(required=False)
    assert field.clean("2030-01-15T01:00") == datetime(2030, 1, 15, 1, 0)
    assert field.clean("15.01.2030 01:00") == datetime(2030, 1, 15, 1, 0)
    assert field.clean("") is None


def test_publish_at_is_read_in_the_units_zone(net):
    form = bound(net)
    assert form.is_valid(), form.errors
    assert form.cleaned_data["publish_at"] == datetime(2030, 1, 14, 20, 0, tzinfo=UTC)
    net.branch4.timezone = "Europe/Moscow"
    net.branch4.save(update_fields=["timezone"])
    form = bound(net)
    assert form.is_valid(), form.errors
    assert form.cleaned_data["publish_at"] == datetime(2030, 1, 14, 22, 0, tzinfo=UTC)


def test_ambiguous_local_time_is_an_error(net):
    net.branch4.timezone = "Europe/Berlin"
    net.branch4.save(update_fields=["timezone"])
    form = bound(net, publish_at="2030-10-27T02:30")  # the clocks go back at 03:00 that night
    assert not form.is_valid()
    assert "happens twice" in str(form.errors["publish_at"])


def test_choices_follow_the_users_units(net):
    form = PostForm(user=net.users["editor_branch4"])
    assert [u.pk for u in choices(form, "unit")] == [net.branch4.pk]
    assert {c.pk for c in choices(form, "channels")} == {net.channels["branch4_ok"].pk}
    form = PostForm(user=net.users["methodologist"])
    assert {c.pk for c in choices(form, "channels")} == {c.pk for c in net.channels.values()}
    groups = form.channel_groups()
    assert [g["unit"].pk for g in groups] == [net.central.pk, net.automation.pk, net.children.pk, net.branch4.pk]


def test_archived_pages_are_not_offered(net):
    channel = net.channels["branch4_ok"]
    channel.status = channel.Status.ARCHIVED
    channel.save(update_fields=["status"])
    form = PostForm(user=net.users["editor_branch4"])
    assert channel.pk not in {c.pk for c in choices(form, "channels")}


def test_foreign_page_is_refused(net):
    form = bound(net, channels=[str(net.channels["children_ok"].pk)])
    assert not form.is_valid()
    assert form.errors["channels"] == ["You cannot publish to one of the chosen pages."]


def test_split_answers():
    assert split_answers("Да\nНет\n\n") == ["Да", "Нет"]
    assert split_answers("  Да \r\n  \r\nНет") == ["Да", "", "Нет"]
    assert split_answers("   ") == []


def test_poll_needs_question_and_answers(net):
    form = bound(net, poll_answers="Да\nНет")
    assert not form.is_valid() and "poll_question" in form.errors
    form = bound(net, poll_question="Вопрос?")
    assert not form.is_valid() and "poll_answers" in form.errors


def test_post_data_keeps_variants_of_chosen_pages_only(net):
    vk, ok = net.channels["central_vk"], net.channels["central_ok"]
    form = bound(net, "methodologist", unit=str(net.central.pk), channels=[str(vk.pk)],
                 poll_question="Что почитать?", poll_answers="Классику\nФантастику",
                 **{f"variant_{vk.pk}": "Для ВК", f"variant_{ok.pk}": "Для ОК (не выбрана)"})
    assert form.is_valid(), form.errors
    data = form.post_data()
    assert data.text_overrides == {vk.pk: "Для ВК"}
    assert [c.pk for c in data.channels] == [vk.pk]
    assert data.poll is not None and data.poll.answers == ["Классику", "Фантастику"]
    assert data.poll.anonymous is True


def test_too_many_photos_and_too_large(net, settings):
    settings.FILIAL_MAX_PHOTO_BYTES = 10
    files = [SimpleUploadedFile(f"p{i}.jpg", b"x" * 5, content_type="image/jpeg") for i in range(11)]
    form = bound(net, files={"photos": files})
    assert not form.is_valid()
    assert "At most 10 photos can go with one post." in str(form.errors["photos"])
    form = bound(net, files={"photos": [SimpleUploadedFile("big.jpg", b"x" * 11, content_type="image/jpeg")]})
    assert not form.is_valid()
    assert "big.jpg: the photo is too large" in str(form.errors["photos"])


def test_edit_form_initial_is_local(net):
    post = services.post_create(actor=net.users["editor_branch4"], data=PostData(
        unit=net.branch4, kind="note", text="Текст", channels=[net.channels["branch4_ok"]],
        publish_at=datetime(2030, 1, 14, 20, 0, tzinfo=UTC)))
    form = PostForm(user=net.users["editor_branch4"], post=Post.objects.select_related("unit__system").get(pk=post.pk))
    html = str(form["publish_at"])
    assert 'value="2030-01-15T01:00"' in html
    assert form.initial["channels"] == [net.channels["branch4_ok"].pk]


def test_filter_form_ignores_bad_values(net):
    form = PostListFilterForm({"unit": "x", "kind": "afisha", "state": "nope"}, user=net.users["viewer"])
    assert form.active_params() == {"kind": "afisha"}
    qs = form.apply_all(Post.objects.all(), zoneinfo.ZoneInfo("Asia/Yekaterinburg"))
    assert "kind" in str(qs.query)
