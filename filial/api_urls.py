"""/api/v1/: every app registers its viewsets here. These paths are a contract outside tools rely on."""

from typing import Any

from django.urls import include, path
from rest_framework.routers import DefaultRouter

from filial.accounts.api import TokenView
from filial.channels.api import ChannelViewSet
from filial.circulation.api import ImportViewSet, LoanViewSet, ReaderViewSet
from filial.inbox.api import ConversationViewSet
from filial.libraries.api import UnitViewSet
from filial.paid.api import CustomerViewSet, OrderViewSet, ServiceViewSet
from filial.publishing.api.deliveries import DeliveryViewSet
from filial.publishing.api.events import EventViewSet
from filial.publishing.api.photos import MediaViewSet
from filial.publishing.api.posts import PostViewSet
from filial.reports.api import ReportViewSet
from filial.stats.api import ChannelStatsView, PostStatsView

app_name = "api"


class Router(DefaultRouter):
    """No ".json" twins (one URL per resource); every object's id in a path is an ``<id:pk>`` (1 … 2^63 - 1,
    filial/core/params.py): a word or a too large number there is a 404, never a failed database lookup."""

    include_format_suffixes = False

    def get_lookup_regex(self, viewset: Any, lookup_prefix: str = "") -> str:
        lookup = getattr(viewset, "lookup_url_kwarg", None) or getattr(viewset, "lookup_field", "pk")
        return f"<id:{lookup_prefix}{lookup}>"


router = Router(use_regex_path=False)
router.register("units", UnitViewSet, basename="unit")
router.register("channels", ChannelViewSet, basename="channel")
router.register("media", MediaViewSet, basename="media")
router.register("posts", PostViewSet, basename="post")
router.register("deliveries", DeliveryViewSet, basename="delivery")
router.register("events", EventViewSet, basename="event")
router.register("conversations", ConversationViewSet, basename="conversation")
router.register("readers", ReaderViewSet, basename="reader")
router.register("loans", LoanViewSet, basename="loan")
router.register("imports", ImportViewSet, basename="import")
router.register("services", ServiceViewSet, basename="paid-service")
router.register("customers", CustomerViewSet, basename="paid-customer")
router.register("orders", OrderViewSet, basename="paid-order")
router.register("reports", ReportViewSet, basename="report")

urlpatterns = [
    path("auth/token/", TokenView.as_view(), name="auth-token"),
    path("channels/<id:pk>/stats/", ChannelStatsView.as_view(), name="channel-stats"),
    path("posts/<id:pk>/stats/", PostStatsView.as_view(), name="post-stats"),
    path("", include(router.urls)),
]
