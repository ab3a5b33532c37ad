"""An installation from before ``stats``: its ``channels.ChannelSnapshot`` samples become ``stats.PageDay`` rows (the
day in the unit's zone, the latest of a day kept, history before the page was connected marked ``seed``), and the
old table goes."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from filial.channels.models import Channel
from filial.stats.models import PageDay, Source

BEFORE = [("channels", "0003_inbox_polling"), ("stats", "0001_initial")]


def _migrate(targets: list[tuple[str, str]] | None = None) -> MigrationExecutor:
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets or executor.loader.graph.leaf_nodes())
    return executor


@pytest.mark.django_db(transaction=True)
def test_old_snapshots_become_page_days(net: Any) -> None:
    page = net.channels["children_ok"]  # the unit's zone: Asia/Yekaterinburg, UTC+5
    connected = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    Channel.objects.filter(pk=page.pk).update(created_at=connected)
    executor = _migrate(BEFORE)
    try:
        old = executor.loader.project_state(BEFORE).apps
        snapshot = old.get_model("channels", "ChannelSnapshot")
        samples = [
            (datetime(2014, 12, 31, 18, 0, tzinfo=UTC), 1432),  # 23:00 local: still 31 December
            (datetime(2014, 12, 31, 20, 0, tzinfo=UTC), 1433),  # 01:00 local: 1 January 2015
            (datetime(2026, 3, 2, 1, 0, tzinfo=UTC), 3000),
            (datetime(2026, 3, 2, 9, 0, tzinfo=UTC), 3010),  # the same local day: the later one is kept
        ]
        for at, followers in samples:
            snapshot.objects.create(channel_id=page.pk, at=at, followers=followers)
    finally:
        _migrate()
    rows = {row.day.isoformat(): row for row in PageDay.objects.filter(channel=page)}
    assert {day: row.audience for day, row in rows.items()} == {
        "2014-12-31": 1432, "2015-01-01": 1433, "2026-03-02": 3010}
    assert rows["2014-12-31"].source == Source.SEED and rows["2026-03-02"].source == Source.JOB
    assert rows["2026-03-02"].measured_at == samples[3][0]
    assert "channels_channelsnapshot" not in connection.introspection.table_names()
