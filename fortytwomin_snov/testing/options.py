"""The emulator's switches for what the Snov.io reference leaves unconfirmed.

Each default is the best-supported guess (``docs/snov-api.md``, section 9.1); a test that
depends on one of these guesses should run both ways.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class ErrorTexts(BaseModel):
    """The ``errors`` strings the emulator answers with; ``{placeholders}`` are filled in."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    # Confirmed against the live API [REAL].
    same_list_duplicate: str = "Prospect with same email already exists in your list"
    prospect_email_not_found: str = "Prospect with email '{email}' not found"
    # Unconfirmed: every text below is a guess.
    prospect_id_not_found: str = "Prospect with id '{id}' not found"
    invalid_email: str = "Invalid email format"
    email_required: str = "Email or social link is required"
    list_id_required: str = "List id is required"
    list_not_found: str = "List with id '{list_id}' not found"
    list_deleted: str = "List with id '{list_id}' not found"
    conflicting_flags: str = "Only one of updateContact and createDuplicates can be true"
    unknown_custom_fields: str = "Custom fields {labels} not found"
    list_name_required: str = "List name is required"
    malformed_body: str = "Request body is not valid JSON"
    unsupported_grant_type: str = "The authorization grant type is not supported"
    unauthorized: str = "Unauthorized"
    forbidden: str = "Forbidden"
    not_found: str = "Not found"
    rate_limited: str = "Too many requests"
    server_error: str = "Internal server error"
    campaign_not_found: str = "Campaign with id '{campaign_id}' not found"
    recipient_not_found: str = "Recipient '{email}' not found in the campaign"
    recipient_status_final: str = "The recipient's status '{status}' cannot be changed"
    recipient_status_invalid: str = "Status must be one of Active, Paused, Unsubscribed"
    recipient_params_required: str = "Email, campaign_id and status are required"


def _invalid_client() -> dict[str, Any]:
    return {"error": "invalid_client", "error_description": "Client authentication failed"}


class EmulatorOptions(BaseModel):
    """How the emulator behaves where Snov.io's behaviour is configurable or unknown."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    token_lifetime: int = Field(default=3600, gt=0)
    """Seconds a token lives; also the ``expires_in`` the token endpoint answers."""

    rate_limit: int | None = Field(default=60, ge=1)
    """Requests per rolling window per account (token requests included); ``None``: no limit."""

    rate_window: float = Field(default=60.0, gt=0)
    """Length of the rolling rate-limit window, in seconds."""

    wrap_list_create_in_array: bool = True
    """``POST /v1/lists`` answers ``[{"success":…}]`` as documented, instead of ``{…}``."""

    update_contact_updates_same_list: bool = True
    """``updateContact=true`` on an email already in the SAME list updates it (200
    ``added:false, updated:true``) instead of answering the same-list 422."""

    recipient_status_accepts_json: bool = True
    """``change-recipient-status`` reads a JSON body; when False it reads only a form (its
    documented example), and a JSON body is answered as if it were empty."""

    recipient_status_all_profiles: bool = True
    """``change-recipient-status`` changes every profile of the email enrolled in the
    campaign (duplicates included), rather than only the newest."""

    recipient_error_status: int = Field(default=400, ge=200, le=599)
    """Status of ``change-recipient-status``'s refusals (an unknown campaign, an email not
    in it, a final status): ``success: false`` with ``errors`` under this status."""

    bad_credentials_status: int = Field(default=401, ge=400, le=599)
    """Status of the token endpoint's answer to a wrong API user ID or secret."""

    bad_credentials_body: dict[str, Any] = Field(default_factory=_invalid_client)
    """Body of the token endpoint's answer to a wrong API user ID or secret."""

    texts: ErrorTexts = Field(default_factory=ErrorTexts)

    def updated(self, changes: Mapping[str, Any]) -> EmulatorOptions:
        """A validated copy with ``changes`` applied; a mapping under ``texts`` is merged."""
        data = self.model_dump()
        for key, value in changes.items():
            if key == "texts" and isinstance(value, Mapping):
                data["texts"] = {**data["texts"], **value}
            elif isinstance(value, BaseModel):
                data[key] = value.model_dump()
            else:
                data[key] = value
        return EmulatorOptions.model_validate(data)
