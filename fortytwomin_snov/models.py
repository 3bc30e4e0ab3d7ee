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
from datetime import datetime
from types import MappingProxyType
from typing import Annotated, Any, Literal, TypeVar, get_args

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    PlainValidator,
    SecretStr,
    SerializationInfo,
    SerializerFunctionWrapHandler,
    StringConstraints,
    TypeAdapter,
    ValidationError,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
    model_serializer,
    model_validator,
)
from pydantic_core import ErrorDetails, PydanticCustomError

from fortytwomin_snov.errors import FieldError

# ---- patterns ----------------------------------------------------------------------
# Written so that ECMA-262 (the JSON Schema dialect), Rust's regex (pydantic) and
# Python's re read them the same way: no lookarounds, no \d (Unicode digits in Python).

_CONTROL = r"\u0000-\u001f\u007f-\u009f"

IDENTIFIER_PATTERN = r"^[!-~]+$"
"""Identifiers and API keys: visible ASCII characters, no spaces."""

TEXT_PATTERN = r"\S"
"""Free text (messages): anything with at least one non-space character."""

LINE_PATTERN = rf"^[^\s{_CONTROL}][^{_CONTROL}]*$"
"""One line of text (labels, names): no control characters, does not start with a space."""

DATE_TIME_PATTERN = (
    r"^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])[Tt]"
    r"([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\.[0-9]+)?"
    r"([Zz]|[+-]([01][0-9]|2[0-3]):[0-5][0-9])$"
)
"""An RFC 3339 date-time with seconds and an explicit offset."""

TIMEZONE_PATTERN = r"^[A-Za-z][A-Za-z0-9_+-]*(/[A-Za-z0-9_+-]+)*$"
"""The shape of an IANA time zone name (``Europe/Berlin``, ``Etc/GMT+5``, ``UTC``)."""

SLUG_PATTERN = r"^[a-z][a-z0-9_-]*$"
HTTPS_URL_PATTERN = r"^https://[!-~]+$"

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

PERSON_SOURCES: tuple[str, ...] = ("person.email", "person.name", "person.phone")
"""The person an event is about: a booking's invitee, or a routing form's respondent."""

SOURCE_PATTERN = (
    rf"^(person\.(email|name|phone)|invitee_form_question:{QUESTION_ID_PATTERN}"
    rf"|routing_form_field:{QUESTION_ID_PATTERN})$"
)
TARGET_PATTERN = (
    rf"^prospect\.({'|'.join(STANDARD_FIELDS)}|cf_[^\s{_CONTROL}][^{_CONTROL}]{{0,99}})$"
)

PATTERN_HINTS: Mapping[str, str] = MappingProxyType(
    {
        IDENTIFIER_PATTERN: "Use visible characters only, with no spaces.",
        TEXT_PATTERN: "This must not be blank.",
        LINE_PATTERN: "Use one line of text that does not start with a space.",
        DATE_TIME_PATTERN: (
            "Use an RFC 3339 date-time with seconds and a time zone, such as 2025-03-14T09:30:00Z."
        ),
        TIMEZONE_PATTERN: "Use an IANA time zone name, such as Europe/Berlin.",
        SLUG_PATTERN: "Use lowercase letters, digits, '-' and '_', starting with a letter.",
        HTTPS_URL_PATTERN: "Use an https:// address.",
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
"""Readable messages for each pattern, used by :func:`field_errors`."""

# ---- shared field types ------------------------------------------------------------

Identifier = Annotated[str, StringConstraints(pattern=IDENTIFIER_PATTERN, max_length=200)]
Text = Annotated[str, StringConstraints(pattern=TEXT_PATTERN)]
Line = Annotated[str, StringConstraints(pattern=LINE_PATTERN, max_length=200)]
Label = Annotated[str, StringConstraints(pattern=LINE_PATTERN, max_length=100)]
"""A Snov.io custom field label."""


def _parse_date_time(value: object) -> object:
    # pydantic alone would also take "2025-03-14 09:30", unix seconds and lowercase
    # forms the schema rejects; only RFC 3339 text (or a datetime) gets through here.
    if isinstance(value, str):
        if re.fullmatch(DATE_TIME_PATTERN, value) is None:
            raise PydanticCustomError(
                "string_pattern_mismatch",
                "String should match pattern '{pattern}'",
                {"pattern": DATE_TIME_PATTERN},
            )
        return datetime.fromisoformat(value.upper())
    return value


DateTime = Annotated[
    AwareDatetime,
    BeforeValidator(_parse_date_time),
    WithJsonSchema({"type": "string", "format": "date-time", "pattern": DATE_TIME_PATTERN}),
]


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


class _LeftOutWhenNone:
    """Marks an ``Omittable`` field: dumps drop it while it is ``None``."""


_LEFT_OUT_WHEN_NONE = _LeftOutWhenNone()


def _reject_null(value: object) -> object:
    if value is None:
        raise ValueError("Leave this field out instead of setting it to null.")
    return value


def _absent_rather_than_null(schema: dict[str, Any]) -> None:
    # The type is ``T | None`` (a plain nullable, so errors carry no union tags), but the
    # document may only leave the field out: publish T alone, with no default.
    schema.pop("default", None)
    variants = schema.pop("anyOf", None)
    if isinstance(variants, list):
        for variant in variants:
            if variant != {"type": "null"}:
                schema.update(variant)


_T = TypeVar("_T")

Omittable = Annotated[
    _T | None,
    BeforeValidator(_reject_null),
    _LEFT_OUT_WHEN_NONE,
    Field(json_schema_extra=_absent_rather_than_null),
]
"""A field that may be left out of a document but, when present, is never null."""


def _answer_value(value: object) -> str | list[str]:
    # One validator instead of a union, so errors point at the answer itself rather
    # than at pydantic's per-member tags.
    if isinstance(value, str):
        return value
    if isinstance(value, list | tuple) and all(isinstance(item, str) for item in value):
        return list(value)
    raise ValueError("An answer must be a string or a list of strings.")


AnswerValue = Annotated[
    str | list[str],
    PlainValidator(_answer_value),
    WithJsonSchema({"anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]}),
]


@functools.cache
def _left_out_when_none(model: type[BaseModel]) -> frozenset[str]:
    return frozenset(
        name
        for name, field in model.model_fields.items()
        if any(item is _LEFT_OUT_WHEN_NONE for item in field.metadata)
    )


class ContractModel(BaseModel):
    """Base of every contract model: strict, closed, immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    @model_serializer(mode="wrap")
    def _leave_out_unset_omittables(self, handler: SerializerFunctionWrapHandler) -> Any:
        data = handler(self)
        if isinstance(data, dict):
            for name in _left_out_when_none(type(self)):
                if name in data and data[name] is None:
                    del data[name]
        return data

    def to_json(self, *, reveal_secret: bool = False) -> dict[str, Any]:
        """The JSON document (validates against the schema); secrets masked unless asked."""
        document: dict[str, Any] = self.model_dump(
            mode="json", context={"reveal_secret": reveal_secret}
        )
        return document


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


Role = Literal["owner", "admin", "member"]
ADMIN_ROLES: frozenset[str] = frozenset({"owner", "admin"})


class Actor(ContractModel):
    """Who asks the host to do something: ``{"id", "role"}``."""

    id: Identifier = Field(description="The person's id in 42min.")
    role: Role = Field(description="The person's role in the organization.")

    @property
    def is_admin(self) -> bool:
        """Owners and admins may connect integrations."""
        return self.role in ADMIN_ROLES


# ---- manifest and credential check -------------------------------------------------

Category = Literal["crm", "calendar", "video", "payments", "automation", "messaging", "analytics"]
AuthKind = Literal["api_key", "oauth2"]


class Manifest(ContractModel):
    """An integration's card on the Integrations page: ``schema/manifest.schema.json``."""

    slug: Annotated[str, StringConstraints(pattern=SLUG_PATTERN, max_length=64)] = Field(
        description="The slug the host dispatches hooks on."
    )
    name: Line = Field(description="The display name.")
    category: Category = Field(description="The Integrations page section it is listed under.")
    auth: AuthKind = Field(description="How an admin connects it.")
    admin_only: bool = Field(description="Whether only owners and admins may connect it.")
    description: Line = Field(description="One line saying what the integration does.")
    credentials_schema: dict[str, Any] = Field(
        description="The JSON Schema (draft 2020-12) of the connect form; secrets are writeOnly."
    )
    docs_url: Omittable[Annotated[str, StringConstraints(pattern=HTTPS_URL_PATTERN)]] = Field(
        default=None, description="The help page of the integration."
    )


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


# ---- events ------------------------------------------------------------------------

BookingEventType = Literal[
    "booking.created", "booking.canceled", "booking.rescheduled", "booking.no_show"
]
RoutingFormEventType = Literal["routing_form.submitted"]
BOOKING_EVENT_TYPES: tuple[str, ...] = get_args(BookingEventType)
EVENT_TYPES: tuple[str, ...] = (*BOOKING_EVENT_TYPES, *get_args(RoutingFormEventType))


class EventTypeInfo(ContractModel):
    """The kind of meeting that was booked."""

    id: Identifier = Field(description="The event type's id in 42min.")
    title: str | None = Field(default=None, description="The event type's title.")


class BookingHost(ContractModel):
    """The 42min host the meeting is with."""

    email: str = Field(description="The host's email address.")
    name: str | None = Field(default=None, description="The host's name.")


class Invitee(ContractModel):
    """The person who booked. Every field may be missing; the sync decides what it needs."""

    email: str | None = Field(default=None, description="The invitee's email, as entered.")
    name: str | None = Field(default=None, description="The invitee's full name.")
    first_name: str | None = Field(default=None, description="The invitee's first name.")
    last_name: str | None = Field(default=None, description="The invitee's last name.")
    phone: str | None = Field(default=None, description="The invitee's phone number.")


class Booking(ContractModel):
    """The meeting an event is about."""

    uid: Identifier = Field(description="The booking's id; stays the same across reschedules.")
    start: DateTime = Field(description="When the meeting starts (RFC 3339).")
    end: DateTime = Field(description="When the meeting ends (RFC 3339).")
    timezone: Annotated[str, StringConstraints(pattern=TIMEZONE_PATTERN, max_length=64)] = Field(
        description="The invitee's IANA time zone name."
    )
    event_type: EventTypeInfo | None = Field(
        default=None, description="The kind of meeting, when known."
    )
    host: BookingHost | None = Field(default=None, description="The host, when known.")
    invitee: Invitee = Field(description="The person who booked.")
    answers: dict[str, AnswerValue] = Field(
        default={}, description="Booking-form answers by question id."
    )
    previous_start: DateTime | None = Field(
        default=None, description="The start before a reschedule (booking.rescheduled)."
    )
    cancel_reason: str | None = Field(
        default=None, description="Why the meeting was canceled (booking.canceled)."
    )


class Respondent(ContractModel):
    """The person who submitted a routing form."""

    email: str | None = Field(default=None, description="The respondent's email, as entered.")
    name: str | None = Field(default=None, description="The respondent's name.")
    phone: str | None = Field(default=None, description="The respondent's phone number.")


class RoutingFormSubmission(ContractModel):
    """A routing-form submission."""

    form_id: Identifier = Field(description="The routing form's id.")
    submission_id: Identifier = Field(description="This submission's id.")
    fields: dict[str, AnswerValue] = Field(default={}, description="Answers by field id.")
    respondent: Respondent = Field(description="The person who submitted the form.")


class BookingEvent(ContractModel):
    """A booking was created, canceled, rescheduled or marked no-show."""

    id: Identifier = Field(description="Unique per event: the idempotency key.")
    type: BookingEventType = Field(description="What happened.")
    occurred_at: DateTime = Field(description="When it happened (RFC 3339).")
    booking: Booking = Field(description="The booking, as it is after the event.")


class RoutingFormEvent(ContractModel):
    """A routing form was submitted."""

    id: Identifier = Field(description="Unique per event: the idempotency key.")
    type: RoutingFormEventType = Field(description="What happened.")
    occurred_at: DateTime = Field(description="When it happened (RFC 3339).")
    routing_form: RoutingFormSubmission = Field(description="The submission.")


Event = Annotated[BookingEvent | RoutingFormEvent, Field(discriminator="type")]
"""One event of ``schema/booking-event.schema.json``, told apart by ``type``."""

EVENT_ADAPTER: TypeAdapter[BookingEvent | RoutingFormEvent] = TypeAdapter(Event)

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

_UNION_TAGS = frozenset(EVENT_TYPES)
"""The tags pydantic puts in ``loc`` for the event union (the ``type`` value)."""


def _pointer(path: list[str | int]) -> str:
    return "".join("/" + str(part).replace("~", "~0").replace("/", "~1") for part in path)


def _document_path(error: ErrorDetails) -> list[str | int]:
    loc = list(error["loc"])
    # The discriminator tag sits before the member's own path; a last element is always
    # a real key (an extra or missing field), even when it looks like a tag.
    path = [part for i, part in enumerate(loc) if not (part in _UNION_TAGS and i < len(loc) - 1)]
    ctx = error.get("ctx") or {}
    if error["type"] in ("union_tag_invalid", "union_tag_not_found"):
        path.append(str(ctx.get("discriminator", "type")).strip("'\""))
    elif isinstance(ctx.get("field"), str):
        path.append(ctx["field"])
    return path


def _message(error: ErrorDetails) -> str:
    kind = error["type"]
    ctx = error.get("ctx") or {}
    if kind in ("missing", "union_tag_not_found"):
        return "This field is required."
    if kind == "extra_forbidden":
        return "This field is not allowed."
    if kind == "union_tag_invalid":
        return f"Use one of {ctx.get('expected_tags')}."
    if kind == "string_pattern_mismatch":
        return PATTERN_HINTS.get(str(ctx.get("pattern")), "This value has the wrong format.")
    if kind == "value_error":
        return str(ctx.get("error", error["msg"]))
    return error["msg"]


def field_errors(exc: ValidationError) -> list[FieldError]:
    """Each problem of a pydantic validation error, as a JSON pointer into the document
    (RFC 6901) and a message an admin can read. Never includes the rejected value."""
    return [
        FieldError(pointer=_pointer(_document_path(error)), message=_message(error))
        for error in exc.errors(include_url=False, include_input=False)
    ]


def describe_field_errors(exc: ValidationError) -> str:
    """Every problem of a validation error on one line: ``/pointer: message; ...``."""
    return "; ".join(
        f"{error['pointer'] or '/'}: {error['message']}" for error in field_errors(exc)
    )


def broken_text(document: object) -> FieldError | None:
    """The first text in a JSON document that cannot be sent as UTF-8, or None.

    A lone surrogate (half of an emoji, as a browser may cut one) passes JSON parsing and
    pydantic's ``str`` but fails when the text is hashed or sent, so it is refused at
    the edge, with the place it sits.
    """
    pending: list[tuple[list[str | int], object]] = [([], document)]
    while pending:  # a loop, not recursion: a host may hand over very deep JSON
        path, value = pending.pop()
        texts: list[object] = [value]
        if isinstance(value, dict):
            texts = list(value)
            pending.extend(([*path, str(key)], item) for key, item in value.items())
        elif isinstance(value, list):
            pending.extend(([*path, index], item) for index, item in enumerate(value))
        for text in texts:
            if isinstance(text, str) and not _encodable(text):
                where = _pointer(path if text is value else [*path, text])
                return FieldError(
                    pointer=where.encode("utf-8", "replace").decode(),  # a broken key, too
                    message="Contains a broken character (half of an emoji?): remove it.",
                )
    return None


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
