"""API tokens: only a digest in the database, an expiry, revoked by a password change (any path) and by
deactivation; the plain keys of older installations are hashed by a migration."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from unittest import mock

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from filial.accounts.models import ApiToken, User
from filial.accounts.services import user_set_password, user_update
from filial.accounts.tokens import key_digest
from filial.conftest import PASSWORD

NEW_PASSWORD = "Another-Long-Passphrase-2031"


def _token(username: str = "ed_branch4") -> tuple[str, dict[str, Any]]:
    response = APIClient().post("/api/v1/auth/token/", {"username": username, "password": PASSWORD}, format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    return body["token"], body


def _status(key: str, path: str = "/api/v1/units/") -> int:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return int(client.get(path).status_code)


def _database_text() -> str:
    """Every text value of every table: where a plain key would show up."""
    chunks = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names():
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")  # noqa: S608 - test, own tables
            chunks += [str(value) for row in cursor.fetchall() for value in row]
    return "\n".join(chunks)


def test_the_plain_key_is_never_stored(net: Any) -> None:
    key, _body = _token()
    assert key not in _database_text()
    assert ApiToken.objects.get().digest == key_digest(key)
    assert _status(key) == 200


def test_a_token_expires(net: Any, settings: Any) -> None:
    settings.FILIAL_API_TOKEN_DAYS = 30
    key, body = _token()
    expires = datetime.fromisoformat(body["expires"])
    assert abs(expires - (timezone.now() + timedelta(days=30))) < timedelta(minutes=1)
    assert _status(key) == 200
    with mock.patch("django.utils.timezone.now", return_value=expires + timedelta(seconds=1)):
        assert _status(key) == 401
    settings.FILIAL_API_TOKEN_DAYS = 0.5
    _short, body = _token()
    assert datetime.fromisoformat(body["expires"]) < timezone.now() + timedelta(days=1)


def test_changing_ones_own_password_revokes_the_tokens(net: Any) -> None:
    key, _body = _token()
    client = Client()
    client.force_login(net.users["editor_branch4"])
    response = client.post("/account/password/", {"old_password": PASSWORD, "new_password1": NEW_PASSWORD,
                                                   "new_password2": NEW_PASSWORD})
    assert response.status_code == 302, response.content
    assert _status(key) == 401
    assert not ApiToken.objects.filter(user=net.users["editor_branch4"]).exists()


def test_an_administrator_setting_the_password_revokes_the_tokens(net: Any) -> None:
    key, _body = _token()
    user_set_password(actor=net.users["admin"], user=net.users["editor_branch4"], password=NEW_PASSWORD)
    assert _status(key) == 401


def test_a_password_changed_any_other_way_ends_the_token_too(net: Any) -> None:
    """The Django admin, `filial changepassword`, a shell: the token remembers the password it was issued under."""
    key, _body = _token()
    user = User.objects.get(username="ed_branch4")
    user.set_password(NEW_PASSWORD)
    user.save()
    assert ApiToken.objects.filter(user=user).exists()
    assert _status(key) == 401


def test_deactivation_revokes_the_tokens(net: Any) -> None:
    key, _body = _token()
    user_update(actor=net.users["admin"], user=net.users["editor_branch4"], is_active=False)
    assert not ApiToken.objects.filter(user=net.users["editor_branch4"]).exists()
    assert _status(key) == 401
    other, _body = _token("viewer")
    User.objects.filter(username="viewer").update(is_active=False)  # any other way
    assert _status(other) == 401


def test_old_tokens_are_cleared_when_a_new_one_is_issued(net: Any) -> None:
    first, _body = _token()
    ApiToken.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    _token()
    assert ApiToken.objects.count() == 1
    assert not ApiToken.objects.filter(digest=key_digest(first)).exists()


@pytest.mark.django_db(transaction=True)
def test_the_migration_hashes_the_plain_keys_of_an_older_installation() -> None:
    executor = MigrationExecutor(connection)
    executor.migrate([("accounts", "0001_initial")])
    user = User.objects.create_user("old_client", password=PASSWORD)
    key = "a3f0c9e1d2b4a6c8e0f1a2b3c4d5e6f7a8b9c0d1"
    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE authtoken_token (key varchar(40) PRIMARY KEY, created timestamp NOT NULL, "
                       "user_id bigint NOT NULL)")
        cursor.execute("INSERT INTO authtoken_token (key, created, user_id) VALUES (%s, %s, %s)",
                       [key, timezone.now(), user.pk])
    try:
        executor = MigrationExecutor(connection)
        executor.loader.build_graph()
        executor.migrate(executor.loader.graph.leaf_nodes())
        with connection.cursor() as cursor:
            cursor.execute("SELECT COUNT(*) FROM authtoken_token")
            assert cursor.fetchone() == (0,)
        token = ApiToken.objects.get(user=user)
        assert token.digest == key_digest(key) and token.expires_at > timezone.now()
        assert _status(key, "/api/v1/posts/") == 200
        assert key not in _database_text()
    finally:
        with connection.cursor() as cursor:
            cursor.execute("DROP TABLE authtoken_token")
