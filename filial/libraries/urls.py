from django.urls import path

from filial.libraries.views import dashboard, units

app_name = "libraries"
urlpatterns: list = [
    path("", dashboard.dashboard, name="dashboard"),
]

# Unit management (administrators): filial/libraries/views/units.py
urlpatterns += [
    path("units/", units.unit_list, name="unit_list"),
    path("units/new/", units.unit_create, name="unit_create"),
    path("units/<id:pk>/edit/", units.unit_edit, name="unit_edit"),
]
