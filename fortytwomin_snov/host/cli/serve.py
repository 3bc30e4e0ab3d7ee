"""``serve``: the admin pages on 127.0.0.1 (:mod:`fortytwomin_snov.host.web_server`)."""

from __future__ import annotations

from pathlib import Path

import click

from fortytwomin_snov.host.cli.app import cli
from fortytwomin_snov.host.cli.options import chosen_store, with_database

SERVE_PORT = 8042


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
    help="Run the integration's demo (if its plugin offers one) on a temporary database (or"
    " a new --db file): connected, settings saved, some events synced.",
)
@click.option(
    "--integration",
    "integration",
    metavar="SLUG",
    default=None,
    help="Whose demo --demo runs (default: the only integration installed). The pages serve"
    " every installed integration.",
)
@click.option(
    "--worker/--no-worker",
    default=True,
    show_default=True,
    help="Also work the queue in the background, so a replay from the Sync log page runs at once.",
)
def serve(
    database: str | Path | None, port: int, demo: bool, integration: str | None, worker: bool
) -> None:
    """Serve the admin pages on 127.0.0.1: Integrations, Connect, Settings, Sync log, Disconnect.

    The front end (frontend/, React and react-jsonschema-form) is built with npm first if
    needed. Ctrl-C stops the server."""
    from fortytwomin_snov.host.web_server import serve as serve_pages

    serve_pages(
        database,
        port=port,
        demo=demo,
        integration=integration,
        worker=worker,
        echo=click.echo,
        store=chosen_store(),
    )
