from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PublishingConfig(AppConfig):
    name = "filial.publishing"
    label = "publishing"
    verbose_name = _("Publishing")

    def ready(self) -> None:
        # The kinds of rows publishing hands to the outbox register with it (djhuey imports each app's ``tasks``).
        from filial.publishing import jobs  # noqa: F401
