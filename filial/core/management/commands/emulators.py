"""``filial emulators``: serve the VK, OK, Telegram and MAX emulators on loopback until stopped.

Each listens on its own port (``FILIAL_EMULATOR_PORT_BASE`` + 0..3) and keeps its state in
``FILIAL_DATA_DIR/emulators/<network>.json``; the pages described in ``seed.json`` there (the demo writes it)
are put into them. ``filial run`` starts this command with ``--skip-configured``. The emulators are the
repository's ``emulators/`` distribution, not part of the filial package: without it the command says what to
install.
"""

from __future__ import annotations

import os
import signal
import threading
from types import FrameType
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from filial.networks import hosting


class Command(BaseCommand):
    help = "Serve the local network emulators (VK, OK, Telegram, MAX) on loopback until Ctrl-C."
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--port-base", type=int, default=None,
                            help="First port (default: FILIAL_EMULATOR_PORT_BASE, 8801); VK, OK, Telegram, MAX "
                                 "take it and the next three.")
        parser.add_argument("--skip-configured", action="store_true",
                            help="Do not start the emulator of a network whose API address is configured "
                                 "explicitly (FILIAL_VK_API_URL...): that address is used instead.")

    def handle(self, *args: Any, **options: Any) -> None:
        from filial.cli import exit_with_supervisor

        os.umask(0o077)  # the state files hold the emulated pages' tokens
        stop = threading.Event()

        def on_signal(_signum: int, _frame: FrameType | None) -> None:
            stop.set()

        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, on_signal)
        exit_with_supervisor()

        if not hosting.emulators_installed():
            raise CommandError(hosting.INSTALL_HINT)
        # Imported here, not at the top: the emulators are a development and demo tool outside the filial package.
        from emulators.hosting import EmulatorHost

        port_base = options["port_base"] if options["port_base"] is not None else settings.FILIAL_EMULATOR_PORT_BASE
        networks: tuple[str, ...] = hosting.NETWORKS
        if options["skip_configured"]:
            skipped = [n for n in networks if hosting.configured_elsewhere(n)]
            for network in skipped:
                address = getattr(settings, hosting.BASE_URL_SETTINGS[network])
                self.stdout.write(f"filial emulators: {hosting.LABELS[network]} is configured "
                                  f"({hosting.BASE_URL_SETTINGS[network]}={address}), its emulator is not started")
            networks = tuple(n for n in networks if n not in skipped)
        if not networks:
            self.stdout.write("filial emulators: nothing to serve")
            return
        host = EmulatorHost(directory=hosting.state_dir(), port_base=port_base, networks=networks).start()
        for network, reason in host.failed.items():
            self.stderr.write(f"filial emulators: {hosting.LABELS[network]} not started: {reason}")
        if not host.hosted:
            raise CommandError("no emulator could be started")
        for item in host.hosted:
            self.stdout.write(f"filial emulators: {hosting.LABELS[item.network]:<9} API {item.api_url:<34} "
                              f"pages {item.server.url}/_emulator/")
        self.stdout.write(f"filial emulators: state in {host.directory}")
        self.stdout.flush()
        try:
            while not stop.wait(0.5):
                pass
        finally:
            host.stop()
        self.stdout.write("filial emulators: stopped")
