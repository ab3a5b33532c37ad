from django.apps import AppConfig
from django.db.models.signals import post_save
from django.utils.translation import gettext_lazy as _


class PaidConfig(AppConfig):
    name = "filial.paid"
    label = "paid"
    verbose_name = _("Paid services")

    def ready(self) -> None:
        from filial.libraries.models import LibrarySystem
        from filial.paid.signals import system_saved

        post_save.connect(system_saved, sender=LibrarySystem, dispatch_uid="paid.categories_seed")
