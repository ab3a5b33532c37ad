"""Each connector's capability flags say what its network takes: a text of exactly ``text_limit`` characters goes
through the emulator (which holds the official limits), one more character, one more photo or an unsupported
poll is refused before any request."""

from __future__ import annotations

import pytest

from filial.channels.tests.emulated import emulated
from filial.networks.base import Photo, PollSpec, PostPayload
from filial.networks.connect import connector_for
from filial.networks.hosting import NETWORKS
from filial.networks.registry import connector_class

pytestmark = pytest.mark.filterwarnings("ignore::ResourceWarning")

DOCUMENTED = {  # network: (text limit, photos, polls, poll answers, edit, native scheduling, idempotency key)
    "vk": (16384, 10, True, 10, True, False, True),
    "ok": (10000, 10, True, 10, True, True, False),
    "telegram": (4096, 10, True, 12, True, False, False),
    "max": (4000, 10, False, 0, True, False, False),
}


@pytest.mark.parametrize("network", NETWORKS)
def test_flags_are_the_documented_ones(network: str) -> None:
    caps = connector_class(network).capabilities
    assert (caps.text_limit, caps.max_photos, caps.polls, caps.poll_max_answers, caps.edit, caps.native_scheduling,
            caps.idempotency) == DOCUMENTED[network]
    assert caps.delete and caps.links and caps.comments and caps.direct_messages
    assert (caps.caption_limit == 1024) is (network == "telegram")


@pytest.mark.parametrize("network", NETWORKS)
def test_the_limits_are_the_networks_own(network: str) -> None:
    with emulated(network) as page:
        connector = connector_for(network, external_id=page.external_id, credentials=page.credentials,
                                  api_base_url=page.api_url)
        caps = connector.capabilities
        published = connector.publish(PostPayload(text="ё" * caps.text_limit, key="at-the-limit"))
        assert published.external_id

        before = len(page.app.requests)
        too_long = PostPayload(text="ё" * (caps.text_limit + 1), key="over")
        too_many = PostPayload(text="x", key="photos", photos=[Photo(b"\xff\xd8\xff", f"{n}.jpg")
                                                               for n in range(caps.max_photos + 1)])
        one_answer = PostPayload(text="x", key="poll", poll=PollSpec("Один?", ["Да"]))
        assert any(f"at most {caps.text_limit}" in p for p in connector.check(too_long))
        assert any(f"at most {caps.max_photos}" in p for p in connector.check(too_many))
        assert connector.check(one_answer)  # one answer, or no polls at all on this network
        if caps.polls:
            two = PostPayload(text="Опрос", key="poll-2", poll=PollSpec("Что читать?", ["Стихи", "Прозу"]))
            assert connector.check(two) == []
        else:
            assert "polls are not supported" in connector.check(
                PostPayload(text="x", key="p", poll=PollSpec("?", ["a", "b"])))
        assert len(page.app.requests) == before  # checks only: nothing was sent
