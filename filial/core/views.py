"""Error pages: styled Russian 400, 403, 404, 500 and CSRF failure pages with the menu (for a signed-in person)
and a way back; a 400 says which parameter of the address is wrong; the API's errors answer JSON."""

from __future__ import annotations

import logging
from typing import Any

from django.http import HttpRequest, HttpResponse, HttpResponseServerError, JsonResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _

from filial.core.params import BadParameter

log = logging.getLogger(__name__)


def _is_api(request: HttpRequest) -> bool:
    return request.path.startswith("/api/")


def _back(request: HttpRequest) -> str:
    """The page the person came from, when it is on this site and not this very page ("" otherwise)."""
    referer = str(request.META.get("HTTP_REFERER") or "")
    if not referer or referer == request.build_absolute_uri():
        return ""
    if not url_has_allowed_host_and_scheme(referer, allowed_hosts={request.get_host()},
                                           require_https=request.is_secure()):
        return ""
    return referer


def _home(request: HttpRequest) -> str:
    user = getattr(request, "user", None)
    return reverse("libraries:dashboard") if user is not None and user.is_authenticated else reverse("login")


def _page(request: HttpRequest, status: int, title: str, text: str, **extra: Any) -> HttpResponse:
    context = {"status": status, "title": title, "text": text, "back": _back(request), "home": _home(request),
               **extra}
    return render(request, "core/error.html", context, status=status)


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if isinstance(exception, BadParameter):
        if _is_api(request):
            return JsonResponse({exception.name: [exception.message]}, status=400)
        return render(request, "core/400.html", {"name": exception.name, "message": exception.message,
                                                 "back": _back(request), "home": _home(request)}, status=400)
    if _is_api(request):
        return JsonResponse({"detail": _("Bad request.")}, status=400)
    return _page(request, 400, _("The request cannot be read"),
                 _("The page could not make sense of what the browser sent. Go back, reload the page and try "
                   "again."))


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if _is_api(request):
        return JsonResponse({"detail": _("You do not have permission to perform this action.")}, status=403)
    reason = str(exception or "").strip()  # our services' own translated sentences ("You cannot approve…")
    return _page(request, 403, _("No access"),
                 _("You have no right to open this page or do this. If your work needs it, ask an administrator "
                   "of your library system."), reason=reason)


def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if _is_api(request):
        return JsonResponse({"detail": _("Not found.")}, status=404)
    return _page(request, 404, _("Page not found"),
                 _("There is no such page: the link may be old, or the post or page was deleted. Check the "
                   "address or start from the overview."))


def server_error(request: HttpRequest) -> HttpResponse:
    """Rendered without touching the database where it can (the error may be the database itself)."""
    if _is_api(request):
        return JsonResponse({"detail": _("A server error occurred.")}, status=500)
    at = timezone.localtime().strftime("%d.%m.%Y %H:%M")
    title = _("Something went wrong")
    text = _("An error happened on the server; it is written in the log. Try again in a minute; if it repeats, "
             "tell the administrator the time: %(at)s.") % {"at": at}
    try:
        return _page(request, 500, title, text)
    except Exception:  # the menu needs the database; without it, the plain page
        log.exception("the styled error page failed")
        return HttpResponseServerError(render_to_string("core/error_plain.html", {"title": title, "text": text}))


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """``CSRF_FAILURE_VIEW``: a form sent from an old page, or after signing out in another tab."""
    return _page(request, 403, _("The form is out of date"),
                 _("The page was open too long, or you signed out or in again in another tab. Go back, reload "
                   "the page and send the form again."))
