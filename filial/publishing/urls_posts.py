"""Posts, approvals and the calendar (namespace "publishing", included by filial/publishing/urls.py)."""

from django.urls import path

from filial.publishing.views import calendar, deliveries, messages, posts, slots

urlpatterns = [
    path("calendar/", calendar.calendar_view, name="calendar"),
    path("posts/", posts.post_list, name="post_list"),
    path("posts/new/", posts.post_create, name="post_create"),
    path("posts/<int:pk>/", posts.post_detail, name="post_detail"),
    path("posts/<int:pk>/edit/", posts.post_edit, name="post_edit"),
    path("posts/preview/", posts.post_preview, name="post_preview"),
    path("posts/<int:pk>/preview/", posts.post_preview, name="post_preview_edit"),
    path("posts/<int:pk>/submit/", posts.post_submit, name="post_submit"),
    path("posts/<int:pk>/approve/", posts.post_approve, name="post_approve"),
    path("posts/<int:pk>/return/", posts.post_return, name="post_return"),
    path("posts/<int:pk>/cancel/", posts.post_cancel, name="post_cancel"),
    path("posts/<int:pk>/delete/", posts.post_delete, name="post_delete"),
    path("posts/photos/<str:key>/<str:size>/", posts.media_file, name="media_file"),
    path("approvals/", posts.approvals, name="approvals"),
    path("posts/next-slot/", posts.post_next_slot, name="post_next_slot"),
    path("posts/<int:pk>/next-slot/", posts.post_next_slot, name="post_next_slot_edit"),
    path("posts/<int:pk>/series/stop/", posts.series_stop, name="series_stop"),
    path("pages/<int:channel_id>/slots/", slots.channel_slots, name="channel_slots"),
]

# Deliveries the engine could not finish: retry a failed one; "it is there" / "send again" for an uncertain one.
urlpatterns += [
    path("posts/<int:pk>/deliveries/<int:delivery_id>/retry/", deliveries.delivery_retry, name="delivery_retry"),
    path("posts/<int:pk>/deliveries/<int:delivery_id>/confirm/", deliveries.delivery_confirm,
         name="delivery_confirm"),
    path("posts/<int:pk>/deliveries/<int:delivery_id>/resend/", deliveries.delivery_resend, name="delivery_resend"),
]

# Outgoing messages (direct messages and replies sent through the pages): the list, and what a person does with
# one the engine could not finish (views/messages.py).
urlpatterns += [
    path("outgoing/", messages.message_list, name="message_list"),
    path("outgoing/<int:pk>/retry/", messages.message_retry, name="message_retry"),
    path("outgoing/<int:pk>/confirm/", messages.message_confirm, name="message_confirm"),
    path("outgoing/<int:pk>/resend/", messages.message_resend, name="message_resend"),
    path("outgoing/<int:pk>/cancel/", messages.message_cancel, name="message_cancel"),
]
