from django.urls import path

from filial.inbox import views

app_name = "inbox"

urlpatterns = [
    path("", views.inbox_list, name="inbox"),
    path("<int:pk>/", views.conversation_detail, name="conversation"),
    path("<int:pk>/reply/", views.conversation_reply, name="reply"),
    path("<int:pk>/note/", views.conversation_note, name="note"),
    path("<int:pk>/assign/", views.conversation_assign, name="assign"),
    path("<int:pk>/state/", views.conversation_state, name="state"),
    path("<int:pk>/items/<int:item_id>/remove/", views.item_remove, name="item_remove"),
    path("<int:pk>/items/<int:item_id>/attachments/<int:n>/", views.attachment, name="attachment"),
    path("<int:pk>/items/<int:item_id>/retry/", views.message_retry, name="message_retry"),
    path("quick-replies/", views.template_list, name="templates"),
    path("settings/", views.inbox_settings_view, name="settings"),
    path("opening-hours/<int:unit_id>/", views.opening_hours, name="opening_hours"),
    path("post/<int:post_id>/", views.open_question, name="open_question"),
]

# A person's data by their network identity (filial/inbox/views_privacy.py).
from filial.inbox import views_privacy  # noqa: E402

urlpatterns += [
    path("<int:pk>/person/export/", views_privacy.person_export, name="person_export"),
    path("<int:pk>/person/erase/", views_privacy.person_erase, name="person_erase"),
]

# Poll results across networks (filial/inbox/poll_views.py).
from filial.inbox import poll_views  # noqa: E402

urlpatterns += [
    path("polls/<int:pk>/", poll_views.poll_results, name="poll_results"),
    path("polls/<int:pk>/card/", poll_views.poll_card, name="poll_card"),
    path("polls/<int:pk>/refresh/", poll_views.poll_refresh, name="poll_refresh"),
    path("polls/<int:pk>/results.csv", poll_views.poll_export_csv, name="poll_export_csv"),
    path("polls/<int:pk>/results.xlsx", poll_views.poll_export_xlsx, name="poll_export_xlsx"),
]
