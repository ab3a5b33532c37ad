"""Readers' data is visible only where reader records are: direct-message conversations (the readers' dialogue,
reminders echoed back, a person's questions) and private outgoing messages follow the reader policy
(``Access.reader_units``); comment threads and public replies to comments follow the posts' (``read_units``).

A matrix: for each role, which of the central library's conversations and messages it sees, in the UI (list,
detail, search, counts, the navigation badge, "Outgoing messages") and in the API (list, detail, search)."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from filial.accounts.models import Role
from filial.accounts.selectors import access_for
from filial.conftest import PASSWORD, Net, make_user
from filial.inbox import selectors
from filial.inbox.models import Conversation
from filial.inbox.tests.factories import reader_comment, reader_message
from filial.publishing.models import OutgoingMessage

pytestmark = pytest.mark.django_db

DM_TEXT = "Мой билет Д-1013, когда вернуть книгу?"
COMMENT_TEXT = "Спасибо за выставку!"
REMINDER_TEXT = "Напоминание: «Книга-секрет» вернуть до 01.06"
DIALOGUE_TEXT = "У вас 2 книги: «Книга-секрет»"
DM_REPLY_TEXT = "Ответ в личку про Книгу-секрет"
COMMENT_REPLY_TEXT = "Ответ под постом: приходите"

# role -> (sees the central library's comments, sees its direct messages / private messages)
MATRIX = {
    "admin": (True, True),
    "methodologist": (True, True),  # methodologist of central, children and branch 4: their own units' readers
    "methodologist_children": (True, False),  # reads the whole network's posts, not the central library's readers
    "editor_central": (True, True),
    "editor_children": (False, False),
    "viewer": (True, True),
    "outsider": (False, False),
}


@pytest.fixture
def world(net: Net) -> dict[str, Any]:
    net.users["methodologist_children"] = make_user("metodist_children", [(net.children, Role.METHODOLOGIST)])
    channel = net.channels["central_vk"]
    comments = reader_comment(channel, COMMENT_TEXT, name="Комментатор")
    dm = reader_message(channel, DM_TEXT, person="501", name="Анна Петрова")
    now = timezone.now()

    def out(text: str, purpose: str, kind: str = "direct", reply_to: dict[str, Any] | None = None) -> OutgoingMessage:
        return OutgoingMessage.objects.create(channel=channel, recipient_id="501", text=text, purpose=purpose,
                                              kind=kind, reply_to=reply_to or {}, due_at=now,
                                              state=OutgoingMessage.State.FAILED)

    messages = {
        REMINDER_TEXT: out(REMINDER_TEXT, "reminder"),
        DIALOGUE_TEXT: out(DIALOGUE_TEXT, "dialogue"),
        DM_REPLY_TEXT: out(DM_REPLY_TEXT, "inbox_reply", "reply", {"kind": "message", "text": DM_TEXT}),
        COMMENT_REPLY_TEXT: out(COMMENT_REPLY_TEXT, "inbox_reply", "reply", {"kind": "comment", "text": "x"}),
    }
    return {"comments": comments, "dm": dm, "messages": messages}


def login(net: Net, role: str) -> Client:
    client = Client()
    assert client.login(username=net.users[role].username, password=PASSWORD)
    return client


def api(net: Net, role: str) -> APIClient:
    client = APIClient()
    client.force_authenticate(net.users[role])
    return client


def results(response: Any) -> list[dict[str, Any]]:
    data = response.json()
    return data["results"] if isinstance(data, dict) else data


@pytest.mark.parametrize("role", sorted(MATRIX))
def test_conversations_and_messages_follow_the_reader_policy(net: Net, world: dict[str, Any], role: str) -> None:
    public, private = MATRIX[role]
    user = net.users[role]
    comments, dm = world["comments"], world["dm"]

    # selectors: list, search, counts, the navigation badge
    visible = set(selectors.conversations_filtered(user, selectors.InboxFilters()).values_list("pk", flat=True))
    assert visible == {pk for pk, seen in ((comments.pk, public), (dm.pk, private)) if seen}
    assert selectors.conversations_filtered(user, selectors.InboxFilters(q="Д-1013")).exists() == private
    assert selectors.conversations_filtered(user, selectors.InboxFilters(q="Петрова")).exists() == private
    assert selectors.counts_for(user)["new"] == public + private
    assert selectors.nav_badge(access_for(user)) == public + private

    # API: list, search, detail
    client = api(net, role)
    listed = {row["id"] for row in results(client.get("/api/v1/conversations/"))} if role != "outsider" else set()
    assert listed == visible
    found = results(client.get("/api/v1/conversations/", {"search": "1013"})) if role != "outsider" else []
    assert bool(found) == private
    assert client.get(f"/api/v1/conversations/{dm.pk}/").status_code == (200 if private else 404)
    assert client.get(f"/api/v1/conversations/{comments.pk}/").status_code == (200 if public else 404)

    # UI: the inbox list and search, the conversation, the outgoing messages
    browser = login(net, role)
    inbox = browser.get("/inbox/").content.decode()
    assert ("Анна Петрова" in inbox) == private and ("Д-1013" in inbox) == private
    assert ("Анна Петрова" in browser.get("/inbox/", {"q": "1013"}).content.decode()) == private
    assert browser.get(f"/inbox/{dm.pk}/").status_code == (200 if private else 404)
    assert browser.get(f"/inbox/{comments.pk}/").status_code == (200 if public else 404)
    outgoing = browser.get("/outgoing/").content.decode()
    for text in (REMINDER_TEXT, DIALOGUE_TEXT, DM_REPLY_TEXT):
        assert (text in outgoing) == private, text
    assert (COMMENT_REPLY_TEXT in outgoing) == public
    hidden = world["messages"][REMINDER_TEXT]
    if not private:
        assert browser.post(f"/outgoing/{hidden.pk}/cancel/").status_code == 404
        assert OutgoingMessage.objects.get(pk=hidden.pk).state == OutgoingMessage.State.FAILED


def test_a_methodologist_of_another_unit_cannot_act_on_a_dialogue(net: Net, world: dict[str, Any]) -> None:
    from django.core.exceptions import PermissionDenied

    from filial.inbox import services

    with pytest.raises(PermissionDenied, match="cannot see"):
        services.note_add(actor=net.users["methodologist_children"], conversation=world["dm"], text="x")
    assert world["dm"].kind == Conversation.Kind.DIALOGUE


def test_the_audit_log_names_readers_only_to_administrators(net: Net, world: dict[str, Any]) -> None:
    from django.urls import reverse

    from filial.circulation.services import reader_create

    reader_create(actor=net.users["editor_central"], unit=net.central, card="Д-4242", name="Иван Секретов")
    url = reverse("accounts:audit_log")
    page = login(net, "methodologist_children").get(url, {"object_type": "circulation.reader"}).content.decode()
    assert "circulation.reader" in page and "Д-4242" not in page and "Секретов" not in page
    page = login(net, "admin").get(url, {"object_type": "circulation.reader"}).content.decode()
    assert "Д-4242" in page and "Секретов" in page
