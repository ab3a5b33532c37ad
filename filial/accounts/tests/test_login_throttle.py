"""Login throttling (filial/accounts/throttle.py, django-axes): the login page, /admin/login/ and the API token
endpoint lock sign-in per account and per address after repeated failures, say so in plain Russian, and open
again after the cool-off; X-Forwarded-For counts only from the configured trusted proxies."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from axes.models import AccessAttempt
from django.db.models import F
from django.test import Client
from rest_framework.test import APIClient

from filial.conftest import PASSWORD
from filial.core.clientip import client_ip_from, parse_proxies

LOCKED_RU = "Слишком много неудачных попыток входа"


@pytest.fixture(autouse=True)
def _limits(settings: Any) -> None:
    settings.FILIAL_LOGIN_FAILURES_PER_ACCOUNT = settings.AXES_FAILURE_LIMIT = 5
    settings.FILIAL_LOGIN_FAILURES_PER_ADDRESS = 12
    settings.FILIAL_TRUSTED_PROXIES = []


def _login(client: Client, username: str, password: str, path: str = "/login/", **extra: Any) -> Any:
    return client.post(path, {"username": username, "password": password}, HTTP_ACCEPT_LANGUAGE="ru", **extra)


def _cool_off_passes(settings: Any) -> None:
    """Move every counted failure back by more than the cool-off (as if that much time had passed)."""
    AccessAttempt.objects.update(
        attempt_time=F("attempt_time") - settings.AXES_COOLOFF_TIME - timedelta(seconds=1))


def test_wrong_passwords_lock_the_account_with_a_clear_russian_message_until_the_cool_off(
        net: Any, settings: Any) -> None:
    client = Client()
    codes = [_login(client, "ed_branch4", f"wrong-{i}").status_code for i in range(5)]
    assert codes == [200, 200, 200, 200, 429]  # the form again, then locked
    # Even the right password is refused now, with a message that says what happened and what to do.
    response = _login(client, "ed_branch4", PASSWORD)
    assert response.status_code == 429
    text = response.content.decode()
    assert LOCKED_RU in text and "15 мин." in text and "администратора" in text
    assert "_auth_user_id" not in client.session
    # Another account from the same address is not locked by these failures.
    assert _login(Client(), "metodist", PASSWORD).status_code == 302
    # The lock-out ends.
    _cool_off_passes(settings)
    response = _login(client, "ed_branch4", PASSWORD)
    assert response.status_code == 302 and client.session["_auth_user_id"] == str(net.users["editor_branch4"].pk)


def test_trying_during_the_lock_out_does_not_prolong_it(net: Any, settings: Any) -> None:
    client = Client()
    for i in range(5):
        _login(client, "viewer", f"wrong-{i}")
    _cool_off_passes(settings)
    for i in range(3):  # an attacker keeps trying, but the lock-out has already ended: these count afresh
        assert _login(client, "viewer", f"again-{i}").status_code == 200
    assert _login(client, "viewer", PASSWORD).status_code == 302


def test_many_failures_from_one_address_lock_that_address(net: Any) -> None:
    client = Client(REMOTE_ADDR="198.51.100.20")
    for i in range(12):  # a few tries each on many names: no account reaches its own limit
        _login(client, f"someone{i % 4}", f"wrong-{i}")
    response = _login(client, "metodist", PASSWORD)
    assert response.status_code == 429 and LOCKED_RU in response.content.decode()
    # The same account from another address signs in.
    assert _login(Client(REMOTE_ADDR="198.51.100.21"), "metodist", PASSWORD).status_code == 302


def test_the_admin_login_is_throttled_too(net: Any, settings: Any) -> None:
    client = Client()
    for i in range(4):
        assert _login(client, "admin", f"wrong-{i}", "/admin/login/").status_code == 200
    response = _login(client, "admin", f"wrong-{4}", "/admin/login/")
    assert response.status_code == 429 and LOCKED_RU in response.content.decode()
    # The account is locked everywhere: the login page and the API.
    assert _login(Client(), "admin", PASSWORD).status_code == 429
    api = APIClient(HTTP_ACCEPT_LANGUAGE="ru").post("/api/v1/auth/token/", {"username": "admin", "password": PASSWORD},
                                                    format="json")
    assert api.status_code == 429 and LOCKED_RU in api.json()["detail"]
    _cool_off_passes(settings)
    assert _login(Client(), "admin", PASSWORD).status_code == 302


def test_a_spoofed_forwarded_for_from_an_untrusted_address_does_not_change_the_key(net: Any) -> None:
    client = Client(REMOTE_ADDR="203.0.113.9")
    for i in range(12):
        _login(client, f"guess{i}", "wrong", HTTP_X_FORWARDED_FOR=f"192.0.2.{i}")
    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {"203.0.113.9"}
    # A new made-up address in the header does not get the attacker a fresh budget.
    response = _login(client, "metodist", PASSWORD, HTTP_X_FORWARDED_FOR="192.0.2.200")
    assert response.status_code == 429


def test_a_trusted_proxy_s_forwarded_for_is_the_key(net: Any, settings: Any) -> None:
    settings.FILIAL_TRUSTED_PROXIES = ["10.0.0.0/8"]
    proxy = Client(REMOTE_ADDR="10.1.2.3")
    for i in range(12):
        _login(proxy, f"guess{i}", "wrong", HTTP_X_FORWARDED_FOR="198.51.100.66")
    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {"198.51.100.66"}
    assert _login(proxy, "metodist", PASSWORD, HTTP_X_FORWARDED_FOR="198.51.100.66").status_code == 429
    # Another client behind the same proxy is not locked out with the attacker.
    assert _login(proxy, "metodist", PASSWORD, HTTP_X_FORWARDED_FOR="198.51.100.67").status_code == 302
    # The attacker cannot prepend an address of their choice: the proxy appends the address it saw.
    assert _login(Client(REMOTE_ADDR="10.1.2.3"), "metodist", PASSWORD,
                  HTTP_X_FORWARDED_FOR="198.51.100.1, 198.51.100.66").status_code == 429


@pytest.mark.parametrize(("remote", "forwarded", "proxies", "expected"), [
    ("203.0.113.9", "192.0.2.1", [], "203.0.113.9"),  # no trusted proxies: the header is ignored
    ("203.0.113.9", "192.0.2.1", ["10.0.0.1"], "203.0.113.9"),  # not from the proxy: ignored
    ("10.0.0.1", "192.0.2.1", ["10.0.0.1"], "192.0.2.1"),
    ("10.0.0.1", "6.6.6.6, 192.0.2.1", ["10.0.0.1"], "192.0.2.1"),  # the client's own prefix is not believed
    ("10.0.0.1", "192.0.2.1, 10.0.0.2", ["10.0.0.0/24"], "192.0.2.1"),  # two proxies of ours
    ("10.0.0.1", "10.0.0.3", ["10.0.0.0/24"], "10.0.0.3"),  # all hops trusted: the first one
    ("10.0.0.1", "not-an-address", ["10.0.0.1"], "10.0.0.1"),
    ("::ffff:10.0.0.1", "[2001:db8::5]:4711", ["10.0.0.1"], "2001:db8::5"),
])
def test_client_address(remote: str, forwarded: str, proxies: list[str], expected: str) -> None:
    assert client_ip_from(remote, forwarded, parse_proxies(proxies)) == expected
