"""Background work of the publishing app (Huey). Tasks carry ids only; the database is the truth."""

from __future__ import annotations

from huey.contrib.djhuey import db_task

from filial.publishing.media import make_renditions
from filial.publishing.models import Media


@db_task(retries=2, retry_delay=10)
def media_make_renditions(media_id: int) -> None:
    media = Media.objects.filter(pk=media_id).first()
    if media is not None:
        make_renditions(media)
