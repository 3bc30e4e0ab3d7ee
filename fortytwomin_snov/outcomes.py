"""What ``on_booking_event`` (and ``on_booking_events``, per event) answers: the Snov.io
sync outcome and its reason codes.

:class:`SyncOutcome` narrows the contract's :class:`~fortytwomin_snov.contract.models.Outcome`
(``schema/outcome.schema.json``, what any host acts on) to this plugin's published
``schema/sync-outcome.schema.json``: the slug ``snov``, the Snov.io list and prospect ids,
and :data:`REASON_STATUS`, the stable reason codes, each belonging to one status.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Annotated, Literal, get_args

from pydantic import ConfigDict, Field, ValidationInfo, field_validator

from fortytwomin_snov.contract.models import (
    Identifier,
    Omittable,
    Outcome,
    OutcomeStatus,
)

OutcomeReason = Literal[
    "prospect_added",
    "prospect_updated",
    "status_updated",
    "merged_into_batch",
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
    "store_unavailable",
    "credentials_rejected",
    "list_not_found",
    "custom_field_not_found",
    "snov_rejected",
    "invalid_event",
    "invalid_settings",
    "invalid_connection",
    "batch_interrupted",
]
REASON_STATUS: Mapping[str, str] = MappingProxyType(
    {
        "prospect_added": "synced",
        "prospect_updated": "synced",
        "status_updated": "synced",
        "merged_into_batch": "synced",
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
        "store_unavailable": "deferred",
        "credentials_rejected": "failed",
        "list_not_found": "failed",
        "custom_field_not_found": "failed",
        "snov_rejected": "failed",
        "invalid_event": "failed",
        "invalid_settings": "failed",
        "invalid_connection": "failed",
        "batch_interrupted": "failed",
    }
)
"""The status each reason code belongs to."""

REASONS_BY_STATUS: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        status: tuple(reason for reason, owner in REASON_STATUS.items() if owner == status)
        for status in get_args(OutcomeStatus)
    }
)


CampaignId = Annotated[int, Field(ge=1)]


class SyncOutcome(Outcome):
    """What ``on_booking_event`` did: ``schema/sync-outcome.schema.json``."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    integration: Literal["snov"] = Field(description="The integration slug.")
    reason: OutcomeReason = Field(description="A stable code for why; it fits the status.")
    email: Omittable[str] = Field(default=None, description="The prospect's email, when known.")
    list_id: Omittable[Annotated[int, Field(ge=1)]] = Field(
        default=None, description="The Snov.io list written to."
    )
    prospect_id: Omittable[Identifier] = Field(default=None, description="The Snov.io prospect id.")
    campaigns_paused: Omittable[tuple[CampaignId, ...]] = Field(
        default=None,
        strict=False,
        description="The Snov.io campaigns (ids) in which this sync paused the person.",
    )
    campaigns_unsubscribed: Omittable[tuple[CampaignId, ...]] = Field(
        default=None,
        strict=False,
        description="The Snov.io campaigns (ids) from which this sync unsubscribed the person.",
    )
    campaigns_resumed: Omittable[tuple[CampaignId, ...]] = Field(
        default=None,
        strict=False,
        description="The Snov.io campaigns (ids) in which this sync set the person back to Active.",
    )

    @field_validator("reason")
    @classmethod
    def _reason_fits_status(cls, reason: str, info: ValidationInfo) -> str:
        status = info.data.get("status")
        if status is not None and REASON_STATUS[reason] != status:
            allowed = ", ".join(REASONS_BY_STATUS[status])
            raise ValueError(f"A {status} outcome has one of these reasons: {allowed}.")
        return reason
