"""Secrets at rest: Fernet round trip, key rotation, unreadable secrets, the key file, masking."""

from __future__ import annotations

import stat
from typing import Any

import pytest
from cryptography.fernet import Fernet

from filial.core import crypto
from filial.core.crypto import SecretUnreadable, decrypt_json, encrypt_json, mask

OLD_KEY = Fernet.generate_key().decode()
NEW_KEY = Fernet.generate_key().decode()


def use_keys(settings: Any, *keys: str) -> None:
    """Changing the setting is enough: crypto forgets its cached keys (``setting_changed``)."""
    settings.FILIAL_ENCRYPTION_KEYS = ",".join(keys)


def test_round_trip_keeps_the_data_and_hides_it(settings: Any) -> None:
    use_keys(settings, NEW_KEY)
    data = {"access_token": "vk1.a.SECRET-TOKEN-1234", "client_id": 51234567, "nested": {"ru": "Медногорск"}}
    token = encrypt_json(data)
    assert "SECRET-TOKEN" not in token and "Медногорск" not in token
    assert decrypt_json(token) == data
    assert encrypt_json(data) != token  # a fresh IV each time


def test_empty_token_is_no_credentials(settings: Any) -> None:
    use_keys(settings, NEW_KEY)
    assert decrypt_json("") == {}


def test_key_rotation_reads_old_secrets_and_writes_with_the_new_key(settings: Any) -> None:
    use_keys(settings, OLD_KEY)
    old_token = encrypt_json({"bot_token": "123:old"})
    # Rotation: the new key comes first (it encrypts), the old one stays so old secrets still decrypt.
    use_keys(settings, NEW_KEY, OLD_KEY)
    assert decrypt_json(old_token) == {"bot_token": "123:old"}
    new_token = encrypt_json({"bot_token": "123:new"})
    assert Fernet(NEW_KEY.encode()).decrypt(new_token.encode())
    rotated = crypto._fernet().rotate(old_token.encode()).decode()
    # After re-encrypting, the old key can be dropped.
    use_keys(settings, NEW_KEY)
    assert decrypt_json(rotated) == {"bot_token": "123:old"}
    assert decrypt_json(new_token) == {"bot_token": "123:new"}
    with pytest.raises(SecretUnreadable):
        decrypt_json(old_token)


def test_unreadable_secret_raises_a_clear_error(settings: Any) -> None:
    use_keys(settings, OLD_KEY)
    token = encrypt_json({"access_token": "x"})
    use_keys(settings, NEW_KEY)
    with pytest.raises(SecretUnreadable, match="cannot be decrypted"):
        decrypt_json(token)
    with pytest.raises(SecretUnreadable):
        decrypt_json("not-a-fernet-token")


def test_without_configured_keys_a_key_file_is_created_once_with_mode_0600(settings: Any, tmp_path: Any) -> None:
    settings.DATA_DIR = tmp_path
    use_keys(settings)
    token = encrypt_json({"k": "v"})
    key_file = tmp_path / "encryption.key"
    assert key_file.exists()
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    key = key_file.read_bytes()
    crypto._fernet.cache_clear()
    assert decrypt_json(token) == {"k": "v"}
    assert key_file.read_bytes() == key


@pytest.mark.parametrize(("value", "shown"), [
    ("", ""), ("short", "••••"), ("12345678", "••••"), ("vk1.a.abcdefWXYZ", "••••WXYZ"),
])
def test_mask_shows_at_most_the_last_four_characters(value: str, shown: str) -> None:
    assert mask(value) == shown


def test_channel_credentials_are_stored_encrypted(settings: Any, net: Any) -> None:
    use_keys(settings, NEW_KEY)
    channel = net.channels["central_vk"]
    channel.set_credentials({"access_token": "vk1.a.TOPSECRET"})
    channel.save()
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT credentials_encrypted FROM channels_channel WHERE id = %s", [channel.pk])
        raw = cursor.fetchone()[0]
    assert raw and "TOPSECRET" not in raw
    channel.refresh_from_db()
    assert channel.credentials == {"access_token": "vk1.a.TOPSECRET"}
    channel.set_credentials({})
    assert channel.credentials_encrypted == "" and not channel.has_credentials
