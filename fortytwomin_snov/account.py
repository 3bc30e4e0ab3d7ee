"""The Snov.io account behind a connection: checking keys, connecting, and the account's
choices (lists, custom fields, campaigns) that the settings page offers.

The Snov.io client of a stored connection is kept per process (:class:`_ClientCache`), so
events of one account reuse one HTTP connection pool: on the real Snov.io a client per
event would cost a TCP and TLS handshake per event, and its construction most of the
hook's CPU.

Choices are cached in the host's store for a short time, so opening the settings page
twice does not spend the rate limit twice, and a last-known copy is kept without expiry,
so the page still renders when Snov.io cannot be reached.

It stays one module (about 490 lines): the keys check, the kept-alive client cache and the
cached choices all answer one question, what this connection's account is, and share its
store keys.
"""

from __future__ import annotations

import atexit
import functools
import hashlib
import os
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from fortytwomin_snov.contract.errors import (
    IntegrationError,
    InvalidCredentials,
    PermissionDenied,
    StoreUnavailable,
)
from fortytwomin_snov.contract.models import Actor
from fortytwomin_snov.contract.store import MemoryStore, Op, Result, Store, apply
from fortytwomin_snov.credentials import (
    Connection,
    CredentialAccount,
    CredentialCheck,
    Credentials,
)
from fortytwomin_snov.schemas import describe_field_errors
from fortytwomin_snov.snov import (
    BASE_URL_ENV,
    RATE_LIMIT_ENV,
    TIMEOUT_ENV,
    ProspectList,
    SnovClient,
    forget_token,
)
from fortytwomin_snov.snov.errors import CredentialsRejected, SnovError
from fortytwomin_snov.validated import Validated, json_text
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
    """``host.store`` behind a :class:`GuardedStore`, or a process-local memory store when the
    host lends none."""
    store = getattr(host, "store", None)
    if store is not None:
        return _GUARDS.get(store)
    return _process_store()


class GuardedStore:
    """A host's store whose failures all arrive as the contract's StoreUnavailable.

    The contract lets a store raise only StoreUnavailable (and ValueError from ``incr``), but
    a host's own store may let its driver's errors through (SQLite's "database is locked",
    a socket error): the sync turns StoreUnavailable into a ``store_unavailable`` outcome, so
    nothing else may escape as an unexplained exception. The driver's message is left out:
    it may name a connection string with a password.
    """

    def __init__(self, store: Store) -> None:
        self.store = store

    def __repr__(self) -> str:
        return f"GuardedStore({self.store!r})"

    def _failed(self, error: Exception) -> StoreUnavailable:
        return StoreUnavailable(
            f"The shared store ({type(self.store).__name__}) failed"
            f" ({type(error).__name__}); try again later"
        )

    def get(self, key: str) -> str | None:
        try:
            return self.store.get(key)
        except (StoreUnavailable, ValueError):
            raise
        except Exception as error:  # noqa: BLE001 - any failure of the host's store
            raise self._failed(error) from None

    def set(self, key: str, value: str, ttl: float | None = None) -> None:
        try:
            self.store.set(key, value, ttl)
        except (StoreUnavailable, ValueError):
            raise
        except Exception as error:  # noqa: BLE001
            raise self._failed(error) from None

    def add(self, key: str, value: str, ttl: float | None = None) -> bool:
        try:
            return self.store.add(key, value, ttl)
        except (StoreUnavailable, ValueError):
            raise
        except Exception as error:  # noqa: BLE001
            raise self._failed(error) from None

    def delete(self, key: str) -> None:
        try:
            self.store.delete(key)
        except (StoreUnavailable, ValueError):
            raise
        except Exception as error:  # noqa: BLE001
            raise self._failed(error) from None

    def incr(self, key: str, amount: int = 1, ttl: float | None = None) -> int:
        try:
            return self.store.incr(key, amount, ttl)
        except (StoreUnavailable, ValueError):
            raise
        except Exception as error:  # noqa: BLE001
            raise self._failed(error) from None

    def apply(self, ops: Sequence[Op]) -> list[Result]:
        try:
            return apply(self.store, ops)
        except (StoreUnavailable, ValueError):
            raise
        except Exception as error:  # noqa: BLE001
            raise self._failed(error) from None


class _Guards:
    """One :class:`GuardedStore` per host store, so that the client cache (keyed on the
    store's identity) keeps reusing one client. Bounded; a guard holds its store, so a
    store's ``id`` is never reused while its guard is kept."""

    def __init__(self, size: int = 64) -> None:
        self._size = size
        self._guards: OrderedDict[int, GuardedStore] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, store: Store) -> Store:
        if isinstance(store, GuardedStore | MemoryStore):
            return store  # a MemoryStore raises nothing of a backend's
        with self._lock:
            guard = self._guards.get(id(store))
            if guard is None:
                guard = self._guards[id(store)] = GuardedStore(store)
                while len(self._guards) > self._size:
                    self._guards.popitem(last=False)
            else:
                self._guards.move_to_end(id(store))
            return guard


_GUARDS = _Guards()


def parse_credentials(document: Any) -> Credentials:
    """The credentials, or InvalidCredentials naming each field that is blank or malformed."""
    if isinstance(document, dict):
        # A blank field was left empty, not typed wrong: say it is required.
        # Only the form's own fields: an unknown one stays, to be refused as not allowed.
        document = {
            name: value
            for name, value in document.items()
            if name not in Credentials.model_fields
            or not (isinstance(value, str) and not value.strip())
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


_CONNECTIONS: Validated[Credentials] = Validated()


ClientKey = tuple[str, str, str, int, str, str]
"""(base URL setting, API user id, secret digest, store identity, rate limit and timeout
settings): a client is reused only where a new one would be built the same way."""


class _ClientCache:
    """The process's Snov.io clients of stored connections, most recently used last.

    Thread-safe; bounded (the oldest is closed when full); emptied at interpreter exit
    (registered on first use, so importing the plugin changes nothing). A cached client
    holds its store, so a store's ``id`` cannot be reused while its client is cached.
    """

    def __init__(self, size: int = 32) -> None:
        self._size = size
        self._clients: OrderedDict[ClientKey, SnovClient] = OrderedDict()
        self._lock = threading.Lock()
        self._registered = False
        self.built = 0
        """Clients built so far (what the keep-alive test counts)."""

    def get(self, credentials: Credentials, store: Store) -> SnovClient:
        secret = credentials.api_secret.get_secret_value()
        key: ClientKey = (
            os.environ.get(BASE_URL_ENV, ""),
            credentials.api_user_id,
            hashlib.sha256(secret.encode()).hexdigest(),
            id(store),
            os.environ.get(RATE_LIMIT_ENV, ""),
            os.environ.get(TIMEOUT_ENV, ""),
        )
        evicted: list[SnovClient] = []
        with self._lock:
            client = self._clients.get(key)
            if client is not None:
                self._clients.move_to_end(key)
                return client
            client = SnovClient(credentials.api_user_id, credentials.api_secret, store=store)
            self.built += 1
            self._clients[key] = client
            while len(self._clients) > self._size:
                evicted.append(self._clients.popitem(last=False)[1])
            if not self._registered:
                atexit.register(self.close_all)
                self._registered = True
        for old in evicted:
            old.close()
        return client

    def drop(self, api_user_id: str) -> None:
        """Close every client of an account (on disconnect)."""
        with self._lock:
            keys = [key for key in self._clients if key[1] == api_user_id]
            dropped = [self._clients.pop(key) for key in keys]
        for client in dropped:
            client.close()

    def close_all(self) -> None:
        with self._lock:
            dropped = list(self._clients.values())
            self._clients.clear()
        for client in dropped:
            client.close()

    def __len__(self) -> int:
        return len(self._clients)


CLIENTS = _ClientCache()
"""The process's shared clients (see :class:`_ClientCache`)."""


class AccountList(BaseModel):
    """A list the settings page offers, with the Active campaigns that use it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: int
    name: str
    contacts: int
    active_campaigns: tuple[str, ...] = ()


class AccountCampaign(BaseModel):
    """A campaign the settings page offers for ``outreach_on_booking``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: int
    name: str
    status: str | None = None
    list_id: int | None = None


class Choices(BaseModel):
    """What the settings page lets an admin pick from, as last read from Snov.io."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    lists: tuple[AccountList, ...]
    custom_fields: tuple[str, ...]
    fetched_at: str
    campaigns: tuple[AccountCampaign, ...] = ()  # absent in copies cached before campaigns

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
        shared: bool = False,
    ) -> None:
        self.credentials = credentials
        self.store = store
        self._client_factory = client_factory
        self._shared = shared
        self._client: SnovClient | None = None  # built for this account, closed with it
        self._shared_client: SnovClient | None = None  # the process's, looked up once

    def __repr__(self) -> str:
        return f"Account(api_user_id={self.credentials.api_user_id!r})"

    @classmethod
    def for_connection(cls, connection: Any, store: Store) -> Account:
        """The account of a stored connection record; InvalidCredentials if it is unusable.

        Its client is the process's shared one for these keys and this store: keys a
        connection holds were accepted once, so they are worth a kept-alive client.
        """
        text = json_text(connection)
        credentials = _CONNECTIONS.get(text, connection)
        if credentials is None:
            try:
                record = Connection.model_validate(connection)
            except ValidationError as exc:
                raise InvalidCredentials(
                    f"The stored Snov.io connection is not usable ({describe_field_errors(exc)}):"
                    " connect Snov.io again"
                ) from None
            credentials = _CONNECTIONS.put(text, record.credentials)
        return cls(credentials, store, shared=True)

    @property
    def client(self) -> SnovClient:
        if self._shared:
            # Looked up once per account (a sync asks at its claim and at its write).
            if self._shared_client is None:
                self._shared_client = CLIENTS.get(self.credentials, self.store)
            return self._shared_client
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
        """Drop the cached token, choices and clients (on disconnect). Nothing in Snov.io
        changes."""
        CLIENTS.drop(self.credentials.api_user_id)
        self._shared_client = None  # closed by the drop
        forget_token(self.store, self.credentials.api_user_id, self.credentials.api_secret)
        self.store.delete(self._choices_key(fresh=True))
        self.store.delete(self._choices_key(fresh=False))

    # ---- choices --------------------------------------------------------------------

    def choices_key(self) -> str:
        """The store key of the cached choices: dropped when a sync adds someone to a list,
        so the page's prospect counts are read again."""
        return self._choices_key(fresh=True)

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
            campaigns=tuple(
                AccountCampaign(
                    id=item.id, name=item.name, status=item.status, list_id=item.list_id
                )
                for item in campaigns
            ),
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
