"""In a real browser: answering a reader's message (quick reply → send → the engine delivers it to the emulator),
with hostile texts shown inert; screenshots of the inbox go to test-artifacts/."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.urls import reverse

from filial.conftest import ARTIFACTS, PASSWORD, Net
from filial.inbox import pipeline
from filial.inbox.models import Conversation, ReplyTemplate
from filial.inbox.tests.factories import reader_comment, reader_message
from filial.inbox.tests.world import World, message
from filial.publishing.tests.test_engine_world import engine_world


def login(page: Any, base: str, username: str) -> None:
    from django.conf import settings

    page.context.add_cookies([{"name": settings.LANGUAGE_COOKIE_NAME, "value": "en", "url": base}])
    page.goto(f"{base}/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{base}/")


@pytest.fixture
def world(net: Net, settings: Any) -> Iterator[World]:
    yield from engine_world(net, settings)


@pytest.mark.browser
def test_answer_a_message_in_the_browser(live_server: Any, transactional_db: Any, net: Net, world: World,
                                        page: Any) -> None:
    errors: list[str] = []
    dialogs: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))

    def on_dialog(dialog: Any) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", on_dialog)
    remote: list[str] = []
    page.on("request", lambda r: remote.append(r.url) if not r.url.startswith(live_server.url) else None)
    channel = world.channels["tg"]
    pipeline.poll_page(channel.pk)
    message(world, "tg", "/start", id=3131, first_name="Вера")
    message(world, "tg", 'Здравствуйте! <img src="https://evil.example/x.png" onerror="alert(1)"> '
                         "Есть ли у вас «Дюна»? javascript:alert(2)", id=3131, first_name="Вера")
    pipeline.poll_page(channel.pk)
    ReplyTemplate.objects.create(unit=net.central, title="Есть в фонде", text="Да, книга есть на абонементе.")
    # Some more rows so the list looks like a working day: an overdue one, comments, another page.
    late = reader_message(net.channels["central_vk"], "Когда будет встреча клуба «Краевед»?", name="Николай Ильич")
    Conversation.objects.filter(pk=late.pk).update(due_at=datetime.now(tz=UTC) - timedelta(hours=2))
    reader_comment(net.channels["children_tg"], "Ура, мы придём на утренник!", name="Ксюша")
    conversation = Conversation.objects.get(channel=channel)

    base = live_server.url
    login(page, base, net.users["admin"].username)
    page.goto(f"{base}{reverse('inbox:inbox')}")
    page.get_by_role("heading", name="Inbox").wait_for()
    assert page.locator("tr.overdue").count() == 1
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "inbox-list.png"), full_page=True)
    page.get_by_role("link", name="Вера").click()
    page.wait_for_url(f"{base}{reverse('inbox:conversation', args=[conversation.pk])}")
    assert page.locator(".thread img").count() == 0  # the reader's <img> is text
    assert page.get_by_text('<img src="https://evil.example/x.png"', exact=False).count() == 1
    page.get_by_label("Quick reply").select_option(label="Есть в фонде")
    assert page.locator("#id_text").input_value() == "Да, книга есть на абонементе."
    page.locator("#id_text").fill("Да, «Дюна» есть на абонементе. Ждём вас!")
    page.get_by_role("button", name="Send reply").click()
    page.get_by_text("The reply is on its way.").wait_for()
    page.locator(".msg-item.ours .state-sent").wait_for()
    page.screenshot(path=str(ARTIFACTS / "inbox-conversation-answered.png"), full_page=True)
    conversation.refresh_from_db()
    assert conversation.state == Conversation.State.ANSWERED
    [chat] = [c for key, c in world.tg.state["private"].items() if key.endswith(":3131")]
    assert "Да, «Дюна» есть на абонементе. Ждём вас!" in [m.get("text") for m in chat["messages"].values()]
    assert not dialogs and not errors, (dialogs, errors)
    assert not remote, remote  # nothing loaded from outside (no hot-linked images)
