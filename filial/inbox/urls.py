from django.urls import path

from filial.inbox.views import conversations, polls, privacy

app_name = "inbox"

urlpatterns = [
    path("", conversations.inbox_list, name="inbox"),
    path("<id:pk>/", conversations.conversation_detail, name="conversation"),
    path("<id:pk>/reply/", conversations.conversation_reply, name="reply"),
    path("<id:pk>/note/", conversations.conversation_note, name="note"),
    path("<id:pk>/assign/", conversations.conversation_assign, name="assign"),
    path("<id:pk>/state/", conversations.conversation_state, name="state"),
    path("<id:pk>/items/<id:item_id>/remove/", conversations.item_remove, name="item_remove"),
    path("<id:pk>/items/<id:item_id>/attachments/<index:n>/", conversations.attachment, name="attachment"),
    path("<id:pk>/items/<id:item_id>/retry/", conversations.message_retry, name="message_retry"),
    path("quick-replies/", conversations.template_list, name="templates"),
    path("settings/", conversations.inbox_settings_view, name="settings"),
    path("opening-hours/<id:unit_id>/", conversations.opening_hours, name="opening_hours"),
    path("post/<id:post_id>/", conversations.open_question, name="open_question"),
]

# A person's data by their network identity (filial/inbox/views/privacy.py).

urlpatterns += [
    path("<id:pk>/person/export/", privacy.person_export, name="person_export"),
    path("<id:pk>/person/erase/", privacy.person_erase, name="person_erase"),
]

# Poll results across networks (filial/inbox/views/polls.py).

urlpatterns += [
    path("polls/<id:pk>/", polls.poll_results, name="poll_results"),
    path("polls/<id:pk>/card/", polls.poll_card, name="poll_card"),
    path("polls/<id:pk>/refresh/", polls.poll_refresh, name="poll_refresh"),
    path("polls/<id:pk>/pages/<id:delivery_id>/enter/", polls.poll_results_enter, name="poll_results_enter"),
    path("polls/<id:pk>/results.csv", polls.poll_export_csv, name="poll_export_csv"),
    path("polls/<id:pk>/results.xlsx", polls.poll_export_xlsx, name="poll_export_xlsx"),
]
