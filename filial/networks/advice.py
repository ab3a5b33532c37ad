"""What a person should do about a network's error: the general kinds of advice, their Russian words, and the
rules every network shares (transport failures, Filial's own refusals before any request).

Each network keeps its own table in its ``rules.py`` (``Connector.error_codes`` / ``error_phrases``: its error
codes and answers mapped onto these kinds); ``Connector.error_advice`` reads them, then the general rules here.
Rows keep the network's raw answer (``last_error``, ``Attempt.error_message``); the pages show the advice and
fold the raw answer under «Подробности» (``registry.explain_error``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _


class Kind(StrEnum):
    """What happened, as far as a person must act on it."""

    NEEDS_REAUTH = "needs_reauth"
    NO_RIGHTS = "no_rights"
    RATE_LIMITED = "rate_limited"
    DAILY_LIMIT = "daily_limit"
    CAPTCHA = "captcha"
    TOO_LONG = "too_long"
    TOO_MANY_PHOTOS = "too_many_photos"
    PHOTO_REJECTED = "photo_rejected"
    POLL_UNSUPPORTED = "poll_unsupported"
    POLL_INVALID = "poll_invalid"
    POLL_CLOSED = "poll_closed"
    EMPTY = "empty"
    CENSORED = "censored"
    PRIVACY = "privacy"
    NOT_FOUND = "not_found"
    NOT_EDITABLE = "not_editable"
    NOT_MODIFIED = "not_modified"
    PARTLY_PUBLISHED = "partly_published"
    RECIPIENT_NOT_STARTED = "recipient_not_started"
    RECIPIENT_NO_CONSENT = "recipient_no_consent"
    RECIPIENT_BLOCKED = "recipient_blocked"
    RECIPIENT_NOT_FOUND = "recipient_not_found"
    CHAT_MIGRATED = "chat_migrated"
    PAGE_SETUP = "page_setup"
    WEBHOOK = "webhook"
    SERVER = "server"
    CONNECTION = "connection"
    OUTCOME_UNKNOWN = "outcome_unknown"
    WORKER_LOST = "worker_lost"
    PAYLOAD = "payload"
    INTERNAL = "internal"
    CONFIG = "config"
    BAD_REQUEST = "bad_request"
    REFUSED_LOCALLY = "refused_locally"
    UNKNOWN = "unknown"


# What happened and what to do, in a person's words (the Russian is in locale/ru).
TEXTS: dict[Kind, Promise] = {
    Kind.NEEDS_REAUTH: _("The network did not accept the page's access key (it expired, was revoked or is "
                         "missing). Reconnect the page: open it under «Pages», check it and save new keys."),
    Kind.NO_RIGHTS: _("The account or bot the page is connected with has no right to do this. Make it an "
                      "administrator (or editor) of the page on the network, then check the page again."),
    Kind.RATE_LIMITED: _("The network asked to slow down: too many requests at once. Nothing to do: Filial "
                         "will try again by itself."),
    Kind.DAILY_LIMIT: _("The network's limit for today is used up (too many posts or actions). Filial will try "
                        "again later; if the post is urgent, publish it by hand on the network."),
    Kind.CAPTCHA: _("The network asks to type in a captcha, which Filial cannot do. Wait an hour and send again, "
                    "or publish this post by hand on the network."),
    Kind.TOO_LONG: _("The text is longer than this network allows. Shorten the text for this page and send "
                     "again."),
    Kind.TOO_MANY_PHOTOS: _("Too many photos or attachments for this network. Remove some for this page and "
                            "send again."),
    Kind.PHOTO_REJECTED: _("The network did not accept a photo (too big, too small, damaged or of an unknown "
                           "format). Replace the photo (a JPEG or PNG under 10 MB) and send again."),
    Kind.POLL_UNSUPPORTED: _("This network cannot take polls. Remove the poll or this page from the post."),
    Kind.POLL_INVALID: _("The network did not accept the poll. Check the question and the answers: their number "
                         "and length."),
    Kind.POLL_CLOSED: _("The poll is already closed on the network. Nothing to do."),
    Kind.EMPTY: _("The post or message is empty. Add text, a photo or a poll and send again."),
    Kind.CENSORED: _("The network refused the text because of forbidden words. Change the text and send again."),
    Kind.PRIVACY: _("The privacy settings of the person or group do not allow this. Nothing Filial can change: "
                    "reach the person another way."),
    Kind.NOT_FOUND: _("The network did not find the post, page or message (it may have been deleted). Open the "
                      "page on the network; if the post is gone, publish it again."),
    Kind.NOT_EDITABLE: _("The network does not let this post be changed or deleted (it is too old or of another "
                         "kind). Change it by hand on the network, or delete it there and publish again."),
    Kind.NOT_MODIFIED: _("Nothing changed: the network already has this text. Nothing to do."),
    Kind.PARTLY_PUBLISHED: _("Only part of the post came out. Open the page on the network, delete what came out "
                             "and send the post again."),
    Kind.RECIPIENT_NOT_STARTED: _("The reader has not written to the bot yet, and a bot cannot write first. Ask "
                                  "the reader to write to the page; then the answer will reach them."),
    Kind.RECIPIENT_NO_CONSENT: _("The reader has not allowed messages from the page. Ask the reader to write to "
                                 "the page or to allow messages; until then reach them another way."),
    Kind.RECIPIENT_BLOCKED: _("The reader blocked the page or bot, or closed their messages. Reach the reader "
                              "another way (phone, e-mail)."),
    Kind.RECIPIENT_NOT_FOUND: _("The network does not know this person (the account may be deleted). Check "
                                "who the message is for."),
    Kind.CHAT_MIGRATED: _("The group became a supergroup with a new number. Reconnect the page with the new "
                          "chat number (see «Details»)."),
    Kind.PAGE_SETUP: _("The page is connected wrongly (a wrong id or kind of page). Check the page's id in its "
                       "settings and check the page again."),
    Kind.WEBHOOK: _("The page receives readers' messages through a webhook, and this request clashes with it. "
                    "If readers' messages do not arrive, tell the administrator."),
    Kind.SERVER: _("A failure on the network's side. Nothing to do: Filial will try again by itself. If it "
                   "lasts more than an hour, look at the page on the network."),
    Kind.CONNECTION: _("Filial could not reach the network (no connection). Filial will try again by itself; if "
                       "it does not pass, tell the administrator."),
    Kind.OUTCOME_UNKNOWN: _("The network did not answer after the request was sent: the post may have come out. "
                            "Open the page on the network and check, then mark what happened."),
    Kind.WORKER_LOST: _("Sending was interrupted (Filial's worker stopped). Filial will try again by itself."),
    Kind.PAYLOAD: _("Filial could not prepare the post for sending (for example, a photo file is missing). "
                    "Open the post, check its photos and send again."),
    Kind.INTERNAL: _("An error inside Filial while sending; the post may have come out. Check the page on the "
                     "network and tell the administrator (with «Details»)."),
    Kind.CONFIG: _("The network's address in Filial's settings cannot be used. Tell the administrator of this "
                   "installation."),
    Kind.BAD_REQUEST: _("The network did not understand Filial's request. Check the text, links and photos; "
                        "if that does not help, tell the administrator (with «Details»)."),
    Kind.REFUSED_LOCALLY: _("Filial did not send this: it does not suit this network (see «Details»). Correct "
                            "the post for this page and send again."),
    Kind.UNKNOWN: _("The network answered with an error Filial does not know. Send again; if it repeats, tell "
                    "the administrator (with «Details»)."),
}


@dataclass(frozen=True)
class Advice:
    """A network error explained: its kind, the advice (translated) and the network's raw answer."""

    kind: Kind
    raw: str = ""

    @property
    def text(self) -> str:
        return str(TEXTS[self.kind])


# Filial's own and the transport's words, the same for every network (lower case; checked in order).
GENERAL_PHRASES: tuple[tuple[str, Kind], ...] = (
    ("may have been applied", Kind.OUTCOME_UNKNOWN),
    ("may or may not", Kind.OUTCOME_UNKNOWN),
    ("it may have been", Kind.OUTCOME_UNKNOWN),
    ("check before repeating", Kind.OUTCOME_UNKNOWN),
    ("no answer after", Kind.OUTCOME_UNKNOWN),
    ("worker stopped", Kind.WORKER_LOST),
    ("photos, at most", Kind.TOO_MANY_PHOTOS),
    ("polls are not supported", Kind.POLL_UNSUPPORTED),
    ("a poll needs", Kind.POLL_INVALID),
    ("the post is empty", Kind.EMPTY),
    ("is empty", Kind.EMPTY),
    ("not allowed on this installation", Kind.CONFIG),
    ("api address", Kind.CONFIG),
    ("base url", Kind.CONFIG),
)
GENERAL_PATTERNS: tuple[tuple[re.Pattern[str], Kind], ...] = (
    (re.compile(r"characters, at most|at most \d+ characters|too long|must be 1 to \d+|needs 1 to \d+"),
     Kind.TOO_LONG),
    (re.compile(r"\bhttp 429\b|too many requests"), Kind.RATE_LIMITED),
    (re.compile(r"\bhttp 5\d\d\b|server error"), Kind.SERVER),
)
# Codes every connector uses for what happens before or around the network's answer.
GENERAL_CODES: dict[str, Kind] = {
    "local": Kind.REFUSED_LOCALLY,
    "payload": Kind.PAYLOAD,
    "internal": Kind.INTERNAL,
    "lease_expired": Kind.WORKER_LOST,
    "rate_wait": Kind.RATE_LIMITED,  # the outbox stopped a send before a call the page's budget had no room for
    "uncertain": Kind.OUTCOME_UNKNOWN,  # an attempt's outcome, where it has no code of its own
    "no_token": Kind.NEEDS_REAUTH,
    "credentials": Kind.NEEDS_REAUTH,
    "bad_answer": Kind.SERVER,
    "bad_response": Kind.SERVER,
    "upload": Kind.PHOTO_REJECTED,
    "connect": Kind.CONNECTION,
    "timeout": Kind.CONNECTION,
    "network": Kind.CONNECTION,
    # httpx's exception names, which the clients use as the code of a request that got no answer
    "ConnectError": Kind.CONNECTION, "ConnectTimeout": Kind.CONNECTION, "PoolTimeout": Kind.CONNECTION,
    "ProxyError": Kind.CONNECTION, "ReadTimeout": Kind.CONNECTION, "WriteTimeout": Kind.CONNECTION,
    "ReadError": Kind.CONNECTION, "WriteError": Kind.CONNECTION, "RemoteProtocolError": Kind.CONNECTION,
    "TimeoutException": Kind.CONNECTION, "NetworkError": Kind.CONNECTION, "TransportError": Kind.CONNECTION,
    "CloseError": Kind.CONNECTION,
    "UnsupportedProtocol": Kind.CONFIG, "LocalProtocolError": Kind.CONFIG, "InvalidURL": Kind.CONFIG,
}


def match_phrases(text: str, phrases: tuple[tuple[str, Kind], ...]) -> Kind | None:
    low = text.lower()
    for needle, kind in phrases:
        if needle in low:
            return kind
    return None


def general_advice(code: str, text: str) -> Kind | None:
    """The general rules: Filial's and the transport's own words first, then the shared codes."""
    found = match_phrases(text, GENERAL_PHRASES)
    if found is not None:
        return found
    low = text.lower()
    for pattern, kind in GENERAL_PATTERNS:
        if pattern.search(low):
            return kind
    return GENERAL_CODES.get(code)
