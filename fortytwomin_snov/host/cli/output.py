"""How the CLI shows things: consoles, JSON, times, counts, and the tables several commands
share (the status grid, the sync log, a live attempt)."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import sys
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

import click
from rich import box
from rich.console import Console, ConsoleOptions, Group, RenderableType, RenderResult
from rich.padding import Padding
from rich.table import Table
from rich.text import Text

from fortytwomin_snov.contract.errors import FieldError
from fortytwomin_snov.host.jobs import LogEntry
from fortytwomin_snov.host.records import HostStatus

NAME = "fortytwomin-snov"


def invoked_as(argv0: str, *, found_on_path: str | None) -> str:
    """How to write the command in a hint so that pasting it works: the name when the shell
    finds this very program by it, else the path it was run by (``.venv/bin/...``)."""
    if os.path.basename(argv0) != NAME or os.sep not in argv0:
        return NAME
    if found_on_path is not None and os.path.realpath(found_on_path) == os.path.realpath(argv0):
        return NAME
    return shlex.quote(argv0)


PROG = invoked_as(sys.argv[0] if sys.argv else "", found_on_path=shutil.which(NAME))
"""The command as hints print it (see :func:`invoked_as`)."""
PIPED_WIDTH = 160
STATUS_STYLES = {"synced": "green", "skipped": "cyan", "deferred": "yellow", "failed": "red"}


def console(*, stderr: bool = False) -> Console:
    # Text from a service or an event is shown as is: no markup, no guessed highlighting.
    # Tables written to a file or a pipe get room to breathe rather than 80 columns.
    stream = sys.stderr if stderr else sys.stdout
    piped = not (stream is not None and stream.isatty()) and "COLUMNS" not in os.environ
    return Console(
        stderr=stderr, markup=False, highlight=False, width=PIPED_WIDTH if piped else None
    )


# C0 and C1 controls (ESC, CSI, BEL, backspace, carriage return, newline...), DEL, and the
# bidirectional overrides that make a terminal show text in another order than it is stored.
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")
# The same, less what json.dumps escapes itself (the C0 controls).
_UNSAFE_IN_JSON = re.compile("[\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def visible(text: str) -> str:
    """Stored text (an email, a name, a service's message) made safe to print on a terminal:
    every control character shown as an escape (``\\x1b``), so an event cannot set the
    window title, clear the screen or reorder what the admin reads."""
    return _UNSAFE.sub(_escape, text)


def _json_escape(match: re.Match[str]) -> str:
    return f"\\u{ord(match.group()):04x}"


def json_text(document: Any, *, indent: int | None = None) -> str:
    """Exact JSON that is safe on a terminal: json.dumps escapes the C0 controls; the C1
    controls and bidi overrides it keeps are written as ``\\uXXXX`` escapes too, which
    stand for the same text (they only ever occur inside JSON strings)."""
    dumped = json.dumps(document, indent=indent, ensure_ascii=False)
    return _UNSAFE_IN_JSON.sub(_json_escape, dumped)


def print_json(document: Any) -> None:
    click.echo(json_text(document, indent=2))


def local_time(moment: float | None) -> str:
    if moment is None:
        return "-"
    return datetime.fromtimestamp(moment).astimezone().strftime("%Y-%m-%d %H:%M:%S")


def plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def field_lines(errors: Sequence[FieldError]) -> list[str]:
    return [visible(f"{error['pointer'] or '/'}: {error['message']}") for error in errors]


def one_line(text: str) -> str:
    return " ".join(text.split())


def step(title: str) -> None:
    """A step of a narrated flow (the demo)."""
    click.secho(f"\n== {title}", bold=True)


def describe_connection(record: Mapping[str, Any], credentials_schema: Mapping[str, Any]) -> str:
    """Who connected which account, from the record's public credential fields, each under
    the title the plugin's credentials schema gives it ("API user ID 42, by usr_1")."""
    properties = credentials_schema.get("properties")
    parts: list[str] = []
    if isinstance(properties, Mapping):
        for name, spec in properties.items():
            if not isinstance(spec, Mapping) or spec.get("writeOnly") is True:
                continue
            if record.get(name) is not None:
                parts.append(f"{spec.get('title') or name} {record[name]}")
    if record.get("connected_by") is not None:
        parts.append(f"by {record['connected_by']}")
    return visible(", ".join(parts)) or "connected"


def status_table(current: HostStatus, credentials_schema: Mapping[str, Any]) -> Table:
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold")
    grid.add_column()
    if current.connection is not None:
        grid.add_row(
            "Connection",
            f"connected: {describe_connection(current.connection, credentials_schema)},"
            f" {local_time(current.connection_saved_at)}",
        )
    else:
        grid.add_row("Connection", f"not connected: run `{PROG} connect`")
    if current.settings_saved:
        grid.add_row("Settings", f"saved {local_time(current.settings_saved_at)}")
        for warning in current.settings_warnings:
            grid.add_row("", Text(f"⚠ {visible(warning)}", style="yellow"))
    else:
        grid.add_row("Settings", f"none saved: run `{PROG} settings set FILE`")
    grid.add_row("Jobs", " · ".join(f"{state} {count}" for state, count in current.jobs.items()))
    parked = [f"on {blocker} {count}" for blocker, count in current.parked.items() if count]
    if parked:
        grid.add_row("Parked", " · ".join(parked) + " (they run again once that is fixed)")
    if current.backfill_paused:
        grid.add_row(
            "Backfill",
            f"paused, {plural(current.backfill_paused, 'job')} left"
            f" (`{PROG} backfill FILE` resumes it)",
        )
    return grid


def attempt_line(entry: LogEntry) -> Text:
    line = Text()
    line.append(f"{entry.status:<8}", style=STATUS_STYLES.get(entry.status, ""))
    mark = f" ({BACKFILL_MARK})" if entry.origin == "backfill" else ""
    line.append(
        visible(f" job {entry.job_id} {entry.event_type}{mark} {entry.email or '(no email)'}: ")
    )
    line.append(visible(entry.message))
    return line


class ByWidth:
    """A renderable drawn one way on a wide console and another on a narrow one: a table
    whose cells would be cut below ``at`` columns becomes a stack of lines instead."""

    def __init__(
        self,
        wide: Callable[[], RenderableType],
        narrow: Callable[[], RenderableType],
        *,
        at: int,
    ) -> None:
        self.wide, self.narrow, self.at = wide, narrow, at

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        yield self.wide() if options.max_width >= self.at else self.narrow()


LOG_TABLE_WIDTH = 160
"""Below this many columns the sync log is a stack of entries: as a table, its emails
and messages would be cut."""


def log_table(entries: Sequence[LogEntry], *, title: str) -> ByWidth:
    return ByWidth(
        lambda: _log_grid(entries, title=title),
        lambda: _log_stack(entries, title=title),
        at=LOG_TABLE_WIDTH,
    )


def _outcome(entry: LogEntry) -> Text:
    return Text(visible(entry.status), style=STATUS_STYLES.get(entry.status, ""))


BACKFILL_MARK = "backfill"
"""Beside the event of a backfilled entry (see ``backfill``)."""


def _event(entry: LogEntry, separator: str) -> Text:
    """The event's type and id, marked when it was backfilled."""
    event = Text(f"{visible(entry.event_type)}{separator}{visible(entry.event_id)}")
    if entry.origin == "backfill":
        event.append(f"{separator}{BACKFILL_MARK}", style="cyan")
    return event


def _log_grid(entries: Sequence[LogEntry], *, title: str) -> Table:
    table = Table(title=title, box=box.SIMPLE_HEAD, title_justify="left")
    table.add_column("Time", no_wrap=True)
    table.add_column("Job", justify="right", no_wrap=True)
    table.add_column("Event", overflow="fold")
    table.add_column("Email", overflow="fold")
    table.add_column("Outcome", overflow="fold")
    table.add_column("Message", ratio=1, min_width=30, overflow="fold")
    for entry in entries:
        outcome = _outcome(entry)
        outcome.append(f"\n{visible(entry.reason)}", style="dim")
        table.add_row(
            local_time(entry.at),
            f"{entry.job_id}" + (f" #{entry.attempt}" if entry.attempt > 1 else ""),
            _event(entry, "\n"),
            Text(visible(entry.email or "-")),
            outcome,
            Text(visible(entry.message)),
        )
    return table


def _log_stack(entries: Sequence[LogEntry], *, title: str) -> Group:
    """Each entry as a few lines: what, who, then the message, wrapped at words."""
    parts: list[RenderableType] = [Text(title, style="italic")]
    for entry in entries:
        head = Text(f"{local_time(entry.at)}  job {entry.job_id}")
        if entry.attempt > 1:
            head.append(f" (attempt {entry.attempt})")
        head.append("  ")
        head.append_text(_outcome(entry))
        head.append(f" {visible(entry.reason)}", style="dim")
        parts.append(Text(""))
        parts.append(head)
        parts.append(Text("  ").append_text(_event(entry, " ")))
        parts.append(Text(f"  {visible(entry.email or '(no email)')}"))
        parts.append(Padding(Text(visible(entry.message), overflow="fold"), (0, 0, 0, 2)))
    return Group(*parts)
