from django.urls import path

from filial.accounts import views

app_name = "accounts"
urlpatterns = [
    path("staff/", views.user_list, name="user_list"),
    path("staff/new/", views.user_create, name="user_create"),
    path("staff/<id:pk>/", views.user_edit, name="user_edit"),
    path("staff/<id:pk>/roles/", views.membership_add, name="membership_add"),
    path("staff/roles/<id:pk>/", views.membership_update, name="membership_update"),
    path("staff/roles/<id:pk>/remove/", views.membership_remove, name="membership_remove"),
    path("audit/", views.audit_log, name="audit_log"),
    path("account/password/", views.PasswordChangeView.as_view(), name="password_change"),
    path("account/password/done/", views.PasswordChangeDoneView.as_view(), name="password_change_done"),
]
