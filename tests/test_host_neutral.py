"""The reference host knows no integration: it names none, imports no plugin module, and
serves a second integration (``tests/plugins/echo``, written against the contract alone)
beside Snov.io, found through an entry point as a host finds any plugin."""

from __future__ import annotations

import ast
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import fortytwomin_snov
from tests.factories import booking_event

PACKAGE = Path(fortytwomin_snov.__file__).parent
HOST = PACKAGE / "host"
CONTRACT = PACKAGE / "contract"
ECHO = Path(__file__).parent / "plugins" / "echo"
COMMAND = [sys.executable, "-m", "fortytwomin_snov.host.cli"]

# The package and program names carry "snov"; nothing else in the host may.
PACKAGE_NAMES = re.compile(r"fortytwomin[_-]snov", re.IGNORECASE)
SNOV_WORDS = re.compile(
    r"snov|target_list_id|create_list|api_user_id|api_secret|rate_limited|prospect",
    re.IGNORECASE,
)
HOST_MAY_IMPORT = ("fortytwomin_snov.contract", "fortytwomin_snov.stores", "fortytwomin_snov.host")


def modules(folder: Path) -> list[Path]:
    return sorted(folder.rglob("*.py"))


def package_imports(path: Path) -> set[str]:
    """The ``fortytwomin_snov`` modules a file imports (at any depth, type-checking too)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return {name for name in found if name.split(".")[0] == "fortytwomin_snov"}


@pytest.mark.parametrize("path", modules(HOST), ids=lambda path: str(path.relative_to(PACKAGE)))
def test_the_host_names_no_integration(path: Path) -> None:
    text = PACKAGE_NAMES.sub("", path.read_text(encoding="utf-8"))
    found = [
        f"line {number}: {line.strip()}"
        for number, line in enumerate(text.splitlines(), 1)
        if SNOV_WORDS.search(line)
    ]
    assert found == []


@pytest.mark.parametrize("path", modules(HOST), ids=lambda path: str(path.relative_to(PACKAGE)))
def test_the_host_imports_only_the_contract_the_stores_and_itself(path: Path) -> None:
    imported = package_imports(path) - {"fortytwomin_snov"}
    assert [name for name in imported if not name.startswith(HOST_MAY_IMPORT)] == []


@pytest.mark.parametrize(
    "path",
    [*modules(CONTRACT), ECHO / "echo_plugin.py"],
    ids=lambda path: path.name,
)
def test_the_contract_and_the_echo_plugin_import_only_the_contract(path: Path) -> None:
    imported = package_imports(path)
    assert [name for name in imported if not name.startswith("fortytwomin_snov.contract")] == []


# ---- a second integration, end to end through the CLI ---------------------------------------


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    """The children find the echo plugin through a dist-info's entry point, beside Snov.io."""
    site = tmp_path / "site"
    info = site / "echo_plugin-0.1.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: echo-plugin\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[fortytwomin]\necho = echo_plugin\n")
    inherited = {
        name: value for name, value in os.environ.items() if not name.startswith("FORTYTWOMIN_")
    }
    paths = [str(site), str(ECHO), inherited.get("PYTHONPATH", "")]
    return {**inherited, "PYTHONPATH": os.pathsep.join(path for path in paths if path)}


def run(
    env: dict[str, str], db: Path, *args: str, stdin: str = ""
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*COMMAND, *args, "--db", str(db)],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )


def booking(number: int) -> dict[str, Any]:
    return booking_event(
        number,
        f"guest{number}@example.com",
        event_id=f"evt-echo-{number}",
        uid=f"bk-echo-{number}",
        name="Guest",
    )


def test_a_second_integration_is_served_beside_snov_through_the_cli(
    env: dict[str, str], tmp_path: Path
) -> None:
    db = tmp_path / "host.db"
    token = "echo-token-SECRET-7731"
    info = subprocess.run(
        [*COMMAND, "info"], capture_output=True, text=True, env=env, timeout=60, check=False
    )
    assert sorted(m["slug"] for m in json.loads(info.stdout)["manifests"]) == ["echo", "snov"]

    connected = run(
        env, db, "connect", "--integration", "echo", "--credential", "account=acme", stdin=token
    )
    assert connected.returncode == 0, connected.stderr
    assert "Connected Echo: Account acme, by " in connected.stdout
    assert token not in connected.stdout + connected.stderr

    settings = tmp_path / "settings.json"
    settings.write_text(json.dumps({"channel": "sales"}))
    saved = run(env, db, "settings", "set", "--integration", "echo", str(settings))
    assert saved.returncode == 0, saved.stderr
    assert "Saved the Echo settings." in saved.stdout
    choices = json.loads(
        run(env, db, "choices", "--integration", "echo", "channel", "--json").stdout
    )
    assert [(row["value"], row["selected"]) for row in choices] == [
        ("general", False),
        ("sales", True),
    ]

    events = tmp_path / "events.jsonl"
    events.write_text("".join(json.dumps(booking(n)) + "\n" for n in (1, 2)))
    sent = run(env, db, "send", "--integration", "echo", str(events))
    assert sent.returncode == 0, sent.stderr
    worked = run(env, db, "work", "--until-empty")
    assert worked.returncode == 0, worked.stderr
    assert "Done: 2 attempts (2 synced)." in worked.stdout

    logged = run(env, db, "log", "--integration", "echo", "--json")
    assert logged.returncode == 0, logged.stderr
    entries = [json.loads(line) for line in logged.stdout.splitlines()]
    assert [(entry["event_id"], entry["reason"]) for entry in entries] == [
        ("evt-echo-2", "echoed"),
        ("evt-echo-1", "echoed"),
    ]
    assert entries[0]["message"] == "Echoed evt-echo-2 to #sales of acme."
    status = json.loads(run(env, db, "status", "--integration", "echo", "--json").stdout)
    assert status["connection"] == {
        "account": "acme",
        "connected_by": status["connection"]["connected_by"],
    }
    snov = json.loads(run(env, db, "status", "--integration", "snov", "--json").stdout)
    assert (snov["connected"], sum(snov["jobs"].values())) == (False, 0)

    stored = b"".join(path.read_bytes() for path in tmp_path.glob("host.db*"))
    assert b"acme" in stored  # the public field is in clear ...
    assert token.encode() not in stored  # ... the secret one is not


@pytest.mark.parametrize(
    "arguments",
    [["status"], ["log", "--json"], ["connect"], ["choices", "channel"], ["send", "-"]],
)
def test_with_two_integrations_a_command_names_them_without_integration(
    env: dict[str, str], tmp_path: Path, arguments: list[str]
) -> None:
    result = run(env, tmp_path / "host.db", *arguments, stdin=json.dumps(booking(1)))

    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("Error: Several integrations are installed (echo, snov)")
    assert "--integration" in lines[0]


def test_an_integration_nobody_installed_is_one_line(env: dict[str, str], tmp_path: Path) -> None:
    result = run(env, tmp_path / "host.db", "status", "--integration", "ghost")

    assert result.returncode != 0
    assert result.stderr.strip().splitlines() == [
        "Error: No installed plugin handles the integration 'ghost': install it (its entry"
        " point group is 'fortytwomin')"
    ]


def test_a_plugin_that_cannot_be_loaded_is_one_line(env: dict[str, str], tmp_path: Path) -> None:
    site = Path(env["PYTHONPATH"].split(os.pathsep)[0])
    info = site / "broken_plugin-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: broken-plugin\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[fortytwomin]\nbroken = no_such_plugin_module\n")

    result = run(env, tmp_path / "host.db", "status", "--integration", "echo")

    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("Error: The installed plugin 'broken' could not be loaded")
    assert "no_such_plugin_module" in lines[0]
