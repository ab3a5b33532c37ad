from django.urls import path

from filial.inbox import views

app_name = "inbox"

urlpatterns = [
    path("", views.inbox_list, name="inbox"),
    path("<id:pk>/", views.conversation_detail, name="conversation"),
    path("<id:pk>/reply/", views.conversation_reply, name="reply"),
    path("<id:pk>/note/", views.conversation_note, name="note"),
    path("<id:pk>/assign/", views.conversation_assign, name="assign"),
    path("<id:pk>/state/", views.conversation_state, name="state"),
    path("<id:pk>/items/<id:item_id>/remove/", views.item_remove, name="item_remove"),
    path("<id:pk>/items/<id:item_id>/attachments/<index:n>/", views.attachment, name="attachment"),
    path("<id:pk>/items/<id:item_id>/retry/", views.message_retry, name="message_retry"),
    path("quick-replies/", views.template_list, name="templates"),
    path("settings/", views.inbox_settings_view, name="settings"),
    path("opening-hours/<id:unit_id>/", views.opening_hours, name="opening_hours"),
    path("post/<id:post_id>/", views.open_question, name="open_question"),
]

# A person's data by their network identity (filial/inbox/views_privacy.py).
from filial.inbox import views_privacy  # noqa: E402

urlpatterns += [
    path("<id:pk>/person/export/", views_privacy.person_export, name="person_export"),
    path("<id:pk>/person/erase/", views_privacy.person_erase, name="person_erase"),
]

# Poll results across networks (filial/inbox/poll_views.py).
from filial.inbox import poll_views  # noqa: E402

urlpatterns += [
    path("polls/<id:pk>/", poll_views.poll_results, name="poll_results"),
    path("polls/<id:pk>/card/", poll_views.poll_card, name="poll_card"),
    path("polls/<id:pk>/refresh/", poll_views.poll_refresh, name="poll_refresh"),
    path("polls/<id:pk>/results.csv", poll_views.poll_export_csv, name="poll_export_csv"),
    path("polls/<id:pk>/results.xlsx", poll_views.poll_export_xlsx, name="poll_export_xlsx"),
]
