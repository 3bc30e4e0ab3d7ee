"""The sync engine: one booking or routing-form event in, one outcome out.

:func:`decide` holds the help page's rules in one place and is pure: invalid input, no
target list, trigger off, no email, no lifecycle field. :func:`sync_event` then takes the
marks that several workers share through the host's store (the event's idempotency
mark, a short lock on the person, the time of the last status written for them) and
writes to Snov.io through :class:`Membership`, which makes sure the person really ends up
in the target list.

Snov.io's ``add-prospect-to-list`` answers in three ways that matter here:

- ``added: true``: the person entered the list;
- HTTP 422 "already exists in your list": the person is in the list already;
- HTTP 200 with ``added: false``: the email lives in *another* list; Snov.io updated that
  profile and left the person out of this list. ``createDuplicates`` is the only means
  the API offers to put them into this list as well.

So a person the store does not know yet is added without flags (one call in the common
case); a 422 is followed by ``updateContact`` (refresh the details), an ``added: false``
by ``createDuplicates``. Once a person is known to be in the list, the store remembers it
and every later write is one ``updateContact`` call. The outcome is ``synced`` only when
Snov.io said the person is in the list.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import ValidationError

from fortytwomin_snov import SLUG
from fortytwomin_snov.account import Account
from fortytwomin_snov.contract.errors import FieldError, InvalidCredentials
from fortytwomin_snov.contract.models import EVENT_ADAPTER, BookingEvent, broken_text
from fortytwomin_snov.contract.store import Store
from fortytwomin_snov.mapping import (
    STATUS_ONLY_EVENTS,
    TRIGGER_OF_EVENT,
    Event,
    person_of,
    prospect_fields,
    status_fields,
)
from fortytwomin_snov.outcomes import OutcomeReason, SyncOutcome
from fortytwomin_snov.schemas import describe_field_errors
from fortytwomin_snov.settings.model import Settings
from fortytwomin_snov.snov import AddProspectResult, ProspectFields, RequestNotSent, SnovClient
from fortytwomin_snov.snov.errors import (
    CredentialsRejected,
    CustomFieldNotFound,
    ListNotFound,
    RateLimited,
    SnovError,
    SnovRejected,
    SnovServerError,
    SnovUnreachable,
)
from fortytwomin_snov.wording import snov_trouble, wait_seconds

EVENT_MARK_TTL = 30 * 24 * 3600.0
"""How long a finished event id is remembered, so a late duplicate delivery is skipped."""
EVENT_LEASE = 60.0
"""How long an event being synced holds its id against a concurrent duplicate. A worker
killed mid-sync leaves the id held this long; the host's retry waits it out."""
STEP_TTL = 24 * 3600.0
"""How long the step an attempt reached is kept for its retry."""
PERSON_LOCK_TTL = 60.0
"""How long a worker may hold a person while it writes them (released when done)."""
IN_PROGRESS_RETRY = 5.0
"""Seconds before an event that met another worker's event or person lease runs again."""
MEMBER_TTL = 7 * 24 * 3600.0
"""How long the store trusts that a person is in a list. Snov.io's answer to an update
cannot tell this list's profile from another list's, so a person removed from the list
inside Snov.io is found out when this runs out (the next write takes the full path)."""
STATUS_AT_TTL = 400 * 24 * 3600.0
"""How long the store remembers when a person's status last changed (for ordering)."""
UNAVAILABLE_RETRY = 60.0
"""Seconds before an event that met a 5xx or a network failure runs again."""

_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_PROSPECT_ID = re.compile(r"[!-~]{1,200}")  # the outcome schema's identifier


@dataclass(frozen=True)
class Skip:
    """Nothing to write, and why."""

    reason: OutcomeReason
    message: str


@dataclass(frozen=True)
class Write:
    """What to write to Snov.io for one event."""

    email: str
    list_id: int
    status_only: bool
    """A cancel, reschedule or no-show: only the status changes."""


_TRIGGER_WORDS = {
    "booking_created": "New bookings",
    "booking_canceled": "Cancellations",
    "booking_rescheduled": "Reschedules",
    "booking_no_show": "No-shows",
    "routing_form_submitted": "Routing-form submissions",
}


def decide(event: Event, settings: Settings) -> Skip | Write:
    """The help page's rules, before anything is sent."""
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
    status_only = event.type in STATUS_ONLY_EVENTS
    if status_only and settings.lifecycle_status_field is None:
        return Skip(
            "no_lifecycle_field",
            "No lifecycle status field is chosen, so cancellations, reschedules and no-shows"
            " have nothing to write: choose one in the settings.",
        )
    return Write(email=email, list_id=settings.target_list_id, status_only=status_only)


# ---- the outcome ---------------------------------------------------------------------


class Outcomes:
    """Builds the outcomes of one event (they all share its id, type and slug)."""

    def __init__(self, event_id: str, event_type: str) -> None:
        self.event_id = event_id
        self.event_type = event_type

    def make(self, status: str, reason: str, message: str, **extra: Any) -> dict[str, Any]:
        prospect_id = extra.get("prospect_id")
        if prospect_id is not None and not _PROSPECT_ID.fullmatch(prospect_id):
            del extra["prospect_id"]  # an id Snov.io shaped oddly is not worth losing the outcome
        outcome = SyncOutcome.model_validate(
            {
                "event_id": self.event_id,
                "event_type": self.event_type,
                "integration": SLUG,
                "status": status,
                "reason": reason,
                "message": message,
                **{key: value for key, value in extra.items() if value is not None},
            }
        )
        return outcome.to_json()


def _said(problem: FieldError) -> str:
    return f"{problem['pointer'] or '/'}: {problem['message']}"


def _text(value: object) -> str:
    if not isinstance(value, str):
        return ""
    return value.encode("utf-8", "replace").decode()  # echoed back even when broken


# ---- shared marks ----------------------------------------------------------------------


class Marks:
    """The state several workers share about one event and one person, in the host's store."""

    def __init__(self, store: Store, account: Account, list_id: int, email: str) -> None:
        scope = hashlib.sha256(account.credentials.api_user_id.encode()).hexdigest()[:24]
        person = hashlib.sha256(email.casefold().encode()).hexdigest()[:32]
        self._store = store
        self._scope = scope
        self._person = f"{scope}:{list_id}:{person}"

    def _event_key(self, event_id: str) -> str:
        return f"snov:event:{self._scope}:{event_id}"

    def claim_event(self, event_id: str) -> Literal["claimed", "done", "running"]:
        """Whether this worker may sync the event, or it is done, or under way elsewhere."""
        key = self._event_key(event_id)
        if self._store.add(key, "running", ttl=EVENT_LEASE):
            return "claimed"
        return "done" if self._store.get(key) == "done" else "running"

    def finish_event(self, event_id: str, *, final: bool) -> None:
        """A final outcome keeps the id (later duplicates are skipped); others free it.

        The steps stay for a retry after a deferred or failed outcome, and go when final.
        """
        if final:
            self._store.set(self._event_key(event_id), "done", ttl=EVENT_MARK_TTL)
            self._store.delete(self._step_key(event_id))
        else:
            self._store.delete(self._event_key(event_id))

    def _step_key(self, event_id: str) -> str:
        return f"snov:step:{self._scope}:{event_id}"

    def step(self, event_id: str) -> str | None:
        """The last write an earlier attempt at this event started, if any."""
        return self._store.get(self._step_key(event_id))

    def note_step(self, event_id: str, step: str) -> None:
        self._store.set(self._step_key(event_id), step, ttl=STEP_TTL)

    def restore_step(self, event_id: str, step: str | None) -> None:
        if step is None:
            self._store.delete(self._step_key(event_id))
        else:
            self.note_step(event_id, step)

    def lock_person(self, event_id: str) -> bool:
        """Hold the person for this event; True too if this event already holds them."""
        key = f"snov:lock:{self._person}"
        return self._store.add(key, event_id, ttl=PERSON_LOCK_TTL) or (
            self._store.get(key) == event_id
        )

    def unlock_person(self) -> None:
        self._store.delete(f"snov:lock:{self._person}")

    def hold_person_for_retry(self, event_id: str) -> None:
        """Keep the person held until this event's retry: a write whose answer was lost may
        still land in Snov.io, and a later event written before it would be undone."""
        self._store.set(
            f"snov:lock:{self._person}", event_id, ttl=UNAVAILABLE_RETRY + PERSON_LOCK_TTL
        )

    def is_member(self) -> bool:
        return self._store.get(f"snov:member:{self._person}") is not None

    def remember_member(self, prospect_id: str | None) -> None:
        self._store.set(f"snov:member:{self._person}", prospect_id or "", ttl=MEMBER_TTL)

    def last_status_at(self) -> float | None:
        value = self._store.get(f"snov:status-at:{self._person}")
        return None if value is None else float(value)

    def remember_status_at(self, moment: float) -> None:
        self._store.set(f"snov:status-at:{self._person}", repr(moment), ttl=STATUS_AT_TTL)


# ---- membership: getting the person into the list -----------------------------------


@dataclass(frozen=True)
class Written:
    """What the writes achieved: the person is in the list, or was left alone."""

    in_list: bool
    added: bool
    prospect_id: str | None
    note: str = ""


class NotInList(SnovError):
    """Snov.io answered without putting the person into the list."""


class Membership:
    """Puts one person into the target list with the right data, or says why not.

    Before each write that may land in Snov.io, the step is noted under the event's id
    (``add``, ``update``, ``duplicate``), so that a retry after a worker died mid-sync
    goes on from what the last attempt learned instead of starting over: a kill costs at
    most one repeated call.
    """

    def __init__(self, client: SnovClient, marks: Marks, list_id: int, event_id: str) -> None:
        self._client = client
        self._marks = marks
        self._list_id = list_id
        self._event_id = event_id

    def _add(self, fields: ProspectFields, **flags: bool) -> AddProspectResult:
        return self._client.add_prospect(self._list_id, fields, **flags)

    def _step(self, step: str) -> None:
        self._marks.note_step(self._event_id, step)

    def _first_add(self, fields: ProspectFields, **flags: bool) -> AddProspectResult:
        """The add that may land without our hearing of it: noted as step ``add`` while it
        may have reached Snov.io, and not at all when it surely did not."""
        before = self._marks.step(self._event_id)
        self._step("add")
        try:
            return self._add(fields, **flags)
        except (RateLimited, RequestNotSent):
            # Refused by the limiter or by a 429, or never sent: nothing landed.
            self._marks.restore_step(self._event_id, before)
            raise

    def _joined(self, result: AddProspectResult, note: str = "") -> Written:
        self._marks.remember_member(result.prospect_id)
        return Written(in_list=True, added=result.added, prospect_id=result.prospect_id, note=note)

    def _listed(self, email: str) -> tuple[bool, str | None, bool]:
        """Looked up: (in our list, that profile's id, the email has any profile)."""
        profiles = self._client.prospects_by_email(email)
        for profile in profiles:
            if any(item.id == self._list_id for item in profile.lists):
                self._marks.remember_member(profile.id)
                return True, profile.id, True
        return False, None, bool(profiles)

    def update_known(self, fields: ProspectFields) -> Written:
        """A person known to be in the list: one updateContact call."""
        result = self._add(fields, update_contact=True)
        if result.added or result.updated:
            return self._joined(result)
        if result.already_in_list:
            raise NotInList(
                "Snov.io refused to update a prospect already in the list (it answered"
                " 'already exists')"
            )
        raise NotInList("Snov.io neither added nor updated the prospect")

    def _duplicate(
        self, fields: ProspectFields, update: ProspectFields, *, resumed: bool = False
    ) -> Written:
        # The email lives in another list: Snov.io updated that profile and left the
        # person out of ours. A profile of their own in our list is the API's only way.
        self._step("duplicate")
        result = self._add(fields, create_duplicates=True)
        if result.added:
            return self._joined(result, note=" (the email is also in another Snov.io list)")
        if result.already_in_list:
            if resumed:  # the dead attempt's duplicate landed, with these very fields
                return self._joined(result)
            # Someone put them into the list meanwhile: write our details onto that profile.
            self._marks.remember_member(None)
            self._step("update")
            return self.update_known(update)
        raise NotInList(
            "Snov.io did not add the prospect to the list, although the email is free there"
        )

    def upsert_unknown(self, fields: ProspectFields, update: ProspectFields) -> Written:
        """A person the store does not know: add with ``fields``; if Snov.io says they are in
        the list already, write ``update`` (for a status event, only the status)."""
        step = self._marks.step(self._event_id)
        if step == "update":
            return self.update_known(update)
        if step == "duplicate":
            return self._duplicate(fields, update, resumed=True)
        if step == "add":  # the last attempt's add may have landed: look before adding
            listed, prospect_id, elsewhere = self._listed(fields.email)
            if listed:
                return Written(in_list=True, added=True, prospect_id=prospect_id)
            if elsewhere:
                return self._duplicate(fields, update)
        result = self._first_add(fields)
        if result.added:
            return self._joined(result)
        if result.already_in_list:
            self._marks.remember_member(None)
            self._step("update")
            return self.update_known(update)
        return self._duplicate(fields, update)

    def add_unless_present(self, fields: ProspectFields, update: ProspectFields | None) -> Written:
        """For ``existing_prospect: skip``: touch no existing profile but with ``update``.

        A lookup comes first because an add without flags would overwrite a profile the
        email has in another list. A person already in the list gets ``update`` (a status
        event's status) or nothing at all.
        """
        step = self._marks.step(self._event_id)
        if step == "update" and update is not None:
            return self.update_known(update)
        listed, prospect_id, elsewhere = self._listed(fields.email)
        if listed:
            if step == "add":  # the last attempt's add landed
                return Written(in_list=True, added=True, prospect_id=prospect_id)
            if update is not None:
                self._step("update")
                return self.update_known(update)
            return Written(in_list=True, added=False, prospect_id=prospect_id)
        result = self._first_add(fields, create_duplicates=elsewhere)
        if result.added:
            return self._joined(result)
        if result.already_in_list:
            self._marks.remember_member(None)
            if update is not None:
                self._step("update")
                return self.update_known(update)
            return Written(in_list=True, added=False, prospect_id=None)
        raise NotInList("Snov.io did not add the prospect to the list")


# ---- the whole event -------------------------------------------------------------------


def sync_event(
    connection: Any,
    settings_document: Any,
    event_document: Any,
    store: Store,
) -> dict[str, Any]:
    """Sync one event; the outcome as JSON. Never raises for bad input or Snov.io trouble."""
    raw = event_document if isinstance(event_document, dict) else {}
    outcomes = Outcomes(_text(raw.get("id")), _text(raw.get("type")))
    broken = broken_text(event_document)
    if broken is not None:
        return outcomes.make("failed", "invalid_event", f"The event is not valid: {_said(broken)}")
    try:
        event: Event = EVENT_ADAPTER.validate_python(event_document)
    except ValidationError as exc:
        return outcomes.make(
            "failed", "invalid_event", f"The event is not valid: {describe_field_errors(exc)}."
        )
    broken = broken_text(settings_document)
    if broken is not None:
        return outcomes.make(
            "failed",
            "invalid_settings",
            f"The saved settings are not valid: {_said(broken)}",
            blocked_on="settings",
        )
    try:
        settings = Settings.model_validate(settings_document)
    except ValidationError as exc:
        return outcomes.make(
            "failed",
            "invalid_settings",
            f"The saved settings are not valid: {describe_field_errors(exc)}.",
            blocked_on="settings",
        )
    decision = decide(event, settings)
    if isinstance(decision, Skip):
        return outcomes.make("skipped", decision.reason, decision.message)
    if not _EMAIL.fullmatch(decision.email):
        pointer = (
            "/booking/invitee/email"
            if isinstance(event, BookingEvent)
            else "/routing_form/respondent/email"
        )
        return outcomes.make(
            "failed",
            "invalid_event",
            f"The event is not valid: {pointer}: '{decision.email}' is not an email address.",
            email=decision.email,
        )
    try:
        account = Account.for_connection(connection, store)
    except InvalidCredentials as error:
        return outcomes.make("failed", "invalid_connection", str(error), blocked_on="credentials")
    with account:
        return _sync_person(event, settings, decision, account, outcomes)


def _sync_person(
    event: Event, settings: Settings, write: Write, account: Account, outcomes: Outcomes
) -> dict[str, Any]:
    marks = Marks(account.store, account, write.list_id, write.email)
    where = {"email": write.email, "list_id": write.list_id}
    claim = marks.claim_event(event.id)
    if claim == "done":
        return outcomes.make(
            "skipped",
            "duplicate_event",
            "This event was delivered before and is already synced.",
            **where,
        )
    if claim == "running":
        # Not "duplicate": the worker holding it may have died, and then this is the retry.
        return outcomes.make(
            "deferred",
            "in_progress",
            "This event is being synced by another worker; it is checked again shortly.",
            retry_after=IN_PROGRESS_RETRY,
            **where,
        )
    if not marks.lock_person(event.id):
        marks.finish_event(event.id, final=False)
        return outcomes.make(
            "deferred",
            "in_progress",
            f"Another event for {write.email} is being synced; this one runs again shortly.",
            retry_after=IN_PROGRESS_RETRY,
            **where,
        )
    try:
        outcome = _write(event, settings, write, account, marks, outcomes, where)
    except BaseException:
        marks.unlock_person()
        marks.finish_event(event.id, final=False)
        raise
    if outcome["reason"] == "snov_unavailable":
        marks.hold_person_for_retry(event.id)
    else:
        marks.unlock_person()
    # A deferred or failed event frees its id, so the host's retry is not a "duplicate".
    marks.finish_event(event.id, final=outcome["status"] in ("synced", "skipped"))
    return outcome


def _write(
    event: Event,
    settings: Settings,
    write: Write,
    account: Account,
    marks: Marks,
    outcomes: Outcomes,
    where: dict[str, Any],
) -> dict[str, Any]:
    is_booking = isinstance(event, BookingEvent)
    if is_booking:
        last = marks.last_status_at()
        if last is not None and event.occurred_at.timestamp() < last:
            return outcomes.make(
                "skipped",
                "stale_event",
                f"A later change to {write.email}'s meeting was synced already; this older"
                " one is not applied.",
                **where,
            )
    known = marks.is_member()
    skip_existing = settings.existing_prospect == "skip" and not write.status_only
    if known and skip_existing:
        return _left_alone(write, outcomes, where)
    full = prospect_fields(event, settings)
    # A status event changes only the status of someone already there, in either mode.
    update = status_fields(event, settings) if write.status_only else full
    membership = Membership(account.client, marks, write.list_id, event.id)
    try:
        if known:
            written = membership.update_known(update)
        elif settings.existing_prospect == "skip":
            written = membership.add_unless_present(full, update if write.status_only else None)
        else:
            written = membership.upsert_unknown(full, update)
    except SnovError as error:
        return _trouble(error, write, outcomes, where)
    if skip_existing and not written.added:
        return _left_alone(write, outcomes, where)
    if is_booking:
        marks.remember_status_at(event.occurred_at.timestamp())
    return _synced(event, written, write, outcomes, where)


def _left_alone(write: Write, outcomes: Outcomes, where: dict[str, Any]) -> dict[str, Any]:
    return outcomes.make(
        "skipped",
        "existing_prospect_skipped",
        f"{write.email} is already a prospect in the list and the settings say to leave"
        " existing prospects untouched.",
        **where,
    )


def _synced(
    event: Event, written: Written, write: Write, outcomes: Outcomes, where: dict[str, Any]
) -> dict[str, Any]:
    extra = {**where, "prospect_id": written.prospect_id}
    if write.status_only:
        verb = "Added" if written.added else "Updated"
        return outcomes.make(
            "synced",
            "status_updated",
            f"{verb} {write.email} in the Snov.io list with the meeting's new status"
            f"{written.note}.",
            **extra,
        )
    if written.added:
        return outcomes.make(
            "synced",
            "prospect_added",
            f"Added {write.email} to the Snov.io list{written.note}.",
            **extra,
        )
    return outcomes.make(
        "synced",
        "prospect_updated",
        f"Updated {write.email}, already in the Snov.io list, with the new details.",
        **extra,
    )


def _trouble(
    error: SnovError,
    write: Write,
    outcomes: Outcomes,
    where: dict[str, Any],
) -> dict[str, Any]:
    """A Snov.io problem as an outcome an admin can act on."""
    if isinstance(error, CredentialsRejected):
        return outcomes.make(
            "failed",
            "credentials_rejected",
            f"{snov_trouble(error).what}: {snov_trouble(error).then_clause}, and this sync"
            " runs again.",
            blocked_on="credentials",
            **where,
        )
    if isinstance(error, ListNotFound):
        return outcomes.make(
            "failed",
            "list_not_found",
            f"The Snov.io target list (id {write.list_id}) no longer exists: choose another"
            " list in the settings, and this sync runs again.",
            blocked_on="settings",
            **where,
        )
    if isinstance(error, CustomFieldNotFound):
        labels = ", ".join(f"'{label}'" for label in error.labels) or "a mapped custom field"
        return outcomes.make(
            "failed",
            "custom_field_not_found",
            f"The Snov.io custom field {labels} no longer exists: create it in Snov.io or fix"
            " the settings, and this sync runs again.",
            blocked_on="settings",
            **where,
        )
    if isinstance(error, RateLimited):
        return outcomes.make(
            "deferred",
            "rate_limited",
            f"{snov_trouble(error).what}; this sync runs again in {wait_seconds(error)} seconds.",
            retry_after=max(error.retry_after, 0.001),
            **where,
        )
    if isinstance(error, SnovServerError | SnovUnreachable):
        return outcomes.make(
            "deferred",
            "snov_unavailable",
            f"{snov_trouble(error).what} ({error}); this sync runs again"
            f" in {round(UNAVAILABLE_RETRY)} seconds.",
            retry_after=UNAVAILABLE_RETRY,
            **where,
        )
    said = (error.snov_message if isinstance(error, SnovRejected) else "") or str(error)
    return outcomes.make(
        "failed",
        "snov_rejected",
        f"Snov.io refused to write {write.email}: {said}",
        **where,
    )
