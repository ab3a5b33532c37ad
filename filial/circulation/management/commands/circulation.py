"""filial circulation sync [--unit ID] | resume JOB — pull loans from the library systems now; resume an import."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from filial.circulation import imports, services
from filial.circulation.models import CirculationLink, ImportJob
from filial.libraries.models import Unit


class Command(BaseCommand):
    help = "Circulation: 'sync' pulls loans from the units' library systems now; 'resume JOB' finishes an import."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        sync = sub.add_parser("sync", help="pull loans now (every linked unit, or one)")
        sync.add_argument("--unit", type=int, help="the unit's id")
        resume = sub.add_parser("resume", help="run an interrupted import again from its checkpoint")
        resume.add_argument("job", type=int)

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "resume":
            job = imports.import_run(options["job"])
            if job is None:
                raise CommandError(f"no import {options['job']}")
            self.stdout.write(f"import {job.pk}: {job.state} ({job.processed}/{job.total})")
            if job.state == ImportJob.State.FAILED:
                raise CommandError(job.error)
            return
        units = Unit.objects.select_related("system")
        if options["unit"] is not None:
            units = units.filter(pk=options["unit"])
            if not units.exists():
                raise CommandError(f"no unit {options['unit']}")
        else:
            units = units.filter(pk__in=CirculationLink.objects.values("unit_id"))
        failed = 0
        for unit in units.order_by("path"):
            counts = services.circulation_sync(unit)
            link = CirculationLink.objects.get(unit=unit)
            status = link.last_error or "ok"
            failed += bool(link.last_error)
            summary = ", ".join(f"{k} {v}" for k, v in counts.items())
            self.stdout.write(f"{unit.pk} {unit}: {link.adapter}: {summary}: {status}")
        if failed:
            raise CommandError(f"{failed} unit(s) failed to synchronise")
