"""``backfill FILE``: queue the events from before the integration was connected, behind
live events, and work them in this process with a progress bar (see :mod:`..backfill`).

The command works the jobs itself, as ``work`` does, so that an admin on the embedded SQLite
database needs nothing else running; live jobs that arrive meanwhile are claimed first, by
this process too. Workers running elsewhere (``work``) take backfill jobs as well, behind
their live ones: the bar counts every backfill job closed, whoever worked it.

Ctrl-C (or SIGTERM) finishes the batch under way and pauses the backfill; a second one
stops at once, giving the batch back untried. Either way the queued backfill jobs are set
aside (no worker takes them) and one line says how many are left; running ``backfill``
again resumes them, and queues only the events not queued before.
"""

from __future__ import annotations

import contextlib
import sys
import threading
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn

from fortytwomin_snov.contract.errors import FieldError
from fortytwomin_snov.host.backfill import Pace, time_words
from fortytwomin_snov.host.cli.app import cli
from fortytwomin_snov.host.cli.options import (
    CommandFailed,
    open_host,
    with_database,
    with_integration,
)
from fortytwomin_snov.host.cli.output import PROG, attempt_line, console, plural
from fortytwomin_snov.host.cli.queue import stopping_on_signals
from fortytwomin_snov.host.cli.sending import Sender, opened, read_events
from fortytwomin_snov.host.jobs import STATUSES, Attempt
from fortytwomin_snov.host.reference import ReferenceHost

INTERRUPTED = 130
"""The exit status after Ctrl-C, as a shell gives it."""


@cli.command()
@with_database
@with_integration
@click.argument("source", metavar="FILE|-")
def backfill(database: Path | None, integration: str | None, source: str) -> None:
    """Sync the bookings and routing-form submissions from before you connected.

    FILE is JSON Lines of booking.created and routing_form.submitted events, checked as
    `send` checks them (a bad line is reported by number and skipped; the exit status is 1
    if any was). They are queued behind live events, so a live event never waits for a
    backfill, and worked here with a progress bar. An event already queued or synced is
    not queued again: running the same file twice syncs nothing twice.

    Ctrl-C pauses the backfill (a second Ctrl-C at once, without finishing the batch under
    way); run the same command again to resume it.
    """
    with opened(source) as (stream, where, size), open_host(database, integration) as host:
        done = backfill_events(host, Reader(host, source, where), stream, size)
    if not done:
        raise click.exceptions.Exit(INTERRUPTED)


class Reader(Sender):
    """Reads a backfill: only the types it takes, queued as a backfill."""

    command = "backfill"

    def __init__(self, host: ReferenceHost, source: str, where: str) -> None:
        super().__init__(host, source, where)
        self.accepted = 0
        """Good events read, queued or already known."""

    def check(self, document: Any) -> list[FieldError]:
        return self.host.check_backfill_event(document)

    def queue(self, batch: list[dict[str, Any]]) -> list[int]:
        self.accepted += len(batch)
        return self.host.enqueue_backfill(batch, checked=True)


def backfill_events(
    host: ReferenceHost,
    reader: Reader,
    stream: Any,
    size: int | None,
    *,
    bar_console: Console | None = None,
) -> bool:
    """Resume the paused backfill, queue the events of ``stream`` and work the backfill
    until none is left; False when Ctrl-C paused it. ``bar_console``: where the progress
    bar is drawn (default: stderr when it is a terminal)."""
    status = host.status()
    name = host.display_name
    if not status.connected:
        raise CommandFailed(f"{name} is not connected: run `{PROG} connect` first; nothing queued")
    if not status.settings_saved:
        raise CommandFailed(
            f"No {name} settings are saved: run `{PROG} settings set FILE` first; nothing queued"
        )
    resumed = host.resume_backfill()
    if resumed:
        click.echo(f"Resumed the paused backfill: {plural(resumed, 'job')} left from before.")
    try:
        read_events(reader, stream, size, label="Queueing the backfill")
    except KeyboardInterrupt:
        _paused(host)
        return False
    sent = reader.sent
    known = reader.accepted - sent.queued
    if reader.accepted:
        again = f"; {known} already queued or synced, not queued again" if known else ""
        click.echo(f"Queued {plural(sent.queued, 'event')} for backfill{again}.")
    if not reader.accepted and not resumed and not sent.bad_lines:
        raise CommandFailed(f"{reader.where} holds no event")
    if not _work(host, bar_console):
        _paused(host)
        return False
    left = host.backfill_progress()
    failed = (
        f"; {left.failed} failed or waiting for a fix (`{PROG} log --status failed` says why)"
        if left.failed
        else ""
    )
    click.echo(f"Backfill done: {plural(left.closed, 'event')} synced or skipped{failed}.")
    if sent.bad_lines:
        raise CommandFailed(
            f"{plural(sent.bad_lines, 'line')} of {reader.where} skipped: nothing queued for them"
        )
    return True


def _paused(host: ReferenceHost) -> None:
    host.pause_backfill()
    left = host.backfill_progress()
    click.echo(
        f"Backfill paused with {plural(left.paused + left.remaining, 'event')} left:"
        f" run `{PROG} backfill FILE` again to resume it."
    )


def progress_text(closed: int, total: int, pace: Pace) -> str:
    """The bar's words: how far, and the estimate of the time left."""
    return f"Backfill {closed} of {total} · {time_words(pace.seconds_left(total - closed))}"


def _work(host: ReferenceHost, bar_console: Console | None) -> bool:
    """Work the queue until no backfill job is left to work; False when Ctrl-C stopped it
    (the jobs of the batch under way given back, if it was the second Ctrl-C)."""
    start = host.backfill_progress()
    if start.remaining == 0:
        return True
    declared = host.manifest().get("rate_limit")
    pace = Pace(declared if isinstance(declared, int | float) else None, clock=host.clock)
    pace.observe(start.closed + start.failed)
    shown = bar_console or (console(stderr=True) if sys.stderr.isatty() else None)
    bar = (
        None
        if shown is None
        else Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            console=shown,
        )
    )
    task = None if bar is None else bar.add_task("Backfill", total=start.total)
    stop = threading.Event()

    def on_progress(attempt: Attempt) -> None:
        now = host.backfill_progress()
        finished = now.closed + now.failed
        pace.observe(finished)
        if bar is not None and task is not None:
            bar.update(
                task,
                completed=finished,
                total=now.total,
                description=progress_text(finished, now.total, pace),
            )
        if attempt.entry.status == "failed":
            click.echo(attempt_line(attempt.entry).plain, err=True)
        if now.remaining == 0:
            stop.set()

    try:
        with stopping_on_signals(stop), bar or contextlib.nullcontext():
            summary = host.work(until_empty=True, stop=stop, on_progress=on_progress)
    except KeyboardInterrupt:
        return False
    interrupted = summary.stopped and host.backfill_progress().remaining > 0
    if summary.attempts and not interrupted:
        counted = ", ".join(
            f"{summary.statuses[name]} {name}" for name in STATUSES if summary.statuses[name]
        )
        click.echo(f"Worked {plural(summary.attempts, 'attempt')} ({counted}).")
    return not interrupted
