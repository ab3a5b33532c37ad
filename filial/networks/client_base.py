"""What the networks' clients (``networks/<net>/client.py``) share: keeping secrets out of httpx's request log, and
telling whether a request that failed had left before it failed.

- Log redaction: httpx logs every request's URL at INFO, and some networks carry secrets in it (OK's Bot API key
  and VK's Long Poll key in the query string, Telegram's bot token in the path). One filter on the ``httpx``
  logger applies what each client registers with :func:`redact_in_logs`.
- A failed request: one that never connected changed nothing; one that failed after it was sent (a read or write
  timeout, a dropped connection) may have been applied — for a write, its outcome is unknown. Each client words
  its own :class:`~filial.networks.base.NetworkError` from :func:`never_sent` / :func:`sent_then_failed`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import httpx

Redactor = Callable[[str], str]

# Failed before anything reached the network.
NOT_SENT: tuple[type[httpx.HTTPError], ...] = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
# Failed after the request left: the network may have acted on it.
SENT_THEN_FAILED: tuple[type[httpx.HTTPError], ...] = (
    httpx.ReadTimeout, httpx.WriteTimeout, httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError)


def never_sent(exc: BaseException) -> bool:
    return isinstance(exc, NOT_SENT)


def sent_then_failed(exc: BaseException) -> bool:
    return isinstance(exc, SENT_THEN_FAILED)


_redactors: list[Redactor] = []


def redact(text: str) -> str:
    """``text`` with every registered redaction applied."""
    for redactor in _redactors:
        text = redactor(text)
    return text


class _RedactSecrets(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and record.args:
            record.args = tuple(redact(str(a)) if isinstance(a, str | httpx.URL) else a for a in record.args)
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        return True


def redact_in_logs(redactor: Redactor) -> None:
    """Cut what ``redactor`` finds out of every line httpx logs (a client registers its own once, at import)."""
    if redactor not in _redactors:
        _redactors.append(redactor)
    logger = logging.getLogger("httpx")
    if not any(isinstance(existing, _RedactSecrets) for existing in logger.filters):
        logger.addFilter(_RedactSecrets())
