from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OutboxConfig(AppConfig):
    name = "filial.outbox"
    label = "outbox"
    verbose_name = _("Outbox")

    def ready(self) -> None:
        # The queue needs its Huey tasks (djhuey imports ``tasks`` modules only in the worker), and a page that is
        # re-authorised has its waiting rows queued at once.
        from filial.channels.signals import page_resumed
        from filial.outbox import queue, tasks  # noqa: F401

        page_resumed.connect(queue.page_resumed, dispatch_uid="outbox.page_resumed")
