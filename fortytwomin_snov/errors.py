"""The one error tree of the plugin.

Every error the plugin raises descends from :class:`IntegrationError`, whose message
is written for an admin and never contains a secret. Hosts catch the contract errors
(``PermissionDenied``, ``InvalidCredentials``, ``InvalidSettings``, ``InvalidRequest``)
from hooks that document them; the Snov.io errors (``SnovError`` and below) are raised
by the API client and turned into sync outcomes before they reach a host.

The tree lives at the package root, not in ``host/``, so that the Snov.io client can
use it without knowing anything about the host.
"""

from __future__ import annotations

from typing import TypedDict


class IntegrationError(Exception):
    """Root of every error the plugin raises. ``str(error)`` is safe to show an admin."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


# ---- the host contract -------------------------------------------------------------


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


# ---- Snov.io -----------------------------------------------------------------------


class SnovError(IntegrationError):
    """Snov.io could not do what was asked. Raised by :mod:`fortytwomin_snov.snov`."""

    def __init__(self, message: str, *, status_code: int | None = None) -> None:
        super().__init__(message)
        self.status_code = status_code


class CredentialsRejected(SnovError, InvalidCredentials):
    """Snov.io rejected the API user ID and secret (or a token made from them)."""


class RateLimited(SnovError):
    """Snov.io's rate limit (or our share of it) is spent; try again in ``retry_after`` seconds."""

    def __init__(self, message: str, *, retry_after: float, status_code: int | None = None) -> None:
        super().__init__(message, status_code=status_code)
        self.retry_after = retry_after


class ListNotFound(SnovError):
    """The prospect list does not exist in the account, or it was deleted."""

    def __init__(self, message: str, *, list_id: int | None = None) -> None:
        super().__init__(message, status_code=None)
        self.list_id = list_id


class CustomFieldNotFound(SnovError):
    """A custom field the request writes does not exist in the account."""

    def __init__(self, message: str, *, labels: list[str], status_code: int | None = None) -> None:
        super().__init__(message, status_code=status_code)
        self.labels = labels


class SnovRejected(SnovError):
    """Snov.io refused the request; ``snov_message`` is Snov.io's own text."""

    def __init__(self, message: str, *, snov_message: str, status_code: int | None = None) -> None:
        super().__init__(message, status_code=status_code)
        self.snov_message = snov_message


class SnovServerError(SnovError):
    """Snov.io answered with a 5xx status."""


class SnovUnreachable(SnovError):
    """Snov.io could not be reached: connection refused or dropped, or a timeout."""
