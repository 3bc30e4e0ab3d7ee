"""The ``fortytwomin-snov`` CLI end to end: each command runs in a subprocess, as an admin
runs it, against the Snov.io emulator (the ``snov_emulator`` fixture, seeded with the demo
account). Every error an admin can cause is one ``Error:`` line on stderr, with a non-zero
exit and no traceback."""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import pty
import select
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.fernet import Fernet

from fortytwomin_snov.commands import at_snov_limit
from fortytwomin_snov.host.reference import ReferenceHost
from fortytwomin_snov.testing import Credentials, Fault, SnovEmulator, seed_demo
from tests.factories import booking_event, jsonl

COMMAND = [sys.executable, "-m", "fortytwomin_snov.host.cli"]
ADD_PROSPECT = "/v1/add-prospect-to-list"
ACTIVE_CAMPAIGN_LIST = "Webinar follow-up"

Run = Callable[..., subprocess.CompletedProcess[str]]


def assert_one_error_line(result: subprocess.CompletedProcess[str], *words: str) -> str:
    """The run failed with exactly one ``Error:`` line on stderr, holding ``words``."""
    assert result.returncode != 0, result.stdout
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("Error: ")
    for word in words:
        assert word in lines[0]
    return lines[0]


@pytest.fixture
def demo_account(snov_emulator: SnovEmulator) -> Credentials:
    return seed_demo(snov_emulator.state)


@pytest.fixture
def env(snov_emulator: SnovEmulator) -> dict[str, str]:
    """The child's environment: the plugin points at the emulator, paces to its raised
    limit, and finds the key in the key file next to the database."""
    inherited = {
        name: value for name, value in os.environ.items() if not name.startswith("FORTYTWOMIN_")
    }
    return {
        **inherited,
        "FORTYTWOMIN_SNOV_API_BASE": snov_emulator.base_url,
        "FORTYTWOMIN_SNOV_RATE_LIMIT": "10000",
    }


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "host.db"


@pytest.fixture
def run(env: dict[str, str], db: Path) -> Run:
    """Run one command on the test's database; stdin is empty unless ``stdin`` is given."""

    def run_command(
        *args: str,
        stdin: str | None = None,
        database: Path | None = db,
        environ: dict[str, str] | None = None,
    ) -> subprocess.CompletedProcess[str]:
        where = ["--db", str(database)] if database is not None else []
        return subprocess.run(
            [*COMMAND, *args, *where],
            input=stdin if stdin is not None else "",
            capture_output=True,
            text=True,
            env=environ or env,
            timeout=60,
            check=False,
        )

    return run_command


@pytest.fixture
def connected(run: Run, demo_account: Credentials) -> Credentials:
    result = run(
        "connect",
        "--credential",
        f"api_user_id={demo_account.client_id}",
        "--credential",
        f"api_secret={demo_account.client_secret}",
        "--actor",
        "usr_admin",
    )
    assert result.returncode == 0, result.stderr
    return demo_account


def list_id(snov_emulator: SnovEmulator, keys: Credentials, name: str) -> int:
    (found,) = [item for item in snov_emulator.state.lists(keys.client_id) if item.name == name]
    return found.id


def status_of(run: Run) -> dict[str, Any]:
    result = run("status", "--json")
    assert result.returncode == 0, result.stderr
    document: dict[str, Any] = json.loads(result.stdout)
    return document


def log_of(run: Run, *args: str) -> list[dict[str, Any]]:
    result = run("log", "--json", *args)
    assert result.returncode == 0, result.stderr
    return [json.loads(line) for line in result.stdout.splitlines()]


# ---- connect ------------------------------------------------------------------------------


def test_connect_with_the_secret_as_an_option_saves_it_encrypted(
    run: Run, db: Path, demo_account: Credentials
) -> None:
    result = run(
        "connect",
        "--credential",
        f"api_user_id={demo_account.client_id}",
        "--credential",
        f"api_secret={demo_account.client_secret}",
        "--role",
        "owner",
        "--actor",
        "usr_owner",
    )

    assert result.returncode == 0, result.stderr
    assert f"Connected Snov.io: API user ID {demo_account.client_id}, by usr_owner" in (
        result.stdout
    )
    assert demo_account.client_secret not in result.stdout + result.stderr
    status = status_of(run)
    assert status["connected"] is True
    assert status["connection"]["connected_by"] == "usr_owner"
    assert "api_secret" not in status["connection"]
    shown = run("status")
    assert f"connected: API user ID {demo_account.client_id}, by usr_owner" in shown.stdout
    stored = b"".join(path.read_bytes() for path in db.parent.glob("host.db*"))
    assert demo_account.client_secret.encode() not in stored


def test_connect_reads_the_keys_from_stdin_when_they_are_piped(
    run: Run, demo_account: Credentials
) -> None:
    result = run("connect", stdin=f"{demo_account.client_id}\n{demo_account.client_secret}\n")

    assert result.returncode == 0, result.stderr
    assert demo_account.client_secret not in result.stdout + result.stderr
    assert status_of(run)["connection"]["api_user_id"] == demo_account.client_id


def test_connect_asks_for_the_secret_without_echo_on_a_terminal(
    env: dict[str, str], db: Path, demo_account: Credentials, run: Run
) -> None:
    controller, terminal = pty.openpty()
    # A new session has no controlling terminal, so the prompt uses the pty on stdin.
    child = subprocess.Popen(
        [
            *COMMAND,
            "connect",
            "--db",
            str(db),
            "--credential",
            f"api_user_id={demo_account.client_id}",
        ],
        stdin=terminal,
        stdout=subprocess.PIPE,
        stderr=terminal,
        env=env,
        start_new_session=True,
    )
    os.close(terminal)
    try:
        shown = read_until(controller, b"API secret: ")
        os.write(controller, demo_account.client_secret.encode() + b"\n")
        stdout, _ = child.communicate(timeout=30)
        shown += read_until(controller, None)
    finally:
        os.close(controller)

    assert child.returncode == 0
    assert b"Connected Snov.io" in stdout
    assert demo_account.client_secret.encode() not in shown
    assert status_of(run)["connected"] is True


def read_until(controller: int, marker: bytes | None, timeout: float = 30.0) -> bytes:
    """What the terminal shows until ``marker`` appears (None: until the child closed it)."""
    seen = b""
    deadline = time.monotonic() + timeout
    while marker is None or marker not in seen:
        ready, _, _ = select.select([controller], [], [], max(deadline - time.monotonic(), 0))
        if not ready:
            if marker is None:
                return seen
            raise AssertionError(f"the terminal never showed {marker!r}: {seen!r}")
        try:
            chunk = os.read(controller, 1024)
        except OSError:  # the child closed its end
            return seen
        if not chunk:
            return seen
        seen += chunk
    return seen


def test_rejected_keys_are_one_line_without_the_secret(run: Run, demo_account: Credentials) -> None:
    wrong = "not-the-secret-" + "9" * 20
    result = run(
        "connect",
        "--credential",
        f"api_user_id={demo_account.client_id}",
        "--credential",
        f"api_secret={wrong}",
    )

    assert_one_error_line(result, "rejected")
    assert wrong not in result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    assert status_of(run)["connected"] is False


def test_a_member_may_not_connect_and_snov_is_not_asked(
    run: Run, snov_emulator: SnovEmulator, demo_account: Credentials
) -> None:
    result = run(
        "connect",
        "--credential",
        f"api_user_id={demo_account.client_id}",
        "--credential",
        f"api_secret={demo_account.client_secret}",
        "--role",
        "member",
    )

    assert_one_error_line(result, "owners and admins")
    assert snov_emulator.state.requests() == []
    assert status_of(run)["connected"] is False


def test_a_key_that_does_not_open_the_saved_secret_is_one_line(
    run: Run, env: dict[str, str], connected: Credentials
) -> None:
    other_key = {**env, "FORTYTWOMIN_SNOV_KEY": Fernet.generate_key().decode()}

    result = run("choices", "target_list_id", environ=other_key)

    assert_one_error_line(result, "cannot be decrypted")


def test_disconnect_says_that_prospects_stay_and_forgets_the_connection(
    run: Run, connected: Credentials
) -> None:
    result = run("disconnect")

    assert result.returncode == 0, result.stderr
    assert "What was already synced to Snov.io stays there: nothing is deleted." in (result.stdout)
    assert status_of(run)["connected"] is False
    assert_one_error_line(run("choices", "target_list_id"), "not connected")


# ---- the settings form and the settings ---------------------------------------------------------


def test_choices_show_prospect_counts_and_the_active_campaign_warning(
    run: Run, connected: Credentials
) -> None:
    result = run("choices", "target_list_id")

    assert result.returncode == 0, result.stderr
    assert "Cold outreach (1 prospect)" in result.stdout
    assert "42min bookings (0 prospects)" in result.stdout
    assert "Old imports" not in result.stdout  # deleted in Snov.io
    warning = next(line for line in result.stdout.splitlines() if line.startswith("⚠"))
    assert f'"{ACTIVE_CAMPAIGN_LIST}"' in warning
    assert '"Webinar nurture"' in warning
    form = json.loads(run("schema").stdout)
    offered = form["schema"]["properties"]["target_list_id"]["oneOf"]
    assert "Cold outreach (1 prospect)" in [option["title"] for option in offered]


def test_the_create_list_action_makes_the_list_and_use_makes_it_the_target(
    run: Run, snov_emulator: SnovEmulator, connected: Credentials
) -> None:
    result = run("action", "create_list", "--param", "name=From the CLI", "--use")

    assert result.returncode == 0, result.stderr
    new_id = list_id(snov_emulator, connected, "From the CLI")
    assert result.stdout.startswith("Create a new list: done.\n")
    assert f"target_list_id is now {new_id}; the settings are saved." in result.stdout
    listed = json.loads(run("choices", "target_list_id", "--json").stdout)
    assert {
        "value": new_id,
        "title": "From the CLI (0 prospects)",
        "warning": None,
        "selected": True,
    } in (listed)
    assert [row["value"] for row in listed if row["selected"]] == [new_id]
    assert json.loads(run("settings", "show").stdout)["target_list_id"] == new_id


def test_an_action_prints_its_result_as_json_and_says_how_to_use_it(
    run: Run, snov_emulator: SnovEmulator, connected: Credentials
) -> None:
    result = run("action", "create_list", "--param", "name=Just made", "--json")

    assert result.returncode == 0, result.stderr
    new_id = list_id(snov_emulator, connected, "Just made")
    made = json.loads(result.stdout)
    assert (made["id"], made["name"]) == (new_id, "Just made")
    assert status_of(run)["settings_saved"] is False
    told = run("action", "create_list", "--param", "name=Another")
    assert "To use it, set target_list_id to" in told.stdout


@pytest.mark.parametrize(
    ("arguments", "words"),
    [
        (["action", "delete_everything"], ["no action delete_everything", "create_list"]),
        (["action", "create_list"], ["needs --param name=..."]),
        (["action", "create_list", "--param", "name"], ["NAME=VALUE"]),
        (["choices", "no_such_field"], ["no field no_such_field", "target_list_id"]),
        (["connect", "--credential", "token=x"], ["token is not a field", "api_user_id"]),
    ],
)
def test_mistakes_with_the_form_are_one_line(
    run: Run, connected: Credentials, arguments: list[str], words: list[str]
) -> None:
    assert_one_error_line(run(*arguments), *words)


def test_settings_set_reports_every_problem_by_pointer_and_saves_nothing(
    run: Run, tmp_path: Path, connected: Credentials
) -> None:
    document = tmp_path / "settings.json"
    document.write_text(
        json.dumps(
            {
                "target_list_id": 424242,
                "lifecycle_status_field": "No such field",
                "existing_prospect": "sometimes",
            }
        )
    )

    result = run("settings", "set", str(document))

    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert lines[0] == "Error: The Snov.io settings were not saved: 3 problems"
    pointers = sorted(line.split(":", 1)[0].strip() for line in lines[1:])
    assert pointers == ["/existing_prospect", "/lifecycle_status_field", "/target_list_id"]
    assert "Traceback" not in result.stderr
    assert_one_error_line(run("settings", "show"), "No Snov.io settings are saved yet")


def test_settings_set_from_stdin_saves_them_and_prints_the_warnings(
    run: Run, snov_emulator: SnovEmulator, connected: Credentials
) -> None:
    webinar = list_id(snov_emulator, connected, ACTIVE_CAMPAIGN_LIST)
    document = {"target_list_id": webinar, "lifecycle_status_field": "Meeting status"}

    result = run("settings", "set", "-", stdin=json.dumps(document))

    assert result.returncode == 0, result.stderr
    assert "Saved the Snov.io settings." in result.stdout
    assert any(
        line.startswith("Warning: ") and "Webinar nurture" in line
        for line in result.stdout.splitlines()
    )
    saved = json.loads(run("settings", "show").stdout)
    assert saved["target_list_id"] == webinar
    assert saved["lifecycle_status_field"] == "Meeting status"
    assert [row["source"] for row in saved["field_mappings"]] == [
        "person.email",
        "person.name",
        "person.phone",
    ]


@pytest.mark.parametrize(
    ("arguments", "stdin", "words"),
    [
        (["settings", "set", "missing.json"], None, ["Cannot read missing.json"]),
        (["settings", "set", "-"], "{not json", ["stdin is not valid JSON", "line 1"]),
        (["log", "--status", "lost"], None, ["'lost' is not one of", "log --help"]),
        (["sync-everything"], None, ["No such command"]),
    ],
)
def test_mistakes_are_one_line(
    run: Run, arguments: list[str], stdin: str | None, words: list[str]
) -> None:
    assert_one_error_line(run(*arguments, stdin=stdin), *words)


# ---- the queue ------------------------------------------------------------------------------


def test_send_reports_bad_lines_by_number_and_queues_the_good_ones(
    run: Run, tmp_path: Path
) -> None:
    no_uid = booking_event(2, "sam@example.org")
    del no_uid["booking"]["uid"]
    events = tmp_path / "events.jsonl"
    events.write_text(
        jsonl(booking_event(1, "jane@example.com"), no_uid)
        + '{"id": "evt-3",\n\n'
        + jsonl(booking_event(4, "lee@example.com"))
    )

    result = run("send", str(events))

    assert result.returncode == 1
    problems = result.stderr.strip().splitlines()
    assert problems[0] == "line 2: /booking/uid: This field is required."
    assert problems[1].startswith("line 3: not valid JSON")
    assert problems[2] == f"Error: 2 lines of {events} skipped: nothing queued for them"
    assert len(problems) == 3
    assert "Queued 2 events (jobs 1-2)." in result.stdout
    assert status_of(run)["jobs"]["queued"] == 2


def test_send_refuses_what_the_plugin_would_fail_with_one_line_each(run: Run) -> None:
    text = jsonl(
        booking_event(1, "jane@example.com"),
        booking_event(2, "not-an-email"),
        booking_event(3, "lee@example", occurred_at="2999-01-01T00:00:00Z"),
    )
    result = run("send", "-", stdin=text)
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        "line 2: /booking/invitee/email: Is not an email address.",
        "line 3: /occurred_at: Is more than a day in the future: send the event with the time it"
        " happened.",
        "Error: 2 lines of stdin skipped: nothing queued for them",
    ]
    assert "Queued 1 event (job 1)." in result.stdout


def test_send_explains_a_json_array(run: Run, tmp_path: Path) -> None:
    events = [booking_event(1), booking_event(2)]
    one_line = tmp_path / "events.json"
    one_line.write_text(json.dumps(events))
    assert_one_error_line(
        run("send", str(one_line)),
        "send takes JSON Lines: one event per line; this is a JSON array:",
        f"`jq -c '.[]' {one_line} | fortytwomin-snov send -`",
    )
    assert_one_error_line(
        run("send", "-", stdin=json.dumps(events, indent=2)), "jq -c '.[]' FILE |"
    )
    assert status_of(run)["jobs"]["queued"] == 0


def test_send_says_once_that_pretty_printed_objects_are_not_json_lines(run: Run) -> None:
    text = "\n".join(json.dumps(booking_event(n), indent=2) for n in (1, 2, 3))
    assert_one_error_line(
        run("send", "-", stdin=text),
        "stdin holds JSON objects written over several lines",
        "jq -c . FILE | fortytwomin-snov send -",
    )
    assert_one_error_line(run("send", "-", stdin='{\n  "id": "evt-1",\n'), "not valid JSON")


def test_send_takes_one_event_spread_over_several_lines(run: Run) -> None:
    result = run("send", "-", stdin=json.dumps(booking_event(1, "jane@example.com"), indent=2))

    assert result.returncode == 0, result.stderr
    assert "Queued 1 event (job 1)." in result.stdout


def test_work_syncs_the_queue_and_log_and_replay_show_and_retry_failures(
    run: Run, snov_emulator: SnovEmulator, connected: Credentials, db: Path
) -> None:
    target = list_id(snov_emulator, connected, "42min bookings")
    settings = {"target_list_id": target, "lifecycle_status_field": "Meeting status"}
    assert run("settings", "set", "-", stdin=json.dumps(settings)).returncode == 0
    assert run("send", "-", stdin=jsonl(booking_event(1, "jane@example.com"))).returncode == 0
    # send refuses a malformed email; a host that queues without check_event (a webhook
    # receiver, say) finds it failed in the log instead.
    with ReferenceHost(db) as host:
        host.enqueue(booking_event(2, "not-an-email"))
    burst = jsonl(booking_event(3, "jane@example.com", kind="booking.canceled", uid="bk-1"))
    assert run("send", "-", stdin=burst).returncode == 0

    # One person at a time: Jane's two events are one write (evt-1 folded into evt-3, the
    # newer), queued behind the bad event as they are.
    worked = run("work", "--until-empty", "--batch", "1")

    assert worked.returncode == 0, worked.stderr
    assert "Done: 3 attempts (2 synced, 1 failed)." in worked.stdout
    assert "not-an-email" in worked.stderr  # the failure is shown as it happens
    (jane,) = snov_emulator.state.prospects(connected.client_id, list_id=target)
    assert (jane.email, jane.custom_fields["Meeting status"]) == (
        "jane@example.com",
        "Meeting canceled",
    )

    entries = log_of(run)
    assert [(entry["event_id"], entry["status"], entry["reason"]) for entry in entries] == [
        ("evt-2", "failed", "invalid_event"),
        ("evt-3", "synced", "prospect_added"),
        ("evt-1", "synced", "merged_into_batch"),
    ]
    assert [entry["event_id"] for entry in log_of(run, "--status", "failed")] == ["evt-2"]
    assert len(log_of(run, "--status", "failed", "--status", "synced", "--limit", "2")) == 2
    table = run("log", "--status", "synced")
    assert table.returncode == 0
    assert "prospect_added" in table.stdout
    assert "invalid_event" not in table.stdout
    assert table.stdout.index("prospect_added") < table.stdout.index("merged_into_batch")

    replayed = run("replay")
    assert replayed.returncode == 0, replayed.stderr
    assert "Queued again: 1 job (2)." in replayed.stdout
    assert status_of(run)["jobs"]["queued"] == 1
    assert run("work", "--until-empty").returncode == 0
    retried = log_of(run, "--job", "2")
    assert [(entry["attempt"], entry["status"]) for entry in retried] == [
        (2, "failed"),
        (1, "failed"),
    ]
    refused = run("replay", "1", "99")
    assert_one_error_line(refused, "job 1 (done)", "job 99 (no such job)")


def test_backfill_syncs_a_file_once_however_often_it_runs_and_marks_the_log(
    run: Run,
    env: dict[str, str],
    snov_emulator: SnovEmulator,
    connected: Credentials,
    tmp_path: Path,
) -> None:
    assert_one_error_line(run("backfill", "-", stdin=jsonl(booking_event(1))), "settings set")
    target = list_id(snov_emulator, connected, "42min bookings")
    run("settings", "set", "-", stdin=json.dumps({"target_list_id": target}))
    canceled = booking_event(3, "lee@example.com")
    canceled["type"] = "booking.canceled"
    earlier = tmp_path / "earlier.jsonl"
    earlier.write_text(
        jsonl(booking_event(1, "jane@example.com"))
        + "{not json\n"
        + jsonl(canceled, booking_event(4, "sam@example.org"))
        + "42\n"
    )

    first = run("backfill", str(earlier))

    assert first.returncode == 1
    assert first.stderr.splitlines() == [
        "line 2: not valid JSON (Expecting property name enclosed in double quotes at column 2)",
        "line 3: /type: A backfill takes booking.created and routing_form.submitted events"
        " only, not booking.canceled.",
        "line 5: /: Expected object.",
        f"Error: 3 lines of {earlier} skipped: nothing queued for them",
    ]
    assert "Queued 2 events for backfill." in first.stdout
    assert "Backfill done: 2 events synced or skipped." in first.stdout
    again = run("backfill", str(earlier))
    assert "Queued 0 events for backfill; 2 already queued or synced, not queued again." in (
        again.stdout
    )
    added = [request.body["email"] for request in snov_emulator.state.requests(path=ADD_PROSPECT)]
    assert sorted(added) == ["jane@example.com", "sam@example.org"]
    assert {(entry["event_id"], entry["origin"]) for entry in log_of(run)} == {
        ("evt-1", "backfill"),
        ("evt-4", "backfill"),
    }
    for columns in ("200", "80"):  # the table, and the stack of a narrow terminal
        shown = run("log", environ={**env, "COLUMNS": columns}).stdout
        assert shown.count("backfill") == 2, shown


def test_ctrl_c_stops_work_after_the_sync_under_way_without_losing_a_job(
    env: dict[str, str],
    db: Path,
    run: Run,
    snov_emulator: SnovEmulator,
    connected: Credentials,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    target = list_id(snov_emulator, connected, "42min bookings")
    run("settings", "set", "-", stdin=json.dumps({"target_list_id": target}))
    emails = ["jane@example.com", "sam@example.org", "lee@example.com"]
    run("send", "-", stdin=jsonl(*(booking_event(n, email) for n, email in enumerate(emails, 1))))
    # The first add is held at the emulator: Ctrl-C arrives while it is under way.
    arrived = threading.Event()
    take_fault = snov_emulator.state.take_fault

    def noticing(path: str) -> Fault | None:
        fault = take_fault(path)
        if fault is not None:
            arrived.set()
        return fault

    monkeypatch.setattr(snov_emulator.state, "take_fault", noticing)
    snov_emulator.state.delay_next(0.5, path=ADD_PROSPECT)
    worker = subprocess.Popen(
        # One job at a time: Ctrl-C stops after the batch under way, here the first job.
        [*COMMAND, "work", "--db", str(db), "--batch", "1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
        env=env,
    )
    try:
        assert arrived.wait(30), "the worker never reached Snov.io"
        worker.send_signal(signal.SIGINT)
        stdout, stderr = worker.communicate(timeout=30)
    finally:
        if worker.poll() is None:
            worker.kill()

    assert worker.returncode == 0, stderr
    assert "Stopped after 1 attempt (1 synced)." in stdout
    assert "Traceback" not in stderr
    jobs = status_of(run)["jobs"]
    assert (jobs["done"], jobs["queued"], jobs["running"]) == (1, 2, 0)
    added = snov_emulator.state.prospects(connected.client_id, list_id=target)
    assert [prospect.email for prospect in added] == ["jane@example.com"]


# ---- the demo -------------------------------------------------------------------------------


def test_demo_runs_the_whole_flow_offline_in_seconds(env: dict[str, str], run: Run) -> None:
    offline = {name: value for name, value in env.items() if not name.startswith("FORTYTWOMIN_")}
    started = time.monotonic()

    result = run("demo", database=None, environ=offline)

    assert time.monotonic() - started < 60
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "Rate limit RAISED for the demo" in out
    assert "FORTYTWOMIN_SNOV_RATE_LIMIT=6000" in out
    log = out[out.index("Sync log (oldest first)") :]
    for reason in (
        "prospect_added",
        "prospect_updated",
        "status_updated",
        "no_email",
        "duplicate_event",
        "stale_event",
        "invalid_event",
    ):
        assert reason in log
    # The lead a campaign was still emailing books: the outreach is paused.
    assert "paused them" in log  # the table wraps the message: its words, not the line
    assert "campaign: Webinar nurture." in log
    prospects = out[out.index('The prospects now in "42min demo bookings"') :]
    rows = {line.split()[0]: line for line in prospects.splitlines()[1:] if "@" in line}
    assert "Meeting rescheduled" in rows["jane.doe@example.com"]
    assert "Example GmbH" in rows["jane.doe@example.com"]
    assert "maria@acme.example" in rows["jane.doe@example.com"]
    assert "No-show" in rows["sam@example.org"]
    assert "Meeting canceled" in rows["alex.kim@example.net"]
    assert "45" in rows["lee@example.co.uk"]
    assert "dana@example" not in rows
    assert "At Snov.io's own limit (60 requests in any minute) they would all leave at once" in out


@pytest.mark.parametrize(
    ("calls", "said"),
    [
        (60, "they would all leave at once too."),
        (61, "the first 60 would leave at once and the last after about 1 minute"),
        (121, "the last after about 2 minutes"),
    ],
)
def test_the_demo_tells_how_long_its_calls_take_at_the_rolling_window(
    calls: int, said: str
) -> None:
    assert said in at_snov_limit(calls)


def test_demo_keeps_its_database_where_asked_and_refuses_one_in_use(
    env: dict[str, str], run: Run, tmp_path: Path
) -> None:
    offline = {name: value for name, value in env.items() if not name.startswith("FORTYTWOMIN_")}
    kept = tmp_path / "demo.db"

    first = run("demo", database=kept, environ=offline)
    assert first.returncode == 0, first.stderr
    assert len(log_of(lambda *args: run(*args, database=kept, environ=offline))) == 15

    again = run("demo", database=kept, environ=offline)
    assert_one_error_line(again, "needs a database of its own")


def test_demo_without_the_emulator_says_what_to_install(env: dict[str, str]) -> None:
    program = (
        "import sys; sys.modules['uvicorn'] = None;"
        " from fortytwomin_snov.host.cli import main; main(['demo'])"
    )

    result = subprocess.run(
        [sys.executable, "-c", program],
        capture_output=True,
        text=True,
        env=env,
        stdin=subprocess.DEVNULL,
        timeout=60,
        check=False,
    )

    assert_one_error_line(result, "uvicorn", "pip install 'fortytwomin-snov[host]'")


# ---- serve beside the CLI --------------------------------------------------------------------


def test_serve_and_cli_processes_on_one_file_keep_one_intact_database(
    env: dict[str, str],
    db: Path,
    run: Run,
    snov_emulator: SnovEmulator,
    connected: Credentials,
) -> None:
    """``serve`` holds two connections (the pages and their worker); CLI processes that
    open and close the file beside it must never take themselves for its last user and
    checkpoint away the WAL the server still writes to."""
    target = list_id(snov_emulator, connected, "42min bookings")
    fields = ["Meeting status", "Host email"]
    assert run("users", "add", "owner@example.com", "--role", "owner").returncode == 0
    with subprocess.Popen(
        [*COMMAND, "serve", "--port", "0", "--db", str(db)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
        env=env,
    ) as server:
        try:
            assert server.stdout is not None
            base_url = link = ""
            for line in server.stdout:
                if "The admin pages are at " in line:
                    base_url = line.split(" are at ")[1].split("/integrations")[0]
                if "/auth/sign-in?token=" in line:
                    link = line.split(": ")[-1].strip()
                    break
            assert base_url, server.stderr.read() if server.stderr else ""
            api = f"{base_url}/api/integrations/snov"
            emails: list[str] = []
            with httpx.Client(timeout=30) as pages:
                assert pages.get(link).status_code == 303
                token = pages.get(f"{base_url}/api/me").json()["csrf_token"]
                pages.headers.update({"Origin": base_url, "X-CSRF-Token": token})
                for round_number, field in enumerate(fields):
                    assert status_of(run)["connected"] is True  # a CLI process opens and closes
                    saved = pages.put(
                        f"{api}/settings",
                        json={"target_list_id": target, "lifecycle_status_field": field},
                    )
                    assert saved.status_code == 200, saved.text
                    shown = run("settings", "show")
                    assert shown.returncode == 0, shown.stderr
                    assert json.loads(shown.stdout)["lifecycle_status_field"] == field
                    batch = [f"round{round_number}-{n}@example.com" for n in range(8)]
                    emails += batch
                    first = 10 * round_number
                    events = (booking_event(first + n, email) for n, email in enumerate(batch))
                    assert run("send", "-", stdin=jsonl(*events)).returncode == 0
                    assert run("work", "--until-empty").returncode == 0
                    # The server's worker may still be finishing a job it claimed.
                    deadline = time.monotonic() + 30
                    while status_of(run)["jobs"].get("running") and time.monotonic() < deadline:
                        pass
                    log = pages.get(f"{api}/log", params={"limit": 500})
                    assert log.status_code == 200, log.text
                    assert len(log.json()["entries"]) == len(emails)
        finally:
            server.send_signal(signal.SIGINT)
            server.wait(timeout=30)

    entries = log_of(run, "--limit", "500")
    assert sorted(entry["job_id"] for entry in entries) == list(range(1, len(emails) + 1))
    assert {entry["status"] for entry in entries} == {"synced"}
    added = [request.body["email"] for request in snov_emulator.state.requests(path=ADD_PROSPECT)]
    assert sorted(added) == sorted(emails)
    with contextlib.closing(sqlite3.connect(db)) as check:
        assert check.execute("PRAGMA integrity_check").fetchall() == [("ok",)]


# ---- -v -------------------------------------------------------------------------------------


@pytest.mark.parametrize(("flags", "level"), [(["-v"], logging.INFO), (["-vv"], logging.DEBUG)])
def test_verbose_sends_the_package_logs_to_stderr(flags: list[str], level: int) -> None:
    from click.testing import CliRunner

    from fortytwomin_snov.host.cli import cli

    logger = logging.getLogger("fortytwomin_snov.snov")
    package = logging.getLogger("fortytwomin_snov")
    before = (package.level, list(package.handlers))
    stderr = io.StringIO()
    try:
        runner = CliRunner()
        # The handler writes to the command's sys.stderr; isolation puts the real one back.
        with runner.isolation():
            sys.stderr = stderr
            assert cli.main([*flags, "info"], standalone_mode=False) is None
            logger.debug("a detail")
            logger.info("a step")
    finally:
        package.setLevel(before[0])
        package.handlers[:] = before[1]
    written = stderr.getvalue()
    assert "INFO fortytwomin_snov.snov: a step" in written
    assert ("DEBUG fortytwomin_snov.snov: a detail" in written) is (level == logging.DEBUG)


# ---- questions ------------------------------------------------------------------------------


def test_questions_add_list_and_remove(run: Run) -> None:
    assert (
        run("send", "-", stdin=jsonl(booking_event(1, answers={"company": "Acme"}))).returncode == 0
    )
    added = run(
        "questions",
        "add",
        "invitee_form_question:team_size",
        "How big is your team?",
        "--form",
        "Intro call",
    )
    assert added.returncode == 0, added.stderr
    assert "invitee_form_question:team_size is now labelled 'How big is your team?'" in added.stdout
    listed = run("questions", "list", "--json")
    assert json.loads(listed.stdout) == [
        {"source": "invitee_form_question:company", "label": "company", "form": None},
        {
            "source": "invitee_form_question:team_size",
            "label": "How big is your team?",
            "form": "Intro call",
        },
    ]
    table = run("questions", "list")
    assert "How big is your team?" in table.stdout
    assert "events" in table.stdout
    assert run("questions", "remove", "invitee_form_question:team_size").returncode == 0
    assert_one_error_line(
        run("questions", "remove", "invitee_form_question:team_size"), "No label is registered"
    )
    assert_one_error_line(run("questions", "add", "person.email", "Email"), "is not a source")


def test_work_while_not_connected_parks_the_jobs_in_one_line(run: Run) -> None:
    events = jsonl(booking_event(1), booking_event(2), booking_event(3))
    assert run("send", "-", stdin=events).returncode == 0

    worked = run("work", "--until-empty")

    assert worked.returncode == 0, worked.stderr
    lines = worked.stdout.splitlines()
    assert lines[0] == (
        "Snov.io is not connected: 3 jobs wait until you connect (`fortytwomin-snov connect`)."
    )
    assert worked.stderr == ""  # no attempt, so no failure line per job
    assert log_of(run) == []
    assert status_of(run)["parked"]["credentials"] == 3


@pytest.mark.parametrize("seconds", ["0", "-5", "4.9", "86401", "nan", "inf", "soon"])
def test_work_refuses_a_lease_out_of_bounds_in_one_line(run: Run, seconds: str) -> None:
    assert_one_error_line(run("work", "--until-empty", "--lease", seconds), "'--lease'")


def test_work_holds_its_jobs_for_the_lease_given(
    db: Path, env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from click.testing import CliRunner

    from fortytwomin_snov.host.cli import cli, queue
    from fortytwomin_snov.host.records import WorkSummary

    leases: list[float] = []

    def working(host: ReferenceHost, *, until_empty: bool) -> WorkSummary:
        leases.append(host.lease)
        return WorkSummary()

    monkeypatch.setattr(queue, "work_with_progress", working)
    for seconds in ("7.5", None):
        flags = ["--lease", seconds] if seconds else []
        result = CliRunner().invoke(
            cli, ["work", "--db", str(db), "--until-empty", *flags], env=env
        )
        assert result.exit_code == 0, result.output
    assert leases == [7.5, 120.0]


def _flat(text: str) -> str:
    return " ".join(text.split())


@pytest.mark.parametrize("columns", [80, 100, 120])
def test_the_sync_log_never_cuts_an_email_or_a_message(
    env: dict[str, str], run: Run, tmp_path: Path, columns: int
) -> None:
    offline = {name: value for name, value in env.items() if not name.startswith("FORTYTWOMIN_")}
    kept = tmp_path / "demo.db"
    assert run("demo", database=kept, environ=offline).returncode == 0
    entries = log_of(lambda *args: run(*args, database=kept, environ=offline), "--limit", "100")
    assert entries

    shown = run(
        "log", "--limit", "100", database=kept, environ={**offline, "COLUMNS": str(columns)}
    )

    assert shown.returncode == 0, shown.stderr
    assert max(len(line) for line in shown.stdout.splitlines()) <= columns
    flat = _flat(shown.stdout)
    for entry in entries:
        assert entry["email"] is None or entry["email"] in shown.stdout.split()
        assert _flat(entry["message"]) in flat


@pytest.mark.parametrize("columns", [80, 100, 120])
def test_the_demo_prospects_never_cut_an_email(columns: int) -> None:
    from rich.console import Console

    from fortytwomin_snov.commands import _prospect_table
    from fortytwomin_snov.demo import DemoProspect

    prospects = [
        DemoProspect(
            email="a.rather.long.address@subdomain.example.co.uk",
            name="Maria Lopez-Fernandez",
            company="Example Widgets GmbH & Co. KG",
            meeting_status="Meeting rescheduled",
            host_email="host.person@acme.example",
            company_size="45",
        ),
        DemoProspect("sam@example.org", "Sam Patel", "", "No-show", "", ""),
    ]
    console = Console(width=columns, record=True, file=io.StringIO())
    console.print(_prospect_table(prospects))
    text = console.export_text()
    words = text.split()
    for prospect in prospects:
        assert prospect.email in words
        assert prospect.host_email == "" or prospect.host_email in words
    assert "Example Widgets GmbH & Co. KG" in _flat(text)


def test_reconnecting_with_saved_settings_does_not_ask_to_set_them_up(
    run: Run, connected: Credentials
) -> None:
    assert run("settings", "set", "-", stdin="{}").returncode == 0
    again = run(
        "connect",
        "--credential",
        f"api_user_id={connected.client_id}",
        "--credential",
        f"api_secret={connected.client_secret}",
    )
    assert again.returncode == 0, again.stderr
    assert "settings set" not in again.stdout
    assert "The saved settings still apply" in again.stdout


def test_a_blank_api_user_id_says_it_is_required(run: Run) -> None:
    result = run("connect", "--credential", "api_user_id=", "--credential", "api_secret=x")
    line = assert_one_error_line(result, "/api_user_id: This field is required")
    assert ".." not in line


def test_db_in_a_missing_folder_is_an_error_not_a_new_folder(run: Run, tmp_path: Path) -> None:
    missing = tmp_path / "typo" / "host.db"
    assert_one_error_line(run("status", database=missing), "does not exist")
    assert not missing.parent.exists()


def test_hints_name_the_program_as_it_was_run() -> None:
    from fortytwomin_snov.host.cli.output import invoked_as

    venv = os.path.join(".venv", "bin", "fortytwomin-snov")
    assert invoked_as(venv, found_on_path=None) == venv
    assert invoked_as(venv, found_on_path="/usr/bin/fortytwomin-snov") == venv
    assert invoked_as(venv, found_on_path=venv) == "fortytwomin-snov"
    assert invoked_as("fortytwomin-snov", found_on_path=None) == "fortytwomin-snov"
    assert invoked_as("/x/__main__.py", found_on_path=None) == "fortytwomin-snov"
    assert (
        invoked_as("/my dir/fortytwomin-snov", found_on_path=None) == "'/my dir/fortytwomin-snov'"
    )
