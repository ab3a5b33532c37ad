from django.urls import path

from filial.libraries import views, views_manage

app_name = "libraries"
urlpatterns: list = [
    path("", views.dashboard, name="dashboard"),
]

# Unit management (administrators): filial/libraries/views_manage.py
urlpatterns += [
    path("units/", views_manage.unit_list, name="unit_list"),
    path("units/new/", views_manage.unit_create, name="unit_create"),
    path("units/<id:pk>/edit/", views_manage.unit_edit, name="unit_edit"),
]
