"""Posts, approvals and the calendar (namespace "publishing", included by filial/publishing/urls/__init__.py)."""

from django.urls import path

from filial.publishing.views import calendar, deliveries, messages, posts, slots

urlpatterns = [
    path("calendar/", calendar.calendar_view, name="calendar"),
    path("posts/", posts.post_list, name="post_list"),
    path("posts/new/", posts.post_create, name="post_create"),
    path("posts/<id:pk>/", posts.post_detail, name="post_detail"),
    path("posts/<id:pk>/edit/", posts.post_edit, name="post_edit"),
    path("posts/preview/", posts.post_preview, name="post_preview"),
    path("posts/<id:pk>/preview/", posts.post_preview, name="post_preview_edit"),
    path("posts/<id:pk>/submit/", posts.post_submit, name="post_submit"),
    path("posts/<id:pk>/approve/", posts.post_approve, name="post_approve"),
    path("posts/<id:pk>/return/", posts.post_return, name="post_return"),
    path("posts/<id:pk>/cancel/", posts.post_cancel, name="post_cancel"),
    path("posts/<id:pk>/delete/", posts.post_delete, name="post_delete"),
    path("posts/photos/<str:key>/<str:size>/", posts.media_file, name="media_file"),
    path("approvals/", posts.approvals, name="approvals"),
    path("posts/next-slot/", posts.post_next_slot, name="post_next_slot"),
    path("posts/<id:pk>/next-slot/", posts.post_next_slot, name="post_next_slot_edit"),
    path("posts/<id:pk>/series/stop/", posts.series_stop, name="series_stop"),
    path("pages/<id:channel_id>/slots/", slots.channel_slots, name="channel_slots"),
]

# Deliveries the engine could not finish: retry a failed one; "it is there" / "send again" for an uncertain one.
urlpatterns += [
    path("posts/<id:pk>/deliveries/<id:delivery_id>/retry/", deliveries.delivery_retry, name="delivery_retry"),
    path("posts/<id:pk>/deliveries/<id:delivery_id>/confirm/", deliveries.delivery_confirm,
         name="delivery_confirm"),
    path("posts/<id:pk>/deliveries/<id:delivery_id>/resend/", deliveries.delivery_resend, name="delivery_resend"),
]

# Outgoing messages (direct messages and replies sent through the pages): the list, and what a person does with
# one the engine could not finish (views/messages.py).
urlpatterns += [
    path("outgoing/", messages.message_list, name="message_list"),
    path("outgoing/<id:pk>/retry/", messages.message_retry, name="message_retry"),
    path("outgoing/<id:pk>/confirm/", messages.message_confirm, name="message_confirm"),
    path("outgoing/<id:pk>/resend/", messages.message_resend, name="message_resend"),
    path("outgoing/<id:pk>/cancel/", messages.message_cancel, name="message_cancel"),
]
