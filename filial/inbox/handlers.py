"""Handlers that may claim an inbound item before it reaches the inbox (later: the debtors dialogue claims
``продлить``, ``мои книги``, card numbers...).

``register(name, fn)``: ``fn(item)`` gets the :class:`~filial.inbox.models.InboxItem` about to be stored (not
saved yet: no id; its conversation and page set, ``text``, ``author_id``, ``kind``, ``raw`` filled) inside the
ingesting transaction, and returns True to claim it. A claimed item is kept in its
conversation, but it is not shown as new and sets no answer deadline. Handlers run in registration order; the
first that claims wins. A handler that raises is logged and treated as not claiming (the item reaches the inbox).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

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
