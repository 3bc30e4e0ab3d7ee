"""The contract's data: pydantic models of the integration-neutral documents.

The event envelope (``schema/booking-event.schema.json``), the manifest
(``schema/manifest.schema.json``), the actor and the outcome every ``on_booking_event``
returns (``schema/outcome.schema.json`` fixes its shape; reason codes belong to each
plugin). The models are strict (no coercion of ``"1"`` into ``1``) so that a document the
schema rejects is rejected here too, and they forbid unknown fields.

Fields that may be left out but are never ``null`` (``Omittable``) are dropped from dumps
when unset, so every dump validates against its schema. :func:`field_errors` turns a
validation error into JSON pointers and messages an admin can read, never including a
rejected value. A plugin builds its own models on :class:`ContractModel` and these types.

It stays one module (about 500 lines): the shared field types, the documents built from them
and the error reading that knows their patterns change together, and a plugin imports them
from one place.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from types import MappingProxyType
from typing import Annotated, Any, Literal, TypeVar, get_args

from pydantic import (
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainValidator,
    SerializerFunctionWrapHandler,
    StringConstraints,
    TypeAdapter,
    ValidationError,
    WithJsonSchema,
    model_serializer,
    model_validator,
)
from pydantic_core import ErrorDetails, PydanticCustomError

from fortytwomin_snov.contract.errors import FieldError

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
    }
)
"""Readable messages for the contract's patterns, used by :func:`field_errors`; a plugin
passes its own patterns' hints beside them."""

# ---- shared field types ------------------------------------------------------------

Identifier = Annotated[str, StringConstraints(pattern=IDENTIFIER_PATTERN, max_length=200)]
Text = Annotated[str, StringConstraints(pattern=TEXT_PATTERN)]
Line = Annotated[str, StringConstraints(pattern=LINE_PATTERN, max_length=200)]


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
    rate_limit: Omittable[Annotated[int, Field(ge=1, le=1_000_000)]] = Field(
        default=None,
        description="Requests per minute one connection may make to the service, for hosts"
        " to estimate how long a backlog takes.",
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


EventOrigin = Literal["live", "backfill"]
ORIGIN_DESCRIPTION = (
    "Set by the host: backfill for an event from before the integration was connected,"
    " live (or absent) for an event as it happens."
)


class BookingEvent(ContractModel):
    """A booking was created, canceled, rescheduled or marked no-show."""

    id: Identifier = Field(description="Unique per event: the idempotency key.")
    type: BookingEventType = Field(description="What happened.")
    occurred_at: DateTime = Field(description="When it happened (RFC 3339).")
    booking: Booking = Field(description="The booking, as it is after the event.")
    origin: Omittable[EventOrigin] = Field(default=None, description=ORIGIN_DESCRIPTION)


class RoutingFormEvent(ContractModel):
    """A routing form was submitted."""

    id: Identifier = Field(description="Unique per event: the idempotency key.")
    type: RoutingFormEventType = Field(description="What happened.")
    occurred_at: DateTime = Field(description="When it happened (RFC 3339).")
    routing_form: RoutingFormSubmission = Field(description="The submission.")
    origin: Omittable[EventOrigin] = Field(default=None, description=ORIGIN_DESCRIPTION)


Event = Annotated[BookingEvent | RoutingFormEvent, Field(discriminator="type")]
"""One event of ``schema/booking-event.schema.json``, told apart by ``type``."""

EVENT_ADAPTER: TypeAdapter[BookingEvent | RoutingFormEvent] = TypeAdapter(Event)

MAX_FUTURE = timedelta(days=1)
"""How far past the receiver's clock an event's ``occurred_at`` may be: clocks disagree a
little, a day is a mistake. Later events about a person are ordered by it, so one event dated
9999 would make every later one look stale."""

UtcClock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


def future_problem(occurred_at: datetime, now: datetime) -> FieldError | None:
    """The problem of an ``occurred_at`` more than :data:`MAX_FUTURE` after ``now``, or None."""
    if occurred_at <= now + MAX_FUTURE:
        return None
    return FieldError(
        pointer="/occurred_at",
        message="Is more than a day in the future: send the event with the time it happened.",
    )


# ---- outcomes ----------------------------------------------------------------------

OutcomeStatus = Literal["synced", "skipped", "deferred", "failed"]
OUTCOME_STATUSES: tuple[str, ...] = get_args(OutcomeStatus)
BlockedOn = Literal["credentials", "settings"]
REASON_PATTERN = r"^[a-z][a-z0-9_]*$"


def _rule_broken(field: str, message: str) -> PydanticCustomError:
    # A model-level rule about one field: ``field`` lets field_errors point at it.
    return PydanticCustomError("outcome_rule", message, {"field": field})


class Outcome(ContractModel):
    """What ``on_booking_event`` answers for one event: ``schema/outcome.schema.json``.

    The contract fixes what a host acts on (``status``, ``retry_after``, ``blocked_on``) and
    what it shows (``reason``, ``message``, ``email``); the reason codes and any further
    fields (a list id, a prospect id) belong to each plugin, which publishes its own
    narrower schema.
    """

    model_config = ConfigDict(extra="allow", frozen=True, strict=True)

    event_id: str = Field(description="The event's id, as received.")
    event_type: str = Field(description="The event's type, as received.")
    integration: Annotated[str, StringConstraints(pattern=SLUG_PATTERN, max_length=64)] = Field(
        description="The slug of the integration that answered."
    )
    status: OutcomeStatus = Field(
        description=(
            "synced, skipped (nothing to do), deferred (run again after retry_after) or failed."
        )
    )
    reason: Annotated[str, StringConstraints(pattern=REASON_PATTERN, max_length=64)] = Field(
        description="The plugin's stable code for why; each plugin documents its own."
    )
    message: Text = Field(description="One sentence for the sync log that an admin can act on.")
    email: Omittable[str] = Field(default=None, description="The person's email, when known.")
    retry_after: Omittable[Annotated[float, Field(gt=0)]] = Field(
        default=None, description="Seconds to wait before running again; only when deferred."
    )
    blocked_on: Omittable[BlockedOn] = Field(
        default=None,
        description="What an admin must fix before a retry can succeed; only when failed.",
    )

    @model_validator(mode="after")
    def _status_rules(self) -> Outcome:
        if self.status == "deferred" and self.retry_after is None:
            raise _rule_broken("retry_after", "A deferred outcome says when to retry.")
        if self.status != "deferred" and self.retry_after is not None:
            raise _rule_broken("retry_after", "Only a deferred outcome has retry_after.")
        if self.status != "failed" and self.blocked_on is not None:
            raise _rule_broken("blocked_on", "Only a failed outcome has blocked_on.")
        return self


# ---- errors ------------------------------------------------------------------------

_UNION_TAGS = frozenset(EVENT_TYPES)
"""The tags pydantic puts in ``loc`` for the event union (the ``type`` value)."""


def json_pointer(path: Sequence[str | int]) -> str:
    """The JSON pointer (RFC 6901) of a path into a document: ``~`` and ``/`` escaped."""
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


def _message(error: ErrorDetails, hints: Mapping[str, str]) -> str:
    kind = error["type"]
    ctx = error.get("ctx") or {}
    if kind in ("missing", "union_tag_not_found"):
        return "This field is required."
    if kind == "extra_forbidden":
        return "This field is not allowed."
    if kind == "union_tag_invalid":
        return f"Use one of {ctx.get('expected_tags')}."
    if kind == "string_pattern_mismatch":
        return hints.get(str(ctx.get("pattern")), "This value has the wrong format.")
    if kind == "value_error":
        return str(ctx.get("error", error["msg"]))
    return error["msg"]


def field_errors(
    exc: ValidationError, hints: Mapping[str, str] = PATTERN_HINTS
) -> list[FieldError]:
    """Each problem of a pydantic validation error, as a JSON pointer into the document
    (RFC 6901) and a message an admin can read. Never includes the rejected value.

    ``hints`` reads a pattern mismatch to the admin, by pattern."""
    return [
        FieldError(pointer=json_pointer(_document_path(error)), message=_message(error, hints))
        for error in exc.errors(include_url=False, include_input=False)
    ]


def describe_field_errors(exc: ValidationError, hints: Mapping[str, str] = PATTERN_HINTS) -> str:
    """Every problem of a validation error on one line: ``/pointer: message; ...``, with no
    final period, so that the sentence it ends takes one of its own."""
    return "; ".join(
        f"{error['pointer'] or '/'}: {error['message'].rstrip('.')}"
        for error in field_errors(exc, hints)
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
                where = json_pointer(path if text is value else [*path, text])
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
