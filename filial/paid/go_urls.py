"""The public tracked links: ``/go/<code>`` (3 to 32 characters: anything else is a 404 before any query)."""

from django.urls import path, register_converter

from filial.paid import views


class ShortCodeConverter:
    """A short link's code: 3 to 32 Latin letters, digits, ``_`` or ``-`` (``ShortLink.code``)."""

    regex = r"[A-Za-z0-9_-]{3,32}"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


register_converter(ShortCodeConverter, "shortcode")

urlpatterns = [
    path("<shortcode:code>/", views.go, name="go"),
    path("<shortcode:code>", views.go),  # as printed on a poster, without the slash: no redirect hop
]
