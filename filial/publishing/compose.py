"""Composing a post: the one service behind the composer (``views/posts.py``) and the API (``api.py``).

:func:`post_compose` writes a new post or a change of one, all or nothing: the photos uploaded with it, the post
(edited on its pages where it is already there, ``edits.post_update_published``), its repeat rule and, if asked,
its submission. It sits above ``services``, ``edits`` and ``series`` (each of them imports ``services``), so none
of them needs to import another to compose.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum
from typing import IO, Any, Protocol

from django.core.exceptions import ValidationError
from django.db import transaction

from filial.publishing import edits, series, services
from filial.publishing.media import media_upload
from filial.publishing.models import Media, Post, PostSeries
from filial.publishing.services import PostData


class Upload(Protocol):
    """An uploaded photo file (Django's ``UploadedFile``): its bytes, size and name."""

    name: str | None
    size: int | None

    def seek(self, offset: int, whence: int = 0) -> int: ...

    def read(self, size: int = -1) -> bytes: ...


class Keep(Enum):
    """The repeat rule is not part of the change (the API): a series the post has stays as it is."""

    KEEP = "keep"


KEEP = Keep.KEEP


@dataclass
class Composed:
    post: Post
    edit: edits.EditResult | None = None  # a post already on pages: where the change goes and where it cannot
    uploaded: list[Media] = dataclasses.field(default_factory=list)


def post_compose(*, actor: Any, data: PostData, photos: Sequence[Upload] = (),
                 repeat: series.Rule | Keep | None = KEEP, submit: bool = False,
                 post: Post | None = None) -> Composed:
    """Write a new post (``post`` None) or a change of ``post``, all or nothing: ``photos`` are uploaded for
    ``data.unit`` and go after ``data.media``; ``repeat`` makes the post a series' first post (None: it does not
    repeat; ``KEEP``: not part of the change); ``submit`` sends a draft or returned post for approval (or schedules
    it where the actor may publish directly). A photo that cannot be used fails the whole with a ValidationError on
    ``photos``; on any error the photo files written are removed again."""
    uploaded: list[Media] = []
    try:
        with transaction.atomic():
            uploaded = _upload(actor, data, photos)
            data = dataclasses.replace(data, media=[*data.media, *uploaded])
            edit: edits.EditResult | None = None
            if post is None:
                post = services.post_create(actor=actor, data=data)
            else:
                edit = edits.post_update_published(actor=actor, post=post, data=data)
                post = edit.post
            if not isinstance(repeat, Keep) and (
                    repeat is not None or PostSeries.objects.filter(template=post).exists()):
                series.series_set(actor=actor, post=post, rule=repeat)
            if submit and post.state in {Post.State.DRAFT, Post.State.RETURNED}:
                post = services.post_submit(actor=actor, post=post)
    except BaseException:
        for media in uploaded:  # the database rolled back: the files written before it did go too
            media.file.delete(save=False)
        raise
    return Composed(post=post, edit=edit, uploaded=uploaded)


def _upload(actor: Any, data: PostData, photos: Sequence[Upload]) -> list[Media]:
    uploaded: list[Media] = []
    errors: list[str] = []
    for f in photos:
        try:
            f.seek(0)
            fh: IO[bytes] = f  # type: ignore[assignment]
            uploaded.append(media_upload(actor=actor, unit=data.unit, fh=fh, size=f.size or 0, name=f.name or ""))
        except ValidationError as exc:
            errors += [f"{f.name}: {m}" for m in exc.messages]
    if errors:
        for media in uploaded:
            media.file.delete(save=False)
        raise ValidationError({"photos": errors})
    return uploaded
