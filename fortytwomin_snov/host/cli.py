"""The reference host's command line: ``fortytwomin-snov``.

Each command opens the host's database (``--db PATH``, else ``$FORTYTWOMIN_SNOV_DB``, else
:func:`~fortytwomin_snov.host.database.default_database_path`) through
:class:`~fortytwomin_snov.host.reference.ReferenceHost` and drives the plugin as the 42min
host does. ``demo`` runs the whole flow against the local Snov.io emulator.

Every error a user can cause ends in :func:`main`: one line on stderr (a document's
problems follow it, one line per field) and a non-zero exit, never a traceback.
"""

from __future__ import annotations

import contextlib
import getpass
import json
import os
import re
import signal
import sqlite3
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from datetime import datetime
from pathlib import Path
from types import FrameType
from typing import Any, cast

import click
from rich import box
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table
from rich.text import Text

from fortytwomin_snov.contract.errors import FieldError, IntegrationError, InvalidSettings
from fortytwomin_snov.host.demo import (
    DEMO_ACTOR,
    DEMO_LIST_NAME,
    RATE_LIMIT_ENV,
    SNOV_RATE_LIMIT,
    demo_environment,
    demo_events,
    demo_prospects,
    demo_settings,
)
from fortytwomin_snov.host.jobs import STATUSES, Attempt, LogEntry, Status, validate_event
from fortytwomin_snov.host.plugins import load_plugin_manager
from fortytwomin_snov.host.reference import HostStatus, ReferenceHost, WorkSummary

PROG = "fortytwomin-snov"
SERVE_PORT = 8042
DATABASE_ENV = "FORTYTWOMIN_SNOV_DB"
ROLES = ("owner", "admin", "member")
PIPED_WIDTH = 160
STATUS_STYLES = {"synced": "green", "skipped": "cyan", "deferred": "yellow", "failed": "red"}


class CommandFailed(click.ClickException):
    """A user-caused error: one line, then ``details`` (a document's problems, one a line)."""

    def __init__(self, message: str, details: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.details = list(details)


# ---- output ---------------------------------------------------------------------------


def _console(*, stderr: bool = False) -> Console:
    # Text from Snov.io or an event is shown as is: no markup, no guessed highlighting.
    # Tables written to a file or a pipe get room to breathe rather than 80 columns.
    stream = sys.stderr if stderr else sys.stdout
    piped = not (stream is not None and stream.isatty()) and "COLUMNS" not in os.environ
    return Console(
        stderr=stderr, markup=False, highlight=False, width=PIPED_WIDTH if piped else None
    )


def _print_json(document: Any) -> None:
    click.echo(json.dumps(document, indent=2, ensure_ascii=False))


def _local_time(moment: float | None) -> str:
    if moment is None:
        return "-"
    return datetime.fromtimestamp(moment).astimezone().strftime("%Y-%m-%d %H:%M:%S")


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def _field_lines(errors: Sequence[FieldError]) -> list[str]:
    return [f"{error['pointer'] or '/'}: {error['message']}" for error in errors]


def _one_line(text: str) -> str:
    return " ".join(text.split())


# ---- input ----------------------------------------------------------------------------


def _read_text(source: str) -> tuple[str, str]:
    """The text of FILE, or of stdin for ``-``, and how to name it in messages."""
    try:
        if source == "-":
            return sys.stdin.buffer.read().decode("utf-8-sig"), "stdin"
        return Path(source).read_bytes().decode("utf-8-sig"), source
    except OSError as error:
        raise CommandFailed(f"Cannot read {source}: {error.strerror or error}") from None
    except UnicodeDecodeError:
        raise CommandFailed(f"{source} is not UTF-8 text") from None


def _json_problem(error: json.JSONDecodeError, *, one_line: bool = False) -> str:
    where = f"column {error.colno}" if one_line else f"line {error.lineno}, column {error.colno}"
    return f"not valid JSON ({error.msg} at {where})"


def _ask(what: str, option: str, *, hidden: bool) -> str:
    """A value the user did not pass: asked for on a terminal (without echo when hidden),
    else read as one line from stdin, so that it can be piped in."""
    stdin = sys.stdin
    if stdin is not None and stdin.isatty():
        return str(click.prompt(what, hide_input=hidden, err=True))
    line = stdin.readline() if stdin is not None else ""
    value = line.rstrip("\r\n")
    if not value:
        raise CommandFailed(f"No {what} given: pass {option}, or type it when asked")
    return value


def _login_name() -> str:
    try:
        name = getpass.getuser()
    except (OSError, KeyError):  # no user name in the environment or the password database
        return "cli"
    return re.sub(r"[^!-~]", "_", name) or "cli"


# ---- the host -------------------------------------------------------------------------


with_database = click.option(
    "--db",
    "database",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    envvar=DATABASE_ENV,
    help=f"The host's SQLite database (default: ${DATABASE_ENV}, else host.db in your"
    " user data directory).",
)


def _open_host(database: Path | None) -> ReferenceHost:
    return ReferenceHost(database)  # None: the default database


# ---- the commands -----------------------------------------------------------------------


def _help_without_command(context: click.Context) -> None:
    # Help on stdout with status 0, the same with every click version.
    if context.invoked_subcommand is None:
        click.echo(context.get_help())


@click.group(context_settings={"help_option_names": ["-h", "--help"]}, invoke_without_command=True)
@click.version_option(package_name="fortytwomin-snov")
@click.pass_context
def cli(context: click.Context) -> None:
    """The 42min reference host for the Snov.io integration plugin.

    Try `fortytwomin-snov demo`: the whole flow against a local Snov.io emulator.
    """
    _help_without_command(context)


@cli.command()
def info() -> None:
    """Print what the installed plugins declare.

    The plugins are loaded through their entry points, as a host loads them."""
    manager = load_plugin_manager()
    plugins = sorted(name for name, _ in manager.list_name_plugin())
    manifests = manager.hook.integration_manifest()
    _print_json({"plugins": plugins, "manifests": manifests})


@cli.command()
@with_database
@click.option("--api-user-id", help="The API user ID (asked for when left out).")
@click.option(
    "--api-secret",
    help="The API secret. Better left out: it is then asked for without echo (or read from"
    " stdin), as a command-line argument is visible to other users of this machine.",
)
@click.option(
    "--role",
    type=click.Choice(ROLES),
    default="admin",
    show_default=True,
    help="Your role in the 42min organization: only owners and admins may connect.",
)
@click.option("--actor", help="Your 42min user id (default: your login name).")
def connect(
    database: Path | None,
    api_user_id: str | None,
    api_secret: str | None,
    role: str,
    actor: str | None,
) -> None:
    """Connect Snov.io with an API user ID and secret.

    The keys are checked against Snov.io, then saved, the secret encrypted."""
    user_id = (
        api_user_id
        if api_user_id is not None
        else _ask("API user ID", "--api-user-id", hidden=False)
    )
    secret = (
        api_secret if api_secret is not None else _ask("API secret", "--api-secret", hidden=True)
    )
    with _open_host(database) as host:
        connected = host.connect(
            {"api_user_id": user_id, "api_secret": secret},
            {"id": actor or _login_name(), "role": role},
        )
        name = host.display_name
    record = connected.record
    click.echo(
        f"Connected {name}: API user ID {record.get('api_user_id')}, by"
        f" {record.get('connected_by')}. Next: `{PROG} lists`, then `{PROG} settings set`."
    )
    if connected.requeued:
        click.echo(
            f"{_plural(connected.requeued, 'job')} waiting for the connection"
            f" {'is' if connected.requeued == 1 else 'are'} queued again: run `{PROG} work`."
        )


@cli.command()
@with_database
def disconnect(database: Path | None) -> None:
    """Forget the Snov.io connection. Prospects already in Snov.io stay there."""
    with _open_host(database) as host:
        name = host.display_name
        was_connected = host.disconnect()
    if not was_connected:
        click.echo(f"{name} was not connected.")
        return
    click.echo(
        f"Disconnected {name}: future syncs stop (queued jobs wait for the next connect)."
        f" Prospects already added to {name} are not deleted."
    )


@cli.command()
@with_database
@click.option("--json", "as_json", is_flag=True, help="Print the status as JSON.")
def status(database: Path | None, as_json: bool) -> None:
    """Connection, settings and the queue at a glance."""
    with _open_host(database) as host:
        current = host.status()
        name = host.display_name
    if as_json:
        _print_json(current.to_json())
        return
    click.secho(f"{name} ({current.integration})", bold=True)
    _console().print(_status_table(current))


def _status_table(current: HostStatus) -> Table:
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold")
    grid.add_column()
    if current.connection is not None:
        record = current.connection
        grid.add_row(
            "Connection",
            f"connected: API user ID {record.get('api_user_id')}, by"
            f" {record.get('connected_by')}, {_local_time(current.connection_saved_at)}",
        )
    else:
        grid.add_row("Connection", f"not connected: run `{PROG} connect`")
    if current.settings_saved:
        grid.add_row("Settings", f"saved {_local_time(current.settings_saved_at)}")
        for warning in current.settings_warnings:
            grid.add_row("", Text(f"⚠ {warning}", style="yellow"))
    else:
        grid.add_row("Settings", f"none saved: run `{PROG} settings set FILE`")
    grid.add_row("Jobs", " · ".join(f"{state} {count}" for state, count in current.jobs.items()))
    parked = [f"on {blocker} {count}" for blocker, count in current.parked.items() if count]
    if parked:
        grid.add_row("Parked", " · ".join(parked) + " (they run again once that is fixed)")
    return grid


@cli.command()
@with_database
def schema(database: Path | None) -> None:
    """Print the settings form as JSON, rendered for the connected account."""
    with _open_host(database) as host:
        _print_json(host.settings_schema())


@cli.group(invoke_without_command=True)
@click.pass_context
def settings(context: click.Context) -> None:
    """Show or save the sync settings."""
    _help_without_command(context)


@settings.command("show")
@with_database
def settings_show(database: Path | None) -> None:
    """Print the saved settings as JSON (warnings go to stderr)."""
    with _open_host(database) as host:
        saved = host.saved_settings()
        name = host.display_name
    if saved is None:
        raise CommandFailed(f"No {name} settings are saved yet: run `{PROG} settings set FILE`")
    _print_json(saved.settings)
    for warning in saved.warnings:
        click.echo(f"Warning: {warning}", err=True)


@settings.command("set")
@with_database
@click.argument("source", metavar="FILE|-")
def settings_set(database: Path | None, source: str) -> None:
    """Save settings from a JSON file (or stdin), validated by the plugin."""
    text, where = _read_text(source)
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        raise CommandFailed(f"{where} is {_json_problem(error)}") from None
    with _open_host(database) as host:
        name = host.display_name
        try:
            saved = host.save_settings(document)
        except InvalidSettings as error:
            raise CommandFailed(
                f"The {name} settings were not saved: {_plural(len(error.errors), 'problem')}",
                _field_lines(error.errors),
            ) from None
    click.echo(f"Saved the {name} settings.")
    for warning in saved.warnings:
        click.echo(f"Warning: {warning}")
    if saved.requeued:
        click.echo(
            f"{_plural(saved.requeued, 'job')} waiting for settings"
            f" {'is' if saved.requeued == 1 else 'are'} queued again: run `{PROG} work`."
        )


@cli.command("lists")
@with_database
@click.option("--json", "as_json", is_flag=True, help="Print the lists as JSON.")
def lists_command(database: Path | None, as_json: bool) -> None:
    """The account's lists, with prospect counts and campaign warnings."""
    with _open_host(database) as host:
        form = host.settings_schema()
        saved = host.saved_settings()
        name = host.display_name
    target = saved.settings.get("target_list_id") if saved is not None else None
    choices, notice = _list_choices(form)
    if notice is not None:
        click.echo(f"Warning: {notice}", err=True)
    if choices is None:
        raise CommandFailed(f"{name} did not say which lists the account has")
    if as_json:
        _print_json([{**choice, "target": choice["id"] == target} for choice in choices])
        return
    table = Table(title=f"{name} lists", box=box.SIMPLE_HEAD)
    table.add_column("ID", justify="right")
    table.add_column("List")
    table.add_column("Target")
    for choice in choices:
        table.add_row(str(choice["id"]), choice["title"], "✓" if choice["id"] == target else "")
    console = _console()
    console.print(table)
    for choice in choices:
        if choice["warning"]:
            console.print(Text(f"⚠ {choice['warning']}", style="yellow"))


def _list_choices(form: dict[str, Any]) -> tuple[list[dict[str, Any]] | None, str | None]:
    """The lists the rendered form offers as the target list (None if it offers none, as
    when Snov.io could not be asked), and the form's notice, if any."""
    ui = form.get("ui_schema") or {}
    notice = ((ui.get("ui:options") or {}).get("notice") or {}).get("message")
    properties = (form.get("schema") or {}).get("properties") or {}
    options = (properties.get("target_list_id") or {}).get("oneOf")
    if not isinstance(options, list):
        return None, notice
    warnings = ((ui.get("target_list_id") or {}).get("ui:options") or {}).get("warnings") or {}
    choices = [
        {
            "id": option["const"],
            "title": str(option.get("title", option["const"])),
            "warning": warnings.get(str(option["const"])),
        }
        for option in options
        if isinstance(option, dict) and option.get("const") is not None
    ]
    return choices, notice


@cli.command("create-list")
@with_database
@click.argument("name")
@click.option("--use", is_flag=True, help="Make it the target list (the settings are saved).")
def create_list(database: Path | None, name: str, use: bool) -> None:
    """Create an empty prospect list in Snov.io."""
    with _open_host(database) as host:
        created = host.run_settings_action("create_list", {"name": name})
        service = host.display_name
        click.echo(f'Created the {service} list "{created.get("name")}" (ID {created.get("id")}).')
        if not use:
            click.echo(
                f"To sync into it, set target_list_id to {created.get('id')} in the settings."
            )
            return
        saved = host.saved_settings()
        document = dict(saved.settings) if saved is not None else {}
        document["target_list_id"] = created.get("id")
        try:
            result = host.save_settings(document)
        except InvalidSettings as error:
            raise CommandFailed(
                f"The list was created, but the settings were not saved:"
                f" {_plural(len(error.errors), 'problem')}",
                _field_lines(error.errors),
            ) from None
    click.echo("It is now the target list.")
    for warning in result.warnings:
        click.echo(f"Warning: {warning}")


@cli.command()
@with_database
@click.argument("source", metavar="FILE|-")
def send(database: Path | None, source: str) -> None:
    """Queue events: one JSON event, or JSON Lines (one event a line).

    Each event is checked against booking-event.schema.json; a bad line is reported with
    its number and skipped, the good ones are queued (the exit status is 1 if any was bad).
    """
    text, where = _read_text(source)
    events, problems = _parse_events(text)
    for number, problem in problems:
        click.echo(f"line {number}: {problem}", err=True)
    if not events and not problems:
        raise CommandFailed(f"{where} holds no event")
    if events:
        with _open_host(database) as host:
            queued = host.enqueue_many(events)
        click.echo(
            f"Queued {_plural(len(queued), 'event')} ({_job_ids(queued)})."
            f" Run `{PROG} work` to sync {'it' if len(queued) == 1 else 'them'}."
        )
    if problems:
        bad = len({number for number, _ in problems})
        raise CommandFailed(f"{_plural(bad, 'line')} of {where} skipped: nothing queued for them")


def _job_ids(ids: Sequence[int]) -> str:
    if len(ids) == 1:
        return f"job {ids[0]}"
    if list(ids) == list(range(ids[0], ids[0] + len(ids))):
        return f"jobs {ids[0]}-{ids[-1]}"
    return "jobs " + ", ".join(map(str, ids))


def _parse_events(text: str) -> tuple[list[dict[str, Any]], list[tuple[int, str]]]:
    """The valid events, and each problem of the others with its line number, in line
    order. The text is one JSON event (it may span lines) or JSON Lines."""
    documents, problems = _json_documents(text)
    events: list[dict[str, Any]] = []
    for number, document in documents:
        found = validate_event(document)
        if found:
            problems.extend((number, line) for line in _field_lines(found))
        else:
            events.append(document)
    problems.sort(key=lambda problem: problem[0])
    return events, problems


def _json_documents(text: str) -> tuple[list[tuple[int, Any]], list[tuple[int, str]]]:
    """The JSON documents of the text with the number of the line each starts on, and the
    lines that are not JSON."""
    lines = list(enumerate(text.splitlines(), 1))
    try:
        whole = json.loads(text)
    except json.JSONDecodeError as error:
        broken = error
    else:
        first = next((number for number, line in lines if line.strip()), 1)
        return [(first, whole)], []
    documents: list[tuple[int, Any]] = []
    unreadable: list[tuple[int, str]] = []
    for number, line in lines:
        if not line.strip():
            continue
        try:
            documents.append((number, json.loads(line)))
        except json.JSONDecodeError as error:
            unreadable.append((number, _json_problem(error, one_line=True)))
    if not documents and len(unreadable) > 1:
        # No line is JSON on its own: one broken document, reported once.
        return [], [(broken.lineno, _json_problem(broken, one_line=True))]
    return documents, unreadable


@cli.command()
@with_database
@click.option(
    "--until-empty",
    is_flag=True,
    help="Stop once no job is queued or running (default: run until Ctrl-C, as a service).",
)
def work(database: Path | None, until_empty: bool) -> None:
    """Sync queued events, under Snov.io's rate limit.

    Ctrl-C (or SIGTERM) stops after the sync under way; a second Ctrl-C stops at once and
    gives that job back to the queue.
    """
    with _open_host(database) as host:
        summary = _work(host, until_empty=until_empty)
        _after_work(host, summary)


def _work(host: ReferenceHost, *, until_empty: bool) -> WorkSummary:
    """Work the queue with a progress bar; Ctrl-C and SIGTERM stop it cleanly."""
    counts = host.job_counts()
    pending = counts["queued"] + counts["running"]
    if until_empty and pending == 0:
        click.echo("No job is queued.")
        return WorkSummary()
    stop = threading.Event()
    progress = Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=_console(stderr=True),
    )
    until = "" if until_empty else " (Ctrl-C to stop)"
    task = progress.add_task(f"Working the queue{until}", total=pending)
    tally: Counter[str] = Counter()
    closed = 0

    def on_progress(attempt: Attempt) -> None:
        nonlocal closed
        entry = attempt.entry
        tally[entry.status] += 1
        if attempt.job_state not in ("queued", "running"):
            closed += 1
        counts = host.job_counts()
        progress.update(
            task,
            completed=closed,
            total=closed + counts["queued"] + counts["running"],
            description=" · ".join(f"{name} {tally[name]}" for name in STATUSES) + until,
        )
        if entry.status in ("deferred", "failed"):
            progress.console.print(_attempt_line(entry))

    with _stopping_on_signals(stop), progress:
        return host.work(until_empty=until_empty, stop=stop, on_progress=on_progress)


def _attempt_line(entry: LogEntry) -> Text:
    line = Text()
    line.append(f"{entry.status:<8}", style=STATUS_STYLES.get(entry.status, ""))
    line.append(f" job {entry.job_id} {entry.event_type} {entry.email or '(no email)'}: ")
    line.append(entry.message)
    return line


@contextlib.contextmanager
def _stopping_on_signals(stop: threading.Event) -> Iterator[None]:
    """The first Ctrl-C (or SIGTERM) sets ``stop``; a second one interrupts at once."""

    def handle(signum: int, frame: FrameType | None) -> None:
        if stop.is_set():
            raise KeyboardInterrupt
        stop.set()

    previous = {number: signal.signal(number, handle) for number in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


def _after_work(host: ReferenceHost, summary: WorkSummary) -> None:
    if summary.attempts:
        done = ", ".join(
            f"{summary.statuses[status]} {status}"
            for status in STATUSES
            if summary.statuses[status]
        )
        verb = "Stopped after" if summary.stopped else "Done:"
        click.echo(f"{verb} {_plural(summary.attempts, 'attempt')} ({done}).")
    elif summary.stopped:
        click.echo("Stopped.")
    counts = host.job_counts()
    left: list[str] = []
    if counts["queued"] or counts["running"]:
        left.append(f"{counts['queued'] + counts['running']} queued (`{PROG} work` runs them)")
    parked = host.status().parked
    for blocker, number in parked.items():
        if number:
            left.append(f"{number} waiting for {blocker} (they run again once that is fixed)")
    if counts["failed"]:
        left.append(
            f"{counts['failed']} failed (`{PROG} log --status failed` says why;"
            f" `{PROG} replay` queues them again)"
        )
    if left:
        click.echo("Jobs left: " + "; ".join(left) + ".")


@cli.command()
@with_database
@click.option(
    "--status",
    "statuses",
    type=click.Choice(STATUSES),
    multiple=True,
    help="Only entries with this status (repeat for several).",
)
@click.option("--limit", type=click.IntRange(min=1), default=50, show_default=True)
@click.option("--job", "job_id", type=click.IntRange(min=1), help="Only this job's attempts.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON Lines, one entry a line.")
def log(
    database: Path | None,
    statuses: tuple[str, ...],
    limit: int,
    job_id: int | None,
    as_json: bool,
) -> None:
    """The sync log: one entry per attempt, newest first."""
    with _open_host(database) as host:
        entries = host.sync_log(
            status=cast("list[Status]", list(statuses)) or None,  # click.Choice checked them
            limit=limit,
            job_id=job_id,
        )
    if as_json:
        for entry in entries:
            click.echo(json.dumps(entry.to_json(), ensure_ascii=False))
        return
    if not entries:
        click.echo("The sync log has no entries" + (" with that status." if statuses else "."))
        return
    _console().print(_log_table(entries, title="Sync log (newest first)"))


def _log_table(entries: Sequence[LogEntry], *, title: str) -> Table:
    table = Table(title=title, box=box.SIMPLE_HEAD, title_justify="left")
    table.add_column("Time", no_wrap=True)
    table.add_column("Job", justify="right", no_wrap=True)
    table.add_column("Event", no_wrap=True)
    table.add_column("Email", no_wrap=True)
    table.add_column("Outcome", no_wrap=True)
    table.add_column("Message", ratio=1, min_width=30)
    for entry in entries:
        outcome = Text(entry.status, style=STATUS_STYLES.get(entry.status, ""))
        outcome.append(f"\n{entry.reason}", style="dim")
        table.add_row(
            _local_time(entry.at),
            f"{entry.job_id}" + (f" #{entry.attempt}" if entry.attempt > 1 else ""),
            Text(f"{entry.event_type}\n{entry.event_id}"),
            Text(entry.email or "-"),
            outcome,
            Text(entry.message),
        )
    return table


@cli.command()
@with_database
@click.argument("job_ids", nargs=-1, type=click.IntRange(min=1), metavar="[JOB_ID]...")
def replay(database: Path | None, job_ids: tuple[int, ...]) -> None:
    """Queue failed jobs again: all of them, or those named.

    A named job may also be one parked until a connection or settings fix."""
    with _open_host(database) as host:
        queued = host.replay(list(job_ids) if job_ids else None)
        refused = [(number, host.job(number)) for number in job_ids if number not in queued]
    if queued:
        click.echo(
            f"Queued again: {_plural(len(queued), 'job')} ({', '.join(map(str, queued))})."
            f" Run `{PROG} work` to sync {'it' if len(queued) == 1 else 'them'}."
        )
    elif not job_ids:
        click.echo("No failed job to replay.")
    if refused:
        named = ", ".join(
            f"job {number} ({'no such job' if job is None else job.state})"
            for number, job in refused
        )
        raise CommandFailed(f"Not queued again, as only failed or parked jobs are: {named}")


@cli.command(
    add_help_option=False,  # --help belongs to the emulator's own options
    context_settings={"ignore_unknown_options": True, "allow_extra_args": True},
)
@click.pass_context
def emulator(context: click.Context) -> None:
    """Run the local Snov.io emulator (emulator --help for its options)."""
    from fortytwomin_snov.testing.cli import main as emulator_main

    sys.exit(emulator_main(list(context.args)))


# ---- the demo ---------------------------------------------------------------------------


@cli.command()
@click.option(
    "--db",
    "database",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Keep the demo's database here, a new file (default: a temporary one, removed"
    " afterwards).",
)
def demo(database: Path | None) -> None:
    """Run the whole flow against a local emulator, in seconds.

    Connects with demo keys, creates a list, saves settings, sends a burst of bookings,
    cancels, reschedules, no-shows and routing-form submissions, works the queue, and
    prints the sync log and the prospects now in the list. Nothing leaves this machine.
    """
    started = time.monotonic()
    console = _console()
    with contextlib.ExitStack() as stack:
        if database is None:
            folder = stack.enter_context(tempfile.TemporaryDirectory(prefix="fortytwomin-snov-"))
            path = Path(folder) / "host.db"
        else:
            path = database
        host = stack.enter_context(ReferenceHost(path))
        _require_fresh(host)
        _step("Start the Snov.io emulator")
        environment = stack.enter_context(demo_environment())
        click.echo(
            f"The emulator serves a demo account on {environment.base_url} (lists, custom"
            " fields, an active campaign); the plugin talks to it, and nothing leaves this"
            " machine."
        )
        click.secho(
            f"Rate limit RAISED for the demo: the emulator allows {environment.rate_limit}"
            f" requests a minute (Snov.io allows {SNOV_RATE_LIMIT}), and the plugin's client"
            f" paces itself to match ({RATE_LIMIT_ENV}={environment.rate_limit}), so the demo"
            " finishes in seconds.",
            fg="yellow",
        )
        click.echo(f"Database: {path}" + (" (temporary)" if database is None else ""))

        _step("Connect with the demo keys")
        connected = host.connect(environment.credentials, DEMO_ACTOR)
        click.echo(
            f"Connected: API user ID {connected.record.get('api_user_id')}, by"
            f" {connected.record.get('connected_by')} ({DEMO_ACTOR['role']}). The secret is"
            f" stored encrypted, with the key in {path.name}.key."
        )

        _step("The account's lists")
        choices, _ = _list_choices(host.settings_schema())
        lists = Table(box=box.SIMPLE_HEAD)
        lists.add_column("ID", justify="right")
        lists.add_column("List")
        for choice in choices or []:
            lists.add_row(str(choice["id"]), choice["title"])
        console.print(lists)

        _step("Create a list for the bookings")
        created = host.run_settings_action("create_list", {"name": DEMO_LIST_NAME})
        list_id = int(created["id"])
        click.echo(f'Created "{created["name"]}" (ID {list_id}): a plain list, no campaign.')

        _step("Save the settings")
        document = demo_settings(list_id)
        saved = host.save_settings(document)
        _print_json(document)
        click.echo(
            "Target list: the new list · Lifecycle status field: Meeting status · Host email"
            " field: Host email · Routing forms: on · Booking question 'company' →"
            " prospect.company · Routing-form field 'employees' → the custom field Company"
            " size. The plugin put back the locked email, name and phone rows."
        )
        for warning in saved.warnings:
            click.echo(f"Warning: {warning}")

        _step("Send a burst of events")
        burst = demo_events()
        host.enqueue_many([item.event for item in burst])
        for number, item in enumerate(burst, 1):
            event = item.event
            click.echo(f"{number:>2}. {event['type']:<22} {event['id']:<12} {item.shows}")

        _step("Work the queue")
        calls_before = environment.api_calls()
        summary = _work(host, until_empty=True)
        calls = environment.api_calls() - calls_before
        _after_work(host, summary)
        click.echo(
            f"That took {_plural(calls, 'Snov.io API call')}. At Snov.io's own limit the plugin"
            f" sends about one a second, so a burst like this syncs over about {calls} seconds"
            " there: a little behind, never lost."
        )

        _step("The sync log")
        entries = host.sync_log(limit=None)
        console.print(_log_table(list(reversed(entries)), title="Sync log (oldest first)"))

        _step(f'The prospects now in "{DEMO_LIST_NAME}"')
        console.print(_prospect_table(demo_prospects(environment, list_id)))
    click.echo(
        f"\nFinished in {time.monotonic() - started:.1f} s. To try the commands yourself:"
        f" `{PROG} emulator --seed-demo` in one terminal; in another, point the plugin at it"
        f" (FORTYTWOMIN_SNOV_API_BASE) and run `{PROG} connect`, `lists`, `settings set`,"
        " `send`, `work` and `log`."
    )


def _require_fresh(host: ReferenceHost) -> None:
    current = host.status()
    if current.connected or current.settings_saved or any(current.jobs.values()):
        raise CommandFailed(
            f"The demo needs a database of its own: {host.path} already holds a connection,"
            " settings or jobs (leave out --db to use a temporary one)"
        )


def _step(title: str) -> None:
    click.secho(f"\n== {title}", bold=True)


def _prospect_table(prospects: Sequence[Any]) -> Table:
    table = Table(box=box.SIMPLE_HEAD)
    for column in ("Email", "Name", "Company", "Meeting status", "Host email", "Company size"):
        table.add_column(column)
    for prospect in prospects:
        table.add_row(
            *(
                Text(value or "-")
                for value in (
                    prospect.email,
                    prospect.name,
                    prospect.company,
                    prospect.meeting_status,
                    prospect.host_email,
                    prospect.company_size,
                )
            )
        )
    return table


# ---- the entry point --------------------------------------------------------------------


@cli.command()
@with_database
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=SERVE_PORT,
    show_default=True,
    help="The port on 127.0.0.1 (0: any free port).",
)
@click.option(
    "--demo",
    is_flag=True,
    help="Run against a local Snov.io emulator with the demo account, on a temporary database"
    " (or a new --db file): connected, a list created, settings saved, a burst synced.",
)
@click.option(
    "--worker/--no-worker",
    default=True,
    show_default=True,
    help="Also work the queue in the background, so a replay from the Sync log page runs at once.",
)
def serve(database: Path | None, port: int, demo: bool, worker: bool) -> None:
    """Serve the admin pages on 127.0.0.1: Integrations, Connect, Settings, Sync log, Disconnect.

    The front end (frontend/, React and react-jsonschema-form) is built with npm first if
    needed. Ctrl-C stops the server."""
    from fortytwomin_snov.host.web_server import serve as serve_pages

    serve_pages(database, port=port, demo=demo, worker=worker, echo=click.echo)


def main(argv: Sequence[str] | None = None) -> None:
    """Run the CLI; every error a user can cause ends here as one line and exit status."""
    try:
        code = cli.main(
            args=list(argv) if argv is not None else None,
            prog_name=PROG,
            standalone_mode=False,
        )
    except click.ClickException as error:
        _fail(error.format_message(), getattr(error, "details", []), error.exit_code, error)
    except IntegrationError as error:
        details = getattr(error, "errors", [])
        _fail(str(error), _field_lines(details) if isinstance(details, list) else [], 1)
    except sqlite3.Error as error:
        _fail(f"The database cannot be used: {error}", [], 1)
    except OSError as error:
        where = f"{error.filename}: " if error.filename else ""
        _fail(f"{where}{error.strerror or error}", [], 1)
    except (click.Abort, KeyboardInterrupt):
        click.echo("Aborted.", err=True)
        sys.exit(130)
    sys.exit(code if isinstance(code, int) else 0)


def _fail(
    message: str, details: Sequence[str], code: int, error: click.ClickException | None = None
) -> None:
    hint = ""
    if isinstance(error, click.UsageError) and error.ctx is not None:
        hint = f" (see `{error.ctx.command_path} --help`)"
    click.echo(f"Error: {_one_line(message)}{hint}", err=True)
    for line in details:
        click.echo(f"  {_one_line(line)}", err=True)
    sys.exit(code)


if __name__ == "__main__":
    main()
