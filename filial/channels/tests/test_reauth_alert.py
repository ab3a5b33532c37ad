"""Pages needing re-authorisation: one alert per episode (e-mail + audit entry), and the dashboard's list."""

from __future__ import annotations

from typing import Any

from django.core import mail
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from filial.accounts.models import AuditEntry
from filial.channels.models import Channel
from filial.channels.services import channel_needs_reauth, channel_reauth_alert
from filial.conftest import PASSWORD, Net
from filial.networks.base import NetworkError
from filial.publishing.models import Delivery
from filial.publishing.services import PostData, post_create, post_submit


def emails(net: Net) -> None:
    for key, user in net.users.items():
        user.email = f"{user.username}@library.example" if key != "editor_central" else ""
        user.save()


def revoked() -> NetworkError:
    return NetworkError("the token was revoked", network="vk", code=5, needs_reauth=True)


def test_one_alert_per_episode(net: Net, settings: Any, django_capture_on_commit_callbacks: Any) -> None:
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    emails(net)
    channel = net.channels["children_ok"]
    with django_capture_on_commit_callbacks(execute=True):
        channel_needs_reauth(channel.pk, revoked())
        channel_needs_reauth(channel.pk, revoked())  # more failed calls in the same episode
        assert channel_reauth_alert(channel, revoked()) is False
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert "Детская библиотека" in message.subject and "re-authorisation" in message.subject
    # The system's administrator and the methodologist of the children's library; not the editors or viewers.
    assert message.to == ["admin@library.example", "metodist@library.example"]
    assert reverse("channels:channel_edit", args=[channel.pk]) in message.body
    assert AuditEntry.objects.filter(action="channel.reauth_alert", object_id=str(channel.pk)).count() == 1

    # Connected again, then refused again: a new episode, a new alert.
    Channel.objects.filter(pk=channel.pk).update(status=Channel.Status.ACTIVE)
    with django_capture_on_commit_callbacks(execute=True):
        channel_needs_reauth(channel.pk, revoked())
    assert len(mail.outbox) == 2
    assert AuditEntry.objects.filter(action="channel.reauth_alert", object_id=str(channel.pk)).count() == 2


def test_no_alert_for_an_active_page_and_a_mail_failure_does_not_break_the_worker(
        net: Net, settings: Any, django_capture_on_commit_callbacks: Any) -> None:
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", 9, 1  # nothing listens there
    emails(net)
    channel = net.channels["central_vk"]
    assert channel_reauth_alert(channel, revoked()) is False
    with django_capture_on_commit_callbacks(execute=True):
        channel_needs_reauth(channel.pk, revoked())
    assert Channel.objects.get(pk=channel.pk).status == Channel.Status.NEEDS_REAUTH
    assert AuditEntry.objects.filter(action="channel.reauth_alert").count() == 1


def test_the_embedded_default_writes_mail_to_files(settings: Any) -> None:
    from filial import settings as filial_settings

    assert filial_settings.EMAIL_BACKEND.endswith("filebased.EmailBackend") or filial_settings.FILIAL_EMAIL_HOST
    assert str(filial_settings.EMAIL_FILE_PATH).endswith("mail")


def _waiting_posts(net: Net, page: str, n: int) -> None:
    admin = net.users["admin"]
    for i in range(n):
        post = post_create(actor=admin, data=PostData(unit=net.channels[page].unit, kind="note", text=f"Пост {i}",
                                                      channels=[net.channels[page]], publish_at=net.soon()))
        post_submit(actor=admin, post=post)


def dashboard(username: str) -> tuple[str, int]:
    c = Client()
    assert c.login(username=username, password=PASSWORD)
    c.get(reverse("libraries:dashboard"))  # warm caches (session, content types)
    with CaptureQueriesContext(connection) as queries:
        response = c.get(reverse("libraries:dashboard"))
    assert response.status_code == 200
    return response.content.decode(), len(queries)


def test_dashboard_lists_pages_needing_reauth_with_waiting_work(net: Net) -> None:
    _waiting_posts(net, "children_ok", 2)
    Channel.objects.filter(pk=net.channels["children_ok"].pk).update(status=Channel.Status.NEEDS_REAUTH)
    body, one = dashboard("admin")
    assert "Pages needing re-authorisation" in body
    assert "2 posts waiting" in body and "0 messages waiting" in body
    assert reverse("channels:channel_edit", args=[net.channels["children_ok"].pk]) in body
    # An editor of the central library reads none of the children's pages: no list for them.
    body_editor, _n = dashboard("ed_central")
    assert "dash-reauth" not in body_editor
    # The children's editor sees it, without the admin-only re-connect link.
    body_children, _n = dashboard("ed_children")
    assert "2 posts waiting" in body_children
    assert reverse("channels:channel_edit", args=[net.channels["children_ok"].pk]) not in body_children
    assert "An administrator can connect it again" in body_children

    # More pages needing re-authorisation, more waiting posts: the same number of queries.
    for page in ("central_vk", "central_ok", "branch4_ok", "children_tg"):
        _waiting_posts(net, page, 2)
        Channel.objects.filter(pk=net.channels[page].pk).update(status=Channel.Status.NEEDS_REAUTH)
    body, many = dashboard("admin")
    assert body.count("2 posts waiting") == 5
    assert many == one
    assert Delivery.objects.filter(state=Delivery.State.SCHEDULED).count() == 10
