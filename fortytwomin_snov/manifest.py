"""The integration's card on the host's Integrations page."""

from __future__ import annotations

from fortytwomin_snov import SLUG
from fortytwomin_snov.contract.models import Manifest
from fortytwomin_snov.schemas import load_schema


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
    )
