"""Each publication's latest figures (``PublicationLatest``), kept beside its daily measurements.

Every bulk writer of ``PublicationDay`` (the daily collection, the demo's seeding) calls :func:`refresh_latest` with
the deliveries it wrote, inside its transaction; a single row saved or deleted (by hand, the admin) does it through
``post_save`` / ``post_delete`` (:func:`measurement_changed`). The rows are recomputed from ``PublicationDay`` (the
measurement with the latest day; the delivery's page and publication time), so they agree with a recomputation
whatever order the days were written in (a re-collection of the same day, a seeding that replaces older rows).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db import connection, transaction

from filial.stats.models import PublicationLatest

CHUNK = 500

COLUMNS = "delivery_id, channel_id, published_at, day, views, likes, reposts, comments, reach, measured_at"

# The last measurement of each published delivery (an empty ``{where}``: every delivery).
SELECT_LATEST = (
    "SELECT p.delivery_id, d.channel_id, d.published_at, p.day, p.views, p.likes, p.reposts, p.comments, p.reach, "
    "p.measured_at FROM stats_publicationday p JOIN publishing_delivery d ON d.id = p.delivery_id "
    "WHERE d.state = 'published' AND d.published_at IS NOT NULL {where}"
    "AND p.day = (SELECT MAX(p2.day) FROM stats_publicationday p2 WHERE p2.delivery_id = p.delivery_id)"
)


def refresh_latest(delivery_ids: Iterable[int]) -> int:
    """Recompute the ``PublicationLatest`` rows of these deliveries from their ``PublicationDay`` rows (call inside
    the writer's transaction). Returns the rows written."""
    ids = sorted(set(delivery_ids))
    written = 0
    for n in range(0, len(ids), CHUNK):
        chunk = ids[n:n + CHUNK]
        PublicationLatest.objects.filter(delivery_id__in=chunk).delete()
        marks = ", ".join(["%s"] * len(chunk))
        sql = (f"INSERT INTO stats_publicationlatest ({COLUMNS}) "
               + SELECT_LATEST.format(where=f"AND p.delivery_id IN ({marks}) "))
        with connection.cursor() as cursor:
            cursor.execute(sql, chunk)
            written += max(cursor.rowcount, 0)
    return written


def measurement_changed(sender: Any, *, instance: Any, **kwargs: Any) -> None:
    """Receiver of ``post_save`` / ``post_delete`` of one ``PublicationDay`` (connected in ``StatsConfig.ready``):
    a measurement written or removed on its own (by hand, in the admin) updates its publication's row too."""
    with transaction.atomic():
        refresh_latest([instance.delivery_id])


def refresh_all() -> None:
    """Recompute every row (the migration that adds the table; a repair)."""
    PublicationLatest.objects.all().delete()
    with connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO stats_publicationlatest ({COLUMNS}) "
                       + SELECT_LATEST.format(where=""))
