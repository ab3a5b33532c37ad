"""Nothing in the demo is bound to fail (issue 14): every post of "today's" network that is still to go out suits
each of its pages' networks (a poll only where the network takes polls, the photos, the text's length)."""

from __future__ import annotations

import pytest

from filial.demo.data import CHANNELS, RECENT_POSTS
from filial.demo.images import draw_photo
from filial.networks.base import Photo, PollSpec, PostPayload, PreviewShape
from filial.networks.registry import connector_class

NETWORK_OF = {c.key: c.network for c in CHANNELS}
TO_GO_OUT = [spec for spec in RECENT_POSTS if spec.state != "published" and spec.channels]


def test_there_are_posts_to_check() -> None:
    assert len(TO_GO_OUT) >= 5 and any(spec.poll for spec in TO_GO_OUT)


@pytest.mark.parametrize("spec", TO_GO_OUT, ids=[s.title for s in TO_GO_OUT])
def test_each_unpublished_demo_post_suits_its_pages(spec) -> None:
    photo = Photo(content=draw_photo(1, spec.motif, spec.palette, size=(96, 64)), filename="demo.jpg")
    poll = PollSpec(question=spec.poll[0], answers=list(spec.poll[1])) if spec.poll else None
    for key in spec.channels:
        cls = connector_class(NETWORK_OF[key])
        payload = PostPayload(text=spec.text, key="demo", photos=[photo] * spec.photos, link=spec.link, poll=poll)
        payload = PostPayload(text=cls.preview_text(payload), key="demo", photos=payload.photos, poll=poll)
        connector = cls(external_id="1", credentials={}, base_url="http://127.0.0.1:9/")  # nothing is sent
        problems = connector.check(payload)
        problems += cls.preview_warnings(PreviewShape(
            photos=spec.photos, link=spec.link, poll_question=poll.question if poll else "",
            poll_answers=tuple(poll.answers) if poll else ()))
        assert not problems, f"{spec.title} → {key}: {problems}"
