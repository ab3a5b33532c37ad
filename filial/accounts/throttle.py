"""Login throttling (django-axes) for every place that takes a password: the login page, ``/admin/login/`` and
the API's ``/api/v1/auth/token/``.

Failed attempts are counted in the database (``axes.AccessAttempt``, shared by every web process) per account
(the username typed) and per address (``filial.core.clientip``: ``FILIAL_TRUSTED_PROXIES`` decides whether
``X-Forwarded-For`` counts). ``FILIAL_LOGIN_FAILURES_PER_ACCOUNT`` failures for one username, or
``FILIAL_LOGIN_FAILURES_PER_ADDRESS`` from one address (higher: a library's staff share one address behind its
router), lock sign-in for ``FILIAL_LOGIN_LOCKOUT_MINUTES`` after the last counted failure; attempts during the
lock-out are refused without being counted, so the lock-out ends on time. The right password is refused too while
locked. Each place shows the same translated message; the API answers 429 with ``Retry-After``.
"""

from __future__ import annotations

import math
from typing import Any

from axes.backends import AxesStandaloneBackend
from axes.handlers.database import AxesDatabaseHandler
from axes.helpers import get_client_username
from django.conf import settings
from django.db.models import Sum
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _

LOCKED_CODE = "locked_out"


def lockout_minutes() -> int:
    return int(settings.FILIAL_LOGIN_LOCKOUT_MINUTES)


def lockout_message() -> str:
    return _("Too many failed sign-in attempts for this account or from this address. Sign-in is blocked for "
             "%(minutes)s minutes: try again later, or ask your administrator to unlock it.") % {
        "minutes": lockout_minutes()}


def is_locked_out(request: Any) -> bool:
    """True if the authenticate() just made for this request was refused or caused a lock-out."""
    django_request = getattr(request, "_request", request)  # a DRF Request wraps the Django one
    return bool(getattr(django_request, "axes_locked_out", False))


class LoginThrottleBackend(AxesStandaloneBackend):
    """Axes' check before the password backends. authenticate() without a request (the test client's login(),
    code that checks a password itself) has no address to count: it is left to the next backend."""

    def authenticate(self, request: HttpRequest | None, username: str | None = None, password: str | None = None,
                     **kwargs: Any) -> None:
        if request is None:
            return None
        return super().authenticate(request, username, password, **kwargs)  # type: ignore[no-any-return]


class LoginAttemptHandler(AxesDatabaseHandler):
    """Axes' database handler with a separate limit per address: failures from one address count against
    ``AXES_FAILURE_LIMIT`` (the per-account limit) scaled by per-account / per-address."""

    def get_failures(self, request: Any, credentials: dict[str, Any] | None = None) -> int:
        per_account = int(settings.FILIAL_LOGIN_FAILURES_PER_ACCOUNT)
        per_address = max(1, int(settings.FILIAL_LOGIN_FAILURES_PER_ADDRESS))
        by_account = by_address = 0
        username = get_client_username(request, credentials)
        for filters, attempts in zip(self._parameters(request, credentials),
                                     self.get_user_attempts(request, credentials), strict=True):
            total = int(attempts.aggregate(n=Sum("failures_since_start"))["n"] or 0)
            if "username" in filters and username is not None:
                by_account = max(by_account, total)
            elif "ip_address" in filters:
                by_address = max(by_address, total)
        # floor(n * A / B) >= A exactly when n >= B: the address is locked at its own limit.
        return max(by_account, math.floor(by_address * per_account / per_address))

    @staticmethod
    def _parameters(request: Any, credentials: dict[str, Any] | None) -> list[dict[str, Any]]:
        from axes.helpers import get_client_parameters

        return get_client_parameters(get_client_username(request, credentials), request.axes_ip_address,
                                     request.axes_user_agent, request, credentials)


def lockout_response(request: HttpRequest, original_response: HttpResponse | None = None,
                     credentials: dict[str, Any] | None = None) -> HttpResponse:
    """AXES_LOCKOUT_CALLABLE: the login page, the admin's login and the token endpoint already show the message
    (their forms check ``is_locked_out``); the response only gets the 429 status and a Retry-After."""
    if original_response is not None and original_response.status_code in {200, 400, 429}:
        response = original_response
        response.status_code = 429
    else:
        response = HttpResponse(lockout_message(), status=429, content_type="text/plain; charset=utf-8")
    response["Retry-After"] = str(lockout_minutes() * 60)
    return response


def retry_after_seconds() -> int:
    return math.ceil(lockout_minutes() * 60)
