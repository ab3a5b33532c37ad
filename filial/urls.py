from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView

urlpatterns = [
    path("login/", auth_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/v1/", include("filial.api_urls")),
    path("hooks/", include("filial.channels.webhooks")),  # the networks' webhooks: no login, no CSRF
    path("", include("filial.libraries.urls")),
    path("", include("filial.accounts.urls")),
    path("channels/", include("filial.channels.urls")),
    path("", include("filial.publishing.urls")),
    path("inbox/", include("filial.inbox.urls")),
    path("circulation/", include("filial.circulation.urls")),
]

handler400 = "filial.core.views.bad_request"
handler404 = "filial.core.views.page_not_found"
