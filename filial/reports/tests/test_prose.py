"""Russian plural forms, the report's rounding and the words a network uses for its audience and posts."""

from __future__ import annotations

from datetime import date

import pytest

from filial.networks import registry
from filial.reports import prose
from filial.reports.prose import about, about_with, money, plural, round_down


@pytest.mark.parametrize(("n", "word"), [
    (0, "друзей"), (1, "друг"), (2, "друга"), (4, "друга"), (5, "друзей"), (11, "друзей"), (12, "друзей"),
    (14, "друзей"), (21, "друг"), (22, "друга"), (25, "друзей"), (101, "друг"), (111, "друзей"), (112, "друзей"),
    (122, "друга"), (600, "друзей"), (1001, "друг"), (1432, "друга"),
])
def test_plural(n: int, word: str) -> None:
    assert plural(n, "друг", "друга", "друзей") == word


@pytest.mark.parametrize(("n", "rounded"), [
    (614, 600), (1432, 1400), (44, 40), (114, 110), (9, 9), (19, 19), (21, 20), (600, 600), (99, 90), (105, 100),
    (152, 150), (12_345, 12_000), (1_999, 1_900),
])
def test_round_down_stays_within_ten_percent(n: int, rounded: int) -> None:
    assert round_down(n) == rounded
    assert rounded * 10 >= n * 9


def test_about_and_nouns() -> None:
    assert about_with(614, "friends") == "более 600 друзей"
    assert about_with(1432, "friends") == "более 1400 друзей"
    assert about_with(44, "subscribers") == "более 40 подписчиков"
    assert about(600) == "600"
    assert about(114) == "более 110"
    assert about_with(21, "members") == "более 20 участников"
    assert about_with(13, "members") == "13 участников"
    assert about_with(3, "members") == "3 участника"
    assert prose.noun("notes", 32, "ins") == "заметками"
    assert prose.noun("notes", 1, "ins") == "заметкой"
    assert prose.number(12500) == "12\u00a0500"
    assert prose.number(1432) == "1432"


def test_periods() -> None:
    assert prose.period_title("annual", date(2014, 1, 1), date(2014, 12, 31)) == "за 2014 год"
    assert prose.period_title("quarterly", date(2015, 4, 1), date(2015, 6, 30)) == "за II квартал 2015 года"
    assert prose.period_title("monthly", date(2015, 3, 1), date(2015, 3, 31)) == "за март 2015 года"
    assert prose.period_title("annual", date(2014, 3, 1), date(2015, 2, 28)).startswith("за период с 01.03.2014")


def test_each_network_names_its_audience() -> None:
    """The words come from the network's rules (no network names compared outside networks/)."""
    nouns = {name: (registry.spec(name).connector_class().audience_noun("profile"),
                    registry.spec(name).connector_class().audience_noun("community"),
                    registry.spec(name).connector_class().audience_noun("channel"),
                    registry.spec(name).connector_class().post_noun()) for name in registry.names()}
    assert nouns["ok"] == ("friends", "members", "members", "notes")
    assert nouns["vk"][:2] == ("friends", "members")
    assert nouns["telegram"][2] == "subscribers"
    assert nouns["max"][2] == "subscribers"
    for words in nouns.values():
        assert all(w in prose.NOUNS for w in words)


def test_since() -> None:
    start, end = date(2014, 1, 1), date(2014, 12, 31)
    assert prose.since_text("2014-11-20", start, end) == (
        "создана 20 ноября 2014 года, чуть более чем за месяц до конца периода")
    assert prose.since_text("2014-03-03", start, end) == "существует с 2014 года"
    assert prose.since_text(None, start, end) == "дата регистрации неизвестна"


def test_sums_are_written_with_a_decimal_comma_and_groups() -> None:
    assert money("39625.00") == "39\u00a0625,00"
    assert money("540.50") == "540,50"
    assert money("0.00") == "0,00"
