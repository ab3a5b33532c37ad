from django.conf import settings
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import URLPattern, URLResolver, include, path
from drf_spectacular.views import SpectacularAPIView

from filial.accounts.forms import AdminLoginForm, LoginForm

admin.site.login_form = AdminLoginForm  # throttled like the login page (filial/accounts/throttle.py)


def admin_urls() -> list[URLPattern | URLResolver]:
    """The Django admin (staff login required), unless switched off with FILIAL_ADMIN=off."""
    return [path("admin/", admin.site.urls)] if settings.FILIAL_ADMIN else []


urlpatterns = [
    path("login/", auth_views.LoginView.as_view(authentication_form=LoginForm), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("i18n/", include("django.conf.urls.i18n")),
    *admin_urls(),
    # Signed-in users only unless FILIAL_PUBLIC_API_SCHEMA (default: on with FILIAL_DEBUG) — SPECTACULAR_SETTINGS.
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/v1/", include("filial.api_urls")),
    path("hooks/", include("filial.channels.webhooks")),  # the networks' webhooks: no login, no CSRF
    path("", include("filial.libraries.urls")),
    path("", include("filial.accounts.urls")),
    path("channels/", include("filial.channels.urls")),
    path("", include("filial.publishing.urls")),
    path("inbox/", include("filial.inbox.urls")),
    path("stats/", include("filial.stats.urls")),
    path("circulation/", include("filial.circulation.urls")),
    path("circulation/", include("filial.readers.urls")),  # the readers' pages keep their /circulation/ paths
    path("paid/", include("filial.paid.urls")),
    path("go/", include("filial.paid.go_urls")),  # tracked short links: public, no login
    path("reports/", include("filial.reports.urls")),
]

handler400 = "filial.core.views.bad_request"
handler403 = "filial.core.views.permission_denied"
handler404 = "filial.core.views.page_not_found"
handler500 = "filial.core.views.server_error"
