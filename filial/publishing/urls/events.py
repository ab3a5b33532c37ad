"""Event URLs (included into the ``publishing`` namespace by ``publishing/urls/__init__.py``)."""

from django.urls import path

from filial.publishing.views import events

urlpatterns: list = [
    path("events/", events.event_list, name="event_list"),
    path("events/new/", events.event_create, name="event_create"),
    path("events/<id:pk>/", events.event_detail, name="event_detail"),
    path("events/<id:pk>/edit/", events.event_edit, name="event_edit"),
    path("events/<id:pk>/delete/", events.event_delete, name="event_delete"),
    path("events.ics", events.event_ical, name="event_ical"),
]
