"""Pydantic models of what Snov.io returns, and of the prospect fields we send it.

Reply models ignore fields they do not name (Snov.io adds fields freely); the one model
we send, :class:`ProspectFields`, forbids unknown ones so a typo fails here, not in
Snov.io. Field names are snake_case; aliases are Snov.io's own spellings.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AliasChoices,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SecretStr,
)

_UTC_NAMES = frozenset({"UTC", "GMT", "Z", "+00:00"})
_OFFSET = re.compile(r"^([+-])(\d{2}):?(\d{2})$")


def _zone(name: object) -> timezone | ZoneInfo:
    """The zone of a PHP DateTime: a name (type 3), an offset (type 1) or an abbreviation."""
    if not isinstance(name, str) or name.upper() in _UTC_NAMES:
        return UTC
    offset = _OFFSET.match(name)
    if offset:
        sign = -1 if offset.group(1) == "-" else 1
        minutes = int(offset.group(2)) * 60 + int(offset.group(3))
        return timezone(sign * timedelta(minutes=minutes))
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        # An abbreviation such as "EST" is ambiguous; these dates are informational only.
        return UTC


def _snov_datetime(value: object) -> datetime | None:
    """Read Snov.io's dates: PHP DateTime objects (v1), Unix seconds or date strings (v2).

    A date Snov.io spells in some other way becomes ``None`` rather than failing the whole
    reply: no decision of the plugin rests on these dates.
    """
    if isinstance(value, datetime):
        return value
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value, UTC)
    zone: timezone | ZoneInfo = UTC
    if isinstance(value, dict):
        zone = _zone(value.get("timezone"))
        value = value.get("date")
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=zone)


def _as_text(value: object) -> object:
    """Snov.io ids and amounts are strings in some replies and numbers in others."""
    return str(value) if isinstance(value, int | float) and not isinstance(value, bool) else value


def _none_as_empty(value: object) -> object:
    return [] if value is None else value


SnovDateTime = Annotated[datetime | None, BeforeValidator(_snov_datetime)]
SnovText = Annotated[str, BeforeValidator(_as_text)]


class SnovReply(BaseModel):
    """Base of every model read from Snov.io: unknown fields are ignored."""

    model_config = ConfigDict(
        extra="ignore", frozen=True, validate_by_name=True, validate_by_alias=True
    )


class Balance(SnovReply):
    """``GET /v1/get-balance``: the account's credits, and the cheap credential check."""

    balance: SnovText
    teamwork: bool | None = None
    unique_recipients_used: int | None = None
    limit_resets_in: int | None = None
    subscription_days_left: int | None = Field(default=None, alias="expires_in")


class ProspectList(SnovReply):
    """A prospect list (``GET /v1/get-user-lists``, ``POST /v1/lists``)."""

    id: int
    name: str
    contacts: int = 0
    is_deleted: bool = Field(default=False, alias="isDeleted")
    created_at: SnovDateTime = Field(default=None, alias="creationDate")
    # The field table says deleteDate, the example says deletionDate.
    deleted_at: SnovDateTime = Field(
        default=None, validation_alias=AliasChoices("deletionDate", "deleteDate")
    )

    @property
    def deleted(self) -> bool:
        return self.is_deleted or self.deleted_at is not None


class CustomField(SnovReply):
    """A prospect custom field (``GET /v1/prospect-custom-fields``). Values are written by label."""

    label: str
    key: str | None = None
    required: bool = False
    type: str | None = None


class Campaign(SnovReply):
    """A campaign (``GET /v1/get-user-campaigns``) and the list it runs on."""

    id: int
    name: str = Field(alias="campaign")
    list_id: int | None = None
    status: str | None = None
    hash: str | None = None
    created_at: SnovDateTime = None
    updated_at: SnovDateTime = None
    started_at: SnovDateTime = None

    @property
    def is_active(self) -> bool:
        """Snov.io capitalises statuses in v1 ("Active") and not in v2 ("active")."""
        return (self.status or "").casefold() == "active"


class ListMembership(SnovReply):
    """A list a prospect profile belongs to."""

    id: int
    name: str | None = None


class CampaignRecipient(SnovReply):
    email: str | None = None
    status: str | None = Field(default=None, alias="recipient_status")


class CampaignMembership(SnovReply):
    """A campaign a prospect profile is enrolled in, as ``get-prospects-by-email`` shows it."""

    id: int
    name: str | None = None
    status: str | None = Field(default=None, alias="campaign_status")
    recipients: Annotated[list[CampaignRecipient], BeforeValidator(_none_as_empty)] = []

    @property
    def is_active(self) -> bool:
        return (self.status or "").casefold() == "active"


class ProspectProfile(SnovReply):
    """One prospect profile found by email. An email can have one profile per list."""

    id: SnovText
    name: str | None = None
    first_name: str | None = Field(default=None, alias="firstName")
    last_name: str | None = Field(default=None, alias="lastName")
    country: str | None = None
    locality: str | None = None
    updated_at: SnovDateTime = Field(default=None, alias="lastUpdateDate")
    lists: Annotated[list[ListMembership], BeforeValidator(_none_as_empty)] = []
    campaigns: Annotated[list[CampaignMembership], BeforeValidator(_none_as_empty)] = []


class AccessToken(SnovReply):
    """The token endpoint's answer. The token is a secret: it never reaches a repr."""

    access_token: SecretStr = Field(min_length=1)
    expires_in: float = Field(default=3600.0, gt=0)
    token_type: str | None = None


CustomFieldValue = str | int | float


class ProspectFields(BaseModel):
    """The prospect written by ``add-prospect-to-list``, named as Snov.io's API names them.

    Build it with snake_case names or with the API's camelCase names; it serialises to the
    API's JSON body. ``custom_fields`` maps an existing custom field's *label* to its value.
    """

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        validate_by_name=True,
        validate_by_alias=True,
        str_strip_whitespace=True,
    )

    email: str = Field(min_length=3)
    full_name: str | None = Field(default=None, alias="fullName")
    first_name: str | None = Field(default=None, alias="firstName")
    last_name: str | None = Field(default=None, alias="lastName")
    phones: list[str] | None = None
    country: str | None = None
    locality: str | None = None
    position: str | None = None
    company_name: str | None = Field(default=None, alias="companyName")
    company_site: str | None = Field(default=None, alias="companySite")
    social_links: dict[str, str] | None = Field(default=None, alias="socialLinks")
    custom_fields: dict[str, CustomFieldValue] | None = Field(default=None, alias="customFields")

    def to_api(self) -> dict[str, Any]:
        """The JSON body fields, without the ones left unset."""
        return self.model_dump(by_alias=True, exclude_none=True)


class AddProspectResult(BaseModel):
    """What ``add-prospect-to-list`` did.

    ``added`` is the only proof that the person is now in the list: Snov.io answers 200
    with ``added: false, updated: true`` when the email already sits in *another* list
    (the profile is updated there and stays there). ``already_in_list`` means Snov.io said
    the email is already in *this* list.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    prospect_id: str | None
    added: bool
    updated: bool
    already_in_list: bool = False


# ---- reply envelopes: how Snov.io wraps the models above ---------------------------


def _one_or_many(value: object) -> object:
    """``data`` is an array of profiles by email, an object by id, absent when none."""
    if value is None:
        return []
    return [value] if isinstance(value, dict) else value


class BalanceReply(SnovReply):
    data: Balance


class ProspectsReply(SnovReply):
    data: Annotated[list[ProspectProfile], BeforeValidator(_one_or_many)] = []


class _NewListData(SnovReply):
    id: int | None = None
    name: str | None = None


class CreateListReply(SnovReply):
    """``POST /v1/lists``: the documented ``{"data": {"id": ...}}`` or a top-level ``id``."""

    id: int | None = None
    name: str | None = None
    data: _NewListData | None = None

    @property
    def list_id(self) -> int | None:
        return self.data.id if self.data is not None and self.data.id is not None else self.id

    @property
    def list_name(self) -> str | None:
        return self.data.name if self.data is not None and self.data.name else self.name


class AddProspectReply(SnovReply):
    id: Annotated[str | None, BeforeValidator(_as_text)] = None
    # Missing ``added`` is read as "not added": a silent non-add is the costlier mistake.
    added: bool = False
    updated: bool = False
