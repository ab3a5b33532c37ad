"""The engagement formulas: unknown in → unknown out, a zero audience or no views → unknown, never a division error."""

from __future__ import annotations

from datetime import date

import pytest

from filial.networks.statistics import unknown_figures
from filial.stats.formulas import er_post, er_view, err
from filial.stats.scope import BadParameter, Period, period_from


def test_er_post_is_engagement_per_publication_over_audience() -> None:
    # two publications, 30 + 10 reactions: 20 per publication over 400 followers = 5 %
    assert er_post(40, 2, 400).value == 5.0


def test_er_post_unknown_inputs_give_unknown() -> None:
    assert er_post(None, 0, 400).value is None
    assert er_post(40, 2, None).value is None
    assert "not measured" in er_post(40, 2, None).reason


def test_zero_audience_is_unknown_not_an_error() -> None:
    figure = er_post(40, 2, 0)
    assert figure.value is None and "zero" in figure.reason
    assert err(100, 2, 0).value is None


def test_er_view_and_zero_views() -> None:
    assert er_view(30, 600).value == 5.0
    assert er_view(30, 0).value is None
    assert er_view(None, 600).value is None


def test_err_is_mean_reach_over_audience() -> None:
    assert err(300, 3, 1000).value == 10.0
    assert err(None, 0, 1000).value is None


def test_a_network_reason_wins_over_the_figures() -> None:
    reason = unknown_figures("telegram").get("views", "")
    assert reason
    figure = er_view(30, 600, reason=reason)
    assert figure.value is None and figure.reason == reason


def test_networks_answer_what_they_do_not_give() -> None:
    assert unknown_figures("vk").get("views", "") == ""
    assert unknown_figures("ok").get("reach", "") != ""
    assert unknown_figures("max").get("likes", "") != "" and unknown_figures("max").get("views", "") == ""
    assert unknown_figures("no-such-network").get("views", "") == ""


def test_period_presets_custom_and_bounds() -> None:
    today = date(2026, 12, 8)
    assert period_from({}, today) == Period(date(2026, 11, 9), today, 30)
    assert period_from({"days": "7"}, today).start == date(2026, 12, 2)
    custom = period_from({"from": "2014-01-01", "to": "2014-12-31"}, today)
    assert (custom.start, custom.end, custom.grain) == (date(2014, 1, 1), date(2014, 12, 31), "month")
    assert len(custom.buckets()) == 12
    with pytest.raises(BadParameter):
        period_from({"days": "8"}, today)
    with pytest.raises(BadParameter):
        period_from({"from": "2014-02-01", "to": "2014-01-01"}, today)
    with pytest.raises(BadParameter):
        period_from({"from": "1900-01-01", "to": "2014-01-01"}, today)
    with pytest.raises(BadParameter):
        period_from({"from": "2000-01-01", "to": "2014-01-01"}, today)  # more than five years


def test_weekly_buckets_end_on_the_last_day() -> None:
    period = Period(date(2026, 9, 10), date(2026, 12, 8), 90)
    buckets = period.buckets()
    assert period.grain == "week"
    assert buckets[-1].hi == date(2026, 12, 8) and buckets[-1].lo == date(2026, 12, 2)
    assert buckets[0].lo == date(2026, 9, 10)
