"""The queue: ``send`` events, ``work`` them, read the sync ``log``, ``replay`` failures."""

from __future__ import annotations

import contextlib
import math
import signal
import threading
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from types import FrameType
from typing import Any, cast

import click
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)

from fortytwomin_snov.host.cli.app import cli
from fortytwomin_snov.host.cli.options import (
    JOB_ID,
    MAX_ID,
    CommandFailed,
    chosen_store,
    open_host,
    with_database,
    with_integration,
)
from fortytwomin_snov.host.cli.output import (
    PROG,
    attempt_line,
    console,
    json_text,
    log_table,
    plural,
)
from fortytwomin_snov.host.cli.sending import send_events
from fortytwomin_snov.host.jobs import STATUSES, Attempt, Status
from fortytwomin_snov.host.reference import (
    DEFAULT_BATCH_SIZE,
    DEFAULT_LEASE,
    MAX_LEASE,
    MIN_LEASE,
    ReferenceHost,
    WorkSummary,
)


@cli.command()
@with_database
@with_integration
@click.argument("source", metavar="FILE|-")
def send(database: Path | None, integration: str | None, source: str) -> None:
    """Queue events for an integration: JSON Lines (one event a line), or one JSON event.

    Each event is checked as the integration will check it (booking-event.schema.json, then
    the plugin's own checks, such as a malformed email); a bad line is reported with its
    number and skipped, the good ones are queued in batches (the exit status is 1 if any
    was bad). A big file is read line by line, with a progress bar on a terminal.
    """
    send_events(database, integration, source)


class LeaseSeconds(click.FloatRange):
    """Seconds within :data:`MIN_LEASE` and :data:`MAX_LEASE` (a range lets NaN through)."""

    def __init__(self) -> None:
        super().__init__(min=MIN_LEASE, max=MAX_LEASE)

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> float:
        try:
            number = float(value)
        except (TypeError, ValueError):
            number = math.nan
        if math.isnan(number):
            self.fail(f"{value!r} is not a number of seconds.", param, ctx)
        seconds: float = super().convert(number, param, ctx)
        return seconds


LEASE_SECONDS = LeaseSeconds()


@cli.command()
@with_database
@click.option(
    "--integration",
    "integration",
    metavar="SLUG",
    default=None,
    help="Only this integration's jobs (default: every installed integration's).",
)
@click.option(
    "--until-empty",
    is_flag=True,
    help="Stop once no job is queued or running (default: run until Ctrl-C, as a service).",
)
@click.option(
    "--batch",
    "batch_size",
    type=click.IntRange(min=1),
    default=DEFAULT_BATCH_SIZE,
    show_default=True,
    help="People of one integration whose due jobs are handed to its plugin at once"
    " (at most 5 jobs a person on average).",
)
@click.option(
    "--lease",
    type=LEASE_SECONDS,
    default=DEFAULT_LEASE,
    show_default=True,
    metavar="SECONDS",
    help="How long a claimed job is held before another worker may take it over (renewed"
    " while this worker runs it): a killed worker's jobs come back after it.",
)
def work(
    database: Path | None,
    integration: str | None,
    until_empty: bool,
    batch_size: int,
    lease: float,
) -> None:
    """Sync queued events, each integration under its service's limits.

    Ctrl-C (or SIGTERM) stops after the batch under way; a second Ctrl-C stops at once and
    gives its jobs back to the queue.
    """
    host = (
        open_host(database, integration)
        if integration
        else ReferenceHost(database, store=chosen_store())
    )
    host.batch_size = batch_size
    host.lease = lease
    with host:
        summary = work_with_progress(host, until_empty=until_empty)
        after_work(host, summary)


def work_with_progress(host: ReferenceHost, *, until_empty: bool) -> WorkSummary:
    """Work the queue with a progress bar; Ctrl-C and SIGTERM stop it cleanly."""
    resumed = host.resume_unlocked()
    if resumed:
        click.echo(
            f"The saved secret opens again: {plural(resumed, 'job')} waiting for it"
            f" {'is' if resumed == 1 else 'are'} queued again."
        )
    for slug, parked in host.park_unconnected().items():
        click.echo(
            f"{host.for_integration(slug).display_name} is not connected:"
            f" {plural(parked, 'job')} wait{'s' if parked == 1 else ''} until you connect"
            f" (`{PROG} connect`)."
        )
    counts, _ = host.queue_counts()
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
        console=console(stderr=True),
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
        counts, _ = host.queue_counts()
        progress.update(
            task,
            completed=closed,
            total=closed + counts["queued"] + counts["running"],
            description=" · ".join(f"{name} {tally[name]}" for name in STATUSES) + until,
        )
        if entry.status in ("deferred", "failed"):
            progress.console.print(attempt_line(entry))

    with stopping_on_signals(stop), progress:
        return host.work(until_empty=until_empty, stop=stop, on_progress=on_progress)


@contextlib.contextmanager
def stopping_on_signals(stop: threading.Event) -> Iterator[None]:
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


def after_work(host: ReferenceHost, summary: WorkSummary) -> None:
    """What the run did, and what is left in the queue."""
    if summary.attempts:
        done = ", ".join(
            f"{summary.statuses[status]} {status}"
            for status in STATUSES
            if summary.statuses[status]
        )
        verb = "Stopped after" if summary.stopped else "Done:"
        click.echo(f"{verb} {plural(summary.attempts, 'attempt')} ({done}).")
    elif summary.stopped:
        click.echo("Stopped.")
    counts, parked = host.queue_counts()
    left: list[str] = []
    if counts["queued"] or counts["running"]:
        left.append(f"{counts['queued'] + counts['running']} queued (`{PROG} work` runs them)")
    for blocker, number in parked.items():
        if number:
            left.append(f"{number} waiting for {blocker} (they run again once that is fixed)")
    paused = sum(
        host.for_integration(slug).backfill_progress().paused for slug in host.worked_integrations()
    )
    if paused:
        left.append(f"{paused} of a paused backfill (`{PROG} backfill FILE` resumes it)")
    if counts["failed"]:
        left.append(
            f"{counts['failed']} failed (`{PROG} log --status failed` says why;"
            f" `{PROG} replay` queues them again)"
        )
    if left:
        click.echo("Jobs left: " + "; ".join(left) + ".")


@cli.command()
@with_database
@with_integration
@click.option(
    "--status",
    "statuses",
    type=click.Choice(STATUSES),
    multiple=True,
    help="Only entries with this status (repeat for several).",
)
@click.option("--limit", type=click.IntRange(min=1, max=MAX_ID), default=50, show_default=True)
@click.option("--job", "job_id", type=JOB_ID, help="Only this job's attempts.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON Lines, one entry a line.")
def log(
    database: Path | None,
    integration: str | None,
    statuses: tuple[str, ...],
    limit: int,
    job_id: int | None,
    as_json: bool,
) -> None:
    """An integration's sync log: one entry per attempt, newest first."""
    with open_host(database, integration) as host:
        entries = host.sync_log(
            status=cast("list[Status]", list(statuses)) or None,  # click.Choice checked them
            limit=limit,
            job_id=job_id,
        )
    if as_json:
        for entry in entries:
            click.echo(json_text(entry.to_json()))
        return
    if not entries:
        click.echo("The sync log has no entries" + (" with that status." if statuses else "."))
        return
    console().print(log_table(entries, title="Sync log (newest first)"))


@cli.command()
@with_database
@with_integration
@click.argument("job_ids", nargs=-1, type=JOB_ID, metavar="[JOB_ID]...")
def replay(database: Path | None, integration: str | None, job_ids: tuple[int, ...]) -> None:
    """Queue an integration's failed jobs again: all of them, or those named.

    A named job may also be one parked until a connection or settings fix."""
    with open_host(database, integration) as host:
        queued = host.replay(list(job_ids) if job_ids else None)
        refused = [(number, host.job(number)) for number in job_ids if number not in queued]
    if queued:
        click.echo(
            f"Queued again: {plural(len(queued), 'job')} ({', '.join(map(str, queued))})."
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
