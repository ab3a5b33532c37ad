"""The post's history names people, not their logins (issue 14)."""

from __future__ import annotations

from django.urls import reverse

from filial.accounts.models import User
from filial.publishing.tests.test_views_posts import login, make_post


def test_history_shows_the_persons_name(net, client) -> None:
    User.objects.filter(pk=net.users["methodologist"].pk).update(display_name="Татьяна Белова")
    post = make_post(net, "methodologist", state="scheduled")
    login(client, net, "editor_branch4")
    html = client.get(reverse("publishing:post_detail", args=[post.pk]), HTTP_ACCEPT_LANGUAGE="ru").content.decode()
    history = html[html.index('id="h-history"'):]
    assert "— Татьяна Белова:" in history
    assert "— metodist:" not in history
