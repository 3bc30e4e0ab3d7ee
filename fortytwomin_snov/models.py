"""The contract data: pydantic models of what crosses the host contract.

Each model mirrors one published JSON Schema in ``schema/`` (see :data:`CONTRACT_TYPES`);
``tests/test_models.py`` walks both and fails when they drift apart. The models are
strict (no coercion of ``"1"`` into ``1``) so that a document the schema rejects is
rejected here too, and they forbid unknown fields.

Fields that may be left out but are never ``null`` (``Omittable``) are dropped from
dumps when unset, so every dump validates against its schema. Secrets are
:class:`~pydantic.SecretStr`: masked in ``repr``, ``str`` and dumps unless
``to_json(reveal_secret=True)`` asks for them, and kept out of validation error messages
(:func:`field_errors` never includes a rejected value).
"""

from __future__ import annotations

import copy
import functools
import importlib.resources
import json
import re
from collections.abc import Mapping
from types import MappingProxyType
from typing import Annotated, Any, Literal, get_args

from pydantic import (
    AfterValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    SecretStr,
    SerializationInfo,
    StringConstraints,
    ValidationError,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from fortytwomin_snov.contract import models as contract_models
from fortytwomin_snov.contract.errors import FieldError
from fortytwomin_snov.contract.models import (
    _CONTROL,
    IDENTIFIER_PATTERN,
    LINE_PATTERN,
    ContractModel,
    DateTime,
    Event,
    Identifier,
    Line,
    Manifest,
    Omittable,
    Text,
)

# ---- patterns ----------------------------------------------------------------------

QUESTION_ID_PATTERN = r"[A-Za-z0-9_.-]{1,100}"
"""A booking-form question id or a routing-form field id (unanchored: used inside sources)."""

STANDARD_FIELDS: tuple[str, ...] = (
    "email",
    "name",
    "firstName",
    "lastName",
    "phone",
    "company",
    "companySite",
    "position",
    "country",
    "locality",
    "linkedIn",
)
"""The standard prospect fields a mapping row may target, as ``prospect.<field>``."""

TARGET_PREFIX = "prospect."
CUSTOM_TARGET_PREFIX = "prospect.cf_"
"""A target ``prospect.cf_<label>`` writes the Snov.io custom field with that label."""

STANDARD_TARGETS: tuple[str, ...] = tuple(TARGET_PREFIX + field for field in STANDARD_FIELDS)

SOURCE_PATTERN = (
    rf"^(person\.(email|name|phone)|invitee_form_question:{QUESTION_ID_PATTERN}"
    rf"|routing_form_field:{QUESTION_ID_PATTERN})$"
)
TARGET_PATTERN = (
    rf"^prospect\.({'|'.join(STANDARD_FIELDS)}|cf_[^\s{_CONTROL}][^{_CONTROL}]{{0,99}})$"
)

PATTERN_HINTS: Mapping[str, str] = MappingProxyType(
    {
        **contract_models.PATTERN_HINTS,
        SOURCE_PATTERN: (
            "Use person.email, person.name, person.phone, invitee_form_question:<id> or "
            "routing_form_field:<id> (an id is 1-100 letters, digits, '_', '.' or '-')."
        ),
        TARGET_PATTERN: (
            "Use prospect.<field> with a standard field ("
            + ", ".join(STANDARD_FIELDS)
            + ") or prospect.cf_<custom field label>."
        ),
    }
)
"""Readable messages for every pattern the plugin's documents use."""

Label = Annotated[str, StringConstraints(pattern=LINE_PATTERN, max_length=100)]
"""A Snov.io custom field label."""


def _visible_ascii(secret: SecretStr) -> SecretStr:
    if re.fullmatch(IDENTIFIER_PATTERN, secret.get_secret_value()) is None:
        raise PydanticCustomError(
            "string_pattern_mismatch",
            "String should match pattern '{pattern}'",
            {"pattern": IDENTIFIER_PATTERN},
        )
    return secret


def _dump_secret(secret: SecretStr, info: SerializationInfo) -> str:
    context = info.context if isinstance(info.context, Mapping) else {}
    return secret.get_secret_value() if context.get("reveal_secret") else str(secret)


ApiSecret = Annotated[
    SecretStr,
    Field(min_length=1, max_length=200),
    AfterValidator(_visible_ascii),
    PlainSerializer(_dump_secret, return_type=str),
    WithJsonSchema(
        {
            "type": "string",
            "writeOnly": True,
            "minLength": 1,
            "maxLength": 200,
            "pattern": IDENTIFIER_PATTERN,
        }
    ),
]
"""The Snov.io API secret: masked unless a dump asks for ``reveal_secret``."""


_SECRET_SAFE = ConfigDict(extra="forbid", frozen=True, strict=True, hide_input_in_errors=True)

# ---- credentials, connection, actor ------------------------------------------------


class Credentials(ContractModel):
    """The keys an admin pastes to connect: ``schema/credentials.schema.json``."""

    model_config = _SECRET_SAFE

    api_user_id: Identifier = Field(
        description="The API user ID from Snov.io's Account settings, API page."
    )
    api_secret: ApiSecret = Field(
        description="The API secret from the same page. Write-only: never shown again."
    )


class Connection(ContractModel):
    """The record the host stores after ``connect``: ``schema/connection.schema.json``."""

    model_config = _SECRET_SAFE

    integration: Literal["snov"] = Field(description="The integration slug.")
    api_user_id: Identifier = Field(description="The Snov.io API user ID.")
    api_secret: ApiSecret = Field(description="The Snov.io API secret. Write-only.")
    connected_at: DateTime = Field(description="When the connection was made (RFC 3339).")
    connected_by: Identifier = Field(description="The id of the owner or admin who connected.")

    @property
    def credentials(self) -> Credentials:
        """The keys this connection was made with."""
        return Credentials(api_user_id=self.api_user_id, api_secret=self.api_secret)


class CredentialAccount(ContractModel):
    """What the credential check learned about the Snov.io account."""

    balance: str = Field(description="The account's credit balance, as Snov.io reports it.")
    teamwork: bool = Field(description="Whether the account belongs to a team.")


class CredentialCheck(ContractModel):
    """The answer of ``validate_credentials``: ``schema/credential-check.schema.json``."""

    ok: bool = Field(description="Whether Snov.io accepted the keys.")
    message: Text = Field(description="What happened, in words an admin can act on.")
    account: CredentialAccount | None = Field(
        description="The account the keys belong to when ok is true; null otherwise."
    )

    @field_validator("account")
    @classmethod
    def _account_follows_ok(
        cls, account: CredentialAccount | None, info: ValidationInfo
    ) -> CredentialAccount | None:
        ok = info.data.get("ok")
        if ok is True and account is None:
            raise ValueError("A successful check must describe the account.")
        if ok is False and account is not None:
            raise ValueError("A failed check has no account: use null.")
        return account


# ---- settings ----------------------------------------------------------------------


class Triggers(ContractModel):
    """Which events sync."""

    booking_created: bool = Field(default=True, description="Sync when a meeting is booked.")
    booking_canceled: bool = Field(default=True, description="Sync when a meeting is canceled.")
    booking_rescheduled: bool = Field(
        default=True, description="Sync when a meeting is rescheduled."
    )
    booking_no_show: bool = Field(
        default=True, description="Sync when an invitee is marked as a no-show."
    )
    routing_form_submitted: bool = Field(
        default=False, description="Sync people who submit a routing form."
    )


DEFAULT_STATUS_LABELS: Mapping[str, str] = MappingProxyType(
    {
        "created": "Meeting booked",
        "canceled": "Meeting canceled",
        "rescheduled": "Meeting rescheduled",
        "no_show": "No-show",
    }
)


class StatusLabels(ContractModel):
    """The words written into the lifecycle status field for each state of a meeting."""

    created: Line = Field(
        default=DEFAULT_STATUS_LABELS["created"], description="Written when a meeting is booked."
    )
    canceled: Line = Field(
        default=DEFAULT_STATUS_LABELS["canceled"],
        description="Written when a meeting is canceled.",
    )
    rescheduled: Line = Field(
        default=DEFAULT_STATUS_LABELS["rescheduled"],
        description="Written when a meeting is rescheduled.",
    )
    no_show: Line = Field(
        default=DEFAULT_STATUS_LABELS["no_show"],
        description="Written when the invitee does not show up.",
    )


_LOCKED_PAIRS = frozenset(
    ("person." + field, "prospect." + field) for field in ("email", "name", "phone")
)


class FieldMapping(ContractModel):
    """One mapping row: where a value comes from and which prospect field it fills."""

    source: Annotated[str, StringConstraints(pattern=SOURCE_PATTERN)] = Field(
        description=(
            "person.email, person.name or person.phone (the invitee or respondent), "
            "invitee_form_question:<id> (a booking-form answer) or "
            "routing_form_field:<id> (a routing-form answer)."
        )
    )
    target: Annotated[str, StringConstraints(pattern=TARGET_PATTERN)] = Field(
        description=(
            "prospect.<standard field> or prospect.cf_<label> for an existing Snov.io custom field."
        )
    )
    locked: bool = Field(
        default=False,
        description="True for the email, name and phone rows, which cannot be removed.",
    )

    @field_validator("locked")
    @classmethod
    def _only_default_rows_are_locked(cls, locked: bool, info: ValidationInfo) -> bool:
        pair = (info.data.get("source"), info.data.get("target"))
        if locked and pair not in _LOCKED_PAIRS:
            raise ValueError(
                "Only the email, name and phone rows (person.<x> to prospect.<x>) are locked."
            )
        return locked


LOCKED_ROWS: tuple[FieldMapping, ...] = tuple(
    FieldMapping(source=f"person.{field}", target=f"prospect.{field}", locked=True)
    for field in ("email", "name", "phone")
)
"""The rows every saved mapping starts with; they cannot be removed."""


ExistingProspect = Literal["update", "skip"]


class Settings(ContractModel):
    """A saved settings document: ``schema/settings.schema.json``."""

    target_list_id: Annotated[int, Field(ge=1)] | None = Field(
        default=None,
        description="The Snov.io list prospects go into; nothing syncs until one is chosen.",
    )
    triggers: Triggers = Field(default=Triggers(), description="Which events sync.")
    existing_prospect: ExistingProspect = Field(
        default="update",
        description=(
            "update refreshes an existing prospect with new details; skip leaves it "
            "untouched. Status updates are written either way."
        ),
    )
    lifecycle_status_field: Label | None = Field(
        default=None,
        description=(
            "The label of an existing Snov.io custom field that receives the meeting status; "
            "without one, cancellations, reschedules and no-shows are skipped."
        ),
    )
    status_labels: StatusLabels = Field(
        default=StatusLabels(), description="The status written for each state of a meeting."
    )
    host_email_field: Label | None = Field(
        default=None,
        description="The label of an existing Snov.io custom field that receives the host's email.",
    )
    field_mappings: tuple[FieldMapping, ...] = Field(
        default=LOCKED_ROWS,
        max_length=100,
        strict=False,  # a JSON array arrives as a list; the rows themselves stay strict
        description="Which event values fill which prospect fields.",
    )


# ---- outcomes ----------------------------------------------------------------------

OutcomeStatus = Literal["synced", "skipped", "deferred", "failed"]
OutcomeReason = Literal[
    "prospect_added",
    "prospect_updated",
    "status_updated",
    "no_target_list",
    "trigger_off",
    "no_email",
    "no_lifecycle_field",
    "duplicate_event",
    "stale_event",
    "existing_prospect_skipped",
    "rate_limited",
    "snov_unavailable",
    "in_progress",
    "credentials_rejected",
    "list_not_found",
    "custom_field_not_found",
    "snov_rejected",
    "invalid_event",
    "invalid_settings",
    "invalid_connection",
]
BlockedOn = Literal["credentials", "settings"]

REASON_STATUS: Mapping[str, str] = MappingProxyType(
    {
        "prospect_added": "synced",
        "prospect_updated": "synced",
        "status_updated": "synced",
        "no_target_list": "skipped",
        "trigger_off": "skipped",
        "no_email": "skipped",
        "no_lifecycle_field": "skipped",
        "duplicate_event": "skipped",
        "stale_event": "skipped",
        "existing_prospect_skipped": "skipped",
        "rate_limited": "deferred",
        "snov_unavailable": "deferred",
        "in_progress": "deferred",
        "credentials_rejected": "failed",
        "list_not_found": "failed",
        "custom_field_not_found": "failed",
        "snov_rejected": "failed",
        "invalid_event": "failed",
        "invalid_settings": "failed",
        "invalid_connection": "failed",
    }
)
"""The status each reason code belongs to."""

REASONS_BY_STATUS: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        status: tuple(reason for reason, owner in REASON_STATUS.items() if owner == status)
        for status in get_args(OutcomeStatus)
    }
)


def _rule_broken(field: str, message: str) -> PydanticCustomError:
    # A model-level rule about one field: ``field`` lets field_errors point at it.
    return PydanticCustomError("outcome_rule", message, {"field": field})


class SyncOutcome(ContractModel):
    """What ``on_booking_event`` did: ``schema/sync-outcome.schema.json``."""

    event_id: str = Field(description="The event's id, as received.")
    event_type: str = Field(description="The event's type, as received.")
    integration: Literal["snov"] = Field(description="The integration slug.")
    status: OutcomeStatus = Field(
        description=(
            "synced, skipped (nothing to do), deferred (run again after retry_after) or failed."
        )
    )
    reason: OutcomeReason = Field(description="A stable code for why; it fits the status.")
    message: Text = Field(description="One sentence for the sync log that an admin can act on.")
    email: Omittable[str] = Field(default=None, description="The prospect's email, when known.")
    list_id: Omittable[Annotated[int, Field(ge=1)]] = Field(
        default=None, description="The Snov.io list written to."
    )
    prospect_id: Omittable[Identifier] = Field(default=None, description="The Snov.io prospect id.")
    retry_after: Omittable[Annotated[float, Field(gt=0)]] = Field(
        default=None, description="Seconds to wait before running again; only when deferred."
    )
    blocked_on: Omittable[BlockedOn] = Field(
        default=None,
        description="What an admin must fix before a retry can succeed; only when failed.",
    )

    @field_validator("reason")
    @classmethod
    def _reason_fits_status(cls, reason: str, info: ValidationInfo) -> str:
        status = info.data.get("status")
        if status is not None and REASON_STATUS[reason] != status:
            allowed = ", ".join(REASONS_BY_STATUS[status])
            raise ValueError(f"A {status} outcome has one of these reasons: {allowed}.")
        return reason

    @model_validator(mode="after")
    def _status_rules(self) -> SyncOutcome:
        if self.status == "deferred" and self.retry_after is None:
            raise _rule_broken("retry_after", "A deferred outcome says when to retry.")
        if self.status != "deferred" and self.retry_after is not None:
            raise _rule_broken("retry_after", "Only a deferred outcome has retry_after.")
        if self.status != "failed" and self.blocked_on is not None:
            raise _rule_broken("blocked_on", "Only a failed outcome has blocked_on.")
        return self


# ---- schemas -----------------------------------------------------------------------

CONTRACT_TYPES: Mapping[str, Any] = MappingProxyType(
    {
        "credentials.schema.json": Credentials,
        "connection.schema.json": Connection,
        "manifest.schema.json": Manifest,
        "credential-check.schema.json": CredentialCheck,
        "settings.schema.json": Settings,
        "booking-event.schema.json": Event,
        "sync-outcome.schema.json": SyncOutcome,
    }
)
"""Each published schema file and the type that mirrors it."""

SCHEMA_NAMES: tuple[str, ...] = tuple(CONTRACT_TYPES)
_SCHEMA_SUFFIX = ".schema.json"


@functools.cache
def _schema_text(file_name: str) -> str:
    return (
        importlib.resources.files("fortytwomin_snov.schema")
        .joinpath(file_name)
        .read_text(encoding="utf-8")
    )


def load_schema(name: str) -> dict[str, Any]:
    """A published schema, by file name (``settings.schema.json``) or short name (``settings``).

    The file is read once; each call returns a fresh copy the caller may change.
    """
    file_name = name if name.endswith(_SCHEMA_SUFFIX) else name + _SCHEMA_SUFFIX
    if file_name not in CONTRACT_TYPES:
        raise ValueError(f"No schema named {name!r}; known: {', '.join(SCHEMA_NAMES)}.")
    schema: dict[str, Any] = json.loads(_schema_text(file_name))
    return copy.deepcopy(schema)


# ---- errors ------------------------------------------------------------------------


def field_errors(exc: ValidationError) -> list[FieldError]:
    """:func:`~fortytwomin_snov.contract.models.field_errors` with the plugin's pattern hints."""
    return contract_models.field_errors(exc, PATTERN_HINTS)


def describe_field_errors(exc: ValidationError) -> str:
    """Every problem of a validation error on one line, with the plugin's pattern hints."""
    return contract_models.describe_field_errors(exc, PATTERN_HINTS)
