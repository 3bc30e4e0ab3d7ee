"""The reference host's own errors.

They join the contract's one error tree under
:class:`~fortytwomin_snov.contract.errors.IntegrationError`, so a front end (the CLI)
catches that one class for every error a user can cause, from the plugin or from the host,
and prints ``str(error)``: one line, written for an admin, never holding a secret.
"""

from __future__ import annotations

from fortytwomin_snov.contract.errors import FieldError, IntegrationError


class HostError(IntegrationError):
    """Something the reference host itself cannot do, and what to do about it."""


class DatabaseError(HostError):
    """The database file cannot be used (not SQLite, or written by a newer version)."""


class SecretKeyError(HostError):
    """The key that encrypts secrets at rest is missing, unsafe, malformed or wrong."""


class NotConnected(HostError):
    """The integration has no saved connection: connect it first."""


class PluginNotFound(HostError):
    """No installed plugin answers for the integration slug."""


class InvalidEvent(HostError):
    """An event does not validate against ``booking-event.schema.json``.

    ``errors`` lists every problem, each a JSON pointer into the event and a message.
    """

    def __init__(self, errors: list[FieldError]) -> None:
        self.errors = list(errors)
        first = self.errors[0] if self.errors else None
        detail = f": {first['pointer'] or '/'}: {first['message']}" if first else ""
        more = f" (and {len(self.errors) - 1} more)" if len(self.errors) > 1 else ""
        super().__init__(f"The event is not valid{detail}{more}")
