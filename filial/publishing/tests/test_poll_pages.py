"""A poll to a page whose network takes no polls is refused at compose, submission and approval — not accepted,
approved and then failed at publish time (issue 14)."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.utils import translation

from filial.publishing import services
from filial.publishing.models import Poll, PollAnswer, Post, PostChannel
from filial.publishing.services import PollData, PostData

POLL = PollData(question="Какую книгу обсудим?", answers=["Первую", "Вторую"])


def _data(net, *pages: str, poll: PollData | None = POLL) -> PostData:
    return PostData(unit=net.central, kind=Post.Kind.POLL if poll else Post.Kind.NOTE, text="Голосуйте!",
                    channels=[net.channels[p] for p in pages], publish_at=net.soon(), poll=poll)


def test_compose_refuses_a_poll_to_a_page_without_polls(net) -> None:
    with translation.override("ru"), pytest.raises(ValidationError) as caught:
        services.post_create(actor=net.users["methodologist"], data=_data(net, "central_vk", "central_max"))
    message = " ".join(caught.value.message_dict["channels"])
    assert "ЦГБ Медногорска в MAX" in message and "опрос" in message
    assert "central_vk" not in message
    # without the MAX page, or without the poll, it is accepted
    assert services.post_create(actor=net.users["methodologist"], data=_data(net, "central_vk")).pk
    assert services.post_create(actor=net.users["methodologist"],
                                data=_data(net, "central_vk", "central_max", poll=None)).pk


@pytest.mark.parametrize("step", ["submit", "approve"])
def test_submission_and_approval_refuse_an_older_poll_post_to_such_a_page(net, step: str) -> None:
    actor = net.users["methodologist"]
    post = services.post_create(actor=actor, data=_data(net, "central_vk"))
    # a post saved before the rule (the demo's own poll post went to MAX): the MAX page added behind the service
    PostChannel.objects.create(post=post, channel=net.channels["central_max"])
    assert Poll.objects.filter(post=post).exists() and PollAnswer.objects.filter(poll__post=post).count() == 2
    if step == "approve":
        Post.objects.filter(pk=post.pk).update(state=Post.State.PENDING)
        post.refresh_from_db()
    with pytest.raises(ValidationError) as caught:
        if step == "submit":
            services.post_submit(actor=actor, post=post)
        else:
            services.post_approve(actor=actor, post=post)
    assert "ЦГБ Медногорска в MAX" in " ".join(caught.value.message_dict["channels"])
    post.refresh_from_db()
    assert post.state == (Post.State.DRAFT if step == "submit" else Post.State.PENDING)
    assert not post.deliveries.exists()


def test_the_composer_shows_the_error_on_the_pages(net, client) -> None:
    from django.urls import reverse

    from filial.publishing.tests.test_views_posts import form_data, login

    login(client, net, "methodologist")
    response = client.post(reverse("publishing:post_create"), form_data(
        net, unit=net.central.pk, kind="poll", poll_question="Что почитать?", poll_answers="Классику\nФантастику",
        channels=[net.channels["central_vk"].pk, net.channels["central_max"].pk], action="submit"),
        HTTP_ACCEPT_LANGUAGE="ru")
    assert response.status_code == 400
    html = response.content.decode()
    assert "Эти страницы не могут опубликовать опрос" in html and "ЦГБ Медногорска в MAX (MAX)" in html
    assert not Post.objects.exists()
