from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class InboxConfig(AppConfig):
    name = "filial.inbox"
    label = "inbox"
    verbose_name = _("Inbox")

    def ready(self) -> None:
        # Poll counting's Huey tasks live in their own module: import it so djhuey registers them.
        from filial.inbox import tasks_polls  # noqa: F401
