"""The readers' dialogue end to end: a reader writes to the page on the network (emulator), the inbox pipeline
ingests it, the debtors' handler claims it, and the answer goes back through the engine."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import date, timedelta
from typing import Any

import pytest
from django.utils import translation

from filial.circulation import services
from filial.circulation.models import Loan, Reader, Renewal
from filial.conftest import Net
from filial.inbox import pipeline
from filial.inbox.models import Conversation, InboxItem
from filial.inbox.tests.world import VK_GROUP, World, message
from filial.outbox.tests.helpers import run_row
from filial.publishing.jobs import MESSAGE
from filial.publishing.models import OutgoingMessage
from filial.publishing.tests.test_engine_world import engine_world
from filial.readers import linking
from filial.readers.models import DialogueAction, LinkCode, ReaderConsent, ReaderIdentity

pytestmark = pytest.mark.django_db(transaction=True)

VK_USER = 555001
TG_USER = 4711


@pytest.fixture(autouse=True)
def english() -> Iterator[None]:
    with translation.override("en"):
        yield


@pytest.fixture
def world(net: Net, settings: Any) -> Iterator[World]:
    yield from engine_world(net, settings)


def make_reader(net: Net, card: str = "100234", loans: int = 2) -> Reader:
    reader = services.reader_create(actor=None, unit=net.central, card=card, name="Анна Петрова")
    today = date.today()
    for n in range(loans):
        Loan.objects.create(reader=reader, unit=net.central, barcode=f"B{card}{n}", title=f"Книга {n + 1}",
                            issued=today - timedelta(days=20), due=today + timedelta(days=n - 1))
    return reader


def say(world: World, page: str, text: str, user: int) -> None:
    channel = world.channels[page]
    if page == "vk":
        message(world, "vk", text, user_id=user, first_name="Анна")
    else:
        message(world, "tg", text, id=user, first_name="Анна")
    assert pipeline.poll_page(channel.pk).startswith("ok")
    drain()


def drain(seconds: float = 10) -> None:
    """Send what the engine's rate limiter put off (Huey runs tasks at once in tests, but not those with an eta)."""
    deadline = time.monotonic() + seconds
    while True:
        waiting = list(OutgoingMessage.objects.filter(state__in=["scheduled", "sending"]).values_list("pk", flat=True))
        if not waiting:
            return
        assert time.monotonic() < deadline, "messages stay unsent"
        for pk in waiting:
            run_row(MESSAGE, pk)
        time.sleep(0.1)


def answers(world: World, page: str, user: int) -> list[str]:
    if page == "vk":
        group = world.vk._group(VK_GROUP)
        return [m["text"] for m in group["messages"] if m["peer_id"] == user and m["out"] == 1]
    chats = [c for key, c in world.tg.state["private"].items() if key.endswith(f":{user}")]
    return [m.get("text", "") for chat in chats for m in chat["messages"].values()
            if m.get("from", {}).get("is_bot")]


def last(world: World, page: str, user: int) -> str:
    got = answers(world, page, user)
    assert got, "no answer was sent"
    return got[-1]


def link(world: World, net: Net, page: str, user: int, reader: Reader) -> None:
    _row, code = linking.code_generate(actor=net.users["admin"], reader=reader)
    say(world, page, "Привязать", user)
    assert "card number" in last(world, page, user)
    say(world, page, reader.card, user)
    assert "one-time code" in last(world, page, user)
    say(world, page, code, user)
    assert "Purpose:" in last(world, page, user)
    assert not ReaderIdentity.objects.exists()  # nothing before an explicit yes
    say(world, page, "Да", user)
    assert "Your card is linked" in last(world, page, user)


@pytest.mark.parametrize("page,user", [("vk", VK_USER), ("tg", TG_USER)])
def test_linking_end_to_end_and_words(world: World, net: Net, page: str, user: int) -> None:
    reader = make_reader(net)
    channel = world.channels[page]
    pipeline.poll_page(channel.pk)
    if page == "tg":
        say(world, page, "/start", user)
    link(world, net, page, user, reader)
    identity = ReaderIdentity.objects.get(channel=channel)
    assert identity.reader == reader and identity.person_id == str(user)
    consent = ReaderConsent.objects.get(reader=reader)
    assert consent.version == 1 and consent.channel == channel and consent.person_id == str(user)
    assert identity.consent == consent
    # The linking steps were claimed: none of them is waiting in the inbox; the code is not kept.
    rows = list(InboxItem.objects.filter(channel=channel, direction="in").exclude(text="/start"))
    assert {r.handled_by for r in rows} == {"debtors"}
    assert not Conversation.objects.filter(channel=channel, state=Conversation.State.NEW).exists()
    assert all(reader.card not in a.heard or a.heard == reader.card for a in DialogueAction.objects.all())
    # All replies went through the engine and were sent.
    assert set(OutgoingMessage.objects.filter(purpose="dialogue").values_list("state", flat=True)) == {"sent"}

    say(world, page, "Мои книги", user)
    assert "You have 2 books:" in last(world, page, user) and "Книга 2" in last(world, page, user)
    say(world, page, "my loans", user)
    assert "Книга 1" in last(world, page, user)
    say(world, page, "ПОМОЩЬ", user)
    assert "«продлить»" in last(world, page, user)
    say(world, page, "help", user)
    assert "«мои книги»" in last(world, page, user)
    # Something else from a linked reader is for a librarian.
    say(world, page, "Когда вы открыты в субботу?", user)
    question = InboxItem.objects.get(channel=channel, text="Когда вы открыты в субботу?")
    assert question.handled_by == "" and question.conversation.state == Conversation.State.NEW


@pytest.mark.parametrize("word", ["стоп", "Stop"])
def test_stop_keeps_the_link_and_resume(world: World, net: Net, word: str) -> None:
    reader = make_reader(net)
    pipeline.poll_page(world.channels["vk"].pk)
    link(world, net, "vk", VK_USER, reader)
    say(world, "vk", word, VK_USER)
    identity = ReaderIdentity.objects.get()
    assert identity.stopped_at is not None
    assert "no more reminders" in last(world, "vk", VK_USER)
    say(world, "vk", "возобновить", VK_USER)
    assert ReaderIdentity.objects.get().stopped_at is None


@pytest.mark.parametrize("word", ["отвязать", "Unlink"])
def test_unlink_removes_the_link(world: World, net: Net, word: str) -> None:
    reader = make_reader(net)
    pipeline.poll_page(world.channels["vk"].pk)
    link(world, net, "vk", VK_USER, reader)
    say(world, "vk", word, VK_USER)
    assert not ReaderIdentity.objects.exists()
    assert ReaderConsent.objects.get().withdrawn_at is not None
    assert "no longer linked" in last(world, "vk", VK_USER)
    # Now «мои книги» is a message for a librarian, and «привязать» starts the linking again.
    say(world, "vk", "мои книги", VK_USER)
    assert InboxItem.objects.filter(text="мои книги").order_by("-id").first().handled_by == ""  # type: ignore[union-attr]
    say(world, "vk", "привязать", VK_USER)
    assert "card number" in last(world, "vk", VK_USER)


@pytest.mark.parametrize("word", ["продлить", "Renew"])
def test_renew_all_through_a_librarian_and_the_answer_relayed(world: World, net: Net, word: str) -> None:
    reader = make_reader(net)
    pipeline.poll_page(world.channels["vk"].pk)
    link(world, net, "vk", VK_USER, reader)
    say(world, "vk", word, VK_USER)  # the file adapter has no online renewal: a librarian's queue
    assert "a librarian will answer" in last(world, "vk", VK_USER)
    renewals = list(Renewal.objects.filter(source=Renewal.Channel.READER).order_by("id"))
    assert [r.state for r in renewals] == [Renewal.State.QUEUED] * 2
    before = len(answers(world, "vk", VK_USER))
    new_due = date.today() + timedelta(days=30)
    services.renewal_decide(actor=net.users["admin"], renewal=renewals[0], grant=True, new_due=new_due)
    services.renewal_decide(actor=net.users["admin"], renewal=renewals[1], grant=False, reason="Книгу ждут")
    drain()
    got = answers(world, "vk", VK_USER)[before:]
    assert len(got) == 2
    assert "«Книга 1» is renewed until" in got[0]
    assert "«Книга 2» cannot be renewed: Книгу ждут" in got[1]


def test_renew_one_by_its_number_and_library_system_answers(world: World, net: Net, monkeypatch: Any) -> None:
    from filial.circulation.adapters.base import RenewalResult
    from filial.circulation.adapters.file import FileAdapter

    reader = make_reader(net, loans=3)
    pipeline.poll_page(world.channels["vk"].pk)
    link(world, net, "vk", VK_USER, reader)
    answers_by_barcode = {
        f"B{reader.card}0": RenewalResult(barcode="", renewed=True, due=date.today() + timedelta(days=21)),
        f"B{reader.card}1": RenewalResult(barcode="", renewed=False, reason="Hold", reason_code="reserved"),
        f"B{reader.card}2": RenewalResult(barcode="", renewed=False, reason="Max", reason_code="too_many"),
    }
    monkeypatch.setattr(FileAdapter, "online", True)
    monkeypatch.setattr(FileAdapter, "renew", lambda self, card, barcode: answers_by_barcode[barcode])
    say(world, "vk", "продлить 1", VK_USER)
    assert "«Книга 1» is renewed until" in last(world, "vk", VK_USER)
    assert Loan.objects.get(barcode=f"B{reader.card}0").due == date.today() + timedelta(days=21)
    say(world, "vk", "Продлить 2", VK_USER)  # the list is by due date: Книга 2 is now first... second is Книга 3
    text = last(world, "vk", VK_USER)
    assert "cannot be renewed" in text
    say(world, "vk", "renew 9", VK_USER)
    assert "no loan number 9" in last(world, "vk", VK_USER)
    say(world, "vk", "продлить", VK_USER)
    text = last(world, "vk", VK_USER)
    assert "another reader has reserved it" in text and "renewed as many times as allowed" in text


def test_wrong_code_unknown_card_and_lockout(world: World, net: Net) -> None:
    reader = make_reader(net)
    _row, code = linking.code_generate(actor=net.users["admin"], reader=reader)
    pipeline.poll_page(world.channels["vk"].pk)
    say(world, "vk", "link", VK_USER)
    say(world, "vk", reader.card, VK_USER)
    say(world, "vk", "000000" if code != "000000" else "111111", VK_USER)
    wrong_code = last(world, "vk", VK_USER)
    say(world, "vk", "999999999", VK_USER)  # an unknown card
    say(world, "vk", code, VK_USER)
    unknown_card = last(world, "vk", VK_USER)
    assert wrong_code == unknown_card  # no hint which one was wrong
    assert "card number or the code is not right" in wrong_code
    for _n in range(3):
        say(world, "vk", reader.card, VK_USER)
        say(world, "vk", "123", VK_USER)
    assert "Too many wrong tries" in last(world, "vk", VK_USER)
    # Locked: even the right pair does not link now.
    say(world, "vk", reader.card, VK_USER)
    assert "Too many wrong tries" in last(world, "vk", VK_USER)
    assert not ReaderIdentity.objects.exists()
    # The lock-out is this sender's: the reader's code still works (wrong tries are counted per sender and page).
    _row.refresh_from_db()
    assert _row.attempts == 4 and linking.code_usable(_row)
    assert linking.code_match(reader, code) == _row
    # Only a flood from many identities together voids it (a ceiling against guessing spread over accounts).
    LinkCode.objects.filter(pk=_row.pk).update(attempts=linking.MAX_CODE_ATTEMPTS - 1)
    assert linking.code_match(reader, "1") is None
    _row.refresh_from_db()
    assert not linking.code_usable(_row)


def test_consent_needs_an_explicit_yes_and_the_current_version(world: World, net: Net) -> None:
    reader = make_reader(net)
    assert linking.consent_text_current(net.system).version == 1  # the default text
    linking.consent_text_set(actor=net.users["admin"], system=net.system, purpose="Напоминания",
                             text="Я согласен на напоминания (редакция 2)")
    _row, code = linking.code_generate(actor=net.users["admin"], reader=reader)
    pipeline.poll_page(world.channels["vk"].pk)
    say(world, "vk", "привязать", VK_USER)
    say(world, "vk", reader.card, VK_USER)
    say(world, "vk", code, VK_USER)
    assert "редакция 2" in last(world, "vk", VK_USER)
    say(world, "vk", "ну не знаю", VK_USER)
    assert "Do you agree?" in last(world, "vk", VK_USER)
    assert not ReaderIdentity.objects.exists()
    say(world, "vk", "Согласен!", VK_USER)
    consent = ReaderConsent.objects.get()
    assert consent.version == 2 and consent.consent_text.text.endswith("(редакция 2)")
    # The code was single use.
    assert not linking.code_usable(type(_row).objects.get(pk=_row.pk))


def test_no_answer_for_messages_that_are_not_the_dialogues(world: World, net: Net) -> None:
    pipeline.poll_page(world.channels["vk"].pk)
    say(world, "vk", "Здравствуйте, есть ли у вас Дюна?", VK_USER)
    item = InboxItem.objects.get(text__startswith="Здравствуйте")
    assert item.handled_by == "" and not DialogueAction.objects.exists()
