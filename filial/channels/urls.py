from django.urls import path

from filial.channels import views

app_name = "channels"
urlpatterns = [
    path("", views.channel_list, name="channel_list"),
    path("new/", views.channel_create_view, name="channel_create"),
    path("<id:pk>/edit/", views.channel_edit, name="channel_edit"),
    path("<id:pk>/check/", views.channel_check, name="channel_check"),
    path("<id:pk>/secrets/remove/", views.channel_credentials_remove, name="channel_credentials_remove"),
]
