"""The readers' dialogue on a page: linking a reader's card (card number → one-time code → consent), and the
words of a linked reader (``продлить``/renew, ``мои книги``/my loans, ``стоп``/stop, ``отвязать``/unlink,
``помощь``/help).

:func:`handle` is an inbox handler (``filial.inbox.handlers``): it runs inside the ingesting transaction, so it
only decides, stores the dialogue's step and a :class:`DialogueAction`, and claims the item; the work (asking the
library system, composing and queueing the answer) runs in a Huey task once the transaction commits
(:func:`run`). Anything else a linked reader writes goes to the inbox.

Buttons: the connectors' ``send_message(user_id, text, key)`` takes no keyboard, so the answers list the words in
their text.
"""

from __future__ import annotations

import logging
import re
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import transaction
from django.db.models.signals import post_save
from django.utils import timezone, translation
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from filial.circulation.models import Reader, Renewal
from filial.circulation.selectors import reader_by_card
from filial.circulation.services import loan_renew
from filial.core import taskqueue
from filial.inbox import handlers
from filial.publishing.messages import message_send
from filial.readers import linking, reminders
from filial.readers.models import DialogueAction, DialogueState, ReaderIdentity

if TYPE_CHECKING:
    from filial.channels.models import Channel
    from filial.inbox.models import InboxItem

log = logging.getLogger("filial.circulation")

HANDLER_NAME = "debtors"
MAX_FAILURES = 5  # wrong card/code pairs before the person is locked out
LOCK = timedelta(minutes=30)

WORDS: dict[str, tuple[str, ...]] = {
    "loans": ("мои книги", "my loans", "my books", "книги", "loans"),
    "stop": ("стоп", "stop", "остановить"),
    "resume": ("возобновить", "resume"),
    "unlink": ("отвязать", "unlink"),
    "help": ("помощь", "help", "справка"),
    "link": ("привязать", "link", "привязать карту", "link my card"),
    "cancel": ("отмена", "cancel"),
    "yes": ("да", "согласен", "согласна", "yes", "i agree", "agree"),
    "no": ("нет", "не согласен", "не согласна", "no"),
}
RENEW_RE = re.compile(r"^(?:продлить|продли|renew)(?:\s+(?:№\s*)?(\d{1,3}))?$")


def normalize(text: str) -> str:
    """Case- and ё-insensitive, punctuation dropped: «Мои книги!» → «мои книги»."""
    text = text.casefold().replace("ё", "е")
    text = re.sub(r"[^\w\s№]", " ", text)
    return " ".join(text.split())


def word_of(text: str) -> tuple[str, str]:
    """(word, argument) of a message, or ("", "")."""
    norm = normalize(text)
    found = RENEW_RE.match(norm)
    if found:
        return "renew", found.group(1) or ""
    for word, forms in WORDS.items():
        if norm in {normalize(f) for f in forms}:
            return word, ""
    return "", ""


# What the inbox keeps instead of a card number or a code the reader typed (in the installation's language).
CARD_MASK = gettext_noop("card ******")
CODE_MASK = gettext_noop("code ******")


def masked(mask: str) -> str:
    with translation.override(settings.LANGUAGE_CODE):
        return _(mask)


# --- texts --------------------------------------------------------------------------------------------------
def help_linked() -> str:
    return _("Words I understand:\n«продлить» (renew) — renew all your loans, «продлить 2» — the second one;\n"
             "«мои книги» (my loans) — your loans and due dates;\n«стоп» (stop) — no more reminders "
             "(«возобновить» to get them again);\n«отвязать» (unlink) — remove the link to your card;\n"
             "«помощь» (help) — this list.\nAnything else goes to a librarian.")


def help_unlinked() -> str:
    return _("To get reminders about due dates and renew books here, link your reader's card: write "
             "«привязать» (link) and have your card number and the one-time code from the librarian ready.")


def ask_card() -> str:
    return _("Let us link your reader's card. Send your card number (write «отмена» to cancel).")


def ask_code() -> str:
    return _("Now send the one-time code the librarian gave you.")


def wrong_pair() -> str:
    return _("The card number or the code is not right. Send your card number again.")


def locked() -> str:
    return _("Too many wrong tries. Please try again later, or ask at the library.")


def ask_consent(purpose: str, text: str) -> str:
    return _("Purpose: %(purpose)s\n\n%(text)s\n\nDo you agree? Reply «да» (yes) or «нет» (no).") % {
        "purpose": purpose, "text": text}


# --- the handler (inside the ingesting transaction) -----------------------------------------------------------
def _act(channel: Channel, person_id: str, kind: str, *, heard: str, text: str = "", argument: str = "",
         reader: Reader | None = None) -> DialogueAction:
    action = DialogueAction.objects.create(channel=channel, person_id=person_id, reader=reader, kind=kind,
                                           heard=heard[:2000], text=text, argument=argument)
    action_id = action.pk
    transaction.on_commit(lambda: _enqueue(action_id))
    return action


def _enqueue(action_id: int) -> None:
    taskqueue.enqueue("filial.readers.tasks.dialogue_run", action_id)


def handle(item: InboxItem) -> bool:
    """Claim the dialogue's messages (see the module's doc)."""
    if item.kind != "message" or item.direction != "in" or not item.author_id or item.echo:
        return False
    channel = item.conversation.channel
    person = item.author_id
    identity = (ReaderIdentity.objects.select_related("reader").filter(channel_id=channel.pk, person_id=person)
                .first())
    word, argument = word_of(item.text)
    if identity is not None:
        return _linked(channel, identity, item, word, argument)
    return _linking(channel, person, item, word)


def _linked(channel: Channel, identity: ReaderIdentity, item: InboxItem, word: str, argument: str) -> bool:
    reader, person, heard = identity.reader, identity.person_id, item.text
    if word == "renew":
        _act(channel, person, DialogueAction.Kind.RENEW, heard=heard, argument=argument, reader=reader)
    elif word == "loans":
        _act(channel, person, DialogueAction.Kind.LOANS, heard=heard, reader=reader)
    elif word == "stop":
        linking.identity_stop(identity, stopped=True)
        _act(channel, person, DialogueAction.Kind.REPLY, heard=heard, reader=reader, text=_(
            "Done: no more reminders through this page. Your card stays linked; write «возобновить» to get "
            "reminders again, «отвязать» to remove the link."))
    elif word == "resume":
        linking.identity_stop(identity, stopped=False)
        _act(channel, person, DialogueAction.Kind.REPLY, heard=heard, reader=reader,
             text=_("Reminders are on again."))
    elif word == "unlink":
        linking.identity_unlink(identity)
        _act(channel, person, DialogueAction.Kind.REPLY, heard=heard, reader=reader, text=_(
            "Your card is no longer linked to this account. You can link it again at any time with a new code."))
    elif word in ("help", "link"):
        _act(channel, person, DialogueAction.Kind.REPLY, heard=heard, reader=reader, text=help_linked())
    else:
        return False
    return True


def _linking(channel: Channel, person: str, item: InboxItem, word: str) -> bool:
    heard = item.text
    state = DialogueState.objects.select_for_update().filter(channel_id=channel.pk, person_id=person).first()
    now = timezone.now()
    active = state is not None and state.step != DialogueState.Step.IDLE
    if state is not None and state.locked_until and state.locked_until > now:
        if active or word:
            _act(channel, person, DialogueAction.Kind.REPLY, heard="", text=locked())
            return True
        return False
    if not active:
        if word == "help":
            _act(channel, person, DialogueAction.Kind.REPLY, heard=heard, text=help_unlinked())
            return True
        if word != "link":
            # «продлить» from someone not linked stays for a librarian (who may hand out a code): the inbox's
            # manual renewals go on as before.
            return False
        state = state or DialogueState(channel=channel, person_id=person)
        if state.locked_until and state.locked_until <= now:
            state.failures, state.locked_until = 0, None
        _step(state, DialogueState.Step.CARD)
        _act(channel, person, DialogueAction.Kind.REPLY, heard=heard, text=ask_card())
        return True
    assert state is not None
    if word == "cancel" or (state.step == DialogueState.Step.CONSENT and word == "no"):
        _step(state, DialogueState.Step.IDLE)
        _act(channel, person, DialogueAction.Kind.REPLY, heard=heard,
             text=_("Cancelled: nothing was linked. Write «привязать» to start again."))
        return True
    if state.step == DialogueState.Step.CARD:
        # The card number is kept only for the next step (compared by cards.card_key, cleared when the dialogue
        # ends); the inbox and the dialogue's history keep a mask.
        state.card = item.text.strip()[:64]
        handlers.redact(item, masked(CARD_MASK))
        _step(state, DialogueState.Step.CODE)
        _act(channel, person, DialogueAction.Kind.REPLY, heard=item.text, text=ask_code())
        return True
    if state.step == DialogueState.Step.CODE:
        # The code is a secret: it is checked in memory and kept nowhere (the inbox item stores a mask).
        typed = item.text
        handlers.redact(item, masked(CODE_MASK))
        reader = reader_by_card(channel.unit.system_id, state.card)
        code = linking.code_match(reader, typed)
        if code is None:
            state.failures += 1
            if state.failures >= MAX_FAILURES:
                state.locked_until = now + LOCK
                _step(state, DialogueState.Step.IDLE)
                _act(channel, person, DialogueAction.Kind.REPLY, heard="", text=locked())
            else:
                _step(state, DialogueState.Step.CARD)
                _act(channel, person, DialogueAction.Kind.REPLY, heard="", text=wrong_pair())
            return True
        state.reader, state.code = reader, code
        _step(state, DialogueState.Step.CONSENT)
        consent = linking.consent_text_current(channel.unit.system_id)
        _act(channel, person, DialogueAction.Kind.REPLY, heard="", reader=reader,
             text=ask_consent(consent.purpose, consent.text))
        return True
    # Step CONSENT: only an explicit yes links.
    if word != "yes":
        consent = linking.consent_text_current(channel.unit.system_id)
        _act(channel, person, DialogueAction.Kind.REPLY, heard=heard, reader=state.reader,
             text=ask_consent(consent.purpose, consent.text))
        return True
    reader, code = state.reader, state.code
    no_longer_valid = _("The code is no longer valid. Ask the librarian for a new one and write «привязать».")
    if reader is None or not linking.code_usable(code):
        _step(state, DialogueState.Step.IDLE)
        _act(channel, person, DialogueAction.Kind.REPLY, heard=heard, text=no_longer_valid)
        return True
    assert code is not None
    consent = linking.consent_text_current(channel.unit.system_id)
    try:
        linking.identity_link(reader=reader, channel=channel, person_id=person, person_name=item.author_name,
                              consent_text=consent, code=code, at=now)
    except linking.CodeUsed:
        _step(state, DialogueState.Step.IDLE)
        _act(channel, person, DialogueAction.Kind.REPLY, heard=heard, text=no_longer_valid)
        return True
    state.failures = 0
    _step(state, DialogueState.Step.IDLE)
    _act(channel, person, DialogueAction.Kind.REPLY, heard=heard, reader=reader,
         text=_("Your card is linked. I will remind you about due dates.") + "\n\n" + help_linked())
    return True


def _step(state: DialogueState, step: str) -> None:
    state.step = step
    if step == DialogueState.Step.IDLE:
        state.card, state.reader, state.code = "", None, None
    state.save()


# --- the work after the commit (a Huey task) -------------------------------------------------------------------
def run(action_id: int) -> None:
    """Carry out one dialogue action and queue its answer through the engine."""
    action = (DialogueAction.objects.select_related("channel__unit__system", "reader__unit")
              .filter(pk=action_id, state=DialogueAction.State.PENDING).first())
    if action is None:
        return
    try:
        if action.kind == DialogueAction.Kind.LOANS:
            action.text = _loans_answer(action)
        elif action.kind == DialogueAction.Kind.RENEW:
            action.text = _renew_answer(action)
        with transaction.atomic():
            message = message_send(channel=action.channel, recipient_id=action.person_id, text=action.text,
                                   purpose="dialogue", dedupe_key=f"dialogue:{action.pk}")
            action.message, action.state, action.done_at = message, DialogueAction.State.DONE, timezone.now()
            action.save(update_fields=["text", "message", "state", "done_at", "renewals"])
    except Exception:
        log.exception("dialogue action %s failed", action_id)
        action.state = DialogueAction.State.FAILED
        action.save(update_fields=["state", "text", "renewals"])
        try:  # tell the reader rather than stay silent
            message_send(channel=action.channel, recipient_id=action.person_id, purpose="dialogue",
                         text=_("Sorry, something went wrong. A librarian will answer you."),
                         dedupe_key=f"dialogue:{action.pk}:failed")
        except Exception:
            log.exception("dialogue action %s: the apology could not be queued either", action_id)


def _today(action: DialogueAction) -> Any:
    unit = action.reader.unit if action.reader else action.channel.unit
    return timezone.localtime(timezone.now(), unit.tz).date()


def _loans_answer(action: DialogueAction) -> str:
    if action.reader is None:
        return help_unlinked()
    loans = reminders.open_loans(action.reader)
    if not loans:
        return _("You have no books on loan.")
    return _("You have %(books)s:") % {"books": reminders.books_phrase(len(loans))} + "\n" + \
        reminders.loans_text(loans, _today(action))


def renewal_line(renewal: Renewal) -> str:
    title = renewal.loan.title or renewal.loan.barcode
    if renewal.state == Renewal.State.GRANTED and renewal.new_due:
        return _("«%(title)s» is renewed until %(due)s.") % {
            "title": title, "due": date_format(renewal.new_due, "SHORT_DATE_FORMAT")}
    if renewal.state == Renewal.State.REFUSED:
        return _("«%(title)s» cannot be renewed: %(reason)s") % {"title": title, "reason": refusal(renewal)}
    return _("«%(title)s»: a librarian will answer your request.") % {"title": title}


def refusal(renewal: Renewal) -> str:
    known = {
        "reserved": _("another reader has reserved it."),
        "too_many": _("it has been renewed as many times as allowed."),
        "overdue_blocked": _("renewals are blocked while a loan is overdue."),
    }
    return known.get(renewal.reason_code) or renewal.reason or _("the library system refused.")


def _renew_answer(action: DialogueAction) -> str:
    if action.reader is None:
        return help_unlinked()
    loans = reminders.open_loans(action.reader)
    if not loans:
        return _("You have no books on loan.")
    if action.argument:
        n = int(action.argument)
        if not 1 <= n <= len(loans):
            return _("There is no loan number %(n)d. Write «мои книги» to see the list.") % {"n": n}
        loans = [loans[n - 1]]
    lines = []
    for loan in loans:
        renewal = loan_renew(loan, source=Renewal.Channel.READER)
        action.renewals = [*action.renewals, renewal.pk]
        lines.append(renewal_line(renewal))
    return "\n".join(lines)


def relay_decision(sender: Any, instance: Renewal, created: bool, update_fields: Any = None, **kwargs: Any) -> None:
    """A librarian decided a renewal a reader asked for in the dialogue: tell the reader (through the page the
    reader asked on)."""
    if created or instance.source != Renewal.Channel.READER or instance.decided_by_id is None:
        return
    if instance.state not in (Renewal.State.GRANTED, Renewal.State.REFUSED):
        return
    loan = instance.loan
    asked = (DialogueAction.objects.filter(reader_id=loan.reader_id, kind=DialogueAction.Kind.RENEW)
             .exclude(person_id="").order_by("-created_at", "-id").first())
    if asked is None:
        return
    if not ReaderIdentity.objects.filter(channel_id=asked.channel_id, person_id=asked.person_id,
                                         reader_id=loan.reader_id).exists():
        return  # unlinked meanwhile
    _act(asked.channel, asked.person_id, DialogueAction.Kind.RELAY, heard="", reader=loan.reader,
         text=renewal_line(instance))


def register() -> None:
    """Called once by ``ReadersConfig.ready``: the inbox handler and the renewals' signal."""
    handlers.register(HANDLER_NAME, handle)
    post_save.connect(relay_decision, sender=Renewal, dispatch_uid="readers.dialogue.relay")
