from django.urls import path

from filial.stats import views

app_name = "stats"
urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("export.csv", views.export, {"fmt": "csv"}, name="export_csv"),
    path("export.xlsx", views.export, {"fmt": "xlsx"}, name="export_xlsx"),
    path("pages/<id:pk>/", views.page, name="page"),
    path("pages/<id:pk>/export.csv", views.page_export, {"fmt": "csv"}, name="page_export_csv"),
    path("pages/<id:pk>/export.xlsx", views.page_export, {"fmt": "xlsx"}, name="page_export_xlsx"),
]
