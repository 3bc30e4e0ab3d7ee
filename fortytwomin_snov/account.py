"""The Snov.io account behind a connection: checking keys, connecting, and the account's
choices (lists, custom fields, campaigns) that the settings page offers.

Choices are cached in the host's store for a short time, so opening the settings page
twice does not spend the rate limit twice, and a last-known copy is kept without expiry,
so the page still renders when Snov.io cannot be reached.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from fortytwomin_snov.contract.errors import IntegrationError, InvalidCredentials, PermissionDenied
from fortytwomin_snov.contract.models import Actor
from fortytwomin_snov.contract.store import MemoryStore, Store
from fortytwomin_snov.credentials import (
    Connection,
    CredentialAccount,
    CredentialCheck,
    Credentials,
)
from fortytwomin_snov.schemas import describe_field_errors
from fortytwomin_snov.snov import ProspectList, SnovClient, forget_token
from fortytwomin_snov.snov.errors import CredentialsRejected, SnovError
from fortytwomin_snov.wording import snov_trouble

CHOICES_TTL = 60.0
"""Seconds the settings page reuses the account's lists and custom fields."""

REJECTED_KEYS = (
    "Snov.io rejected these keys: check that you copied both the API user ID and the API secret"
)


@functools.cache
def _process_store() -> MemoryStore:
    return MemoryStore()


def store_of(host: Any) -> Store:
    """``host.store``, or a process-local memory store when the host lends none."""
    store = getattr(host, "store", None)
    if store is not None:
        return store  # type: ignore[no-any-return]
    return _process_store()


def parse_credentials(document: Any) -> Credentials:
    """The credentials, or InvalidCredentials naming each field that is blank or malformed."""
    if isinstance(document, dict):
        # A blank field was left empty, not typed wrong: say it is required.
        document = {
            name: value
            for name, value in document.items()
            if not (isinstance(value, str) and not value.strip())
        }
    try:
        return Credentials.model_validate(document)
    except ValidationError as exc:
        raise InvalidCredentials(
            f"These keys cannot be used: {describe_field_errors(exc)}."
        ) from None


def _digest(api_user_id: str) -> str:
    # Keys in the store name the account without spelling out its user id.
    return hashlib.sha256(api_user_id.encode()).hexdigest()[:24]


class AccountList(BaseModel):
    """A list the settings page offers, with the Active campaigns that use it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: int
    name: str
    contacts: int
    active_campaigns: tuple[str, ...] = ()


class Choices(BaseModel):
    """What the settings page lets an admin pick from, as last read from Snov.io."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    lists: tuple[AccountList, ...]
    custom_fields: tuple[str, ...]
    fetched_at: str

    def list_named(self, list_id: int) -> AccountList | None:
        return next((item for item in self.lists if item.id == list_id), None)


class Account:
    """One Snov.io account, reached with a connection's keys and the host's store."""

    def __init__(
        self,
        credentials: Credentials,
        store: Store,
        *,
        client_factory: Callable[..., SnovClient] = SnovClient,
    ) -> None:
        self.credentials = credentials
        self.store = store
        self._client_factory = client_factory
        self._client: SnovClient | None = None

    def __repr__(self) -> str:
        return f"Account(api_user_id={self.credentials.api_user_id!r})"

    @classmethod
    def for_connection(cls, connection: Any, store: Store) -> Account:
        """The account of a stored connection record; InvalidCredentials if it is unusable."""
        try:
            record = Connection.model_validate(connection)
        except ValidationError as exc:
            raise InvalidCredentials(
                f"The stored Snov.io connection is not usable ({describe_field_errors(exc)}):"
                " connect Snov.io again"
            ) from None
        return cls(record.credentials, store)

    @property
    def client(self) -> SnovClient:
        if self._client is None:
            self._client = self._client_factory(
                self.credentials.api_user_id, self.credentials.api_secret, store=self.store
            )
        return self._client

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    def __enter__(self) -> Account:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # ---- keys -----------------------------------------------------------------------

    def check(self) -> CredentialCheck:
        """Token, then the cheapest call: ``ok`` with the account, or a message to act on."""
        try:
            balance = self.client.balance()
        except CredentialsRejected:
            return CredentialCheck(ok=False, message=REJECTED_KEYS, account=None)
        except SnovError as error:
            return CredentialCheck(ok=False, message=_not_checked(error), account=None)
        return CredentialCheck(
            ok=True,
            message="Snov.io accepted the keys",
            account=CredentialAccount(balance=balance.balance, teamwork=bool(balance.teamwork)),
        )

    def connect(self, actor: Actor, *, now: Callable[[], datetime]) -> Connection:
        """The connection record, after Snov.io accepted the keys."""
        if not actor.is_admin:
            raise PermissionDenied(
                "Only organization owners and admins can connect Snov.io: ask one of them"
            )
        try:
            self.client.balance()
        except CredentialsRejected:
            raise InvalidCredentials(REJECTED_KEYS) from None
        except SnovError as error:
            raise IntegrationError(f"{_not_checked(error)}. Nothing was saved.") from None
        return Connection(
            integration="snov",
            api_user_id=self.credentials.api_user_id,
            api_secret=self.credentials.api_secret,
            connected_at=now().astimezone(UTC).replace(microsecond=0),
            connected_by=actor.id,
        )

    def forget(self) -> None:
        """Drop the cached token and choices (on disconnect). Nothing in Snov.io changes."""
        forget_token(self.store, self.credentials.api_user_id, self.credentials.api_secret)
        self.store.delete(self._choices_key(fresh=True))
        self.store.delete(self._choices_key(fresh=False))

    # ---- choices --------------------------------------------------------------------

    def _choices_key(self, *, fresh: bool) -> str:
        kind = "choices" if fresh else "choices-last"
        return f"snov:{kind}:{_digest(self.credentials.api_user_id)}"

    def _stored_choices(self, *, fresh: bool) -> Choices | None:
        raw = self.store.get(self._choices_key(fresh=fresh))
        if raw is None:
            return None
        try:
            return Choices.model_validate_json(raw)
        except ValidationError:
            return None  # an older or damaged copy: read Snov.io again

    def choices(self, *, use_cache: bool = True, now: Callable[[], datetime]) -> Choices:
        """The account's lists and custom fields. Raises SnovError when Snov.io fails."""
        if use_cache:
            cached = self._stored_choices(fresh=True)
            if cached is not None:
                return cached
        campaigns = self.client.campaigns()
        active: dict[int, list[str]] = {}
        for campaign in campaigns:
            if campaign.is_active and campaign.list_id is not None:
                active.setdefault(campaign.list_id, []).append(campaign.name)
        choices = Choices(
            lists=tuple(
                AccountList(
                    id=item.id,
                    name=item.name,
                    contacts=item.contacts,
                    active_campaigns=tuple(active.get(item.id, ())),
                )
                for item in self.client.lists()
            ),
            custom_fields=tuple(field.label for field in self.client.custom_fields()),
            fetched_at=now().astimezone(UTC).isoformat(timespec="seconds"),
        )
        document = choices.model_dump_json()
        self.store.set(self._choices_key(fresh=True), document, ttl=CHOICES_TTL)
        self.store.set(self._choices_key(fresh=False), document)
        return choices

    def last_known_choices(self) -> Choices | None:
        """The choices last read from Snov.io, however old, or None if never read."""
        return self._stored_choices(fresh=False)

    def create_list(self, name: str) -> ProspectList:
        """Create a list; the cached choices are dropped so the page offers it at once."""
        created = self.client.create_list(name)
        self.store.delete(self._choices_key(fresh=True))
        return created


def _not_checked(error: SnovError) -> str:
    """Why the keys could not be checked, told apart from Snov.io rejecting them."""
    trouble = snov_trouble(error)
    return f"{trouble.what}, so the keys could not be checked: {trouble.then_clause}"
