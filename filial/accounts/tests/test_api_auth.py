"""/api/v1/auth/token/: a token for a username and password; token and session auth both work. Tokens are
stored as digests, expire, and end with a password change or deactivation (filial/accounts/tokens.py)."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.cache import cache
from django.test import Client
from django.utils import translation
from rest_framework.test import APIClient

from filial.accounts.models import ApiToken
from filial.accounts.tokens import key_digest
from filial.conftest import PASSWORD


@pytest.fixture(autouse=True)
def _clear_throttles() -> None:
    cache.clear()


def test_token_for_good_credentials_works_everywhere(net: Any) -> None:
    client = APIClient()
    response = client.post("/api/v1/auth/token/", {"username": "ed_branch4", "password": PASSWORD}, format="json")
    assert response.status_code == 200
    key = response.json()["token"]
    assert ApiToken.objects.get(user=net.users["editor_branch4"]).digest == key_digest(key)
    # Each sign-in gets its own token (the key cannot be shown again: only its digest is kept); both work.
    again = client.post("/api/v1/auth/token/", {"username": "ed_branch4", "password": PASSWORD}, format="json")
    assert again.json()["token"] != key
    assert ApiToken.objects.filter(user=net.users["editor_branch4"]).count() == 2
    assert client.get("/api/v1/units/").status_code == 401
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    units = client.get("/api/v1/units/")
    assert units.status_code == 200
    assert [u["id"] for u in units.json()["results"]] == [net.branch4.pk]


def test_form_encoded_login_works_too(net: Any) -> None:
    response = APIClient().post("/api/v1/auth/token/", {"username": "metodist", "password": PASSWORD})
    assert response.status_code == 200 and len(response.json()["token"]) == 40


@pytest.mark.parametrize(
    "body",
    [{"username": "ed_branch4", "password": "wrong-password"}, {"username": "nobody", "password": PASSWORD}],
)
def test_wrong_credentials_are_400_with_a_clear_message(net: Any, body: dict[str, str]) -> None:
    with translation.override("en"):
        response = APIClient(HTTP_ACCEPT_LANGUAGE="en").post("/api/v1/auth/token/", body, format="json")
    assert response.status_code == 400
    assert response.json() == {"non_field_errors": ["Wrong username or password."]}
    assert not ApiToken.objects.exists()


def test_missing_fields_and_inactive_user(net: Any) -> None:
    client = APIClient()
    response = client.post("/api/v1/auth/token/", {"username": "viewer"}, format="json")
    assert response.status_code == 400 and "password" in response.json()
    user = net.users["viewer"]
    user.is_active = False
    user.save(update_fields=["is_active"])
    response = client.post("/api/v1/auth/token/", {"username": "viewer", "password": PASSWORD}, format="json")
    assert response.status_code == 400
    assert not ApiToken.objects.exists()


def test_bad_token_is_401(net: Any) -> None:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token " + "0" * 40)
    assert client.get("/api/v1/posts/").status_code == 401


def test_password_guessing_is_throttled(net: Any, settings: Any) -> None:
    """Per account (test_login_throttle.py has the login page, the admin, addresses and proxies)."""
    client = APIClient()
    codes = [client.post("/api/v1/auth/token/", {"username": "admin", "password": f"guess-{i}"},
                         format="json").status_code for i in range(7)]
    limit = settings.FILIAL_LOGIN_FAILURES_PER_ACCOUNT
    assert codes[:limit - 1] == [400] * (limit - 1)
    assert codes[limit - 1:] == [429] * (7 - limit + 1)
    right = client.post("/api/v1/auth/token/", {"username": "admin", "password": PASSWORD}, format="json")
    assert right.status_code == 429 and int(right["Retry-After"]) > 0


def test_session_auth_works_and_needs_csrf_for_writes(net: Any) -> None:
    client = Client(enforce_csrf_checks=True)
    assert client.login(username="metodist", password=PASSWORD)
    assert client.get("/api/v1/posts/").status_code == 200
    response = client.post("/api/v1/events/", {"title": "Без CSRF", "starts_at": "2031-01-10T10:00"},
                           content_type="application/json")
    assert response.status_code == 403
    client.get("/login/")  # the API sets no CSRF cookie: the login page does
    token = client.cookies["csrftoken"].value
    response = client.post("/api/v1/events/", {"title": "С CSRF", "starts_at": "2031-01-10T10:00"},
                           content_type="application/json", HTTP_X_CSRFTOKEN=token)
    assert response.status_code == 201, response.content
