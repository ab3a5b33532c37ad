from django.urls import path

from filial.reports import views

app_name = "reports"
urlpatterns = [
    path("", views.report_list, name="report_list"),
    path("new/", views.report_create, name="report_create"),
    path("<id:pk>/", views.report_detail, name="report_detail"),
    path("<id:pk>/conclusions/", views.report_conclusions, name="report_conclusions"),
    path("<id:pk>/regenerate/", views.report_regenerate, name="report_regenerate"),
    path("<id:pk>/publish/", views.report_publish, name="report_publish"),
    path("<id:pk>/docx/", views.report_docx, name="report_docx"),
]
