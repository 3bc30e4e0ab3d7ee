"""The help page's rules: what one valid event should do, decided without any I/O.

:func:`decide` takes the event, the settings and the :class:`History` the caller read from
the host's store, and returns a :class:`Plan` (what to write to Snov.io) or a :class:`Skip`
(the outcome's reason and the admin's message). It reads no store, sends nothing and reads
no clock, so every rule can be checked on its own.

The store's marks are kept per person and list, so the caller must know whom an event is
about before it can read them: :func:`target_of` applies the rules that need no marks and
names the person and the list. :func:`decide` applies them again first, so its answer
never depends on the caller having asked.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

from fortytwomin_snov.contract.models import BookingEvent
from fortytwomin_snov.mapping import (
    STATUS_ONLY_EVENTS,
    TRIGGER_OF_EVENT,
    Event,
    person_of,
    prospect_fields,
    status_fields,
    status_label,
)
from fortytwomin_snov.outcomes import REASON_STATUS, OutcomeReason
from fortytwomin_snov.settings.model import Settings
from fortytwomin_snov.snov import ProspectFields, ProspectProfile, RecipientStatus

EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
"""What passes for an email address: Snov.io refuses anything looser."""

_TRIGGER_WORDS = {
    "booking_created": "New bookings",
    "booking_canceled": "Cancellations",
    "booking_rescheduled": "Reschedules",
    "booking_no_show": "No-shows",
    "routing_form_submitted": "Routing-form submissions",
}


@dataclass(frozen=True)
class Skip:
    """Nothing to write, and why: an outcome's reason and the admin's message.

    Most reasons are ``skipped``; a malformed email is ``failed`` (``invalid_event``).
    ``email`` and ``list_id`` say whom the outcome is about, when that is known.
    """

    reason: OutcomeReason
    message: str
    email: str | None = None
    list_id: int | None = None

    @property
    def status(self) -> str:
        return REASON_STATUS[self.reason]


@dataclass(frozen=True)
class Target:
    """Whom an event writes and where: what the store's marks are kept under."""

    email: str
    list_id: int


@dataclass(frozen=True)
class History:
    """What the host's store remembers about this event and this person in this list.

    The caller reads it under the person's lock, just before :func:`decide`.
    """

    event_done: bool = False
    """This event id finished before: a later delivery is a duplicate."""
    last_status_at: float | None = None
    """When (``occurred_at``, POSIX seconds) the newest booking event written for them happened."""
    in_list: bool = False
    """The store knows the person is in the target list."""


Route = Literal["update", "add_or_update", "add_unless_present"]
"""How the person reaches the list.

- ``update``: known to be in the list; one ``updateContact`` with :attr:`Plan.update`.
- ``add_or_update``: add :attr:`Plan.fields`; if they are in the list already, write
  :attr:`Plan.update` onto that profile.
- ``add_unless_present``: look the email up first (an add would overwrite a profile in
  another list), add :attr:`Plan.fields` if absent, else write :attr:`Plan.update` or nothing.
"""


OutreachChange = Literal["pause", "unsubscribe", "resume"]
"""What an event does to the person's campaign recipient status."""

_RECIPIENT_STATUS: dict[OutreachChange, RecipientStatus] = {
    "pause": "Paused",
    "unsubscribe": "Unsubscribed",
    "resume": "Active",
}


@dataclass(frozen=True)
class Outreach:
    """The campaign part of a plan: the change, and the campaigns it may touch."""

    change: OutreachChange
    campaign_ids: frozenset[int] = frozenset()
    """The campaigns chosen in the settings; empty: every campaign (pause, unsubscribe)."""

    @property
    def status(self) -> RecipientStatus:
        """The recipient status the change sets, as Snov.io spells it."""
        return _RECIPIENT_STATUS[self.change]


@dataclass(frozen=True)
class CampaignSeen:
    """A campaign the person is a recipient of, merged across their profiles."""

    id: int
    name: str
    statuses: frozenset[str]
    """Their recipient statuses in it, lower case, one per profile enrolled."""


@dataclass(frozen=True)
class Plan:
    """What to write to Snov.io for one event."""

    email: str
    list_id: int
    route: Route
    fields: ProspectFields
    """Everything the mapping fills: what a person new to the list gets."""
    update: ProspectFields | None
    """What a person already in the list gets: everything, only the status (and host
    email) for a status event, or None when the settings leave existing prospects alone."""
    status_only: bool
    """A cancel, reschedule or no-show: only the meeting's status changes."""
    status_label: str | None
    """The words written into the lifecycle status field, if one is chosen."""
    status_at: float | None
    """A booking event's ``occurred_at`` (POSIX seconds), remembered once it is written."""
    outreach: Outreach | None = None
    """What happens to the person in Snov.io campaigns once they are written, if anything."""


def target_of(event: Event, settings: Settings) -> Target | Skip:
    """The rules that need no marks, in order; whom and where to write when none applies."""
    if settings.target_list_id is None:
        return Skip(
            "no_target_list",
            "No Snov.io target list is chosen, so nothing syncs: choose one in the settings.",
        )
    trigger = TRIGGER_OF_EVENT[event.type]
    if not getattr(settings.triggers, trigger):
        return Skip(
            "trigger_off",
            f"{_TRIGGER_WORDS[trigger]} are turned off in the Snov.io settings.",
        )
    email = person_of(event).email
    if email is None:
        who = "respondent" if event.type == "routing_form.submitted" else "invitee"
        return Skip("no_email", f"The {who} has no email address, and Snov.io needs one.")
    if event.type in STATUS_ONLY_EVENTS and settings.lifecycle_status_field is None:
        return Skip(
            "no_lifecycle_field",
            "No lifecycle status field is chosen, so cancellations, reschedules and no-shows"
            " have nothing to write: choose one in the settings.",
        )
    if not EMAIL.fullmatch(email):
        pointer = (
            "/booking/invitee/email"
            if isinstance(event, BookingEvent)
            else "/routing_form/respondent/email"
        )
        return Skip(
            "invalid_event",
            f"The event is not valid: {pointer}: '{email}' is not an email address.",
            email=email,
        )
    return Target(email=email, list_id=settings.target_list_id)


def left_alone(target: Target) -> Skip:
    """A person in the list whom the settings say to leave untouched."""
    return Skip(
        "existing_prospect_skipped",
        f"{target.email} is already a prospect in the list and the settings say to leave"
        " existing prospects untouched.",
        email=target.email,
        list_id=target.list_id,
    )


def decide(event: Event, settings: Settings, history: History) -> Plan | Skip:
    """Every help-page rule, in the order they apply; the plan when none says stop."""
    target = target_of(event, settings)
    if isinstance(target, Skip):
        return target
    if history.event_done:
        return Skip(
            "duplicate_event",
            "This event was delivered before and is already synced.",
            email=target.email,
            list_id=target.list_id,
        )
    # Only booking events carry a meeting status, so only they are kept in order.
    status_at = event.occurred_at.timestamp() if isinstance(event, BookingEvent) else None
    if (
        status_at is not None
        and history.last_status_at is not None
        and status_at < history.last_status_at
    ):
        return Skip(
            "stale_event",
            f"A later change to {target.email}'s meeting was synced already; this older"
            " one is not applied.",
            email=target.email,
            list_id=target.list_id,
        )
    status_only = event.type in STATUS_ONLY_EVENTS
    # A status event changes the status of someone already there in either mode.
    leave_existing = settings.existing_prospect == "skip" and not status_only
    if history.in_list and leave_existing:
        return left_alone(target)
    fields = prospect_fields(event, settings)
    update: ProspectFields | None
    if status_only:
        update = status_fields(event, settings)
    elif leave_existing:
        update = None
    else:
        update = fields
    route: Route
    if history.in_list:
        route = "update"
    elif settings.existing_prospect == "skip":
        route = "add_unless_present"
    else:
        route = "add_or_update"
    label = status_label(event, settings) if settings.lifecycle_status_field else None
    return Plan(
        email=target.email,
        list_id=target.list_id,
        route=route,
        fields=fields,
        update=update,
        status_only=status_only,
        status_label=label,
        status_at=status_at,
        outreach=outreach_of(event, settings),
    )


# ---- outreach: the person's Snov.io campaigns ---------------------------------------------

STOPPING_EVENTS = frozenset({"booking.created", "routing_form.submitted"})
RESUMING_EVENTS = frozenset({"booking.canceled", "booking.no_show"})


def outreach_of(event: Event, settings: Settings) -> Outreach | None:
    """What an event does to the person's campaigns under the settings, if anything.

    A booking or a routing-form submission pauses or unsubscribes them; a cancel or a
    no-show resumes what was paused, with ``resume_on_cancel``; a reschedule changes nothing.
    """
    chosen = settings.outreach_on_booking
    if event.type in STOPPING_EVENTS and chosen.action != "none":
        return Outreach(chosen.action, frozenset(chosen.campaign_ids))
    if event.type in RESUMING_EVENTS and chosen.resume_on_cancel:
        return Outreach("resume")
    return None


def campaigns_seen(profiles: Iterable[ProspectProfile], email: str) -> tuple[CampaignSeen, ...]:
    """The person's campaigns from a lookup, merged across their profiles (one per list they
    were duplicated into), in the order first seen. Recipients of another email are ignored."""
    wanted = email.casefold()
    names: dict[int, str] = {}
    statuses: dict[int, set[str]] = {}
    for profile in profiles:
        for campaign in profile.campaigns:
            names.setdefault(campaign.id, campaign.name or f"campaign {campaign.id}")
            found = statuses.setdefault(campaign.id, set())
            for recipient in campaign.recipients:
                if recipient.email is not None and recipient.email.casefold() != wanted:
                    continue
                found.add((recipient.status or "").casefold())
    return tuple(
        CampaignSeen(id=campaign_id, name=name, statuses=frozenset(statuses[campaign_id]))
        for campaign_id, name in names.items()
    )


def campaigns_to_change(
    outreach: Outreach, campaigns: Sequence[CampaignSeen], paused_by_us: Iterable[int]
) -> tuple[CampaignSeen, ...]:
    """Where the change applies.

    Pause or unsubscribe: where the person is an active recipient, in the chosen campaigns
    (all of them when none is chosen). Resume: where they are paused, in the campaigns
    this feature paused (``paused_by_us``) and no other.
    """
    if outreach.change == "resume":
        ours = frozenset(paused_by_us)
        return tuple(item for item in campaigns if item.id in ours and "paused" in item.statuses)
    return tuple(
        item
        for item in campaigns
        if "active" in item.statuses
        and (not outreach.campaign_ids or item.id in outreach.campaign_ids)
    )
