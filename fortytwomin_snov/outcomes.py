"""What ``on_booking_event`` answers: the Snov.io sync outcome and its reason codes.

:class:`SyncOutcome` mirrors ``schema/sync-outcome.schema.json``; the schema fixes the
shape, and :data:`REASON_STATUS` the stable reason codes of this plugin, each belonging
to one status.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Annotated, Literal, get_args

from pydantic import Field, ValidationInfo, field_validator, model_validator
from pydantic_core import PydanticCustomError

from fortytwomin_snov.contract.models import ContractModel, Identifier, Omittable, Text

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
