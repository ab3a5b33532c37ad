"""A published post's Telegram message ids, kept in one external id (``5:a5-7+9,t10,p11``: the album, the text,
the poll): composed when a post is published, parsed by the connector and by the network's rules."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from filial.networks.telegram.client import TelegramAPIError

__all__ = ["PostMessages", "compose_external_id", "parse_external_id"]


@dataclass
class PostMessages:
    """The Telegram messages that make up one published post, parsed from its external id."""

    main: int
    album: list[int] = field(default_factory=list)
    text: int | None = None
    poll: int | None = None
    single: bool = False

    @property
    def all(self) -> list[int]:
        ids = [*self.album, *([self.text] if self.text is not None else []),
               *([self.poll] if self.poll is not None else [])]
        return ids or [self.main]


def _ranges(ids: list[int]) -> str:
    out: list[str] = []
    start = prev = ids[0]
    for n in [*ids[1:], None]:
        if n is not None and n == prev + 1:
            prev = n
            continue
        out.append(str(start) if start == prev else f"{start}-{prev}")
        if n is not None:
            start = prev = n
    return "+".join(out)


def compose_external_id(parts: list[tuple[str, list[int]]]) -> str:
    ids = [i for _, group in parts for i in group]
    if len(ids) == 1:
        return str(ids[0])
    return f"{ids[0]}:" + ",".join(f"{role}{_ranges(group)}" for role, group in parts if group)


def parse_external_id(external_id: str) -> PostMessages:
    text = str(external_id).strip()
    if re.fullmatch(r"\d+", text):
        return PostMessages(main=int(text), single=True)
    match = re.fullmatch(r"(\d+):((?:[atp][\d+\-]+,?)+)", text)
    if match is None:
        raise TelegramAPIError(f"not a Telegram post id: {external_id!r}", permanent=True, code="local")
    post = PostMessages(main=int(match.group(1)))
    for part in match.group(2).split(","):
        if not part:
            continue
        ids: list[int] = []
        for chunk in part[1:].split("+"):
            first, _, last = chunk.partition("-")
            ids.extend(range(int(first), int(last or first) + 1))
        if part[0] == "a":
            post.album = ids
        elif part[0] == "t":
            post.text = ids[0]
        else:
            post.poll = ids[0]
    return post
