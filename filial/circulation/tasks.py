"""Background work of circulation (Huey). Tasks carry ids only."""

from __future__ import annotations

import logging
from pathlib import Path

from django.conf import settings
from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task

from filial.circulation import imports, services
from filial.circulation.models import CirculationLink
from filial.libraries.models import Unit

log = logging.getLogger("filial.circulation")


@db_task()
def run_import(job_id: int) -> None:
    job = imports.import_run(job_id)
    if job is not None:
        log.info("import %s: %s", job_id, job.state)


@db_task()
def sync_unit(unit_id: int) -> None:
    unit = Unit.objects.select_related("system").filter(pk=unit_id).first()
    if unit is not None:
        services.circulation_sync(unit)


@db_periodic_task(crontab(minute="*/15"))
def sync_all_units() -> None:
    """Every unit with a library-system link: SIP2/Koha pulled, the file adapter's drop folder imported."""
    unit_ids = set(CirculationLink.objects.values_list("unit_id", flat=True))
    drop = Path(settings.DATA_DIR) / "drop"
    if drop.is_dir():  # a unit without a link yet uses the file adapter: its drop folder counts too
        folders = {int(p.name) for p in drop.iterdir() if p.is_dir() and p.name.isdigit()}
        unit_ids |= set(Unit.objects.filter(pk__in=folders).values_list("pk", flat=True))
    for unit_id in sorted(unit_ids):
        sync_unit(unit_id)
