"""The saved settings document: ``schema/settings.schema.json`` as pydantic models.

The models are strict and closed, like every contract model (see
:mod:`fortytwomin_snov.contract.models`); ``tests/test_models.py`` keeps them in step
with the published schema. The source and target patterns of a mapping row live here,
beside the rows that use them.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Annotated, Literal

from pydantic import Field, StringConstraints, ValidationInfo, field_validator

from fortytwomin_snov.contract.models import _CONTROL, LINE_PATTERN, ContractModel, Line

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

Label = Annotated[str, StringConstraints(pattern=LINE_PATTERN, max_length=100)]
"""A Snov.io custom field label."""


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

OutreachAction = Literal["none", "pause", "unsubscribe"]
"""What a booking does to the person in Snov.io campaigns."""

CampaignId = Annotated[int, Field(ge=1)]


class OutreachOnBooking(ContractModel):
    """Stop a Snov.io campaign's emails to someone once they book."""

    action: OutreachAction = Field(
        default="none",
        description=(
            "What a new booking (and a routing-form submission, where that trigger is on) does"
            " to the person in Snov.io campaigns: none leaves them alone, pause pauses them,"
            " unsubscribe unsubscribes them (final in Snov.io)."
        ),
    )
    campaign_ids: tuple[CampaignId, ...] = Field(
        default=(),
        max_length=100,
        strict=False,  # a JSON array arrives as a list
        description=(
            "The Snov.io campaigns this applies to (ids); empty means every campaign the"
            " person is an active recipient of."
        ),
    )
    resume_on_cancel: bool = Field(
        default=False,
        description=(
            "When the meeting is canceled or marked no-show, set the person back to Active in"
            " the campaigns this setting paused; never in one paused by anyone else."
        ),
    )


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
    outreach_on_booking: OutreachOnBooking = Field(
        default=OutreachOnBooking(),
        description="What a booking does to the person's Snov.io campaigns; off by default.",
    )
