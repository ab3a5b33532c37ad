"""Publishing URLs: posts and approvals (views/posts.py), calendar (views/calendar.py), events (views/events.py)."""

from django.urls import include, path

app_name = "publishing"

urlpatterns = [
    path("", include("filial.publishing.urls.posts")),
    path("", include("filial.publishing.urls.events")),
]
