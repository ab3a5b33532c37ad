from django.urls import path

from filial.circulation import views

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
]
