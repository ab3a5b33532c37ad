"""People who only commented or wrote to a page (no library card) have a reader's rights: their data exported and
erased by their network identity, from the conversation's page, by the unit's methodologist or an administrator."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from filial.accounts.models import AuditEntry
from filial.channels.models import Channel, InboundEvent
from filial.channels.webhooks import item_event, store_events
from filial.conftest import PASSWORD, Net
from filial.core.privacy import pseudonym
from filial.inbox import pipeline
from filial.inbox.models import Conversation, InboxItem, ItemRevision, MessagingConsent
from filial.networks.base import InboundItem
from filial.publishing.models import OutgoingMessage

pytestmark = pytest.mark.django_db

PERSON, OTHER = "48151623", "42424242"
NAME = "Нонна Бескарточная"


def push(channel: Channel, kind: str, external_id: str, text: str, *, author: str = PERSON, name: str = NAME,
         post: str = "", edit: bool = False) -> None:
    """An update as a webhook stores it (an ``InboundEvent`` row), then the inbox's processing of it."""
    item = InboundItem(kind=kind, external_id=external_id, thread_id=post or author, author_id=author,
                       author_name=name, text=text, at=datetime.now(tz=UTC) - timedelta(minutes=5),
                       post_external_id=post, raw={"object": {"from_id": int(author), "text": text}})
    event = (item_event(channel, item, kind=InboundEvent.Kind.COMMENT_EDIT, external_id=f"{external_id}:edit")
             if edit else item_event(channel, item))
    store_events(channel, [event])
    pipeline.process_pending()


def world(net: Net) -> dict[str, Any]:
    central = net.channels["central_vk"]
    push(central, "message", "m1", "Здравствуйте, это Нонна, мой телефон 8-900-000-00-00")
    push(central, "comment", "c1", "Первый комментарий Нонны", post="p9")
    push(central, "comment", "c1", "Исправленный комментарий Нонны", post="p9", edit=True)
    push(central, "comment", "c2", "Чужой комментарий", author=OTHER, name="Другой Человек", post="p9")
    push(central, "comment", "c3", "Последнее слово Нонны", post="p9")
    pipeline.record_consent(central, pipeline.Consent(PERSON, True, "vk:message_allow", datetime.now(tz=UTC)))
    dialogue = Conversation.objects.get(kind="dialogue", person_id=PERSON)
    thread = Conversation.objects.get(kind="comments", thread_key="p9")
    OutgoingMessage.objects.create(channel=central, recipient_id=PERSON, text="Нонна, ждём вас", purpose="inbox_reply",
                                   due_at=datetime.now(tz=UTC))
    # the same person on a page of another unit (branch 4) and on another network (OK): other scopes
    push(net.channels["automation_vk"], "message", "m2", "Нонна пишет в отдел автоматизации")
    push(net.channels["branch4_ok"], "message", "m3", "Нонна пишет филиалу в ОК")
    return {"dialogue": dialogue, "thread": thread}


def client(username: str) -> Client:
    c = Client()
    assert c.login(username=username, password=PASSWORD)
    return c


def test_the_conversation_page_offers_export_and_erasure_to_who_may(net: Net) -> None:
    w = world(net)
    url = reverse("inbox:conversation", args=[w["thread"].pk])
    page = client("metodist").get(url).content.decode()
    assert reverse("inbox:person_erase", args=[w["thread"].pk]) in page and NAME in page and "Другой Человек" in page
    for username in ("ed_central", "viewer"):
        page = client(username).get(url).content.decode()
        assert reverse("inbox:person_erase", args=[w["thread"].pk]) not in page


def test_export_gives_the_persons_items_and_messages_as_json(net: Net) -> None:
    w = world(net)
    response = client("metodist").get(reverse("inbox:person_export", args=[w["thread"].pk]), {"person": PERSON})
    assert response.status_code == 200 and "attachment" in response["Content-Disposition"]
    data = json.loads(response.content)
    texts = [i["text"] for i in data["items"]]
    assert data["person"] == {"network": "vk", "id": PERSON, "names": [NAME]}
    assert "Исправленный комментарий Нонны" in texts and "Последнее слово Нонны" in texts
    assert any("телефон" in t for t in texts) and "Нонна пишет в отдел автоматизации" in texts
    assert "Чужой комментарий" not in texts and "Нонна пишет филиалу в ОК" not in texts  # another person, network
    assert ["Первый комментарий Нонны"] in [i["earlier_versions"] for i in data["items"]]
    assert [m["text"] for m in data["messages"]] == ["Нонна, ждём вас"]
    assert data["messaging_consent"][0]["allowed"] is True
    entry = AuditEntry.objects.get(action="inbox.person.export")
    assert PERSON not in entry.object_repr + json.dumps(entry.changes) and "Нонна" not in json.dumps(entry.changes)


def test_erasure_by_network_identity_keeps_others_and_counts(net: Net) -> None:
    w = world(net)
    alias = pseudonym("vk", PERSON)
    events_before = InboundEvent.objects.count()
    c = client("metodist")
    url = reverse("inbox:person_erase", args=[w["thread"].pk])
    c.post(url, {"person": PERSON})  # not confirmed
    assert InboxItem.objects.filter(author_id=PERSON).count() == 5
    response = c.post(url, {"person": PERSON, "confirm": "yes"})
    assert response.status_code == 302
    mine = InboxItem.objects.filter(channel__network="vk", author_id=alias)
    assert mine.count() == 4 and set(mine.values_list("text", "author_name")) == {("—", "")}
    assert not InboxItem.objects.filter(author_id=PERSON, channel__network="vk").exists()
    assert InboxItem.objects.filter(author_id=PERSON, channel__network="ok").count() == 1  # another network
    assert InboxItem.objects.get(external_id="c2").text == "Чужой комментарий"
    assert not ItemRevision.objects.exists()
    w["thread"].refresh_from_db()
    w["dialogue"].refresh_from_db()
    assert w["thread"].last_text == "—" and w["dialogue"].last_text == "—"
    assert w["dialogue"].person_id == alias and w["dialogue"].person_name == ""
    assert PERSON not in w["dialogue"].thread_key
    assert InboundEvent.objects.count() == events_before - 5  # the VK events that carried her updates
    assert not InboundEvent.objects.filter(payload__item__author_id=PERSON, channel__network="vk").exists()
    assert MessagingConsent.objects.get().person_id == alias  # who allowed messages stays provable
    message = OutgoingMessage.objects.get(purpose="inbox_reply")
    assert message.text == "—" and message.recipient_id == alias and message.state == "cancelled"
    entry = AuditEntry.objects.get(action="inbox.person.erase")
    assert entry.changes["items"] == 4 and PERSON not in entry.object_repr + json.dumps(entry.changes)
    assert not AuditEntry.objects.filter(object_repr__contains=PERSON).exists()
    # The person writes again: a new conversation, recognisable as someone who asked for erasure.
    push(net.channels["central_vk"], "message", "m9", "Снова я")
    fresh = Conversation.objects.get(kind="dialogue", person_id=PERSON, channel=net.channels["central_vk"])
    assert fresh.pk != w["dialogue"].pk
    assert Conversation.objects.filter(person_id=pseudonym("vk", fresh.person_id)).exists()
    # Erased twice (after writing again): still one pseudonym, no clash.
    c.post(reverse("inbox:person_erase", args=[fresh.pk]), {"person": PERSON, "confirm": "yes"})
    assert Conversation.objects.filter(person_id=alias).count() == 3


def test_only_the_units_methodologist_or_an_administrator_may(net: Net) -> None:
    w = world(net)
    for username, status in (("ed_central", 403), ("viewer", 403), ("ed_children", 404), ("outsider", 404)):
        c = client(username)
        assert c.get(reverse("inbox:person_export", args=[w["dialogue"].pk]), {"person": PERSON}).status_code \
            == status, username
        assert c.post(reverse("inbox:person_erase", args=[w["dialogue"].pk]),
                      {"person": PERSON, "confirm": "yes"}).status_code == status, username
    assert InboxItem.objects.filter(author_id=PERSON).count() == 5
    assert not AuditEntry.objects.filter(action__startswith="inbox.person").exists()
    # Only someone who wrote in this conversation.
    assert client("admin").post(reverse("inbox:person_erase", args=[w["dialogue"].pk]),
                                {"person": OTHER, "confirm": "yes"}).status_code == 404
    anonymous = Client().post(reverse("inbox:person_erase", args=[w["dialogue"].pk]), {"person": PERSON})
    assert anonymous.status_code == 302 and "login" in anonymous["Location"]


def test_an_administrator_erases_on_every_page_of_the_network(net: Net) -> None:
    w = world(net)
    client("admin").post(reverse("inbox:person_erase", args=[w["dialogue"].pk]), {"person": PERSON, "confirm": "yes"})
    assert set(InboxItem.objects.filter(author_id=PERSON).values_list("channel__network", flat=True)) == {"ok"}
    assert InboxItem.objects.get(external_id="m2").text == "—"  # automation's VK page too


@pytest.mark.browser
def test_erase_a_person_in_the_browser_desktop_and_phone(live_server: Any, transactional_db: Any, net: Net,
                                                         page: Any) -> None:
    from filial.conftest import ARTIFACTS

    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    w = world(net)
    page.goto(f"{live_server.url}/login/")
    page.locator("input[name=username]").fill("metodist")
    page.locator("input[type=password]").fill(PASSWORD)
    page.locator("form button[type=submit]").first.click()
    page.wait_for_url(f"{live_server.url}/")
    url = f"{live_server.url}{reverse('inbox:conversation', args=[w['thread'].pk])}"
    ARTIFACTS.mkdir(exist_ok=True)
    for width, height, name in ((1366, 900, "desktop"), (390, 844, "phone")):
        page.set_viewport_size({"width": width, "height": height})
        page.goto(url)
        section = page.locator("section.person-data")
        assert section.is_visible() and NAME in section.inner_text()
        assert page.evaluate("() => document.documentElement.scrollWidth") <= width, name
        section.scroll_into_view_if_needed()
        page.screenshot(path=str(ARTIFACTS / f"person-data-{name}.png"), full_page=True)
    dialogs: list[str] = []

    def accept(dialog: Any) -> None:
        dialogs.append(dialog.message)
        dialog.accept()

    page.on("dialog", accept)
    form = page.locator("section.person-data li", has_text=NAME).locator("form")
    form.locator("input[type=checkbox]").check()
    form.locator("button.danger").click()
    page.wait_for_load_state("networkidle")
    assert dialogs and NAME in dialogs[0]
    assert "Другой Человек" in page.locator("section.person-data").inner_text()
    assert NAME not in page.content() and "Первый комментарий Нонны" not in page.content()
    assert "стёртый человек" in page.content() and "p:" not in page.locator("ol.thread").inner_text()
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 390
    page.screenshot(path=str(ARTIFACTS / "person-data-erased-phone.png"), full_page=True)
    assert errors == []
