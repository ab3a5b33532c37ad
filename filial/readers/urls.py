"""The readers' pages keep the paths they had under ``/circulation/`` (included there by ``filial/urls.py``)."""

from django.urls import path

from filial.readers import views

app_name = "readers"

urlpatterns = [
    path("debtors/", views.debtors_dashboard, name="debtors"),
    path("debtors/plan/", views.debtors_plan, name="debtors_plan"),
    path("readers/<id:pk>/link/", views.reader_link, name="reader_link"),
    path("readers/<id:pk>/link/code/", views.reader_link_code, name="reader_link_code"),
    path("readers/<id:pk>/link/<id:identity_id>/unlink/", views.reader_link_unlink, name="reader_link_unlink"),
    path("readers/<id:pk>/link/export/", views.reader_link_export, name="reader_link_export"),
    path("readers/<id:pk>/link/erase/", views.reader_link_erase, name="reader_link_erase"),
    path("consent/", views.consent_edit, name="consent_edit"),
    path("reminders/rules/", views.reminder_rules, name="reminder_rules"),
    path("reminders/preview/", views.reminder_preview, name="reminder_preview"),
]
