"""Snov.io trouble in an admin's words: one reading of each error, shared by the credential
check, the settings page and the sync log, which each add what it means for them."""

from __future__ import annotations

from dataclasses import dataclass

from fortytwomin_snov.contract.errors import IntegrationError, InvalidCredentials
from fortytwomin_snov.snov.errors import (
    CredentialsRejected,
    RateLimited,
    SnovServerError,
    SnovUnreachable,
)


@dataclass(frozen=True)
class Trouble:
    """What went wrong, and what the admin can do about it."""

    what: str
    """What happened, as a clause: ``Snov.io could not be reached``."""
    then: str
    """What to do now, as a sentence: ``Try again in a minute.``"""

    @property
    def then_clause(self) -> str:
        """:attr:`then` to follow a colon: ``try again in a minute``."""
        return self.then[:1].lower() + self.then[1:].removesuffix(".")


def wait_seconds(error: RateLimited) -> int:
    """The wait a rate limit asks for, in whole seconds an admin can read (at least 1)."""
    return max(1, round(error.retry_after))


def snov_trouble(error: IntegrationError) -> Trouble:
    """A Snov.io error (or an unusable stored connection) in an admin's words."""
    if isinstance(error, CredentialsRejected):
        return Trouble(
            "Snov.io rejected the saved API keys",
            "Reconnect Snov.io with a current API user ID and API secret.",
        )
    if isinstance(error, InvalidCredentials):
        return Trouble("The stored Snov.io connection is not usable", "Connect Snov.io again.")
    if isinstance(error, RateLimited):
        return Trouble(
            "Snov.io is limiting requests right now",
            f"Try again in {wait_seconds(error)} seconds.",
        )
    if isinstance(error, SnovUnreachable):
        return Trouble("Snov.io could not be reached", "Try again in a minute.")
    if isinstance(error, SnovServerError):
        return Trouble("Snov.io failed to answer", "Try again in a minute.")
    return Trouble(f"Snov.io refused the request ({error})", "Try again later.")
