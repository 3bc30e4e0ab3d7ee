"""What the emulator holds: immutable snapshots of accounts, lists, prospects and the rest.

The state hands these out and replaces them on change, so a record a test keeps never
moves under it. Field names are Python's; the Snov.io spelling lives in ``api.py``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

# pydantic validates TypedDicts only from typing_extensions before Python 3.12.
from typing_extensions import TypedDict

CustomFieldType = Literal["string", "number", "date"]
FaultKind = Literal["server_error", "drop", "delay"]
TokenSource = Literal["header", "query", "form", "json"]
BodyEncoding = Literal["json", "form"]
RECIPIENT_STATUSES: tuple[str, ...] = ("Active", "Paused", "Unsubscribed")
"""What ``change-recipient-status`` may set."""
FINAL_RECIPIENT_STATUSES: tuple[str, ...] = ("Finished", "Moved")
"""Statuses ``change-recipient-status`` cannot change."""


@dataclass(frozen=True)
class Credentials:
    """An API user ID and API secret pair, as shown at app.snov.io under Account → API."""

    client_id: str
    client_secret: str = field(repr=False)


@dataclass(frozen=True)
class Account:
    client_id: str
    client_secret: str = field(repr=False)
    balance: str = "25000.00"
    revoked: bool = False
    """Revoked credentials are refused at the token endpoint and their tokens stop working."""


@dataclass(frozen=True)
class ProspectList:
    id: int
    name: str
    created_at: float
    deleted_at: float | None = None

    @property
    def deleted(self) -> bool:
        return self.deleted_at is not None


@dataclass(frozen=True)
class CustomField:
    label: str
    type: CustomFieldType = "string"
    required: bool = False


@dataclass(frozen=True)
class Campaign:
    id: int
    name: str
    list_id: int
    status: str
    """As Snov.io spells it (Active, Paused, Draft, …); compared case-insensitively."""
    created_at: float
    updated_at: float
    started_at: float | None
    hash: str

    @property
    def active(self) -> bool:
        return self.status.casefold() == "active"


@dataclass(frozen=True)
class Prospect:
    """One prospect profile. An email lives in several lists only as several profiles."""

    id: str
    list_id: int
    email: str | None
    first_name: str = ""
    last_name: str = ""
    full_name: str = ""
    position: str = ""
    company_name: str = ""
    company_site: str = ""
    country: str = ""
    locality: str = ""
    phones: tuple[str, ...] = ()
    social_links: dict[str, str] = field(default_factory=dict)
    custom_fields: dict[str, Any] = field(default_factory=dict)
    created_at: float = 0.0
    updated_at: float = 0.0

    @property
    def name(self) -> str:
        """The display name; without any name Snov.io shows the email's local part."""
        if self.full_name:
            return self.full_name
        joined = " ".join(part for part in (self.first_name, self.last_name) if part)
        if joined:
            return joined
        return (self.email or "").partition("@")[0]


@dataclass(frozen=True)
class Enrolment:
    """A prospect put into a campaign because it entered the campaign's list while Active."""

    campaign_id: int
    prospect_id: str
    email: str | None
    enrolled_at: float
    status: str = "Active"
    """The recipient's status in the campaign: Active, Paused, Unsubscribed, Finished or
    Moved (``change-recipient-status`` sets the first three; the last two are final)."""


@dataclass(frozen=True)
class Fault:
    """A failure waiting for the next ``remaining`` Snov.io requests (to ``path`` if set)."""

    kind: FaultKind
    remaining: int = 1
    status: int = 500
    seconds: float = 0.0
    path: str | None = None


@dataclass(frozen=True)
class RecordedRequest:
    """One request the emulator received on the Snov.io API, and what it answered."""

    method: str
    path: str
    query: dict[str, Any]
    body: Any
    """The parsed body: decoded JSON, or the form with bracket keys nested; None if empty."""
    encoding: BodyEncoding | None
    status: int | None
    """The status answered; None when the connection was dropped on purpose."""
    at: float
    client_id: str | None = None
    """The account the request was charged to, once its credentials or token were known."""
    token_source: TokenSource | None = None

    def __repr__(self) -> str:
        # The log keeps what was sent, secrets included; its repr (pytest shows it) does not.
        return (
            f"RecordedRequest({self.method} {self.path} -> {self.status}, "
            f"query={_masked(self.query)!r}, body={_masked(self.body)!r}, at={self.at}, "
            f"client_id={self.client_id!r}, token_source={self.token_source!r})"
        )


_SECRET_PARAMETERS = frozenset({"client_secret", "access_token"})


def _masked(value: Any) -> Any:
    if isinstance(value, dict):
        return {
            key: "***" if key in _SECRET_PARAMETERS else _masked(item)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [_masked(item) for item in value]
    return value


class ProspectFields(TypedDict, total=False):
    """The writable part of a prospect; on update, only the keys present change."""

    email: str | None
    first_name: str
    last_name: str
    full_name: str
    position: str
    company_name: str
    company_site: str
    country: str
    locality: str
    phones: Sequence[str]
    social_links: Mapping[str, str]
    """Merged into the existing links on update."""
    custom_fields: Mapping[str, Any]
    """Merged into the existing values on update; labels must name existing fields."""
