from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

from filial.channels.signals import page_resumed


class PublishingConfig(AppConfig):
    name = "filial.publishing"
    label = "publishing"
    verbose_name = _("Publishing")

    def ready(self) -> None:
        # djhuey imports each app's ``tasks`` module; the posts' other tasks (edits, recurring posts) live apart.
        from filial.publishing import tasks_posts  # noqa: F401

        page_resumed.connect(_page_resumed, dispatch_uid="publishing.page_resumed")


def _page_resumed(sender: object, *, channel_id: int, **kwargs: object) -> None:
    from filial.publishing.engine import channel_resumed

    channel_resumed(channel_id)

