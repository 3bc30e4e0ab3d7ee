"""The ``fortytwomin-snov`` command group, its entry point and its error handling.

Each command opens the host's database (``--db PATH``, else ``$FORTYTWOMIN_SNOV_DB``, else
:func:`~fortytwomin_snov.host.database.default_database_path`) through
:class:`~fortytwomin_snov.host.reference.ReferenceHost` and drives the integration plugins
as the 42min host does. Installed plugins may add commands through the reference host's
``register_commands`` hook (:mod:`fortytwomin_snov.host.hookspecs`).

Every error a user can cause ends in :func:`main`: one line on stderr (a document's
problems follow it, one line per field) and a non-zero exit, never a traceback.
"""

from __future__ import annotations

import logging
import sqlite3
import sys
from collections.abc import Sequence

import click

from fortytwomin_snov.contract.errors import IntegrationError
from fortytwomin_snov.host.cli.output import PROG, field_lines, one_line, print_json, visible
from fortytwomin_snov.host.plugins import load_plugin_manager

LOGGER_NAME = "fortytwomin_snov"


def help_without_command(context: click.Context) -> None:
    # Help on stdout with status 0, the same with every click version.
    if context.invoked_subcommand is None:
        click.echo(context.get_help())


def _log_to_stderr(verbosity: int) -> None:
    """-v: the package's INFO messages on stderr; -vv: DEBUG too."""
    if verbosity <= 0:
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    logger = logging.getLogger(LOGGER_NAME)
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG if verbosity > 1 else logging.INFO)


@click.group(context_settings={"help_option_names": ["-h", "--help"]}, invoke_without_command=True)
@click.version_option(package_name="fortytwomin-snov")
@click.option(
    "-v",
    "--verbose",
    count=True,
    help="Log what the plugins do on stderr (-v: INFO, -vv: DEBUG).",
)
@click.pass_context
def cli(context: click.Context, verbose: int) -> None:
    """The 42min reference host: connect integrations, save their settings, queue booking
    events and sync them, on this machine.

    Try `fortytwomin-snov demo`, if the installed plugin offers one.
    """
    _log_to_stderr(verbose)
    help_without_command(context)


@cli.command()
def info() -> None:
    """Print what the installed plugins declare.

    The plugins are loaded through their entry points, as a host loads them."""
    manager = load_plugin_manager()
    plugins = sorted(name for name, _ in manager.list_name_plugin())
    manifests = manager.hook.integration_manifest()
    print_json({"plugins": plugins, "manifests": manifests})


_plugin_commands_added = False


def add_plugin_commands() -> None:
    """Let every installed plugin add its commands (once per process)."""
    global _plugin_commands_added
    if _plugin_commands_added:
        return
    _plugin_commands_added = True
    load_plugin_manager().hook.register_commands(cli=cli)


def main(argv: Sequence[str] | None = None) -> None:
    """Run the CLI; every error a user can cause ends here as one line and exit status."""
    try:
        add_plugin_commands()
        code = cli.main(
            args=list(argv) if argv is not None else None,
            prog_name=PROG,
            standalone_mode=False,
        )
    except click.ClickException as error:
        _fail(error.format_message(), getattr(error, "details", []), error.exit_code, error)
    except IntegrationError as error:
        details = getattr(error, "errors", [])
        _fail(str(error), field_lines(details) if isinstance(details, list) else [], 1)
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
    click.echo(f"Error: {visible(one_line(message))}{hint}", err=True)
    for line in details:
        click.echo(f"  {visible(one_line(line))}", err=True)
    sys.exit(code)
