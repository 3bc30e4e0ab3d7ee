"""What the Snov.io plugin adds to the reference host's CLI (its ``register_commands`` hook):
``demo``, the whole flow narrated against a local Snov.io emulator, and ``emulator``, that
emulator on its own. Imported only when the reference host asks, so the plugin itself
never needs click."""

from __future__ import annotations

import contextlib
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import click
from rich import box
from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from fortytwomin_snov import SLUG
from fortytwomin_snov.demo import (
    DEMO_ACTOR,
    DEMO_LIST_NAME,
    RATE_LIMIT_ENV,
    SNOV_RATE_LIMIT,
    DemoEnvironment,
    DemoEvent,
    DemoNarrator,
    DemoProspect,
    demo_environment,
    demo_prospects,
    require_fresh,
    run_demo,
)
from fortytwomin_snov.host.cli.options import DatabaseLocation
from fortytwomin_snov.host.cli.output import (
    PROG,
    ByWidth,
    console,
    log_table,
    plural,
    print_json,
    step,
)
from fortytwomin_snov.host.cli.queue import after_work, work_with_progress
from fortytwomin_snov.host.reference import ReferenceHost, WorkSummary
from fortytwomin_snov.host.secrets import KEY_ENV


def register(cli: click.Group) -> None:
    cli.add_command(demo)
    cli.add_command(emulator)


@click.command(
    add_help_option=False,  # --help belongs to the emulator's own options
    context_settings={"ignore_unknown_options": True, "allow_extra_args": True},
)
@click.pass_context
def emulator(context: click.Context) -> None:
    """Run the local Snov.io emulator (emulator --help for its options)."""
    from fortytwomin_snov.testing.cli import main as emulator_main

    sys.exit(emulator_main(list(context.args)))


class _Narrator(DemoNarrator):
    """Tells each step of the demo on the terminal."""

    def __init__(self, key_source: str) -> None:
        self._key_source = key_source

    def step(self, title: str) -> None:
        step(title)

    def connected(self, record: Mapping[str, Any]) -> None:
        click.echo(
            f"Connected: API user ID {record.get('api_user_id')}, by"
            f" {record.get('connected_by')} ({DEMO_ACTOR['role']}). The secret is stored"
            f" encrypted, with the key in {self._key_source}."
        )

    def lists(self, form: Mapping[str, Any]) -> None:
        properties = (form.get("schema") or {}).get("properties") or {}
        options = (properties.get("target_list_id") or {}).get("oneOf") or []
        table = Table(box=box.SIMPLE_HEAD)
        table.add_column("ID", justify="right")
        table.add_column("List")
        for option in options:
            if isinstance(option, dict) and option.get("const") is not None:
                table.add_row(str(option["const"]), str(option.get("title", option["const"])))
        console().print(table)

    def list_created(self, created: Mapping[str, Any]) -> None:
        click.echo(f'Created "{created["name"]}" (ID {created["id"]}): a plain list, no campaign.')

    def settings_saved(self, document: Mapping[str, Any], warnings: Sequence[str]) -> None:
        print_json(document)
        click.echo(
            "Target list: the new list · Lifecycle status field: Meeting status · Host email"
            " field: Host email · Routing forms: on · Booking question 'company' →"
            " prospect.company · Routing-form field 'employees' → the custom field Company"
            " size. The plugin put back the locked email, name and phone rows."
        )
        for warning in warnings:
            click.echo(f"Warning: {warning}")

    def events_queued(self, burst: Sequence[DemoEvent]) -> None:
        for number, item in enumerate(burst, 1):
            event = item.event
            click.echo(f"{number:>2}. {event['type']:<22} {event['id']:<12} {item.shows}")

    def work(self, host: ReferenceHost) -> WorkSummary:
        return work_with_progress(host, until_empty=True)

    def worked(self, host: ReferenceHost, summary: WorkSummary, calls: int) -> None:
        after_work(host, summary)
        click.echo(f"That took {plural(calls, 'Snov.io API call')}. {at_snov_limit(calls)}")


def at_snov_limit(calls: int) -> str:
    """How long ``calls`` requests take at Snov.io's own limit: a rolling window lets the
    first ``SNOV_RATE_LIMIT`` of any minute leave at once, and request k at ⌊k / limit⌋
    minutes."""
    if calls <= SNOV_RATE_LIMIT:
        return (
            f"At Snov.io's own limit ({SNOV_RATE_LIMIT} requests in any minute) they would all"
            " leave at once too."
        )
    return (
        f"At Snov.io's own limit ({SNOV_RATE_LIMIT} requests in any minute) the first"
        f" {SNOV_RATE_LIMIT} would leave at once and the last after about"
        f" {plural((calls - 1) // SNOV_RATE_LIMIT, 'minute')}: a little behind, never lost."
    )


@click.command()
@click.option(
    "--db",
    "database",
    type=DatabaseLocation(),
    default=None,
    help="Keep the demo's database here: a new SQLite file, or an empty postgresql:// database"
    f" (with the key in ${KEY_ENV}) (default: a temporary file, removed afterwards).",
)
@click.option(
    "--store",
    metavar="database|URL",
    default=None,
    help="The plugin's shared store: 'database' (the default: in the demo's database) or a"
    " redis:// URL, as the workers of a fleet share it.",
)
def demo(database: str | Path | None, store: str | None) -> None:
    """Run the whole Snov.io flow against a local emulator, in seconds.

    Connects with demo keys, creates a list, saves settings, sends a burst of bookings,
    cancels, reschedules, no-shows and routing-form submissions, works the queue, and
    prints the sync log and the prospects now in the list. Nothing leaves this machine.
    """
    started = time.monotonic()
    with contextlib.ExitStack() as stack:
        location: str | Path
        if database is None:
            folder = stack.enter_context(tempfile.TemporaryDirectory(prefix="fortytwomin-snov-"))
            location = Path(folder) / "host.db"
        else:
            location = database
        host = stack.enter_context(ReferenceHost(location, integration=SLUG, store=store))
        require_fresh(host)
        step("Start the Snov.io emulator")
        environment = stack.enter_context(demo_environment())
        _tell_environment(environment, host, temporary=database is None)
        key_source = f"{host.path.name}.key" if host.path is not None else f"${KEY_ENV}"
        result = run_demo(host, environment, _Narrator(key_source))

        step("The sync log")
        entries = host.sync_log(limit=None)
        console().print(log_table(list(reversed(entries)), title="Sync log (oldest first)"))

        step(f'The prospects now in "{DEMO_LIST_NAME}"')
        console().print(_prospect_table(demo_prospects(environment, result.list_id)))
    click.echo(
        f"\nFinished in {time.monotonic() - started:.1f} s. To try the commands yourself:"
        f" `{PROG} emulator --seed-demo` in one terminal; in another, point the plugin at it"
        f" (FORTYTWOMIN_SNOV_API_BASE) and run `{PROG} connect`, `choices target_list_id`,"
        " `settings set`, `send`, `work` and `log`."
    )


def _tell_environment(
    environment: DemoEnvironment, host: ReferenceHost, *, temporary: bool
) -> None:
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
    # ``shown``: a PostgreSQL URL without its password.
    click.echo(f"Database: {host.database.shown}" + (" (temporary)" if temporary else ""))
    # The store's class, never its URL (which may hold a password).
    click.echo(f"Shared store: {type(host.store).__name__}")


PROSPECT_TABLE_WIDTH = 120
"""Below this many columns the prospects are listed one per block: as a table, their
emails would be cut."""


def _prospect_table(prospects: Sequence[DemoProspect]) -> ByWidth:
    emails = max((len(prospect.email) for prospect in prospects), default=0)
    hosts = max((len(prospect.host_email) for prospect in prospects), default=0)
    # The emails are kept on one line each; the other four columns need some 70 columns.
    return ByWidth(
        lambda: _prospect_grid(prospects, emails, hosts),
        lambda: _prospect_stack(prospects),
        at=max(PROSPECT_TABLE_WIDTH, emails + hosts + 70),
    )


def _prospect_grid(prospects: Sequence[DemoProspect], emails: int, hosts: int) -> Table:
    table = Table(box=box.SIMPLE_HEAD)
    widths = {"Email": emails, "Host email": hosts}
    for column in ("Email", "Name", "Company", "Meeting status", "Host email", "Company size"):
        table.add_column(column, overflow="fold", min_width=widths.get(column))
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


def _prospect_stack(prospects: Sequence[DemoProspect]) -> Group:
    lines: list[RenderableType] = []
    for prospect in prospects:
        lines.append(Text(prospect.email, style="bold", overflow="fold"))
        for title, value in (
            ("Name", prospect.name),
            ("Company", prospect.company),
            ("Meeting status", prospect.meeting_status),
            ("Host email", prospect.host_email),
            ("Company size", prospect.company_size),
        ):
            lines.append(Text(f"  {title}: {value or '-'}", overflow="fold"))
    return Group(*lines)
