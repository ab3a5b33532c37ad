"""The product's addresses plus three that fail on purpose, for ``test_error_pages.py``."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, SuspiciousOperation
from django.http import HttpRequest, HttpResponse
from django.urls import path

from filial.urls import handler400, handler403, handler404, handler500
from filial.urls import urlpatterns as product_urls


def forbidden(request: HttpRequest) -> HttpResponse:
    raise PermissionDenied("Вы не можете согласовывать публикации этих страниц.")


def broken(request: HttpRequest) -> HttpResponse:
    raise RuntimeError("a bug")


def suspicious(request: HttpRequest) -> HttpResponse:
    raise SuspiciousOperation("odd")


urlpatterns = [
    path("test-errors/forbidden/", forbidden),
    path("test-errors/broken/", broken),
    path("test-errors/suspicious/", suspicious),
    *product_urls,
]
__all__ = ["handler400", "handler403", "handler404", "handler500", "urlpatterns"]
