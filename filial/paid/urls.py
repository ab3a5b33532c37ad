from django.urls import path

from filial.paid import views

app_name = "paid"

urlpatterns = [
    path("", views.order_list, name="order_list"),
    path("orders/new/", views.order_new, name="order_new"),
    path("orders/<id:pk>/", views.order_edit, name="order_edit"),
    path("orders/<id:pk>/delete/", views.order_delete, name="order_delete"),
    path("orders/import/", views.order_import, name="order_import"),
    path("services/", views.service_list, name="service_list"),
    path("services/new/", views.service_edit, name="service_new"),
    path("services/<id:pk>/", views.service_edit, name="service_edit"),
    path("customers/", views.customer_list, name="customer_list"),
    path("customers/<id:pk>/erase/", views.customer_erase, name="customer_erase"),
    path("categories/", views.category_list, name="category_list"),
    path("links/", views.attribution, name="attribution"),
    path("links/new/", views.link_new, name="link_new"),
    path("promo-codes/new/", views.promo_new, name="promo_new"),
    path("report/", views.report, name="report"),
    path("advertiser/", views.advertiser, name="advertiser"),
    path("advertising/", views.marked_export, name="marked_export"),
]
