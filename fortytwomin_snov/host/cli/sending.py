"""How ``send`` (and ``backfill``) read events: JSON Lines streamed line by line, each
event checked as the plugin will check it, queued in batches; or one event written over
several lines.

Memory stays bounded on a big file: a line is read, checked and put in a batch of
:data:`BATCH_SIZE`, and each batch is queued in one transaction. A progress bar shows on
stderr when it is a terminal. Input that is not JSON Lines is one clear error: a JSON
array, or JSON objects pretty-printed over several lines.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import click
from rich.progress import (
    BarColumn,
    Progress,
    SpinnerColumn,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
)

from fortytwomin_snov.contract.errors import FieldError
from fortytwomin_snov.host.cli.options import (
    CommandFailed,
    TooDeep,
    json_problem,
    load_json,
    open_host,
)
from fortytwomin_snov.host.cli.output import PROG, console, plural, visible
from fortytwomin_snov.host.reference import ReferenceHost

BATCH_SIZE = 500
"""Events queued per transaction: few commits, and little held in memory."""


@dataclass
class Sent:
    """What a run of ``send`` did."""

    queued: int = 0
    first_job: int | None = None
    last_job: int | None = None
    contiguous: bool = True
    bad_lines: int = 0
    batch: list[dict[str, Any]] = field(default_factory=list)

    def note_jobs(self, ids: list[int]) -> None:
        for job_id in ids:
            if self.last_job is not None and job_id != self.last_job + 1:
                self.contiguous = False
            self.first_job = job_id if self.first_job is None else self.first_job
            self.last_job = job_id
        self.queued += len(ids)

    def jobs(self) -> str:
        if self.queued == 1:
            return f"job {self.first_job}"
        if self.contiguous:
            return f"jobs {self.first_job}-{self.last_job}"
        return f"jobs {self.first_job} to {self.last_job}"


@contextmanager
def opened(source: str) -> Iterator[tuple[IO[bytes], str, int | None]]:
    """The bytes of FILE (or stdin for ``-``), how to name it, and its size if known."""
    if source == "-":
        yield sys.stdin.buffer, "stdin", None
        return
    path = Path(source)
    try:
        stream = path.open("rb")
    except OSError as error:
        raise CommandFailed(f"Cannot read {source}: {error.strerror or error}") from None
    with stream:
        try:
            size: int | None = path.stat().st_size
        except OSError:
            size = None
        yield stream, source, size


def _decoded(raw: bytes, number: int) -> str:
    text = raw.decode("utf-8")
    return text.removeprefix("\ufeff") if number == 1 else text


def _array_error(source: str, command: str) -> CommandFailed:
    named = "FILE" if source == "-" else source
    return CommandFailed(
        f"{command} takes JSON Lines: one event per line; this is a JSON array:"
        f" `jq -c '.[]' {named} | {PROG} {command} -`"
    )


def _continues(line: str, error: json.JSONDecodeError) -> bool:
    """Whether a line that is not JSON is the start of a document written over several
    lines (it ends before the document does), rather than a broken line."""
    return error.pos >= len(line.rstrip())


def _report(number: int, problems: list[FieldError]) -> None:
    said = "; ".join(
        f"{problem['pointer'] or '/'}: {problem['message'].rstrip('.')}" for problem in problems
    )
    click.echo(visible(f"line {number}: {said}."), err=True)


def _problem(text: str) -> list[FieldError]:
    return [FieldError(pointer="", message=text)]


class Sender:
    """Checks and queues the events of one input through ``host``."""

    command = "send"
    """The command reading, as messages name it."""

    def __init__(self, host: ReferenceHost, source: str, where: str) -> None:
        self.host = host
        self.source = source
        self.where = where
        self.sent = Sent()

    def check(self, document: Any) -> list[FieldError]:
        """What keeps an event from being queued."""
        return self.host.check_event(document)

    def queue(self, batch: list[dict[str, Any]]) -> list[int]:
        """Queue checked events; the ids of the jobs queued."""
        return self.host.enqueue_many(batch, checked=True)

    def take(self, number: int, document: Any) -> None:
        """One parsed event: queued (in the next batch) or reported."""
        if isinstance(document, list):
            raise _array_error(self.source, self.command)
        problems = self.check(document)
        if problems:
            self.sent.bad_lines += 1
            _report(number, problems)
            return
        self.sent.batch.append(document)
        if len(self.sent.batch) >= BATCH_SIZE:
            self.flush()

    def bad(self, number: int, text: str) -> None:
        self.sent.bad_lines += 1
        click.echo(visible(f"line {number}: {text}"), err=True)

    def flush(self) -> None:
        if self.sent.batch:
            self.sent.note_jobs(self.queue(self.sent.batch))
            self.sent.batch = []

    def line(self, number: int, line: str) -> None:
        """One line of JSON Lines."""
        if not line.strip():
            return
        try:
            document = load_json(line)
        except json.JSONDecodeError as error:
            self.bad(number, json_problem(error, one_line=True))
        except TooDeep as error:
            self.bad(number, str(error))
        else:
            self.take(number, document)

    def whole(self, number: int, text: str) -> None:
        """Input whose first line is the start of a document over several lines: one
        event, or an error said once for the whole input."""
        try:
            document = load_json(text)
        except TooDeep as error:
            raise CommandFailed(f"{self.where} is {error}: nothing queued") from None
        except json.JSONDecodeError as error:
            decoder = json.JSONDecoder()
            start = len(text) - len(text.lstrip())
            try:
                _, end = decoder.raw_decode(text, start)
            except json.JSONDecodeError:
                lines = [line for line in text.splitlines() if line.strip()]
                if len(lines) > 1 and _parses(lines[1]):
                    # JSON Lines with a broken first line: report it, take the rest.
                    for offset, line in enumerate(text.splitlines()):
                        self.line(number + offset, line)
                    return
                raise CommandFailed(f"{self.where} is {json_problem(error)}") from None
            if text[end:].strip():
                named = "FILE" if self.source == "-" else self.source
                raise CommandFailed(
                    f"{self.where} holds JSON objects written over several lines:"
                    f" {self.command} takes JSON Lines, one event per line"
                    f" (`jq -c . {named} | {PROG} {self.command} -`)"
                ) from None
            raise CommandFailed(f"{self.where} is {json_problem(error)}") from None
        self.take(number, document)


def _parses(line: str) -> bool:
    try:
        load_json(line)
    except (json.JSONDecodeError, TooDeep):
        return False
    return True


def _progress(label: str) -> Progress | None:
    if not sys.stderr.isatty():
        return None
    return Progress(
        SpinnerColumn(),
        TextColumn(label),
        BarColumn(),
        TaskProgressColumn(),
        TextColumn("{task.fields[queued]} queued"),
        TimeElapsedColumn(),
        console=console(stderr=True),
        transient=True,
    )


def send_events(database: Path | None, integration: str | None, source: str) -> None:
    """The ``send`` command (see its help)."""
    with opened(source) as (stream, where, size), open_host(database, integration) as host:
        sender = Sender(host, source, where)
        read_events(sender, stream, size, label="Sending events")
    summary(sender.sent, where)


def read_events(sender: Sender, stream: IO[bytes], size: int | None, *, label: str) -> None:
    """Every event of ``stream`` through ``sender``, and its last batch queued; a progress
    bar of the bytes read on a terminal's stderr."""
    where = sender.where
    progress = _progress(label)
    task = progress.add_task(label, total=size, queued=0) if progress else None
    done = 0
    with progress or _nothing():
        lines = iter(stream)
        number = 0
        started = False
        for raw in lines:
            number += 1
            done += len(raw)
            try:
                line = _decoded(raw, number)
            except UnicodeDecodeError:
                sender.bad(number, "not UTF-8 text")
                continue
            if not started and line.strip():
                started = True
                if _starts_document(line):
                    rest = b"".join(lines)
                    try:
                        text = line + rest.decode("utf-8")
                    except UnicodeDecodeError:
                        raise CommandFailed(f"{where} is not UTF-8 text") from None
                    sender.whole(number, text)
                    break
            sender.line(number, line)
            if progress is not None and task is not None and number % 200 == 0:
                progress.update(task, completed=done, queued=sender.sent.queued)
        sender.flush()


def _starts_document(line: str) -> bool:
    """The first line opens a JSON document it does not close."""
    try:
        load_json(line)
    except json.JSONDecodeError as error:
        return _continues(line, error)
    except TooDeep:
        return False
    return False


@contextmanager
def _nothing() -> Iterator[None]:
    yield


def summary(sent: Sent, where: str) -> None:
    if sent.queued:
        click.echo(
            f"Queued {plural(sent.queued, 'event')} ({sent.jobs()})."
            f" Run `{PROG} work` to sync {'it' if sent.queued == 1 else 'them'}."
        )
    if sent.bad_lines:
        raise CommandFailed(
            f"{plural(sent.bad_lines, 'line')} of {where} skipped: nothing queued for them"
        )
    if not sent.queued:
        raise CommandFailed(f"{where} holds no event")
