from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CirculationConfig(AppConfig):
    name = "filial.circulation"
    label = "circulation"
    verbose_name = _("Circulation")

    def ready(self) -> None:
        # The debtors' Huey tasks and the readers' dialogue handler (registered with the inbox) live there.
        from filial.circulation import tasks_debtors  # noqa: F401
