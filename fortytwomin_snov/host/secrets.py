"""Secrets at rest: the secret fields of a connection record, encrypted with Fernet.

Which fields are secret is the plugin's word, not the host's: the fields its manifest's
``credentials_schema`` marks ``writeOnly`` (:func:`secret_fields`), whatever their names.
The host stores the rest of the record in clear (so ``status`` can say who
connected, and when, without the key) and the secret fields as one Fernet token
(:func:`split_secrets`, :meth:`SecretBox.seal`).

The key never sits in the database. It comes from, in order:

1. the environment variable ``FORTYTWOMIN_SNOV_KEY`` (a Fernet key: 32 url-safe base64
   bytes, as ``Fernet.generate_key()`` makes), read when the key is first needed;
2. for a SQLite database, the key file next to it, ``<database>.key``, created on first
   use with mode 0600 (a PostgreSQL database is shared by several machines, which need the
   same key: there the variable is the only source). A key file that its group or other
   users may read, or that another user owns, is refused: the secret would be only as
   safe as the file.

A token that does not open with the key (another key, or a damaged row) raises
:class:`~fortytwomin_snov.host.errors.SecretKeyError` saying so, with nothing of the secret
or the key in the message.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import stat
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from fortytwomin_snov.host.errors import SecretKeyError

KEY_ENV = "FORTYTWOMIN_SNOV_KEY"
"""The environment variable that holds the key, if the key file is not to be used."""

KEY_FILE_SUFFIX = ".key"


def key_file_for(database_path: str | Path) -> Path:
    """Where the key file of a database lives: next to it, ``<database>.key``."""
    path = Path(database_path)
    return path.with_name(path.name + KEY_FILE_SUFFIX)


def secret_fields(credentials_schema: Mapping[str, Any]) -> frozenset[str]:
    """The top-level fields a credentials schema marks ``writeOnly``."""
    properties = credentials_schema.get("properties")
    if not isinstance(properties, Mapping):
        return frozenset()
    return frozenset(
        name
        for name, spec in properties.items()
        if isinstance(spec, Mapping) and spec.get("writeOnly") is True
    )


def split_secrets(
    record: Mapping[str, Any], fields: frozenset[str]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The record without its secret fields, and the secret fields alone."""
    public = {name: value for name, value in record.items() if name not in fields}
    hidden = {name: value for name, value in record.items() if name in fields}
    return public, hidden


class SecretBox:
    """Seals and opens JSON objects with one Fernet key. Its repr names only the key's source."""

    def __init__(self, key: bytes | str, *, source: str) -> None:
        self.source = source
        try:
            self._fernet = Fernet(key)
            self._key = base64.urlsafe_b64decode(key)
        except (ValueError, TypeError):
            raise SecretKeyError(
                f"The key from {source} is not a Fernet key (32 url-safe base64-encoded"
                " bytes): fix it, or remove it to let the host make a new one"
            ) from None

    def __repr__(self) -> str:
        return f"SecretBox(source={self.source!r})"

    @classmethod
    def for_database(
        cls,
        database_path: str | Path | None,
        *,
        create: bool,
        environ: Mapping[str, str] | None = None,
    ) -> SecretBox:
        """The box of a database: the key from ``FORTYTWOMIN_SNOV_KEY``, else from the key
        file, which is made (mode 0600) if it is absent and ``create`` is true. A database
        without a file (None: PostgreSQL) has the variable alone."""
        env = os.environ if environ is None else environ
        from_env = env.get(KEY_ENV, "").strip()
        if from_env:
            return cls(from_env, source=f"the environment variable {KEY_ENV}")
        if database_path is None:
            raise SecretKeyError(
                f"With a PostgreSQL database the key comes from {KEY_ENV} alone (every machine"
                " working the queue needs the same key): set it to a Fernet key, as"
                " `python -c 'from cryptography.fernet import Fernet;"
                " print(Fernet.generate_key().decode())'` makes"
            )
        path = key_file_for(database_path)
        if not path.exists():
            if not create:
                raise SecretKeyError(
                    f"The key file {path} is missing, so the saved connection cannot be"
                    f" decrypted: restore it (or set {KEY_ENV}), or connect again"
                )
            _create_key_file(path)
        return cls(_read_key_file(path), source=f"the key file {path}")

    def derive_key(self, purpose: str) -> bytes:
        """32 bytes for ``purpose`` (the session cookie's signing key), derived from this
        key with HKDF-SHA256: never the Fernet key's own bytes, and a different key for
        every purpose."""
        hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose.encode())
        return hkdf.derive(self._key)

    def seal(self, secrets: Mapping[str, Any]) -> str:
        """One token holding ``secrets`` as JSON."""
        return self._fernet.encrypt(json.dumps(dict(secrets)).encode()).decode("ascii")

    def open(self, token: str) -> dict[str, Any]:
        """The object a token holds; SecretKeyError if this key did not seal it."""
        try:
            opened: Any = json.loads(self._fernet.decrypt(token.encode("ascii")))
        except (InvalidToken, UnicodeError, ValueError):
            raise SecretKeyError(
                f"The saved connection's secret cannot be decrypted with the key from"
                f" {self.source}: use the key it was saved with, or connect again"
            ) from None
        if not isinstance(opened, dict):
            raise SecretKeyError("The saved connection's secret is damaged: connect again")
        return opened


def _create_key_file(path: Path) -> None:
    """Write a new key, owner-readable only; if another process got there first, keep theirs."""
    path.parent.mkdir(parents=True, exist_ok=True)
    # mkstemp makes the file with mode 0600; the link publishes it whole, and only if absent.
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as file:
            file.write(Fernet.generate_key() + b"\n")
            file.flush()
            os.fsync(file.fileno())
        with contextlib.suppress(FileExistsError):
            os.link(temporary, path)
    finally:
        os.unlink(temporary)


def _read_key_file(path: Path) -> bytes:
    info = path.stat()
    if hasattr(os, "getuid"):  # POSIX permissions; elsewhere the file system's ACLs apply
        if info.st_uid != os.getuid():
            raise SecretKeyError(
                f"The key file {path} belongs to another user: the host uses only a key file"
                " of its own"
            )
        exposed = exposed_to_others(info, path, what="The key file")
        if exposed is not None:
            raise SecretKeyError(exposed)
    return path.read_bytes().strip()


def exposed_to_others(info: os.stat_result, path: Path, *, what: str) -> str | None:
    """What is wrong when a private file's mode lets its group or other users in (and how to
    fix it), else None. Takes the ``os.stat`` of the path: opening a database file to check
    it would drop the process's SQLite locks when the descriptor is closed."""
    if not hasattr(os, "getuid"):  # POSIX permissions; elsewhere the file system's ACLs apply
        return None
    if not info.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        return None
    return (
        f"{what} {path} can be read by other users (mode {stat.S_IMODE(info.st_mode):04o}):"
        f" run `chmod 600 {path}`"
    )
