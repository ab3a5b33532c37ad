"""Handlers that may claim an inbound item before it reaches the inbox (later: the debtors dialogue claims
``продлить``, ``мои книги``, card numbers...).

``register(name, fn)``: ``fn(item)`` gets the :class:`~filial.inbox.models.InboxItem` about to be stored (not
saved yet: no id; its conversation and page set, ``text``, ``author_id``, ``kind``, ``raw`` filled) inside the
ingesting transaction, and returns True to claim it. A claimed item is kept in its
conversation, but it is not shown as new and sets no answer deadline. Handlers run in registration order; the
first that claims wins. A handler that raises is logged and treated as not claiming (the item reaches the inbox).

A handler that reads a secret in the item (the readers' dialogue: a card number, a one-time code) calls
:func:`redact` before returning: the item is stored with the replacement in its text and raw payload, the webhook's
stored event is scrubbed the same way (``pipeline.process_pending``), and the secret lives only in memory.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from filial.inbox.models import InboxItem

log = logging.getLogger("filial.inbox")

Handler = Callable[["InboxItem"], bool]
_handlers: dict[str, Handler] = {}


def register(name: str, fn: Handler) -> None:
    """Add (or replace) the handler called ``name``."""
    _handlers[name] = fn


def unregister(name: str) -> None:
    _handlers.pop(name, None)


def registered() -> list[str]:
    return list(_handlers)


def claim(item: InboxItem) -> str:
    """The name of the handler that claims ``item``, or "" when none does."""
    for name, fn in list(_handlers.items()):
        try:
            if fn(item):
                return name
        except Exception:
            log.exception("inbox handler %s failed on item %s", name, item.external_id)
    return ""


MIN_SUBSTRING = 4  # a shorter secret is replaced only where it is a whole value (else dates and ids would be hit)


def scrub(value: Any, secret: str, replacement: str) -> Any:
    """``value`` (JSON) with every string that is ``secret`` (or, for a secret of 4+ characters, contains it)
    replaced."""
    if isinstance(value, str):
        if value.strip() == secret:
            return replacement
        return value.replace(secret, replacement) if len(secret) >= MIN_SUBSTRING else value
    if isinstance(value, dict):
        return {key: scrub(inner, secret, replacement) for key, inner in value.items()}
    if isinstance(value, list):
        return [scrub(inner, secret, replacement) for inner in value]
    return value


def redact(item: InboxItem, replacement: str) -> None:
    """The item's text is a secret: store ``replacement`` instead, in the text and everywhere in the raw payload."""
    secret = item.text.strip()
    if not secret:
        return
    item.text = replacement
    item.raw = scrub(item.raw or {}, secret, replacement)
    item._redactions = [*redactions(item), (secret, replacement)]  # type: ignore[attr-defined]


def redactions(item: InboxItem) -> list[tuple[str, str]]:
    """The (secret, replacement) pairs :func:`redact` applied to ``item`` (the pipeline scrubs its event too)."""
    return list(getattr(item, "_redactions", []))
