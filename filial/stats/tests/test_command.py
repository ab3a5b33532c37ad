"""filial stats_backfill: pages whose network keeps no history are skipped (said so), a bad date is refused, --collect
runs today's round."""

from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command

from filial.conftest import Net
from filial.stats.models import PageDay


def test_backfill_command_skips_networks_without_history_and_refuses_a_bad_date(net: Net) -> None:
    out = io.StringIO()
    call_command("stats_backfill", "--from", "2026-01-01", "--page", str(net.channels["children_tg"].pk), stdout=out)
    assert "skipped, its network keeps no daily history" in out.getvalue()
    with pytest.raises(CommandError):
        call_command("stats_backfill", "--from", "2026-13-01", stdout=io.StringIO())
    with pytest.raises(CommandError):
        call_command("stats_backfill", stdout=io.StringIO())
    with pytest.raises(CommandError):
        call_command("stats_backfill", "--from", "2026-01-01", "--page", "999999", stdout=io.StringIO())


def test_collect_now_writes_a_gap_for_a_page_without_credentials(net: Net) -> None:
    out = io.StringIO()
    call_command("stats_backfill", "--collect", "--page", str(net.channels["central_max"].pk), stdout=out)
    assert "failed" in out.getvalue()  # no credentials, no network: a gap row, never a made-up figure
    day = PageDay.objects.get(channel=net.channels["central_max"])
    assert day.audience is None and day.error
