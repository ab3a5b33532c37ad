"""Time zones as people say them: «по екатеринбургскому времени», not ``Asia/Yekaterinburg``."""

from __future__ import annotations

from datetime import UTC, datetime

from django.utils import translation

from filial.core.timeutils import tz_phrase


def test_russian_zones_by_their_city() -> None:
    with translation.override("ru"):
        assert tz_phrase("Asia/Yekaterinburg") == "по екатеринбургскому времени"
        assert tz_phrase("Europe/Moscow") == "по московскому времени"
        assert tz_phrase("Europe/Astrakhan") == "по самарскому времени"  # it keeps Samara's time


def test_other_zones_by_name_and_offset() -> None:
    with translation.override("ru"):
        assert tz_phrase("Asia/Kolkata", datetime(2026, 1, 1, tzinfo=UTC)) == "по времени Asia/Kolkata (UTC+5:30)"
        assert tz_phrase("UTC") == "по времени UTC (UTC)"
        assert tz_phrase("Nowhere/Atlantis") == "в часовом поясе Nowhere/Atlantis"


def test_the_calendar_says_it(net, client) -> None:
    from filial.conftest import PASSWORD

    assert client.login(username=net.users["methodologist"].username, password=PASSWORD)
    html = client.get("/calendar/", HTTP_ACCEPT_LANGUAGE="ru").content.decode()
    assert "Даты и время — по екатеринбургскому времени." in html
