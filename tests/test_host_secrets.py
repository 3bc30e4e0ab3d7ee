"""Secrets at rest: which fields are secret, the key's sources, and the errors an admin sees."""

from __future__ import annotations

import base64
import os
import stat
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from fortytwomin_snov.host.errors import SecretKeyError
from fortytwomin_snov.host.secrets import (
    KEY_ENV,
    SecretBox,
    key_file_for,
    secret_fields,
    split_secrets,
)
from fortytwomin_snov.schemas import load_schema

SECRET = "s3cr3t-api-secret-value"


def test_the_secret_fields_are_those_the_manifest_marks_write_only() -> None:
    assert secret_fields(load_schema("credentials")) == {"api_secret"}
    assert secret_fields({"type": "object"}) == frozenset()
    record = {"api_user_id": "u1", "api_secret": SECRET, "connected_by": "a1"}
    assert split_secrets(record, frozenset({"api_secret"})) == (
        {"api_user_id": "u1", "connected_by": "a1"},
        {"api_secret": SECRET},
    )


def test_a_key_file_is_made_next_to_the_database_readable_by_its_owner_only(
    tmp_path: Path,
) -> None:
    database = tmp_path / "data" / "host.db"
    box = SecretBox.for_database(database, create=True, environ={})
    key_file = tmp_path / "data" / "host.db.key"
    assert key_file_for(database) == key_file
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert [path.name for path in key_file.parent.iterdir()] == ["host.db.key"]
    sealed = box.seal({"api_secret": SECRET})
    assert SECRET not in sealed
    again = SecretBox.for_database(database, create=True, environ={})
    assert again.open(sealed) == {"api_secret": SECRET}
    assert repr(again) == f"SecretBox(source='the key file {key_file}')"


def test_the_environment_key_comes_first_and_no_file_is_made(tmp_path: Path) -> None:
    key = Fernet.generate_key().decode()
    box = SecretBox.for_database(tmp_path / "host.db", create=True, environ={KEY_ENV: key})
    assert not key_file_for(tmp_path / "host.db").exists()
    assert Fernet(key).decrypt(box.seal({"a": 1}).encode()) == b'{"a": 1}'


def test_a_key_file_others_can_read_is_refused(tmp_path: Path) -> None:
    database = tmp_path / "host.db"
    SecretBox.for_database(database, create=True, environ={})
    key_file = key_file_for(database)
    os.chmod(key_file, 0o644)
    with pytest.raises(SecretKeyError) as caught:
        SecretBox.for_database(database, create=True, environ={})
    assert str(caught.value) == (
        f"The key file {key_file} can be read by other users (mode 0644): run"
        f" `chmod 600 {key_file}`"
    )


def test_a_missing_key_file_is_not_replaced_when_only_reading(tmp_path: Path) -> None:
    with pytest.raises(SecretKeyError, match=r"The key file .* is missing"):
        SecretBox.for_database(tmp_path / "host.db", create=False, environ={})
    assert not key_file_for(tmp_path / "host.db").exists()


@pytest.mark.parametrize("key", ["not-a-key", "QUJD"])
def test_a_malformed_key_is_a_clear_error(tmp_path: Path, key: str) -> None:
    with pytest.raises(SecretKeyError) as caught:
        SecretBox.for_database(tmp_path / "host.db", create=True, environ={KEY_ENV: key})
    assert str(caught.value).startswith(
        f"The key from the environment variable {KEY_ENV} is not a Fernet key"
    )
    assert key not in str(caught.value)


def test_a_token_sealed_with_another_key_is_a_clear_error_without_the_secret() -> None:
    sealed = SecretBox(Fernet.generate_key(), source="the first key").seal({"s": SECRET})
    with pytest.raises(SecretKeyError) as caught:
        SecretBox(Fernet.generate_key(), source="the second key").open(sealed)
    assert str(caught.value) == (
        "The saved connection's secret cannot be decrypted with the key from the second key:"
        " use the key it was saved with, or connect again"
    )
    assert caught.value.__cause__ is None
    assert caught.value.__suppress_context__ is True


def test_the_session_key_is_derived_never_the_fernet_keys_own_bytes() -> None:
    key = Fernet.generate_key()
    box = SecretBox(key, source="a test")
    derived = box.derive_key("session")
    assert len(derived) == 32
    assert derived not in (key, base64.urlsafe_b64decode(key))
    assert derived == SecretBox(key, source="again").derive_key("session")
    assert derived != box.derive_key("another purpose")
    assert derived != SecretBox(Fernet.generate_key(), source="other").derive_key("session")
    assert "session" not in repr(box)
    assert key.decode() not in repr(box)
