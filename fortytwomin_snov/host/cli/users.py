"""``users``: who may sign in to the admin pages (:mod:`fortytwomin_snov.host.users`).

``users add``, ``users list``, ``users remove`` and ``users login``, which prints a one-time
sign-in link for the server ``serve`` runs.
"""

from __future__ import annotations

import time
from pathlib import Path
from urllib.parse import urlsplit

import click

from fortytwomin_snov.host import users as accounts
from fortytwomin_snov.host.cli.app import cli, help_without_command
from fortytwomin_snov.host.cli.options import CommandFailed, with_database
from fortytwomin_snov.host.cli.output import local_time, print_json
from fortytwomin_snov.host.database import default_database_path, open_database
from fortytwomin_snov.host.dialect import HostDatabase

DEFAULT_URL = "http://127.0.0.1:8042"


def _open(database: str | Path | None) -> HostDatabase:
    return open_database(database if database is not None else default_database_path())


@cli.group(invoke_without_command=True)
@click.pass_context
def users(context: click.Context) -> None:
    """Who may sign in to the admin pages (`serve`), and their role.

    Owners and admins may change everything; members may only look. Nobody has a
    password: `users login EMAIL` prints a one-time sign-in link."""
    help_without_command(context)


@users.command("add")
@click.argument("email")
@click.option(
    "--role",
    type=click.Choice(accounts.ROLES),
    default="member",
    show_default=True,
    help="owner and admin may change the integrations; member may only look.",
)
@with_database
def add(email: str, role: str, database: str | Path | None) -> None:
    """Add a user who may sign in to the admin pages."""
    with _open(database) as db:
        user = accounts.add_user(db, email, role, now=time.time())
    click.echo(f"Added {user.email} ({user.role}). Sign in with `users login {user.email}`.")


@users.command("list")
@click.option("--json", "as_json", is_flag=True, help="One JSON document.")
@with_database
def list_(as_json: bool, database: str | Path | None) -> None:
    """List the users and their roles."""
    with _open(database) as db:
        found = accounts.list_users(db)
    if as_json:
        print_json([user.to_json() | {"created_at": user.created_at} for user in found])
        return
    if not found:
        click.echo("No users yet: add an owner with `users add EMAIL --role owner`.")
        return
    width = max(len(user.email) for user in found)
    for user in found:
        click.echo(f"{user.email:<{width}}  {user.role:<6}  added {local_time(user.created_at)}")


@users.command("remove")
@click.argument("email")
@with_database
def remove(email: str, database: str | Path | None) -> None:
    """Remove a user: their sign-in links and sessions stop working at once."""
    with _open(database) as db:
        user = accounts.remove_user(db, email)
    click.echo(f"Removed {user.email} ({user.role}).")


def _base_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.path not in ("", "/"):
        raise CommandFailed(f"--url takes the server's address, like {DEFAULT_URL}, not {url!r}")
    return f"{parts.scheme}://{parts.netloc}"


@users.command("login")
@click.argument("email")
@click.option(
    "--url",
    default=DEFAULT_URL,
    show_default=True,
    help="The address `serve` prints (another --port, another address).",
)
@click.option(
    "--next",
    "next_path",
    metavar="PATH",
    default=None,
    help="The page to open once signed in (a path such as /integrations).",
)
@with_database
def login(email: str, url: str, next_path: str | None, database: str | Path | None) -> None:
    """Print a one-time sign-in link to the admin pages for EMAIL.

    The link works once, for 15 minutes. Anyone who has it can sign in as EMAIL: open it
    yourself, never share it."""
    base = _base_url(url)
    with _open(database) as db:
        link = accounts.issue_link(db, email, base, now=time.time(), next_path=next_path)
    click.echo(link)
    minutes = int(accounts.LINK_LIFETIME // 60)
    click.echo(
        f"Open it in your browser: it signs you in once, within {minutes} minutes.", err=True
    )
