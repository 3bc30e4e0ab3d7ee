"""``fortytwomin-snov users``: who may sign in to the admin pages. Each command runs in a
subprocess, as an admin runs it; every mistake is one ``Error:`` line on stderr."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from fortytwomin_snov.host import users
from fortytwomin_snov.host.database import Database

COMMAND = [sys.executable, "-m", "fortytwomin_snov.host.cli"]
Run = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "host.db"


@pytest.fixture
def run(db: Path) -> Run:
    environ = {name: value for name, value in os.environ.items() if not name.startswith("FORTY")}

    def run_command(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*COMMAND, "users", *args, "--db", str(db)],
            input="",
            capture_output=True,
            text=True,
            env=environ,
            timeout=60,
            check=False,
        )

    return run_command


def one_error_line(result: subprocess.CompletedProcess[str], *words: str) -> str:
    assert result.returncode != 0, result.stdout
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("Error: ")
    assert "Traceback" not in result.stderr
    for word in words:
        assert word in lines[0], lines[0]
    return lines[0]


def listed(run: Run) -> list[dict[str, object]]:
    result = run("list", "--json")
    assert result.returncode == 0, result.stderr
    return [{"email": user["email"], "role": user["role"]} for user in json.loads(result.stdout)]


def test_users_are_added_normalised_listed_and_removed(run: Run) -> None:
    assert run("list").stdout.startswith("No users yet: add an owner")
    added = run("add", "  Jane@Example.COM ", "--role", "owner")
    assert added.returncode == 0, added.stderr
    assert "Added jane@example.com (owner)" in added.stdout
    assert run("add", "dana@example.com").returncode == 0
    assert listed(run) == [
        {"email": "jane@example.com", "role": "owner"},
        {"email": "dana@example.com", "role": "member"},
    ]
    table = run("list").stdout
    assert "jane@example.com  owner" in table
    removed = run("remove", "DANA@example.com")
    assert removed.returncode == 0, removed.stderr
    assert "Removed dana@example.com (member)" in removed.stdout
    assert listed(run) == [{"email": "jane@example.com", "role": "owner"}]


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (("add", "jane"), ["'jane' is not an email address"]),
        (("add", "jane@"), ["is not an email address"]),
        (("add", "a b@example.com"), ["is not an email address"]),
        (("add", "jane@example.com\x07"), ["is not an email address"]),
        (("add", "x" * 300 + "@example.com"), ["is not an email address"]),
        (("add", "jane@example.com", "--role", "root"), ["'root' is not one of"]),
        (("remove", "nobody@example.com"), ["nobody@example.com is not a user"]),
        (("login", "nobody@example.com"), ["nobody@example.com is not a user"]),
    ],
)
def test_mistakes_are_one_line(run: Run, args: tuple[str, ...], words: list[str]) -> None:
    one_error_line(run(*args), *words)


def test_a_user_is_added_once(run: Run) -> None:
    assert run("add", "jane@example.com", "--role", "admin").returncode == 0
    one_error_line(
        run("add", "JANE@example.com"), "jane@example.com is a user already (role admin)"
    )


def test_the_last_owner_cannot_be_removed(run: Run) -> None:
    assert run("add", "jane@example.com", "--role", "owner").returncode == 0
    one_error_line(run("remove", "jane@example.com"), "the last owner")
    assert run("add", "dana@example.com", "--role", "owner").returncode == 0
    assert run("remove", "jane@example.com").returncode == 0
    one_error_line(run("remove", "dana@example.com"), "the last owner")


def test_login_prints_a_fresh_one_time_link_whose_hash_alone_is_stored(run: Run, db: Path) -> None:
    assert run("add", "jane@example.com", "--role", "admin").returncode == 0
    first = run("login", "Jane@example.com")
    assert first.returncode == 0, first.stderr
    link = first.stdout.strip()
    assert link.startswith("http://127.0.0.1:8042/auth/sign-in?token=")
    assert "within 15 minutes" in first.stderr
    second = run("login", "jane@example.com", "--url", "http://localhost:9000/", "--next", "/x")
    other = second.stdout.strip()
    parts = urlsplit(other)
    assert (parts.scheme, parts.netloc, parts.path) == ("http", "localhost:9000", "/auth/sign-in")
    query = parse_qs(parts.query)
    assert query["next"] == ["/x"]
    assert query["token"][0] != parse_qs(urlsplit(link).query)["token"][0]
    with Database(db) as database:
        with database.read() as read:
            stored = " ".join(
                str(tuple(row)) for row in read.execute("SELECT * FROM sign_in_links")
            )
        for token in (query["token"][0], parse_qs(urlsplit(link).query)["token"][0]):
            assert token not in stored
            assert users.redeem_link(database, token, now=0).email == "jane@example.com"
            with pytest.raises(users.LinkRefused):
                users.redeem_link(database, token, now=0)


@pytest.mark.parametrize(
    ("option", "value", "words"),
    [
        ("--next", "//evil.example", ["must be a path of this site"]),
        ("--next", "https://evil.example/", ["must be a path of this site"]),
        ("--next", "/\\evil.example", ["must be a path of this site"]),
        ("--url", "ftp://127.0.0.1", ["--url takes the server's address"]),
        ("--url", "http://127.0.0.1:8042/path", ["--url takes the server's address"]),
    ],
)
def test_login_refuses_a_page_or_server_elsewhere(
    run: Run, option: str, value: str, words: list[str]
) -> None:
    assert run("add", "jane@example.com", "--role", "owner").returncode == 0
    one_error_line(run("login", "jane@example.com", option, value), *words)
