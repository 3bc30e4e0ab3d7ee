# mypy: disable-error-code="empty-body"
# Hookspecs are signatures with documentation; pluggy never calls their bodies.
"""The reference host's own hooks, beside the contract's: what a plugin may add to this host.

They share the contract's pluggy project (``fortytwomin``) and PluginManager, so a plugin
implements them in the module its entry point names. A real 42min host knows nothing of
them: a plugin marks its implementations ``optionalhook=True``, so that a host without these
specs still loads it.

- :func:`register_commands`: extra ``fortytwomin-snov`` commands (as llm's hook of the same
  name), for example a local emulator of the service.
- :func:`demo_session`: what ``serve --demo`` runs, so that the admin pages have something
  to show without a real account.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING

import pluggy

from fortytwomin_snov.contract.hookspecs import PROJECT_NAME

if TYPE_CHECKING:
    import click

    from fortytwomin_snov.host.reference import ReferenceHost

hookspec = pluggy.HookspecMarker(PROJECT_NAME)

Echo = Callable[[str], None]


@hookspec
def register_commands(cli: click.Group) -> None:
    """Add commands to the reference host's CLI (``cli.command()`` or ``cli.add_command``).

    Called once, before the command line is parsed, for every installed plugin.
    """


@hookspec(firstresult=True)
def demo_session(
    integration: str, host: ReferenceHost, echo: Echo
) -> AbstractContextManager[None] | None:
    """The demo of ``integration`` on a database of its own, or None if it is not ours.

    Args:
        integration: the slug the admin asked a demo of.
        host: a :class:`~fortytwomin_snov.host.reference.ReferenceHost` for that slug, on a
            fresh database.
        echo: where to print what the admin should know (one line a call).

    Returns:
        A context manager that, entered, starts whatever the demo needs (an emulator of
        the service, on this machine), fills ``host``: connected, settings saved, some
        events synced, and echoes how to connect again by hand; exited, stops it. Errors a
        user can cause are ``IntegrationError`` subclasses.
    """
