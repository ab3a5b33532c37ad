"""The "Outgoing messages" page and its actions, and ``filial worker --burst`` sending due messages."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone
from huey.storage import MemoryStorage

from filial.accounts.models import AuditEntry
from filial.conftest import PASSWORD, Net
from filial.outbox import jobs as outbox_jobs
from filial.outbox.tests.helpers import run_row
from filial.publishing import messages as message_writes
from filial.publishing.jobs import MESSAGE
from filial.publishing.models import OutgoingMessage
from filial.publishing.tests.test_engine_world import VK_GROUP, World, build_world, engine_world, fast_engine

pytestmark = pytest.mark.filterwarnings("ignore::ResourceWarning")
S = OutgoingMessage.State
URL = "/outgoing/"


@pytest.fixture
def world(net: Net, settings: Any) -> Iterator[World]:
    yield from engine_world(net, settings)


def _login(client: Any, net: Net, role: str) -> None:
    assert client.login(username=net.users[role].username, password=PASSWORD)


def _message(world: World, page: str, text: str, state: str = S.SCHEDULED, **fields: Any) -> OutgoingMessage:
    row = message_writes.message_send(channel=world.channels[page], recipient_id="555", text=text,
                                        purpose=fields.pop("purpose", "reminder"))
    OutgoingMessage.objects.filter(pk=row.pk).update(state=state, **fields)
    return OutgoingMessage.objects.get(pk=row.pk)


def test_the_list_shows_failed_and_uncertain_first_with_their_actions(world: World, client: Any) -> None:
    sent = _message(world, "vk", "Уже отправлено", S.SENT, external_id="77")
    failed = _message(world, "max", "Не дошло <b>жирно</b>", S.FAILED, last_error="MAX said no")
    unsure = _message(world, "tg", "Неизвестно", S.UNCERTAIN, purpose="inbox_reply")
    _login(client, world.net, "editor_central")
    response = client.get(URL)
    assert response.status_code == 200
    html = response.content.decode()
    assert html.index(f'id="message-{failed.pk}"') < html.index(f'id="message-{sent.pk}"')
    assert html.index(f'id="message-{unsure.pk}"') < html.index(f'id="message-{sent.pk}"')
    assert "Не дошло &lt;b&gt;жирно&lt;/b&gt;" in html and "<b>жирно" not in html  # readers' text is escaped
    assert f"/outgoing/{failed.pk}/retry/" in html
    assert f"/outgoing/{unsure.pk}/confirm/" in html and f"/outgoing/{unsure.pk}/resend/" in html
    assert f"/outgoing/{sent.pk}/retry/" not in html and 'name="csrfmiddlewaretoken"' in html
    # Filters.
    only = client.get(URL, {"state": "uncertain"}).content.decode()
    assert f'id="message-{unsure.pk}"' in only and f'id="message-{failed.pk}"' not in only
    by_page = client.get(URL, {"channel": world.channels["max"].pk}).content.decode()
    assert f'id="message-{failed.pk}"' in by_page and f'id="message-{sent.pk}"' not in by_page
    by_purpose = client.get(URL, {"purpose": "inbox_reply"}).content.decode()
    assert f'id="message-{unsure.pk}"' in by_purpose and f'id="message-{failed.pk}"' not in by_purpose


def test_readers_see_no_actions_and_cannot_act(world: World, client: Any) -> None:
    failed = _message(world, "max", "Сбой", S.FAILED)
    _login(client, world.net, "viewer")
    html = client.get(URL).content.decode()
    assert f'id="message-{failed.pk}"' in html and "/retry/" not in html
    assert client.post(f"/outgoing/{failed.pk}/retry/").status_code == 403
    assert OutgoingMessage.objects.get(pk=failed.pk).state == S.FAILED


def test_people_of_other_units_do_not_see_the_messages(world: World, client: Any) -> None:
    failed = _message(world, "max", "Сбой", S.FAILED)
    _login(client, world.net, "editor_branch4")
    assert f'id="message-{failed.pk}"' not in client.get(URL).content.decode()
    assert client.post(f"/outgoing/{failed.pk}/retry/").status_code == 404


def test_retry_then_it_is_sent(world: World, client: Any) -> None:
    world.mx.simulate("bot_started", {"bot_token": world.seeds["max"]["token"], "user_id": 555})
    failed = _message(world, "max", "Повтор", S.FAILED, failures=3, last_error="boom")
    _login(client, world.net, "editor_central")
    response = client.post(f"/outgoing/{failed.pk}/retry/", {"next": f"{URL}?state=failed"})
    assert response.status_code == 302 and response["Location"] == f"{URL}?state=failed"
    row = OutgoingMessage.objects.get(pk=failed.pk)
    assert (row.state, row.failures, row.last_error) == (S.SCHEDULED, 0, "")
    assert AuditEntry.objects.filter(action="message.retry", object_id=str(row.pk)).exists()
    assert run_row(MESSAGE, row.pk) == "sent"
    assert client.get(f"/outgoing/{failed.pk}/retry/").status_code == 405
    # An outside "next" is not followed.
    evil = client.post(f"/outgoing/{failed.pk}/retry/", {"next": "https://evil.example/"})
    assert evil["Location"] == URL


def test_it_is_there_send_again_and_cancel_with_htmx(world: World, client: Any) -> None:
    there = _message(world, "tg", "Дошло?", S.UNCERTAIN)
    again = _message(world, "ok", "Ещё раз", S.UNCERTAIN)
    drop = _message(world, "vk", "Не надо", S.SCHEDULED)
    _login(client, world.net, "editor_central")
    swapped = client.post(f"/outgoing/{there.pk}/confirm/", {"external_id": "401:9"}, HTTP_HX_REQUEST="true")
    html = swapped.content.decode()
    assert swapped.status_code == 200 and html.lstrip().startswith('<article class="card message-item"')
    assert f'id="message-{there.pk}"' in html and "Marked as sent" in html
    row = OutgoingMessage.objects.get(pk=there.pk)
    assert (row.state, row.external_id) == (S.SENT, "401:9")
    client.post(f"/outgoing/{again.pk}/resend/")
    row = OutgoingMessage.objects.get(pk=again.pk)
    assert (row.state, row.generation) == (S.SCHEDULED, 1)
    client.post(f"/outgoing/{drop.pk}/cancel/", HTTP_HX_REQUEST="true")
    assert OutgoingMessage.objects.get(pk=drop.pk).state == S.CANCELLED
    assert set(AuditEntry.objects.filter(object_type="publishing.outgoingmessage").values_list("action", flat=True)) \
        == {"message.confirm", "message.resend", "message.cancel"}
    # A wrong state is refused with a message, not an error page.
    refused = client.post(f"/outgoing/{drop.pk}/retry/", HTTP_HX_REQUEST="true")
    assert refused.status_code == 200 and "Only a failed message" in refused.content.decode()


def test_the_list_needs_a_login_and_the_deliveries_section_links_to_it(world: World, client: Any) -> None:
    assert client.get(URL).status_code == 302
    post = world.post(due_now=False)
    _login(client, world.net, "admin")
    assert URL in client.get(f"/posts/{post.pk}/").content.decode()


def test_the_list_has_no_n_plus_one(world: World, client: Any, django_assert_max_num_queries: Any) -> None:
    for i in range(6):
        m = _message(world, ("vk", "ok", "tg", "max")[i % 4], f"Сообщение {i}", S.FAILED)
        outbox_jobs.record_attempt(MESSAGE, m.pk, None, "failed", message="boom")
    _login(client, world.net, "admin")
    client.get(URL)
    with django_assert_max_num_queries(20):
        assert client.get(URL).status_code == 200


@pytest.mark.django_db(transaction=True)
def test_worker_burst_sends_due_messages(net: Net, settings: Any, monkeypatch: Any, capsys: Any) -> None:
    from huey.contrib.djhuey import HUEY

    from filial import cli

    fast_engine(settings)
    monkeypatch.setattr(HUEY, "_immediate", False)
    monkeypatch.setattr(HUEY, "storage", MemoryStorage("filial-messages-test-queue"))
    with ExitStack() as stack:
        w = build_world(net, stack)
        ids = []
        for uid in (701, 702, 703):
            w.vk.simulate("allow_messages", {"group_id": VK_GROUP, "user_id": uid})
            ids.append(message_writes.message_send(
                channel=w.channels["vk"], recipient_id=str(uid), text=f"Книга ждёт {uid}", purpose="reminder",
                due_at=timezone.now() + timedelta(hours=1)).pk)  # not queued: due beyond the sweep horizon
        OutgoingMessage.objects.update(due_at=timezone.now() - timedelta(seconds=1))
        assert HUEY.pending_count() == 0  # nothing queued: the worker's sweeper finds the due rows itself
        assert cli.main(["worker", "--burst"]) == 0
        assert "executed 1 task(s), 0 failed" in capsys.readouterr().out  # one page: one lane sends all three
        assert set(OutgoingMessage.objects.filter(pk__in=ids).values_list("state", flat=True)) == {S.SENT}
        assert cli.main(["worker", "--burst"]) == 0
        assert "executed 0 task(s)" in capsys.readouterr().out
        assert len([m for m in w.vk.state["groups"][str(VK_GROUP)]["messages"] if m["out"]]) == 3
