"""The host's database: its schema, its versioning and the settings it runs with, on a SQLite
file and on PostgreSQL."""

from __future__ import annotations

import logging
import sqlite3
import stat
from pathlib import Path
from typing import TYPE_CHECKING

import platformdirs
import pytest

from fortytwomin_snov.host.database import (
    SCHEMA_VERSION,
    SHARED_DATABASE_ENV,
    Database,
    default_database_path,
)
from fortytwomin_snov.host.errors import DatabaseError
from fortytwomin_snov.host.reference import ReferenceHost
from fortytwomin_snov.host.secrets import KEY_ENV

if TYPE_CHECKING:  # imported by pytest as a plugin, so that its asserts are rewritten
    from tests.servers import PostgresServer

pytest_plugins = ["tests.servers"]

HOST_KEY = "dGVzdC1rZXktb2YtdGhlLXRlc3RzLTMyLWJ5dGVzISE="  # the Fernet key of tests.servers


def tables(path: Path) -> set[str]:
    with sqlite3.connect(path) as db:
        return {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}


def test_one_file_holds_connections_settings_jobs_the_log_and_the_plugins_store(
    tmp_path: Path,
) -> None:
    path = tmp_path / "nested" / "host.db"
    with ReferenceHost(path, environ={}) as host:
        host.store.set("key", "value")
        assert host.database.schema_version == SCHEMA_VERSION
    assert {"connections", "settings", "jobs", "sync_log", "kv"} <= tables(path)
    for made in (path, path.with_name("host.db-wal")):
        assert stat.S_IMODE(made.stat().st_mode) == 0o600, made
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert db.execute("SELECT value FROM kv WHERE key = 'key'").fetchone()[0] == "value"


def test_hosts_on_one_file_share_the_plugins_store(tmp_path: Path) -> None:
    with (
        ReferenceHost(tmp_path / "host.db", environ={}) as first,
        ReferenceHost(tmp_path / "host.db", environ={}) as second,
    ):
        assert first.store.add("snov:event:e1", "running") is True
        assert second.store.add("snov:event:e1", "running") is False
        assert second.store.incr("snov:budget") == 1
        assert first.store.incr("snov:budget") == 2


def test_opening_again_changes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "host.db"
    with Database(path) as first, first.transaction() as tx:
        tx.execute(
            "INSERT INTO settings (integration, document, warnings, revision, saved_at)"
            " VALUES ('snov', '{}', '[]', 'r1', 0)"
        )
    with Database(path) as again, again.read() as db:
        assert db.execute("SELECT revision FROM settings").fetchone()[0] == "r1"
        assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION


def test_a_transaction_that_raises_leaves_nothing_behind(tmp_path: Path) -> None:
    with Database(tmp_path / "host.db") as database:

        def interrupted() -> None:
            with database.transaction() as tx:
                tx.execute(
                    "INSERT INTO settings (integration, document, warnings, revision, saved_at)"
                    " VALUES ('snov', '{}', '[]', 'r1', 0)"
                )
                raise KeyboardInterrupt

        with pytest.raises(KeyboardInterrupt):
            interrupted()
        with database.read() as db:
            assert db.execute("SELECT COUNT(*) FROM settings").fetchone()[0] == 0


def test_a_file_from_a_newer_version_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "host.db"
    with sqlite3.connect(path) as db:
        db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    path.chmod(0o600)
    with pytest.raises(DatabaseError, match="written by a newer version"):
        Database(path)


def test_a_file_that_is_not_sqlite_is_refused_in_one_line(tmp_path: Path) -> None:
    path = tmp_path / "host.db"
    path.write_bytes(b"this is not a database, just text " * 100)
    path.chmod(0o600)
    with pytest.raises(DatabaseError) as caught:
        Database(path)
    assert str(caught.value) == (
        f"{path} cannot be used as the host's database: file is not a database"
    )


def test_the_default_file_is_in_the_users_data_directory() -> None:
    expected = platformdirs.user_data_path("fortytwomin-snov", appauthor=False) / "host.db"
    assert default_database_path() == expected


@pytest.mark.parametrize("mode", [0o644, 0o640, 0o604, 0o660])
def test_a_file_other_users_may_read_is_refused_with_the_fix(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, mode: int
) -> None:
    monkeypatch.delenv(SHARED_DATABASE_ENV, raising=False)
    path = tmp_path / "host.db"
    Database(path).close()
    path.chmod(mode)
    with pytest.raises(DatabaseError) as caught:
        Database(path)
    message = str(caught.value)
    assert "\n" not in message
    assert f"(mode {mode:04o}): run `chmod 600 {path}`" in message
    assert SHARED_DATABASE_ENV in message
    path.chmod(0o600)
    Database(path).close()


def test_the_override_opens_a_shared_file_with_a_warning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "host.db"
    Database(path).close()
    path.chmod(0o644)
    monkeypatch.setenv(SHARED_DATABASE_ENV, "1")
    with caplog.at_level(logging.WARNING, logger="fortytwomin_snov.host.database"):
        Database(path).close()
    assert any("chmod 600" in record.getMessage() for record in caplog.records)
    assert stat.S_IMODE(path.stat().st_mode) == 0o644  # told, not changed behind the admin's back


# ---- PostgreSQL ------------------------------------------------------------------------


def test_postgresql_keeps_its_schema_version_in_a_table_and_opening_again_changes_nothing(
    postgres_url: str,
) -> None:
    import psycopg

    from fortytwomin_snov.host.postgres import PostgresDatabase

    with PostgresDatabase(postgres_url) as first, first.transaction() as tx:
        tx.execute(
            "INSERT INTO settings (integration, document, warnings, revision, saved_at)"
            " VALUES (?, '{}', '[]', 'r1', 1.5)",
            ("snov",),
        )
    with PostgresDatabase(postgres_url) as again, again.read() as db:
        assert db.execute("SELECT revision, saved_at FROM settings").fetchone()[1] == 1.5
        assert again.schema_version == SCHEMA_VERSION
    with psycopg.connect(postgres_url, autocommit=True) as raw:
        raw.execute("UPDATE schema_version SET version = %s", (SCHEMA_VERSION + 1,))
    with pytest.raises(DatabaseError, match="newer version"):
        PostgresDatabase(postgres_url)


def test_a_postgresql_url_never_shows_its_password(
    postgres_server: PostgresServer, postgres_url: str
) -> None:
    from fortytwomin_snov.host.postgres import PostgresDatabase

    with ReferenceHost(postgres_url, environ={KEY_ENV: HOST_KEY}) as host:
        shown = f"{host!r} {host.database!r} {host.store!r} {host.database.shown}"
    assert postgres_server.password not in shown
    assert "***" in shown
    wrong = postgres_url.replace(postgres_server.password, "not-the-PASSWORD-x")
    with pytest.raises(DatabaseError) as refused:
        PostgresDatabase(wrong, connect_timeout=5)
    assert "not-the-PASSWORD-x" not in str(refused.value)
    assert "password authentication failed" in str(refused.value)


def test_the_cli_opens_a_postgresql_url_and_says_a_bad_one_in_one_line(
    postgres_server: PostgresServer,
    postgres_url: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from fortytwomin_snov.host.cli import main

    monkeypatch.setenv(KEY_ENV, HOST_KEY)
    wrong = postgres_url.replace(postgres_server.password, "not-the-PASSWORD-x")
    with pytest.raises(SystemExit) as exited:
        main(["users", "list", "--db", wrong])
    assert exited.value.code == 1
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("Error: ")
    assert "not-the-PASSWORD-x" not in lines[0]
    with pytest.raises(SystemExit) as exited:
        main(["users", "add", "owner@example.com", "--role", "owner", "--db", postgres_url])
    assert exited.value.code == 0
    with pytest.raises(SystemExit) as exited:
        main(["users", "list", "--json", "--db", postgres_url])
    assert "owner@example.com" in capsys.readouterr().out
