"""The UI is Russian by default and English on request."""

from __future__ import annotations

import pytest
from django.conf import settings as django_settings


@pytest.fixture
def russian(settings):  # type: ignore[no-untyped-def]
    settings.LANGUAGE_CODE = "ru"


def test_login_page_is_russian_by_default(client, db, russian) -> None:  # type: ignore[no-untyped-def]
    html = client.get("/login/").content.decode()
    assert '<html lang="ru">' in html
    assert "Вход в «Филиал»" in html
    assert "Log in to Filial" not in html


def test_english_is_selectable(client, db, russian) -> None:  # type: ignore[no-untyped-def]
    response = client.post("/i18n/setlang/", {"language": "en", "next": "/login/"})
    assert response.status_code == 302
    assert response.cookies[django_settings.LANGUAGE_COOKIE_NAME].value == "en"
    html = client.get("/login/").content.decode()
    assert '<html lang="en">' in html
    assert "Log in to Filial" in html


def test_russian_service_errors_and_plurals(net, russian) -> None:  # type: ignore[no-untyped-def]
    from django.core.exceptions import ValidationError
    from django.utils import translation

    from filial.publishing import services

    data = services.PostData(unit=net.branch4, kind="note", text=" ", channels=[])
    with translation.override("ru"), pytest.raises(ValidationError) as err:
        services.post_create(actor=net.users["editor_branch4"], data=data)
    assert err.value.message_dict["text"] == ["Текст не заполнен."]
    with translation.override("ru"):
        forms = [translation.ngettext("%(shown)s follower", "%(shown)s followers", n) % {"shown": n}
                 for n in (1, 3, 5, 21)]
    assert forms == ["1 подписчик", "3 подписчика", "5 подписчиков", "21 подписчик"]
