"""Tasks queued by name (``core/taskqueue.py``), and the old task names kept when task modules were merged."""

from __future__ import annotations

from typing import Any

import pytest
from huey.contrib.djhuey import HUEY
from huey.exceptions import HueyException

from filial.core import taskqueue
from filial.inbox import polls
from filial.inbox import tasks as inbox_tasks
from filial.publishing import series
from filial.publishing import tasks as publishing_tasks


def test_a_task_queued_by_name_runs_its_function(monkeypatch: pytest.MonkeyPatch) -> None:
    ran: list[int] = []
    monkeypatch.setattr(polls, "fetch_one", lambda delivery_id: ran.append(delivery_id))
    taskqueue.enqueue("filial.inbox.tasks.poll_fetch", 41)  # immediate in the tests: runs now
    assert ran == [41]


def test_an_unknown_task_name_is_an_error_not_a_silent_drop() -> None:
    with pytest.raises(HueyException):
        taskqueue.enqueue("filial.inbox.tasks.no_such_task", 1)


@pytest.mark.parametrize(("old", "new"), [
    ("filial.inbox.tasks_polls.poll_fetch", inbox_tasks.poll_fetch),
    ("filial.inbox.tasks_polls.poll_counts_sweep", inbox_tasks.poll_counts_sweep),
    ("filial.publishing.tasks_posts.edit_delivery", publishing_tasks.edit_delivery),
    ("filial.publishing.tasks_posts.generate_series_occurrences", publishing_tasks.generate_series_occurrences),
])
def test_tasks_queued_under_their_old_module_still_run(old: str, new: Any) -> None:
    assert HUEY._registry.string_to_task(old).__name__ == new.task_class.__name__


def test_an_old_name_runs_the_same_work(monkeypatch: pytest.MonkeyPatch) -> None:
    ran: list[str] = []
    monkeypatch.setattr(polls, "fetch_one", lambda delivery_id: ran.append(f"fetch {delivery_id}"))

    def generate_all() -> int:
        ran.append("series")
        return 0

    monkeypatch.setattr(series, "generate_all", generate_all)
    HUEY._registry.string_to_task("filial.inbox.tasks_polls.poll_fetch")((7,), {}).execute()
    HUEY._registry.string_to_task("filial.publishing.tasks_posts.generate_series_occurrences")((), {}).execute()
    assert ran == ["fetch 7", "series"]
