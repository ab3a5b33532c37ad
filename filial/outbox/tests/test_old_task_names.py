"""Tasks an older release queued under publishing's names (before the outbox, before lanes) still do their work;
the worker's start reads a queue that holds them without failing."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from huey.contrib.djhuey import HUEY

from filial.conftest import Net
from filial.outbox import queue
from filial.publishing import tasks as old_tasks
from filial.publishing.jobs import DELIVERY
from filial.publishing.models import Delivery
from filial.publishing.tests.test_engine_world import World, engine_world

pytestmark = pytest.mark.filterwarnings("ignore::ResourceWarning")


@pytest.fixture
def world(net: Net, settings: Any) -> Iterator[World]:
    yield from engine_world(net, settings)


def test_a_publish_task_of_before_lanes_publishes_through_the_outbox(world: World) -> None:
    post = world.post("Старая задача", pages=("vk",))
    delivery = world.delivery(post, "vk")
    old_tasks.publish_delivery(delivery.pk)  # immediate mode: queues the page's lane, which runs at once
    delivery.refresh_from_db()
    assert delivery.state == Delivery.State.PUBLISHED and len(world.vk_wall()) == 1


def test_an_old_lane_task_runs_as_the_outboxs_lane(world: World) -> None:
    post = world.post("Старая очередь", pages=("tg",))
    delivery = world.delivery(post, "tg")
    old_tasks.run_lane("delivery", delivery.channel_id)
    delivery.refresh_from_db()
    assert delivery.state == Delivery.State.PUBLISHED


def test_the_worker_start_reads_old_and_new_task_names(world: World) -> None:
    post = world.post("В очереди", pages=("vk", "ok"))
    vk, ok = world.delivery(post, "vk"), world.delivery(post, "ok")
    HUEY.immediate = False
    try:
        HUEY.flush()
        old_tasks.run_lane("delivery", vk.channel_id)  # an older release's name
        queue.queue_lane(DELIVERY, ok.channel_id, None)  # the outbox's
        found = queue.queued_work(HUEY)
        assert found.covers(DELIVERY, vk.pk, vk.channel_id) and found.covers(DELIVERY, ok.pk, ok.channel_id)
    finally:
        HUEY.flush()
        HUEY.immediate = True
