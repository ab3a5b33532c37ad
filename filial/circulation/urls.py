from django.urls import path

from filial.circulation import views, views_debtors

app_name = "circulation"

urlpatterns = [
    path("", views.index, name="index"),
    path("unit/<id:pk>/", views.unit_detail, name="unit_detail"),
    path("unit/<id:pk>/link/", views.link_edit, name="link_edit"),
    path("unit/<id:pk>/sync/", views.unit_sync, name="unit_sync"),
    path("imports/new/", views.import_new, name="import_new"),
    path("imports/<id:pk>/", views.import_detail, name="import_detail"),
    path("imports/<id:pk>/progress/", views.import_progress, name="import_progress"),
    path("readers/", views.reader_list, name="reader_list"),
    path("readers/<id:pk>/", views.reader_detail, name="reader_detail"),
    path("loans/<id:pk>/renew/", views.loan_renew, name="loan_renew"),
    path("renewals/", views.renewal_queue, name="renewal_queue"),
    path("renewals/<id:pk>/decide/", views.renewal_decide, name="renewal_decide"),
    path("debtors/", views_debtors.debtors_dashboard, name="debtors"),
    path("debtors/plan/", views_debtors.debtors_plan, name="debtors_plan"),
    path("readers/<id:pk>/link/", views_debtors.reader_link, name="reader_link"),
    path("readers/<id:pk>/link/code/", views_debtors.reader_link_code, name="reader_link_code"),
    path("readers/<id:pk>/link/<id:identity_id>/unlink/", views_debtors.reader_link_unlink,
         name="reader_link_unlink"),
    path("readers/<id:pk>/link/export/", views_debtors.reader_link_export, name="reader_link_export"),
    path("readers/<id:pk>/link/erase/", views_debtors.reader_link_erase, name="reader_link_erase"),
    path("consent/", views_debtors.consent_edit, name="consent_edit"),
    path("reminders/rules/", views_debtors.reminder_rules, name="reminder_rules"),
    path("reminders/preview/", views_debtors.reminder_preview, name="reminder_preview"),
]
