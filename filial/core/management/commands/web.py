"""``filial web``: serve the WSGI application with waitress (static files through WhiteNoise)."""

from __future__ import annotations

import signal
from types import FrameType
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser


def server_options(host: str, port: int, threads: int = 8) -> dict[str, Any]:
    """waitress' options: request bodies capped (FILIAL_MAX_REQUEST_BYTES), forwarding headers believed only from
    FILIAL_TRUSTED_PROXIES (filial/wsgi.py strips them from anyone else; filial/core/clientip.py reads them)."""
    return {"host": host, "port": port, "threads": threads, "ident": "Filial",
            "max_request_body_size": int(settings.FILIAL_MAX_REQUEST_BYTES),
            "clear_untrusted_proxy_headers": not settings.FILIAL_TRUSTED_PROXIES}


def _exit_on_term(_signum: int, _frame: FrameType | None) -> None:
    # waitress shuts down cleanly on SystemExit/KeyboardInterrupt raised inside its loop.
    raise SystemExit(0)


class Command(BaseCommand):
    help = "Serve Filial with the waitress WSGI server on FILIAL_HOST:FILIAL_PORT."
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default=None, help="Address to listen on (default: FILIAL_HOST).")
        parser.add_argument("--port", type=int, default=None, help="Port (default: FILIAL_PORT).")
        parser.add_argument("--threads", type=int, default=8, help="Worker threads (default: 8).")

    def handle(self, *args: Any, **options: Any) -> None:
        from waitress import serve

        from filial.cli import exit_with_supervisor

        host = options["host"] or settings.FILIAL_HOST
        port = options["port"] or settings.FILIAL_PORT
        signal.signal(signal.SIGTERM, _exit_on_term)
        exit_with_supervisor()
        from filial.core.startup import warn_at_start
        from filial.wsgi import application

        warn_at_start(self.stderr)
        self.stdout.write(f"filial web: listening on {host}:{port}")
        self.stdout.flush()
        serve(application, **server_options(host, port, options["threads"]))
