"""Styled Russian error pages (issue 14): 400, 403, 404, 500 and a CSRF failure, with the menu for a signed-in
person and a way back; the API keeps answering JSON. DEBUG is off, as in production."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client, override_settings

from filial.conftest import PASSWORD

pytestmark = [pytest.mark.django_db, pytest.mark.urls("filial.core.tests.error_urls")]
MENU = 'class="mainnav"'


def _client(net: Any = None, role: str = "", **kwargs: Any) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="ru", **kwargs)
    if net is not None:
        assert client.login(username=net.users[role].username, password=PASSWORD)
    return client


@override_settings(DEBUG=False)
def test_404_signed_in_has_the_menu_a_way_back_and_plain_russian(net) -> None:
    response = _client(net, "editor_branch4").get("/no/such/page/", HTTP_REFERER="http://testserver/posts/")
    html = response.content.decode()
    assert response.status_code == 404
    assert "Страница не найдена" in html and "Проверьте адрес" in html
    assert MENU in html and 'href="http://testserver/posts/"' in html and "К обзору" in html
    assert "<style" not in html and "Not Found" not in html


@override_settings(DEBUG=False)
def test_404_anonymous_offers_to_sign_in_and_ignores_a_foreign_referer(db) -> None:
    response = _client().get("/no/such/page/", HTTP_REFERER="https://evil.example/")
    html = response.content.decode()
    assert response.status_code == 404 and "Страница не найдена" in html
    assert MENU not in html and 'href="/login/"' in html and "evil.example" not in html


@override_settings(DEBUG=False)
def test_403_says_why_with_the_services_sentence(net) -> None:
    response = _client(net, "editor_branch4").get("/test-errors/forbidden/")
    html = response.content.decode()
    assert response.status_code == 403
    assert "Нет доступа" in html and "попросите администратора" in html
    assert "Вы не можете согласовывать публикации этих страниц." in html and MENU in html


@override_settings(DEBUG=False)
def test_500_is_styled_with_the_time_to_report(net) -> None:
    response = _client(net, "methodologist", raise_request_exception=False).get("/test-errors/broken/")
    html = response.content.decode()
    assert response.status_code == 500
    assert "Что-то пошло не так" in html and "сообщите администратору время" in html and MENU in html
    assert "a bug" not in html


@override_settings(DEBUG=False)
def test_500_without_a_database_falls_back_to_the_plain_page(net, monkeypatch) -> None:
    from filial.core import context_processors

    def no_database(request: Any) -> dict[str, Any]:
        raise RuntimeError("database is down")

    monkeypatch.setattr(context_processors, "navigation", no_database)
    response = _client(net, "methodologist", raise_request_exception=False).get("/test-errors/broken/")
    assert response.status_code == 500 and "Что-то пошло не так" in response.content.decode()


@override_settings(DEBUG=False)
def test_400_is_styled(net) -> None:
    response = _client(net, "methodologist").get("/test-errors/suspicious/")
    html = response.content.decode()
    assert response.status_code == 400 and "Запрос не удалось разобрать" in html and MENU in html


@override_settings(DEBUG=False)
def test_csrf_failure_says_to_reload_the_form(net) -> None:
    client = _client(net, "methodologist", enforce_csrf_checks=True)
    response = client.post("/logout/")
    html = response.content.decode()
    assert response.status_code == 403
    assert "Форма устарела" in html and "обновите страницу" in html and "CSRF verification failed" not in html


@override_settings(DEBUG=False)
def test_the_api_keeps_json(net) -> None:
    response = _client(net, "methodologist").get("/api/v1/no-such-thing/")
    assert response.status_code == 404 and response["Content-Type"].startswith("application/json")
