"""A reader with distinctive strings everywhere Filial keeps them, then erased (used by test_erasure.py).

Run in the test's process (any database: the rows are checked) and as ``python -m`` in a subprocess on a file
SQLite database, whose bytes (and the WAL's) are then searched.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from django.utils import timezone

PERSON = "987650321"          # the network id (VK user)
THREAD = "987650321"          # a VK dialogue's peer id is the user's id
NETWORK_NAME = "Евлампия Сетевая"
CARD = "4477889911"  # digits: links whatever the card normalisation
NAME = "Евлампия Тестерова"
MESSAGE = "Квакозябра-сообщение"
COMMENT = "Комментарий-фиолетовый"
EDITED = "Правка-оранжевая"
REPLY = "Ответ-бирюзовый Евлампии"
NOTE = "Заметка-лиловая"
STRINGS = [PERSON, NETWORK_NAME, CARD, NAME, MESSAGE, COMMENT, EDITED, REPLY, NOTE]


def encodings(value: str) -> list[bytes]:
    """How a string can sit in the database file: UTF-8, and JSON's ``\\uXXXX`` escapes (Django's JSONField)."""
    forms = {value.encode(), json.dumps(value)[1:-1].encode()}
    return sorted(forms)


def build() -> dict[str, Any]:
    """The network, the reader, and the reader's traces; returns what the erasure needs."""
    from filial.accounts.models import Role, User
    from filial.accounts.services import membership_set
    from filial.channels.models import Channel, InboundEvent, Network
    from filial.channels.webhooks import item_event, store_events
    from filial.circulation import dialogue, linking, services
    from filial.circulation.models import DialogueAction, Loan, Reminder
    from filial.inbox import pipeline
    from filial.inbox.models import Conversation, InboxItem, Note
    from filial.inbox.services import conversation_reply
    from filial.libraries.services import system_create, unit_create
    from filial.networks.base import InboundItem
    from filial.outbox.models import Attempt
    from filial.publishing.models import OutgoingMessage

    system = system_create(actor=None, name="ЦБС", timezone="Asia/Yekaterinburg")
    unit = unit_create(actor=None, system=system, name="ЦГБ", kind="central")
    admin = User.objects.create_user(username="erasure-admin", password="erasure-pass-123")
    membership_set(actor=None, user=admin, unit=unit, role=Role.ADMIN)
    channel = Channel.objects.create(unit=unit, network=Network.VK, name="ЦГБ ВКонтакте", external_id="100001")
    reader = services.reader_create(actor=admin, unit=unit, card=CARD, name=NAME)
    loan = Loan.objects.create(reader=reader, unit=unit, barcode="B1", title="Книга", issued=timezone.now().date(),
                               due=timezone.now().date() + timedelta(days=3))
    _code_row, code = linking.code_generate(actor=admin, reader=reader)
    n = 0

    def webhook(text: str, *, kind: str = "message", post: str = "", edit_of: str = "") -> str:
        nonlocal n
        n += 1
        external = edit_of or f"{THREAD}:{n}"
        raw = {"type": "message_new", "object": {"message": {"from_id": int(PERSON), "peer_id": int(THREAD),
                                                             "text": text}}}
        item = InboundItem(kind=kind, external_id=external, thread_id=post or THREAD, author_id=PERSON,
                           author_name=NETWORK_NAME, text=text, at=timezone.now(), post_external_id=post, raw=raw)
        event = (item_event(channel, item, kind=InboundEvent.Kind.COMMENT_EDIT, external_id=f"{external}:edit:{n}")
                 if edit_of else item_event(channel, item))
        store_events(channel, [event])
        pipeline.process_pending()
        for action in DialogueAction.objects.filter(state=DialogueAction.State.PENDING):
            dialogue.run(action.pk)
        return external

    for text in ("привязать", CARD, code, "да", MESSAGE):
        webhook(text)
    comment = webhook(COMMENT, kind="comment", post="-100001_55")
    webhook(EDITED, kind="comment", post="-100001_55", edit_of=comment)
    thread = Conversation.objects.get(kind=Conversation.Kind.COMMENTS)
    conversation_reply(actor=admin, conversation=thread, text=REPLY)
    dialogue_conversation = Conversation.objects.get(kind=Conversation.Kind.DIALOGUE)
    Note.objects.create(conversation=dialogue_conversation, author=admin, text=NOTE)
    conversation_reply(actor=admin, conversation=dialogue_conversation, text=REPLY)
    reminder_message = OutgoingMessage.objects.create(channel=channel, recipient_id=PERSON, purpose="reminder",
                                                      text=f"{NAME}, верните «Книга»", due_at=timezone.now())
    reminder = Reminder.objects.create(reader=reader, unit=unit, channel=channel, date=timezone.now().date(),
                                       message=reminder_message)
    reminder.loans.add(loan)
    for message in OutgoingMessage.objects.all():  # what the engine records for a send (a summary)
        Attempt.objects.create(message=message, kind=Attempt.Kind.SEND, started_at=timezone.now(),
                               outcome=Attempt.Outcome.FAILED, request={"recipient": message.recipient_id,
                                                                        "text_chars": len(message.text)},
                               error_message=f"user {PERSON} blocked the community")
    pipeline.record_consent(channel, pipeline.Consent(PERSON, True, "vk:message_allow", timezone.now()))
    assert InboxItem.objects.filter(author_id=PERSON).count() >= 6
    return {"admin": admin, "reader": reader, "channel": channel}


def erase(state: dict[str, Any]) -> dict[str, int]:
    from filial.circulation import linking

    return linking.reader_erase(actor=state["admin"], reader=state["reader"])


if __name__ == "__main__":  # pragma: no cover - run by test_erasure.py in a subprocess
    import os

    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "filial.settings")
    django.setup()
    from django.db import connection

    counts = erase(build())
    connection.close()
    print(json.dumps(counts))
