"""Readers' data in the dialogue: card numbers match however they are typed (one normalisation on both sides), the
code and the card a reader types are not kept anywhere in the inbox, and wrong tries count per sender."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from datetime import timedelta
from itertools import count
from types import SimpleNamespace
from typing import Any

import pytest
from django.apps import apps as django_apps
from django.db import connection
from django.utils import timezone, translation

from filial.channels.models import InboundEvent
from filial.channels.webhooks import item_event
from filial.circulation.cards import card_key
from filial.circulation.imports import import_create, import_run
from filial.circulation.models import Reader
from filial.circulation.selectors import reader_by_card
from filial.conftest import Net
from filial.inbox import pipeline, selectors
from filial.inbox.models import Conversation, InboxItem, ItemRevision
from filial.networks.base import InboundItem
from filial.readers import dialogue, linking
from filial.readers.models import DialogueAction, DialogueState, LinkCode, ReaderIdentity

pytestmark = pytest.mark.django_db
_ids = count(1)


@pytest.fixture(autouse=True)
def english() -> Iterator[None]:
    with translation.override("en"):
        yield


def inbound(person: str, text: str, n: int, *, name: str = "Анна") -> InboundItem:
    raw = {"type": "message_new", "object": {"message": {"id": n, "from_id": int(person), "peer_id": int(person),
                                                         "text": text, "fwd": [{"text": f"> {text}"}]}}}
    return InboundItem(kind="message", external_id=f"r{n}", thread_id=person, author_id=person, author_name=name,
                       text=text, at=timezone.now(), raw=raw)


def write(channel: Any, person: str, text: str, *, webhook: bool = False) -> InboxItem:
    """A message from ``person`` through the pipeline (as a polled item, or as a stored webhook event)."""
    n = next(_ids)
    item = inbound(person, text, n)
    if webhook:
        item_event(channel, item).save()
        pipeline.process_pending()
    else:
        pipeline.ingest(channel, [item])
    for action in DialogueAction.objects.filter(state=DialogueAction.State.PENDING):
        dialogue.run(action.pk)
    return InboxItem.objects.get(channel=channel, external_id=f"r{n}")


def last_answer(person: str) -> str:
    from filial.publishing.models import OutgoingMessage

    found = OutgoingMessage.objects.filter(recipient_id=person).order_by("-id").first()
    return found.text if found else ""


def link(channel: Any, person: str, card: str, code: str, *, webhook: bool = False) -> list[InboxItem]:
    return [write(channel, person, text, webhook=webhook) for text in ("привязать", card, code, "да")]


# --- 4. card numbers: one normalisation on both sides ---------------------------------------------------------
@pytest.mark.parametrize("stored,typed", [
    ("Д-1013", "Д-1013"), ("Д-1013", "д1013"), ("Д-1013", "Д 1013"), ("Д-1013", " д-10-13. "),
    ("Д-1013", "Д–1013"),  # an en dash from a phone keyboard
    ("А-12", "A-12"),  # a Latin A typed for the Cyrillic one printed on the card
    ("КВ 77", "kb77"),  # Latin look-alikes in lower case too
    ("Ё-5", "е5"),
    ("00123", "123"), ("123", "00123"),  # an all-digit card: leading zeros are not significant
    ("１２３", "123"),  # full-width digits
    ("№ 4711", "4711"),
])
def test_a_typed_card_finds_the_stored_one(net: Net, stored: str, typed: str) -> None:
    reader = Reader.objects.create(system=net.system, unit=net.central, card=stored)
    assert reader.card_key == card_key(typed) != ""
    assert reader_by_card(net.system.pk, typed) == reader


@pytest.mark.parametrize("stored,typed", [("Д-0012", "Д-12"), ("Д-1013", "Д-1014"), ("1013", "Д1013"), ("7", "")])
def test_different_cards_stay_different(net: Net, stored: str, typed: str) -> None:
    Reader.objects.create(system=net.system, unit=net.central, card=stored)
    assert reader_by_card(net.system.pk, typed) is None


def test_two_cards_with_one_key_match_only_exactly(net: Net) -> None:
    latin = Reader.objects.create(system=net.system, unit=net.central, card="A-12")
    cyrillic = Reader.objects.create(system=net.system, unit=net.central, card="А-12")
    assert latin.card_key == cyrillic.card_key
    assert reader_by_card(net.system.pk, "A-12") == latin
    assert reader_by_card(net.system.pk, "А-12") == cyrillic
    assert reader_by_card(net.system.pk, "a12") is None  # ambiguous: never a guess


def test_a_reader_with_a_letter_card_links_through_the_dialogue(net: Net) -> None:
    reader = Reader.objects.create(system=net.system, unit=net.central, card="Д-1013", name="Анна")
    _row, code = linking.code_generate(actor=net.users["editor_central"], reader=reader)
    link(net.channels["central_vk"], "501", "д 1013", code)
    assert ReaderIdentity.objects.get().reader == reader


def test_imports_and_the_migration_fill_the_key(net: Net) -> None:
    body = "card;name;barcode;issued;due\nД-2001;Анна;B1;2026-01-10;2026-02-10\n00777;Олег;B2;2026-01-10;2026-02-10\n"
    job = import_create(actor=net.users["admin"], unit=net.central, fmt="csv", file=body.encode(), name="x.csv")
    done = import_run(job.pk)
    assert done is not None and done.state == "done", done and done.error
    assert dict(Reader.objects.values_list("card", "card_key")) == {"Д-2001": "д2001", "00777": "777"}
    Reader.objects.update(card_key="")  # rows stored before the column existed
    migration = __import__("filial.circulation.migrations.0004_reader_card_key", fromlist=["fill"])
    migration.fill(django_apps, SimpleNamespace(connection=connection))
    assert dict(Reader.objects.values_list("card", "card_key")) == {"Д-2001": "д2001", "00777": "777"}
    reader = Reader.objects.get(card="00777")
    reader.card = "Д-9"
    reader.save(update_fields=["card"])
    assert Reader.objects.get(pk=reader.pk).card_key == "д9"


def test_the_card_lookup_uses_the_index(net: Net) -> None:
    if connection.vendor != "sqlite":
        pytest.skip("the plan is read with SQLite's EXPLAIN QUERY PLAN")
    qs = Reader.objects.filter(system_id=net.system.pk, card_key="д1013")
    sql, params = qs.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN QUERY PLAN " + sql, params)
        plan = " ".join(str(row) for row in cursor.fetchall())
    assert "reader_card_key_idx" in plan


# --- 2. the code and the card are not kept in the inbox -------------------------------------------------------
@pytest.mark.parametrize("webhook", [False, True])
def test_the_code_and_the_card_are_stored_masked(net: Net, webhook: bool) -> None:
    reader = Reader.objects.create(system=net.system, unit=net.central, card="Д-1013", name="Анна")
    _row, code = linking.code_generate(actor=net.users["editor_central"], reader=reader)
    channel = net.channels["central_vk"]
    items = link(channel, "501", "Д-1013", code, webhook=webhook)
    assert ReaderIdentity.objects.get().reader == reader  # the handler had the real values
    card_item, code_item = items[1], items[2]
    assert code_item.text == "code ******"  # in the installation's language (the tests run in English)
    assert card_item.text == "card ******"
    secrets = (code, "Д-1013", "1013")
    everything = json.dumps([list(InboxItem.objects.values("text", "raw", "author_name")),
                             list(Conversation.objects.values("last_text", "person_name")),
                             list(ItemRevision.objects.values("text")),
                             list(InboundEvent.objects.values("payload")),
                             list(DialogueAction.objects.values("heard", "text", "argument")),
                             list(DialogueState.objects.values("card"))], ensure_ascii=False, default=str)
    for secret in secrets:
        assert secret not in everything, secret
    if webhook:
        assert InboundEvent.objects.filter(state=InboundEvent.State.PROCESSED).count() == 4
    for needle in (code, "1013"):
        assert not selectors.conversations_filtered(net.users["admin"], selectors.InboxFilters(q=needle)).exists()
    # an edit of the code's message on the network does not bring the code back
    edit = dataclasses.replace(inbound("501", f"{code} !", 0), external_id=code_item.external_id)
    pipeline.ingest(channel, [], edits=[edit])
    assert code not in json.dumps(list(InboxItem.objects.values("text", "raw")), ensure_ascii=False)
    assert code not in json.dumps(list(ItemRevision.objects.values("text")), ensure_ascii=False)


def test_a_wrong_code_and_an_unknown_card_are_masked_too(net: Net) -> None:
    channel = net.channels["central_vk"]
    items = [write(channel, "502", text) for text in ("привязать", "Ч-555", "424242")]
    assert [i.text for i in items[1:]] == ["card ******", "code ******"]
    assert "424242" not in json.dumps(list(InboxItem.objects.values("raw")), ensure_ascii=False)


# --- 3. wrong tries count per sender and page ---------------------------------------------------------------
def test_an_attacker_cannot_void_a_readers_code(net: Net) -> None:
    reader = Reader.objects.create(system=net.system, unit=net.central, card="777", name="Анна")
    _row, code = linking.code_generate(actor=net.users["editor_central"], reader=reader)
    wrong = "000000" if code != "000000" else "111111"
    channel = net.channels["central_vk"]
    for attacker in ("666", "667"):  # two identities, each until it is locked out
        write(channel, attacker, "привязать")
        for _n in range(dialogue.MAX_FAILURES):
            write(channel, attacker, "777")
            write(channel, attacker, wrong)
        assert "Too many wrong tries" in last_answer(attacker)
        write(channel, attacker, "777")
        assert "Too many wrong tries" in last_answer(attacker)  # locked: only this sender
    locked_until = DialogueState.objects.get(person_id="666").locked_until
    assert locked_until is not None and locked_until > timezone.now()
    assert linking.code_usable(LinkCode.objects.get())
    link(channel, "501", "777", code)  # the true reader, on their own identity
    assert ReaderIdentity.objects.get().person_id == "501"


def test_one_sender_is_locked_for_a_while_then_may_try_again(net: Net) -> None:
    reader = Reader.objects.create(system=net.system, unit=net.central, card="777", name="Анна")
    _row, code = linking.code_generate(actor=net.users["editor_central"], reader=reader)
    channel = net.channels["central_vk"]
    write(channel, "501", "привязать")
    for _n in range(dialogue.MAX_FAILURES):
        write(channel, "501", "777")
        write(channel, "501", "1")
    assert "Too many wrong tries" in last_answer("501")
    write(channel, "501", "привязать")
    assert "Too many wrong tries" in last_answer("501")
    DialogueState.objects.update(locked_until=timezone.now() - timedelta(seconds=1))
    link(channel, "501", "777", code)
    assert ReaderIdentity.objects.get().person_id == "501"


def test_the_masks_are_in_the_installations_language(settings: Any) -> None:
    settings.LANGUAGE_CODE = "ru"
    assert (dialogue.masked(dialogue.CODE_MASK), dialogue.masked(dialogue.CARD_MASK)) == ("код ******", "билет ******")
