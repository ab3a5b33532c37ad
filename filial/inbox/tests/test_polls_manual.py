"""A historic poll's results entered by hand: stored as a closed tally marked ``manual``, audited, refused to
someone who does not write for the unit, and never fetched from the network afterwards."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import Client
from django.urls import reverse

from filial.accounts.models import AuditEntry
from filial.inbox.models import PollTally
from filial.inbox.polls import poll_results_enter, poll_sweep
from filial.publishing.models import Poll, PollAnswer
from filial.reports.tests.fixtures import publish


def _poll(net: Any) -> Any:
    delivery = publish(net, "central_ok", "poll", date(2014, 5, 30))
    poll = Poll.objects.create(post=delivery.post, question="Как вы относитесь к здоровому образу жизни?")
    PollAnswer.objects.bulk_create([PollAnswer(poll=poll, text=t, position=i) for i, t in enumerate(["Да", "Нет"])])
    return delivery


def test_results_entered_by_hand(net: Any) -> None:
    delivery = _poll(net)
    tally = poll_results_enter(actor=net.users["editor_central"], delivery=delivery, votes=[12, 3])
    assert tally.closed and tally.closed_by == PollTally.ClosedBy.MANUAL and tally.total_voters == 15
    assert [(c.position, c.text, c.votes) for c in tally.counts.all()] == [(0, "Да", 12), (1, "Нет", 3)]
    assert AuditEntry.objects.filter(action="poll.results_entered", actor=net.users["editor_central"]).count() == 1
    poll_sweep()
    tally.refresh_from_db()
    assert tally.closed_by == PollTally.ClosedBy.MANUAL and tally.next_fetch_at is None
    assert [c.votes for c in tally.counts.all()] == [12, 3]


def test_refused_and_checked(net: Any) -> None:
    delivery = _poll(net)
    with pytest.raises(PermissionDenied):
        poll_results_enter(actor=net.users["editor_children"], delivery=delivery, votes=[1, 2])
    with pytest.raises(ValidationError):
        poll_results_enter(actor=net.users["editor_central"], delivery=delivery, votes=[1])
    with pytest.raises(ValidationError):
        poll_results_enter(actor=net.users["editor_central"], delivery=delivery, votes=[1, -2])
    assert not PollTally.objects.exists()


def _client(net: Any, role: str) -> Client:
    client = Client()
    client.force_login(net.users[role])
    return client


def test_results_entered_by_hand_through_the_page(net: Any) -> None:
    delivery = _poll(net)
    post = delivery.post
    url = reverse("inbox:poll_results_enter", args=[post.pk, delivery.pk])
    editor = _client(net, "editor_central")
    page = editor.get(url)
    assert page.status_code == 200 and "Как вы относитесь к здоровому образу жизни?" in page.content.decode()
    assert url in editor.get(reverse("inbox:poll_results", args=[post.pk])).content.decode()  # the link is shown
    refused = editor.post(url, {"answer_0": "12", "answer_1": "-3"})  # a negative count is refused, nothing stored
    assert refused.status_code == 200 and not PollTally.objects.exists()
    done = editor.post(url, {"answer_0": "12", "answer_1": "3", "total_voters": ""})
    assert done.status_code == 302 and done["Location"] == reverse("inbox:poll_results", args=[post.pk])
    tally = PollTally.objects.get(delivery=delivery)
    assert tally.closed_by == PollTally.ClosedBy.MANUAL and tally.total_voters == 15
    results = editor.get(reverse("inbox:poll_results", args=[post.pk])).content.decode()
    assert "Внесено вручную" in results or "Entered by hand" in results


def test_entering_by_hand_is_refused_to_who_does_not_write_for_the_unit(net: Any) -> None:
    delivery = _poll(net)
    url = reverse("inbox:poll_results_enter", args=[delivery.post.pk, delivery.pk])
    assert _client(net, "editor_children").post(url, {"answer_0": "1", "answer_1": "2"}).status_code in (403, 404)
    assert not PollTally.objects.exists()
    other = reverse("inbox:poll_results_enter", args=[delivery.post.pk, delivery.pk + 1000])
    assert _client(net, "editor_central").get(other).status_code == 404
