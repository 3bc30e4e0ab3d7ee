"""The contract's error tree: what a host catches from the hooks that document it.

Every error a plugin raises descends from :class:`IntegrationError`, whose message is
written for an admin and never contains a secret. A plugin adds its own service's
errors below the root; a host needs only these.
"""

from __future__ import annotations

from typing import TypedDict


class IntegrationError(Exception):
    """Root of every error the plugin raises. ``str(error)`` is safe to show an admin."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class PermissionDenied(IntegrationError):
    """The actor may not do this (connecting is for owners and admins only)."""


class InvalidCredentials(IntegrationError):
    """The API user ID or API secret is blank, malformed, or rejected by Snov.io."""


class FieldError(TypedDict):
    """One problem in a submitted document: where (a JSON pointer) and why."""

    pointer: str
    message: str


class InvalidSettings(IntegrationError):
    """A settings document failed validation. ``errors`` lists every problem at once."""

    def __init__(self, errors: list[FieldError], message: str | None = None) -> None:
        self.errors = list(errors)
        if message is None:
            count = len(self.errors)
            first = self.errors[0] if self.errors else None
            detail = f": {first['pointer'] or '/'}: {first['message']}" if first else ""
            more = f" (and {count - 1} more)" if count > 1 else ""
            message = f"The settings are not valid{detail}{more}"
        super().__init__(message)


class InvalidRequest(IntegrationError):
    """A hook was called with arguments the plugin cannot act on (unknown action, bad params)."""


class ConfigurationError(IntegrationError, ValueError):
    """The host's environment configures the plugin wrongly (a bad API address, rate limit
    or timeout in its environment variables). For whoever runs the host, not the admin."""


class StoreUnavailable(IntegrationError):
    """The shared store (``host.store``) could not be reached; try again later.

    Raised by a :class:`~fortytwomin_snov.contract.store.Store` backed by a server (such
    as Redis) when that server is down, unreachable, too slow or refuses the connection.
    The message never contains the server's password.
    """
