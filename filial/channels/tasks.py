"""Background work of the channels app (Huey)."""

from __future__ import annotations

import logging

from huey import crontab
from huey.contrib.djhuey import db_periodic_task

from filial.channels import connections

log = logging.getLogger("filial.engine")


@db_periodic_task(crontab(minute="*/10"))
def refresh_page_tokens() -> None:
    refreshed = connections.refresh_expiring_credentials()
    if refreshed:
        log.info("refreshed the tokens of %d page(s)", refreshed)
