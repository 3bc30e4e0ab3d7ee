"""The CLI is safe to run on what others wrote: settings that are not an object, JSON nested
too deep, numbers out of range, terminal escapes in stored text, a database file others may
read, and a key file restored after jobs parked on it. Each is one ``Error:`` line, or text
shown with its control characters escaped, never a traceback."""

# The CLI tests' fixtures are imported from tests/test_cli.py; pytest passes them by name.
# ruff: noqa: F811

from __future__ import annotations

import json
import os
import shutil
import sqlite3
from pathlib import Path

import pytest

from fortytwomin_snov.host.cli.output import json_text, visible
from fortytwomin_snov.host.database import SHARED_DATABASE_ENV
from fortytwomin_snov.host.secrets import key_file_for
from fortytwomin_snov.testing import Credentials, SnovEmulator
from tests.factories import booking_event, jsonl
from tests.test_cli import (  # noqa: F401 - fixtures
    Run,
    assert_one_error_line,
    connected,
    db,
    demo_account,
    env,
    list_id,
    log_of,
    run,
    status_of,
)

DEEP = "[" * 100_000 + "]" * 100_000
"""Deeper than Python's recursion limit: json.loads raises RecursionError on it."""
DEEP_BUT_PARSEABLE = '{"a": ' * 200 + "1" + "}" * 200
ESCAPES = "\x1b]0;pwned\x07\x1b[2J\x9b31m\u202e"


def _settings(run: Run, snov_emulator: SnovEmulator, keys: Credentials) -> dict[str, object]:
    target = list_id(snov_emulator, keys, "42min bookings")
    document = {"target_list_id": target, "lifecycle_status_field": "Meeting status"}
    assert run("settings", "set", "-", stdin=json.dumps(document)).returncode == 0
    saved = run("settings", "show")
    assert saved.returncode == 0, saved.stderr
    shown: dict[str, object] = json.loads(saved.stdout)
    return shown


def test_settings_that_are_not_an_object_are_one_line_and_saved_settings_stay(
    run: Run, snov_emulator: SnovEmulator, connected: Credentials
) -> None:
    before = _settings(run, snov_emulator, connected)
    for document, kind in [
        ("[]", "an array"),
        ("[1, 2]", "an array"),
        ('[["target_list_id", 1]]', "an array"),
        ('"x"', "a string"),
        ("3", "a number"),
        ("null", "null"),
        ("true", "a boolean"),
    ]:
        result = run("settings", "set", "-", stdin=document)
        assert_one_error_line(result, f"stdin holds {kind}, not the JSON object", "nothing saved")
        assert json.loads(run("settings", "show").stdout) == before


@pytest.mark.parametrize("document", [DEEP, DEEP_BUT_PARSEABLE])
def test_json_nested_too_deep_is_one_line_for_send_and_settings_set(
    run: Run, document: str
) -> None:
    assert_one_error_line(run("settings", "set", "-", stdin=document), "nested deeper than 64")
    result = run("send", "-", stdin=document)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert lines[0] == "line 1: nested deeper than 64 levels of arrays and objects"
    assert lines[1].startswith("Error: 1 line of stdin skipped")
    assert len(lines) == 2
    assert status_of(run)["jobs"]["queued"] == 0


def test_a_deep_line_among_good_ones_is_skipped_by_number(run: Run) -> None:
    text = DEEP + "\n" + jsonl(booking_event(1, "jane@example.com"))
    result = run("send", "-", stdin=text)
    assert result.returncode == 1
    assert result.stderr.splitlines()[0] == (
        "line 1: nested deeper than 64 levels of arrays and objects"
    )
    assert "Queued 1 event (job 1)." in result.stdout


@pytest.mark.parametrize(
    "arguments",
    [
        ["replay", str(2**63)],
        ["replay", "1", str(10**30)],
        ["log", "--job", str(2**63)],
        ["log", "--limit", str(2**64)],
    ],
)
def test_numbers_out_of_range_are_one_line(run: Run, arguments: list[str]) -> None:
    assert_one_error_line(run(*arguments), "is not in the range")


def test_control_characters_in_stored_text_are_escaped_in_log_work_and_status(
    run: Run, db: Path
) -> None:
    email = f"evil{ESCAPES}@example.com"
    assert run("send", "-", stdin=json.dumps(booking_event(1, email))).returncode == 0

    with sqlite3.connect(db) as database:  # a connection whose secret will not open
        database.execute(
            "INSERT INTO connections (integration, record, sealed, revision, saved_at)"
            " VALUES ('snov', '{}', 'sealed', 'r', 0)"
        )
    worked = run("work", "--until-empty")  # unreadable: the job parks, a failed line
    assert worked.returncode == 0, worked.stderr
    shown = visible(email)
    assert shown in worked.stderr
    table = run("log")
    assert table.returncode == 0, table.stderr
    assert "evil\\x1b]0;pwned\\x07\\x1b[2J\\x9b31m\\u202e@" in table.stdout
    for output in (worked.stdout, worked.stderr, table.stdout):
        assert not {"\x1b", "\x07", "\x9b", "\u202e"} & set(output)

    # JSON stays exact JSON: the same text, every control written as an escape.
    (entry,) = log_of(run)
    assert entry["email"] == email
    raw = run("log", "--json").stdout
    assert not {"\x1b", "\x07", "\x9b", "\u202e"} & set(raw)

    with sqlite3.connect(db) as database:
        database.execute(
            "INSERT INTO settings (integration, document, warnings, revision, saved_at)"
            " VALUES ('snov', '{}', ?, 'r', 0)",
            (json.dumps([f"careful{ESCAPES}"]),),
        )
    status = run("status")
    assert status.returncode == 0, status.stderr
    assert "careful\\x1b]0;pwned" in status.stdout
    assert not {"\x1b", "\x07", "\x9b", "\u202e"} & set(status.stdout)


def test_visible_and_json_text_escape_every_control_and_nothing_else() -> None:
    assert visible("jane@example.com · Zoë") == "jane@example.com · Zoë"
    assert visible("a\tb\nc\x00\x7f\x85\u2066") == "a\\x09b\\x0ac\\x00\\x7f\\x85\\u2066"
    document = {"k": f"x{ESCAPES}y", "n": 1}
    text = json_text(document, indent=2)
    assert json.loads(text) == document
    assert not {"\x1b", "\x07", "\x9b", "\u202e"} & set(text)


def test_a_database_file_others_may_read_is_one_line_with_the_fix(
    run: Run, db: Path, env: dict[str, str]
) -> None:
    assert run("status").returncode == 0
    db.chmod(0o644)
    assert_one_error_line(run("status"), f"(mode 0644): run `chmod 600 {db}`")
    allowed = run("status", environ={**env, SHARED_DATABASE_ENV: "1"})
    assert allowed.returncode == 0, allowed.stderr


def test_restoring_the_key_file_resumes_the_jobs_parked_on_it(
    run: Run, db: Path, snov_emulator: SnovEmulator, connected: Credentials, tmp_path: Path
) -> None:
    _settings(run, snov_emulator, connected)
    key_file = key_file_for(db)
    kept = tmp_path / "kept.key"
    shutil.move(key_file, kept)
    assert run("send", "-", stdin=json.dumps(booking_event(1, "jane@example.com"))).returncode == 0
    assert run("work", "--until-empty").returncode == 0
    (parked,) = log_of(run)
    assert (parked["status"], parked["reason"]) == ("failed", "connection_unreadable")
    assert status_of(run)["parked"]["credentials"] == 1

    shutil.move(kept, key_file)
    os.chmod(key_file, 0o600)
    result = run("work", "--until-empty")

    assert result.returncode == 0, result.stderr
    assert "1 job waiting for it is queued again" in result.stdout
    assert log_of(run)[0]["status"] == "synced"
    assert status_of(run)["parked"]["credentials"] == 0
