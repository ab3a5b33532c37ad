"""Headers every response carries: a strict Content-Security-Policy (no inline scripts, nothing remote); the
idle timeout of signed-in sessions."""

from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.utils import timezone

CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)


class SecurityHeadersMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if not request.path.startswith("/admin/"):
            response.headers.setdefault("Content-Security-Policy", CSP)
        response.headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
        return response


SESSION_SEEN_KEY = "_filial_seen"
SESSION_TOUCH_SECONDS = 60


class IdleSessionMiddleware:
    """Idle timeout: a signed-in session is saved again (at most once a minute), so that it ends
    ``FILIAL_SESSION_IDLE_MINUTES`` (``SESSION_COOKIE_AGE``) after the last request, not after the first."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        session = getattr(request, "session", None)
        user = getattr(request, "user", None)
        if session is not None and user is not None and user.is_authenticated:
            now = int(timezone.now().timestamp())
            seen = session.get(SESSION_SEEN_KEY)
            if not isinstance(seen, int) or now - seen >= SESSION_TOUCH_SECONDS:
                session[SESSION_SEEN_KEY] = now  # modified: saved with a new expiry, the cookie sent again
        return self.get_response(request)


def stamp_session_at_login(sender: Any, request: HttpRequest, user: Any, **kwargs: Any) -> None:
    """Login saves the session anyway: stamp it then, so the first requests after it do not save it again."""
    session = getattr(request, "session", None)
    if session is not None:
        session[SESSION_SEEN_KEY] = int(timezone.now().timestamp())
