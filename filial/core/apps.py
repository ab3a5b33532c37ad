from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "filial.core"
    label = "core"
    verbose_name = "Filial"
