"""The public tracked links: ``/go/<code>`` (3 to 32 characters: anything else is a 404 before any query)."""

from django.urls import re_path

from filial.paid import views

urlpatterns = [
    re_path(r"^(?P<code>[A-Za-z0-9_-]{3,32})/?$", views.go, name="go"),
]
