from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class StatsConfig(AppConfig):
    name = "filial.stats"
    label = "stats"
    verbose_name = _("Statistics")

    def ready(self) -> None:
        # A page connected or checked: the audience the network gave is the day's figure.
        from filial.channels.signals import audience_measured
        from filial.stats import collect

        audience_measured.connect(collect.audience_measured, dispatch_uid="stats.audience_measured")
