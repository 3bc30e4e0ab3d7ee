"""The integration's card on the host's Integrations page."""

from __future__ import annotations

from fortytwomin_snov import SLUG
from fortytwomin_snov.contract.errors import ConfigurationError
from fortytwomin_snov.contract.models import Manifest
from fortytwomin_snov.schemas import load_schema
from fortytwomin_snov.snov.client import DEFAULT_RATE_LIMIT, rate_limit_from_environment


def manifest() -> Manifest:
    return Manifest(
        slug=SLUG,
        name="Snov.io",
        category="crm",
        auth="api_key",
        admin_only=True,
        description=(
            "Add invitees and routing-form respondents to a Snov.io prospect list"
            " and keep their meeting status current."
        ),
        credentials_schema=load_schema("credentials"),
        rate_limit=_rate_limit(),
    )


def _rate_limit() -> int:
    """The rate the client paces itself to: hosts estimate backlogs with it."""
    try:
        return rate_limit_from_environment()
    except ConfigurationError:
        # integration_manifest raises nothing: the client says what is wrong when it is
        # built, and the card shows Snov.io's own limit meanwhile.
        return DEFAULT_RATE_LIMIT
