from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "filial.core"
    label = "core"
    verbose_name = "Filial"

    def ready(self) -> None:
        from django.db.backends.signals import connection_created

        from filial.core import startup  # noqa: F401 - registers the system check
        from filial.core.sqlite import on_connection_created

        connection_created.connect(on_connection_created, dispatch_uid="filial-sqlite-functions")

        from filial.core.images import apply_pillow_limit

        apply_pillow_limit()
