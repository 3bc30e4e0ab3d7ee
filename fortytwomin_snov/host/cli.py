"""The reference host's command line: ``fortytwomin-snov``."""

from __future__ import annotations

import json
import sys
from typing import Any

import click

from fortytwomin_snov.host.plugins import load_plugin_manager


def _print_json(document: Any) -> None:
    click.echo(json.dumps(document, indent=2, ensure_ascii=False))


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="fortytwomin-snov")
def cli() -> None:
    """The 42min reference host for the Snov.io integration plugin."""


@cli.command()
def info() -> None:
    """Load the installed plugins through their entry points and print what they declare."""
    manager = load_plugin_manager()
    plugins = sorted(name for name, _ in manager.list_name_plugin())
    manifests = manager.hook.integration_manifest()
    _print_json({"plugins": plugins, "manifests": manifests})


@cli.command(
    add_help_option=False,  # --help belongs to the emulator's own options
    context_settings={"ignore_unknown_options": True, "allow_extra_args": True},
)
@click.pass_context
def emulator(context: click.Context) -> None:
    """Run the local Snov.io emulator in the foreground (emulator --help for its options)."""
    from fortytwomin_snov.testing.cli import main as emulator_main

    sys.exit(emulator_main(list(context.args)))


def main() -> None:
    cli()
