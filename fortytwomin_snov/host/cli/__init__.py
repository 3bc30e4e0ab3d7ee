"""The reference host's command line: ``fortytwomin-snov`` (``python -m`` this package).

- :mod:`.app`: the command group, :func:`main`, error handling and ``-v`` logging;
- :mod:`.admin`: connect, disconnect, status, schema, settings, choices, action;
- :mod:`.queue`: send, work, log, replay;
- :mod:`.backfill`: backfill, the events from before an integration was connected;
- :mod:`.questions`: the labels of the host's form questions;
- :mod:`.serve`: the admin pages;
- :mod:`.users`: who may sign in to them;
- :mod:`.options` and :mod:`.output`: what the commands share.

Plugins add commands of their own through the ``register_commands`` hook.
"""

from fortytwomin_snov.host.cli import admin, backfill, questions, queue, serve, users
from fortytwomin_snov.host.cli.app import cli, main

__all__ = ["admin", "backfill", "cli", "main", "questions", "queue", "serve", "users"]
