"""Snov.io's errors: what the API client raises, below the contract's root.

The sync turns each into an outcome before it reaches a host; the hooks that raise
(``connect``, ``run_settings_action``) raise them as the contract's
:class:`~fortytwomin_snov.contract.errors.IntegrationError` (``CredentialsRejected`` is
also the contract's ``InvalidCredentials``).
"""

from __future__ import annotations

from fortytwomin_snov.contract.errors import IntegrationError, InvalidCredentials


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
