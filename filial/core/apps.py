from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "filial.core"
    label = "core"
    verbose_name = "Filial"

    def ready(self) -> None:
        from django.db.backends.signals import connection_created
        from django.urls import register_converter

        from filial.core import startup  # noqa: F401 - registers the system check
        from filial.core.params import IdConverter, IndexConverter
        from filial.core.sqlite import on_connection_created

        connection_created.connect(on_connection_created, dispatch_uid="filial-sqlite-functions")
        register_converter(IdConverter, "id")  # <id:pk>: every id in a URL, bounded (filial/core/params.py)
        register_converter(IndexConverter, "index")

        from django.contrib.auth.signals import user_logged_in

        from filial.core.middleware import stamp_session_at_login

        user_logged_in.connect(stamp_session_at_login, dispatch_uid="filial-session-seen")

        from filial.core.images import apply_pillow_limit

        apply_pillow_limit()
