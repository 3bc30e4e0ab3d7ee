"""The Snov.io API client: every network call of the plugin goes through here."""

from fortytwomin_snov.snov.auth import (
    Scrubber,
    SnovAuth,
    cached_token,
    forget_token,
    token_cache_key,
)
from fortytwomin_snov.snov.client import (
    DEFAULT_BASE_URL,
    DEFAULT_RATE_LIMIT,
    DEFAULT_TIMEOUT,
    RecipientStatus,
    SnovClient,
)
from fortytwomin_snov.snov.environment import BASE_URL_ENV, RATE_LIMIT_ENV, TIMEOUT_ENV
from fortytwomin_snov.snov.limiter import Permit, RateLimiter
from fortytwomin_snov.snov.models import (
    AddProspectResult,
    Balance,
    Campaign,
    CampaignMembership,
    CampaignRecipient,
    CustomField,
    ListMembership,
    ProspectFields,
    ProspectList,
    ProspectProfile,
)
from fortytwomin_snov.snov.responses import (
    CREDENTIALS_REJECTED,
    RequestNotSent,
    raise_for_response,
    snov_error_text,
)

__all__ = [
    "BASE_URL_ENV",
    "CREDENTIALS_REJECTED",
    "DEFAULT_BASE_URL",
    "DEFAULT_RATE_LIMIT",
    "DEFAULT_TIMEOUT",
    "RATE_LIMIT_ENV",
    "TIMEOUT_ENV",
    "AddProspectResult",
    "Balance",
    "Campaign",
    "CampaignMembership",
    "CampaignRecipient",
    "CustomField",
    "ListMembership",
    "Permit",
    "ProspectFields",
    "ProspectList",
    "ProspectProfile",
    "RateLimiter",
    "RecipientStatus",
    "RequestNotSent",
    "Scrubber",
    "SnovAuth",
    "SnovClient",
    "cached_token",
    "forget_token",
    "raise_for_response",
    "snov_error_text",
    "token_cache_key",
]
