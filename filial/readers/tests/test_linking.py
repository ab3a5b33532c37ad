"""One-time codes (hashed, single use, short-lived), the staff's view of a reader's links, export and erasure."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from datetime import timedelta
from itertools import count
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied
from django.test import Client
from django.urls import reverse
from django.utils import timezone, translation

from filial.circulation.models import Loan, Reader
from filial.conftest import PASSWORD, Net
from filial.inbox import pipeline
from filial.inbox.models import Conversation, InboxItem
from filial.networks.base import InboundItem
from filial.publishing.models import OutgoingMessage
from filial.readers import dialogue, linking
from filial.readers.models import DialogueAction, LinkCode, ReaderConsent, ReaderIdentity, Reminder

pytestmark = pytest.mark.django_db
_ids = count(1)


@pytest.fixture(autouse=True)
def english() -> Iterator[None]:
    with translation.override("en"):
        yield


def write(channel: Any, person: str, text: str) -> InboxItem:
    """A reader's message ingested by the inbox pipeline (no network: the engine's sends wait for a commit
    that the test's transaction never makes, so the dialogue's work is run by hand)."""
    n = next(_ids)
    pipeline.ingest(channel, [InboundItem(kind="message", external_id=f"m{n}", thread_id=person, author_id=person,
                                          author_name="Анна", text=text, at=timezone.now())])
    for action in DialogueAction.objects.filter(state=DialogueAction.State.PENDING):
        dialogue.run(action.pk)
    return InboxItem.objects.get(channel=channel, external_id=f"m{n}")


def reader(net: Net) -> Reader:
    r = Reader.objects.create(system=net.system, unit=net.central, card="777", name="Анна Петрова")
    Loan.objects.create(reader=r, unit=net.central, barcode="B1", title="Книга", issued=timezone.now().date(),
                        due=timezone.now().date() + timedelta(days=3))
    return r


def linked(net: Net) -> tuple[Reader, Any]:
    r = reader(net)
    channel = net.channels["central_vk"]
    _row, code = linking.code_generate(actor=net.users["editor_central"], reader=r)
    for text in ("привязать", r.card, code, "да"):
        write(channel, "501", text)
    return r, channel


def test_codes_are_hashed_single_use_and_short_lived(net: Net, settings: Any) -> None:
    r = reader(net)
    row, code = linking.code_generate(actor=net.users["editor_central"], reader=r)
    assert len(code) == 6 and code.isdigit() and code not in row.code_hash
    assert LinkCode.objects.filter(code_hash__contains=code).count() == 0
    assert linking.code_match(r, code) == row
    second, code2 = linking.code_generate(actor=net.users["editor_central"], reader=r)
    assert linking.code_match(r, code) is None or code == code2  # the earlier code stopped working
    assert linking.code_match(r, code2) == second
    LinkCode.objects.filter(pk=second.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert linking.code_match(r, code2) is None
    with pytest.raises(PermissionDenied):
        linking.code_generate(actor=net.users["editor_children"], reader=r)
    with pytest.raises(PermissionDenied):
        linking.code_generate(actor=net.users["viewer"], reader=r)


def test_dialogue_through_the_pipeline_records_consent_and_claims(net: Net) -> None:
    r, channel = linked(net)
    identity = ReaderIdentity.objects.get(reader=r)
    assert identity.channel == channel and identity.person_id == "501" and identity.person_name == "Анна"
    consent = ReaderConsent.objects.get(reader=r)
    assert consent.version == linking.consent_text_current(net.system).version
    assert consent.channel == channel and consent.given_at is not None
    assert set(InboxItem.objects.values_list("handled_by", flat=True)) == {"debtors"}
    assert not Conversation.objects.filter(state=Conversation.State.NEW).exists()
    texts = list(OutgoingMessage.objects.filter(purpose="dialogue").order_by("id").values_list("text", flat=True))
    assert len(texts) == 4 and "Purpose:" in texts[2] and "Your card is linked" in texts[3]


def test_export_json_and_csv(net: Net) -> None:
    r, _channel = linked(net)
    write(_channel, "501", "мои книги")
    content_type, body = linking.reader_export(actor=net.users["admin"], reader=r)
    data = json.loads(body)
    assert content_type == "application/json"
    assert data["reader"]["card"] == "777" and data["identities"][0]["person_id"] == "501"
    assert data["consents"][0]["version"] == 1 and data["loans"][0]["barcode"] == "B1"
    assert any(a["heard"] == "мои книги" for a in data["dialogue"])
    content_type, body = linking.reader_export(actor=net.users["admin"], reader=r, fmt="csv")
    rows = list(csv.reader(io.StringIO(body)))
    assert rows[0] == ["section", "row", "field", "value"] and ["identities", "1", "person_id", "501"] in rows
    client = Client()
    assert client.login(username="ed_central", password=PASSWORD)
    response = client.get(reverse("readers:reader_link_export", args=[r.pk]), {"format": "csv"})
    assert response.status_code == 200 and "attachment" in response["Content-Disposition"]
    other = Client()
    assert other.login(username="ed_children", password=PASSWORD)
    assert other.get(reverse("readers:reader_link_export", args=[r.pk])).status_code == 404


def test_csv_export_writes_formula_like_texts_as_text(net: Net) -> None:
    r, _channel = linked(net)
    Reader.objects.filter(pk=r.pk).update(name='=HYPERLINK("http://evil.example/","x")')
    _type, body = linking.reader_export(actor=net.users["admin"], reader=Reader.objects.get(pk=r.pk), fmt="csv")
    rows = list(csv.reader(io.StringIO(body)))
    assert ["reader", "1", "name", "'=HYPERLINK(\"http://evil.example/\",\"x\")"] in rows
    assert not any(cell.startswith(("=", "+", "-", "@")) for row in rows for cell in row)


def test_erasure_removes_the_reader_links_and_texts_keeps_counts(net: Net) -> None:
    from filial.core.privacy import pseudonym

    r, channel = linked(net)
    write(channel, "501", "мои книги")
    reminder = Reminder.objects.create(reader=r, unit=net.central, channel=channel, date=timezone.now().date(),
                                       message=OutgoingMessage.objects.create(
                                           channel=channel, recipient_id="501", text="Напоминание: Книга",
                                           purpose="reminder", due_at=timezone.now()))
    messages_before = OutgoingMessage.objects.count()
    url = reverse("readers:reader_link_erase", args=[r.pk])
    editor = Client()  # an editor works with the readers but does not erase them
    assert editor.login(username="ed_central", password=PASSWORD)
    assert "erase-confirm" not in editor.get(reverse("readers:reader_link", args=[r.pk])).content.decode()
    assert editor.post(url, {"confirm": r.card}).status_code == 403
    client = Client()
    assert client.login(username="metodist", password=PASSWORD)
    client.post(url, {"confirm": "wrong"})
    assert ReaderIdentity.objects.exists()  # not confirmed
    page = client.get(reverse("readers:reader_link", args=[r.pk]))
    assert page.status_code == 200 and "мои книги" in page.content.decode() and "erase-confirm" in page.content.decode()
    response = client.post(url, {"confirm": r.card})
    assert response.status_code == 302 and response["Location"] == reverse("circulation:reader_list")
    assert not ReaderIdentity.objects.exists() and not LinkCode.objects.exists()
    assert not Reader.objects.filter(pk=r.pk).exists() and not Loan.objects.filter(barcode="B1").exists()
    assert OutgoingMessage.objects.count() == messages_before  # counts stay
    assert set(OutgoingMessage.objects.values_list("text", flat=True)) == {linking.ERASED}
    assert set(OutgoingMessage.objects.values_list("recipient_id", flat=True)) == {pseudonym("vk", "501")}
    assert set(InboxItem.objects.values_list("text", flat=True)) == {linking.ERASED}
    assert not InboxItem.objects.exclude(author_name="").exists()
    assert set(DialogueAction.objects.values_list("heard", flat=True)) == {""}
    assert DialogueAction.objects.filter(reader__isnull=True).count() == DialogueAction.objects.count() > 0
    consent = ReaderConsent.objects.get()
    assert consent.reader is None and consent.person_id == pseudonym("vk", "501") and consent.withdrawn_at
    reminder.refresh_from_db()
    assert reminder.reader is None and reminder.unit == net.central  # an anonymous count
    from filial.accounts.models import AuditEntry

    entry = AuditEntry.objects.get(action="circulation.reader.erase")
    assert "777" not in entry.object_repr + json.dumps(entry.changes) and "Анна" not in entry.object_repr
    assert not AuditEntry.objects.filter(object_repr__contains="Анна").exists()


def test_staff_page_shows_links_and_a_printable_code(net: Net) -> None:
    r, _channel = linked(net)
    client = Client()
    assert client.login(username="ed_central", password=PASSWORD)
    page = client.get(reverse("readers:reader_link", args=[r.pk])).content.decode()
    assert "ЦГБ Медногорска ВКонтакте" in page and "consent v1" in page
    slip = client.post(reverse("readers:reader_link_code", args=[r.pk])).content.decode()
    assert 'id="link-code"' in slip and "Книга" in slip
    identity = ReaderIdentity.objects.get()
    client.post(reverse("readers:reader_link_unlink", args=[r.pk, identity.pk]))
    assert not ReaderIdentity.objects.exists()
    viewer = Client()
    assert viewer.login(username="viewer", password=PASSWORD)
    assert viewer.post(reverse("readers:reader_link_code", args=[r.pk])).status_code == 403


def test_consent_text_page_for_admins(net: Net) -> None:
    client = Client()
    assert client.login(username="admin", password=PASSWORD)
    url = reverse("readers:consent_edit")
    assert client.get(url).status_code == 200
    client.post(url, {"purpose": "Напоминания", "text": "Согласен (v2)"})
    assert linking.consent_text_current(net.system).text == "Согласен (v2)"
    editor = Client()
    assert editor.login(username="ed_central", password=PASSWORD)
    assert editor.get(url).status_code == 403


def test_a_failing_step_apologises_instead_of_staying_silent(net: Net, monkeypatch: Any) -> None:
    _r, channel = linked(net)

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("library system exploded")

    monkeypatch.setattr(dialogue, "loan_renew", broken)  # where the dialogue looks it up
    write(channel, "501", "продлить")
    action = DialogueAction.objects.filter(kind=DialogueAction.Kind.RENEW).get()
    assert action.state == DialogueAction.State.FAILED
    apology = OutgoingMessage.objects.get(dedupe_key=f"dialogue:{action.pk}:failed")
    assert apology.recipient_id == "501" and "went wrong" in apology.text


def test_a_code_links_once_even_when_two_dialogues_race(net: Net) -> None:
    r = reader(net)
    row, _code = linking.code_generate(actor=net.users["editor_central"], reader=r)
    text = linking.consent_text_current(net.system)
    first_copy, second_copy = LinkCode.objects.get(pk=row.pk), LinkCode.objects.get(pk=row.pk)  # both saw it unused
    linking.identity_link(reader=r, channel=net.channels["central_vk"], person_id="501", person_name="Анна",
                          consent_text=text, code=first_copy)
    with pytest.raises(linking.CodeUsed):
        linking.identity_link(reader=r, channel=net.channels["central_max"], person_id="777", person_name="Не Анна",
                              consent_text=text, code=second_copy)
    assert list(ReaderIdentity.objects.values_list("person_id", flat=True)) == ["501"]
    assert ReaderConsent.objects.count() == 1
