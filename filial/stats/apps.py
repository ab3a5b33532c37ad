from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class StatsConfig(AppConfig):
    name = "filial.stats"
    label = "stats"
    verbose_name = _("Statistics")

    def ready(self) -> None:
        # A page connected or checked: the audience the network gave is the day's figure.
        from django.db.models.signals import post_delete, post_save

        from filial.channels.signals import audience_measured
        from filial.stats import collect, latest
        from filial.stats.models import PublicationDay

        audience_measured.connect(collect.audience_measured, dispatch_uid="stats.audience_measured")
        # One measurement saved or deleted on its own (by hand, the admin): its publication's latest figures.
        # The bulk writers (collection, seeding) call ``latest.refresh_latest`` themselves.
        post_save.connect(latest.measurement_changed, sender=PublicationDay, dispatch_uid="stats.latest_saved")
        post_delete.connect(latest.measurement_changed, sender=PublicationDay, dispatch_uid="stats.latest_deleted")
