"""Error pages: a 400 says which parameter of the address is wrong; the API's unknown addresses answer JSON."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views import defaults

from filial.core.params import BadParameter


def _is_api(request: HttpRequest) -> bool:
    return request.path.startswith("/api/")


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if isinstance(exception, BadParameter):
        if _is_api(request):
            return JsonResponse({exception.name: [exception.message]}, status=400)
        return render(request, "core/400.html", {"name": exception.name, "message": exception.message},
                      status=400)
    if _is_api(request):
        return JsonResponse({"detail": _("Bad request.")}, status=400)
    return defaults.bad_request(request, exception)  # type: ignore[arg-type]


def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if _is_api(request):
        return JsonResponse({"detail": _("Not found.")}, status=404)
    return defaults.page_not_found(request, exception)  # type: ignore[arg-type]
