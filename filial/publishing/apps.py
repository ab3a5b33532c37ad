from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PublishingConfig(AppConfig):
    name = "filial.publishing"
    label = "publishing"
    verbose_name = _("Publishing")

    def ready(self) -> None:
        # djhuey imports each app's ``tasks`` module; the posts' other tasks (edits, recurring posts) live apart.
        from filial.publishing import tasks_posts  # noqa: F401

