"""``filial demo [--force]``: load the demo network of the Mednogorsk libraries."""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db.models import ProtectedError, RestrictedError

from filial.demo.build import demo_present, load_demo, remove_demo, summary_lines
from filial.demo.data import DEMO_PASSWORD, DEMO_USERS


class Command(BaseCommand):
    help = "Load the demo network (the libraries of Mednogorsk) into an empty database."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--force", action="store_true",
                            help="Load even though the database has data: the previous demo network and the "
                                 "demo users are deleted first.")

    def handle(self, *args: Any, **options: Any) -> None:
        if demo_present():
            if not options["force"]:
                raise CommandError("The database already has a library system; the demo is only loaded into an "
                                   "empty database. Use --force to replace the demo network.")
            try:
                remove_demo()
            except (ProtectedError, RestrictedError) as exc:
                raise CommandError(f"The previous demo network cannot be removed: {exc}") from exc
        started = time.monotonic()
        summary = load_demo()
        self.stdout.write(f"Demo network loaded in {time.monotonic() - started:.1f} s.")
        for line in summary_lines(summary):
            self.stdout.write(f"  {line}")
        self.stdout.write(f"Logins (password for all: {DEMO_PASSWORD}):")
        for user in DEMO_USERS:
            self.stdout.write(f"  {user.username:<14} {user.role_label}")
