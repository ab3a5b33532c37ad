"""/api/v1/: every app registers its viewsets here. These paths are a contract outside tools rely on."""

from django.urls import include, path
from rest_framework.routers import DefaultRouter

from filial.accounts.api import TokenView
from filial.channels.api import ChannelViewSet
from filial.circulation.api import ImportViewSet, LoanViewSet, ReaderViewSet
from filial.inbox.api import ConversationViewSet
from filial.libraries.api import UnitViewSet
from filial.publishing.api import DeliveryViewSet, EventViewSet, MediaViewSet, PostViewSet

app_name = "api"


class Router(DefaultRouter):
    include_format_suffixes = False  # no ".json" twins: one URL per resource


router = Router(use_regex_path=False)  # plain path() routes with <int:pk>
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

urlpatterns = [
    path("auth/token/", TokenView.as_view(), name="auth-token"),
    path("", include(router.urls)),
]
