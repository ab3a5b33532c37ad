from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PaidConfig(AppConfig):
    name = "filial.paid"
    label = "paid"
    verbose_name = _("Paid services")
