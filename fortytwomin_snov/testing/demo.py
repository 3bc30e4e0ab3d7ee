"""A demo account that shows every situation the plugin meets in a real Snov.io account."""

from __future__ import annotations

from .records import Credentials
from .state import EmulatorState

DEMO_CREDENTIALS = Credentials(
    client_id="4242demo4242demo4242demo4242demo",
    client_secret="secret42secret42secret42secret42",  # noqa: S106 - published demo value
)
"""The demo account's API user ID and API secret (printed by ``--seed-demo``)."""


def seed_demo(state: EmulatorState) -> Credentials:
    """Create the demo account in ``state`` and return its credentials.

    Lists: "42min bookings" (no campaign: the safe target), "Webinar follow-up" (used by an
    Active campaign, so adding to it starts outreach), "Cold outreach" (a Paused campaign;
    holds one prospect already) and "Old imports" (deleted).
    """
    client_id = state.add_account(
        DEMO_CREDENTIALS.client_id, DEMO_CREDENTIALS.client_secret
    ).client_id
    state.add_custom_field(client_id, "Meeting status")
    state.add_custom_field(client_id, "Host email")
    state.add_custom_field(client_id, "Company size", type="number")
    state.add_list(client_id, "42min bookings")
    webinar = state.add_list(client_id, "Webinar follow-up")
    cold = state.add_list(client_id, "Cold outreach")
    state.add_list(client_id, "Old imports", deleted=True)
    state.add_campaign(client_id, "Webinar nurture", webinar.id, status="Active")
    state.add_campaign(client_id, "Cold outreach Q3", cold.id, status="Paused")
    state.create_prospect(
        client_id,
        cold.id,
        {"email": "existing.lead@example.com", "first_name": "Existing", "last_name": "Lead"},
    )
    return DEMO_CREDENTIALS
