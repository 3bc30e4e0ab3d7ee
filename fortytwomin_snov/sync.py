"""The sync engine: one booking or routing-form event in, one outcome out.

The help page's rules live in :mod:`fortytwomin_snov.rules`. :func:`sync_event` parses the
event and the settings, asks :func:`~fortytwomin_snov.rules.target_of` whom to write, takes
the marks that several workers share through the host's store (the event's idempotency
mark, a short lock on the person, the time of the last status written for them), hands
what they say to :func:`~fortytwomin_snov.rules.decide`, and carries out its plan through
:class:`Membership`, which makes sure the person really ends up in the target list.

It stays one module (about 1000 lines) because the marks, the membership steps, the
campaign step (``outreach_on_booking``) and the outcome are one protocol: each step noted,
lock held or id freed only makes sense beside the others, and a retry after a kill resumes
from any of them.

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
import json
import logging
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import ValidationError

from fortytwomin_snov import SLUG
from fortytwomin_snov.account import Account
from fortytwomin_snov.contract.errors import FieldError, InvalidCredentials, StoreUnavailable
from fortytwomin_snov.contract.models import (
    EVENT_ADAPTER,
    UtcClock,
    broken_text,
    future_problem,
    utc_now,
)
from fortytwomin_snov.contract.store import Add, Delete, Get, Op, Set, Store, apply
from fortytwomin_snov.mapping import Event
from fortytwomin_snov.outcomes import SyncOutcome
from fortytwomin_snov.rules import (
    CampaignSeen,
    History,
    Outreach,
    OutreachChange,
    Plan,
    Skip,
    Target,
    campaigns_seen,
    campaigns_to_change,
    decide,
    left_alone,
    target_of,
)
from fortytwomin_snov.schemas import describe_field_errors
from fortytwomin_snov.settings.model import Settings
from fortytwomin_snov.snov import (
    AddProspectResult,
    ProspectFields,
    ProspectProfile,
    RequestNotSent,
    SnovClient,
)
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
from fortytwomin_snov.validated import Validated, json_text
from fortytwomin_snov.wording import snov_trouble, wait_seconds

EVENT_MARK_TTL = 30 * 24 * 3600.0
"""How long a finished event id is remembered, so a late duplicate delivery is skipped."""
EVENT_LEASE = 60.0
"""How long an event being synced holds its id against a concurrent duplicate. A worker
killed mid-sync leaves the id held this long; the host's retry waits it out."""
STEP_TTL = 24 * 3600.0
"""How long the step an attempt reached is kept for its retry."""
PERSON_LOCK_TTL = 60.0
"""How long a worker may hold a person while it writes them (released when done). Longer
than a write of one person takes (a few calls, each within its timeout and retries), so that
a live worker never loses the person to another mid-write; a dead worker's lock delays
that person this long, less than the host's default job lease."""
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
STORE_RETRY = 30.0
"""Seconds before an event that met a failure of the host's store runs again."""

Claim = Literal["claimed", "done", "running"]

_log = logging.getLogger(__name__)

_PROSPECT_ID = re.compile(r"[!-~]{1,200}")  # the outcome schema's identifier


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
        document = {
            "event_id": self.event_id,
            "event_type": self.event_type,
            "integration": SLUG,
            "status": status,
            "reason": reason,
            "message": message,
            **{key: value for key, value in extra.items() if value is not None},
        }
        # Checked against the published schema's model; the model is strict, so what it
        # would dump is the document itself (a test keeps it so), and dumping it again
        # would cost as much as the check.
        SyncOutcome.model_validate(document)
        return document

    def skip(self, skip: Skip) -> dict[str, Any]:
        return self.make(
            skip.status, skip.reason, skip.message, email=skip.email, list_id=skip.list_id
        )


def _said(problem: FieldError) -> str:
    return f"{problem['pointer'] or '/'}: {problem['message']}"


def _text(value: object) -> str:
    if not isinstance(value, str):
        return ""
    return value.encode("utf-8", "replace").decode()  # echoed back even when broken


# ---- shared marks ----------------------------------------------------------------------


class Marks:
    """The state several workers share about one event and one person, in the host's store.

    Round trips are what a shared store costs, so an attempt reads and writes its marks in
    batches (:func:`~fortytwomin_snov.contract.store.apply`): :meth:`claim_events` claims the
    events, tries the person's lock and reads everything the rules and the membership steps
    need in one; from then on the writes wait in a buffer for the next round trip that must
    happen anyway (a step noted before a write to Snov.io, or :meth:`flush` at the end).
    Before :meth:`claim_events` every method is one call of its own.

    The claim also reads what the attempt's first request to Snov.io needs from the store
    (its rate-limit ticket and the cached token, :meth:`SnovClient.ahead_ops`), and from then
    on the buffered writes also leave with the round trip that takes a request's permit: a
    step noted for a write to Snov.io is in the store before that write leaves, without a
    round trip of its own. The final :meth:`flush` gives the ticket back if no request used
    it.

    The lock is tried with the claims, before knowing whether any claim succeeds, so its
    value names this attempt (``"<event id> <nonce>"``): a worker that took it for nothing
    gives it back, and nobody mistakes it for theirs meanwhile. A bare event id is a hold
    kept for that event's retry (:meth:`hold_person_for_retry`).
    """

    def __init__(self, store: Store, account: Account, list_id: int, email: str) -> None:
        scope = hashlib.sha256(account.credentials.api_user_id.encode()).hexdigest()[:24]
        person = hashlib.sha256(email.casefold().encode()).hexdigest()[:32]
        self._store = store
        self._account = account
        self._client: SnovClient | None = None  # while what it read ahead may be in use
        self._scope = scope
        self._person = f"{scope}:{list_id}:{person}"
        self._lock_key = f"snov:lock:{self._person}"
        self._choices_key = account.choices_key()
        self._begun = False
        self._pending: list[Op] = []
        self._steps: dict[str, str | None] = {}
        self._lock_taken = False  # by this attempt's add, whether or not it was needed
        self._lock_used = False
        self._holder: str | None = None
        self._history: tuple[str | None, str | None] = (None, None)

    def _event_key(self, event_id: str) -> str:
        return f"snov:event:{self._scope}:{event_id}"

    def _write(self, *ops: Op) -> None:
        """Buffered once claimed (sent with the next round trip), else sent now."""
        self._pending.extend(ops)
        if not self._begun:
            self.flush()

    def flush(self, *, quietly: bool = False, final: bool = False) -> None:
        """Send the buffered writes (and give back a lock taken for nothing) in one round
        trip. ``quietly``: on the way out of an error, a store failure is not raised.
        ``final``: the attempt's last round trip, which ends the ticket drawn ahead."""
        if self._lock_taken and not self._lock_used:
            self._pending.append(Delete(self._lock_key))
            self._lock_taken = False
        if final and self._client is not None:
            self._pending += self._client.end_ahead()
            self._client = None
        ops, self._pending = self._pending, []
        try:
            apply(self._store, ops)
        except StoreUnavailable:
            if not quietly:
                raise

    def claim_events(self, event_ids: Sequence[str]) -> dict[str, Claim]:
        """Whether this worker may sync each event, or it is done, or under way elsewhere;
        one round trip that also tries the person's lock and reads the person's marks."""
        ids = list(dict.fromkeys(event_ids))
        attempt = f"{ids[0]} {secrets.token_hex(6)}"
        ops: list[Op] = []
        for event_id in ids:
            ops += [Add(self._event_key(event_id), "running", EVENT_LEASE)]
            ops += [Get(self._event_key(event_id)), Get(self._step_key(event_id))]
        ops += [Add(self._lock_key, attempt, PERSON_LOCK_TTL), Get(self._lock_key)]
        ops += [Get(self._status_at_key), Get(self._member_key)]
        # What the first request will need, when the client shares this store.
        client = self._account.client if self._store is self._account.store else None
        ahead = [] if client is None else client.ahead_ops()
        results = apply(self._store, ops + ahead)
        if client is not None:
            if client.take_ahead(results[len(ops) :], self._take_pending):
                self._client = client  # the steps noted from now on leave with the permits
            del results[len(ops) :]
        self._begun = True
        claims: dict[str, Claim] = {}
        for index, event_id in enumerate(ids):
            added, value, step = results[3 * index : 3 * index + 3]
            claims[event_id] = "claimed" if added else "done" if value == "done" else "running"
            self._steps[event_id] = step if isinstance(step, str) else None
        took, holder, status_at, member = results[-4:]
        self._lock_taken = took is True
        self._holder = holder if isinstance(holder, str) else None
        self._history = (
            status_at if isinstance(status_at, str) else None,
            member if isinstance(member, str) else None,
        )
        return claims

    def claim_event(self, event_id: str) -> Claim:
        return self.claim_events([event_id])[event_id]

    def finish_event(self, event_id: str, *, final: bool) -> None:
        """A final outcome keeps the id (later duplicates are skipped); others free it.

        The steps stay for a retry after a deferred or failed outcome, and go when final.
        """
        if final:
            self._write(Set(self._event_key(event_id), "done", ttl=EVENT_MARK_TTL))
            if not self._begun or self._steps.get(event_id, "") is not None:
                # Not when the claim read no step and none was noted since.
                self._write(Delete(self._step_key(event_id)))
        else:
            self._write(Delete(self._event_key(event_id)))

    def _step_key(self, event_id: str) -> str:
        return f"snov:step:{self._scope}:{event_id}"

    def step(self, event_id: str) -> str | None:
        """The last write an earlier attempt at this event started, if any."""
        if self._begun and event_id in self._steps:
            return self._steps[event_id]
        return self._store.get(self._step_key(event_id))

    def note_step(self, event_id: str, step: str) -> None:
        """It must be in the store before the write to Snov.io it announces: buffered while
        a ticket drawn ahead is in use (the request's permit round trip takes it), else
        written at once, with the buffered writes."""
        self._pending.append(Set(self._step_key(event_id), step, ttl=STEP_TTL))
        self._steps[event_id] = step
        if self._client is None:
            self.flush()

    def _take_pending(self) -> list[Op]:
        """The buffered writes, for the round trip a request makes for its permit."""
        ops, self._pending = self._pending, []
        return ops

    def restore_step(self, event_id: str, step: str | None) -> None:
        self._steps[event_id] = step
        if step is None:
            self._pending.append(Delete(self._step_key(event_id)))
            self.flush()
        else:
            self.note_step(event_id, step)

    def lock_person(self, event_id: str, others: Sequence[str] = ()) -> bool:
        """Hold the person for this event; True too if a hold kept for this event's retry
        (or for one of ``others``, written together with it) holds them."""
        if not self._begun:  # a lone call (tests, tools): take it, or read who holds it
            attempt = f"{event_id} {secrets.token_hex(6)}"
            self._lock_taken = self._store.add(self._lock_key, attempt, ttl=PERSON_LOCK_TTL)
            self._holder = None if self._lock_taken else self._store.get(self._lock_key)
        if self._lock_taken:
            self._lock_used = True
            return True
        if self._holder is not None and (self._holder == event_id or self._holder in others):
            # The retry of the event the hold was kept for: hold it as this attempt.
            self._pending.append(
                Set(self._lock_key, f"{event_id} {secrets.token_hex(6)}", ttl=PERSON_LOCK_TTL)
            )
            self.flush()
            self._lock_taken = self._lock_used = True
            return True
        return False

    def unlock_person(self) -> None:
        self._lock_taken = self._lock_used = False
        self._write(Delete(self._lock_key))

    def hold_person_for_retry(self, event_id: str) -> None:
        """Keep the person held until this event's retry: a write whose answer was lost may
        still land in Snov.io, and a later event written before it would be undone."""
        self._lock_taken = self._lock_used = False
        self._write(Set(self._lock_key, event_id, ttl=UNAVAILABLE_RETRY + PERSON_LOCK_TTL))

    @property
    def _member_key(self) -> str:
        return f"snov:member:{self._person}"

    @property
    def _status_at_key(self) -> str:
        return f"snov:status-at:{self._person}"

    def is_member(self) -> bool:
        if self._begun:
            return self._history[1] is not None
        return self._store.get(self._member_key) is not None

    def remember_member(self, prospect_id: str | None) -> None:
        self._history = (self._history[0], prospect_id or "")
        self._write(Set(self._member_key, prospect_id or "", ttl=MEMBER_TTL))

    def last_status_at(self) -> float | None:
        value = self._history[0] if self._begun else self._store.get(self._status_at_key)
        return None if value is None else float(value)

    def remember_status_at(self, moment: float) -> None:
        self._history = (repr(moment), self._history[1])
        self._write(Set(self._status_at_key, repr(moment), ttl=STATUS_AT_TTL))

    def forget_choices(self) -> None:
        """Someone was added to a list: drop the account's cached choices, whose prospect
        counts are one short now (written with the next round trip)."""
        self._write(Delete(self._choices_key))

    def history(self, *, event_done: bool) -> History:
        """What the rules need from the store; read under the person's lock."""
        if event_done:  # the rules stop at the duplicate: nothing else matters
            return History(event_done=True)
        return History(last_status_at=self.last_status_at(), in_list=self.is_member())


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

    def __init__(
        self, client: SnovClient, marks: Marks, list_id: int, event_ids: Sequence[str]
    ) -> None:
        self._client = client
        self._marks = marks
        self._list_id = list_id
        # Several ids when one write carries several events: each notes the step, so a
        # retry of any of them, however the next batch groups them, goes on from there.
        self._event_ids = tuple(event_ids)
        self.looked_up: list[ProspectProfile] | None = None
        """The email's profiles as last looked up, while no add has landed since."""

    def _last_step(self) -> str | None:
        for event_id in self._event_ids:
            step = self._marks.step(event_id)
            if step is not None:
                return step
        return None

    def _add(self, fields: ProspectFields, **flags: bool) -> AddProspectResult:
        return self._client.add_prospect(self._list_id, fields, **flags)

    def _step(self, step: str) -> None:
        for event_id in self._event_ids:
            self._marks.note_step(event_id, step)

    def _first_add(self, fields: ProspectFields, **flags: bool) -> AddProspectResult:
        """The add that may land without our hearing of it: noted as step ``add`` while it
        may have reached Snov.io, and not at all when it surely did not."""
        before = self._last_step()
        self._step("add")
        try:
            return self._add(fields, **flags)
        except (RateLimited, RequestNotSent):
            # Refused by the limiter or by a 429, or never sent: nothing landed.
            for event_id in self._event_ids:
                self._marks.restore_step(event_id, before)
            raise

    def _joined(self, result: AddProspectResult, note: str = "") -> Written:
        if result.added:  # a new profile may be enrolled in its list's campaigns
            self.looked_up = None
        self._marks.remember_member(result.prospect_id)
        return Written(in_list=True, added=result.added, prospect_id=result.prospect_id, note=note)

    def _listed(self, email: str) -> tuple[bool, str | None, bool]:
        """Looked up: (in our list, that profile's id, the email has any profile)."""
        profiles = self._client.prospects_by_email(email)
        self.looked_up = profiles
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
        step = self._last_step()
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
        step = self._last_step()
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


def read_event(
    event_document: Any, now: UtcClock = utc_now
) -> tuple[Outcomes, Event | dict[str, Any]]:
    """The event's outcome builder, and the parsed event or its ``invalid_event`` outcome
    (a broken character, a schema problem, or a date more than a day ahead of ``now``)."""
    raw = event_document if isinstance(event_document, dict) else {}
    outcomes = Outcomes(_text(raw.get("id")), _text(raw.get("type")))
    broken = None if json_text(event_document) is not None else broken_text(event_document)
    if broken is not None:
        return outcomes, outcomes.make(
            "failed", "invalid_event", f"The event is not valid: {_said(broken)}"
        )
    try:
        event: Event = EVENT_ADAPTER.validate_python(event_document)
    except ValidationError as exc:
        return outcomes, outcomes.make(
            "failed", "invalid_event", f"The event is not valid: {describe_field_errors(exc)}."
        )
    ahead = future_problem(event.occurred_at, now())
    if ahead is not None:
        return outcomes, outcomes.make(
            "failed", "invalid_event", f"The event is not valid: {_said(ahead)}"
        )
    return outcomes, event


def read_settings(settings_document: Any) -> Settings | str:
    """The parsed settings, or why they are not valid (for an ``invalid_settings`` outcome)."""
    text = json_text(settings_document)
    known = _SETTINGS.get(text, settings_document)
    if known is not None:
        return known
    broken = None if text is not None else broken_text(settings_document)
    if broken is not None:
        return f"The saved settings are not valid: {_said(broken)}"
    try:
        return _SETTINGS.put(text, Settings.model_validate(settings_document))
    except ValidationError as exc:
        return f"The saved settings are not valid: {describe_field_errors(exc)}."


_SETTINGS: Validated[Settings] = Validated()


def invalid_settings(outcomes: Outcomes, message: str) -> dict[str, Any]:
    return outcomes.make("failed", "invalid_settings", message, blocked_on="settings")


def invalid_connection(outcomes: Outcomes, error: InvalidCredentials) -> dict[str, Any]:
    return outcomes.make("failed", "invalid_connection", str(error), blocked_on="credentials")


def sync_event(
    connection: Any,
    settings_document: Any,
    event_document: Any,
    store: Store,
    *,
    now: UtcClock = utc_now,
) -> dict[str, Any]:
    """Sync one event; the outcome as JSON. Never raises for bad input or Snov.io trouble."""
    outcomes, event = read_event(event_document, now)
    if isinstance(event, dict):
        return event
    settings = read_settings(settings_document)
    if isinstance(settings, str):
        return invalid_settings(outcomes, settings)
    target = target_of(event, settings)
    if isinstance(target, Skip):
        return outcomes.skip(target)
    try:
        account = Account.for_connection(connection, store)
    except InvalidCredentials as error:
        return invalid_connection(outcomes, error)
    with account:
        marks = Marks(account.store, account, target.list_id, target.email)
        try:
            try:
                outcome = _sync_person(event, settings, target, account, outcomes, marks)
            except BaseException:
                marks.flush(quietly=True, final=True)
                raise
            marks.flush(final=True)
        except StoreUnavailable as error:
            return store_unavailable(outcomes, error, email=target.email, list_id=target.list_id)
        return outcome


def store_unavailable(outcomes: Outcomes, error: StoreUnavailable, **where: Any) -> dict[str, Any]:
    """The host's store failed: nothing is lost, the host runs the event again. Marks the
    attempt could not write back (its claim, the person's lock) run out within a minute."""
    _log.warning("The shared store failed during a Snov.io sync: %s", error)
    return outcomes.make(
        "deferred",
        "store_unavailable",
        "42min's shared store could not be reached, so this event was not synced yet; it"
        f" runs again in {round(STORE_RETRY)} seconds.",
        retry_after=STORE_RETRY,
        **where,
    )


def _sync_person(
    event: Event,
    settings: Settings,
    target: Target,
    account: Account,
    outcomes: Outcomes,
    marks: Marks,
) -> dict[str, Any]:
    where = {"email": target.email, "list_id": target.list_id}
    claim = marks.claim_event(event.id)
    if claim == "running":
        # Not "duplicate": the worker holding it may have died, and then this is the retry.
        return outcomes.make(
            "deferred",
            "in_progress",
            "This event is being synced by another worker; it is checked again shortly.",
            retry_after=IN_PROGRESS_RETRY,
            **where,
        )
    if claim == "claimed" and not marks.lock_person(event.id):
        marks.finish_event(event.id, final=False)
        return outcomes.make(
            "deferred",
            "in_progress",
            f"Another event for {target.email} is being synced; this one runs again shortly.",
            retry_after=IN_PROGRESS_RETRY,
            **where,
        )
    try:
        decision = decide(event, settings, marks.history(event_done=claim == "done"))
        if isinstance(decision, Skip):
            outcome = outcomes.skip(decision)
        else:
            outcome = apply_plan(decision, account, marks, outcomes, (event.id,))
    except BaseException:
        if claim == "claimed":
            marks.unlock_person()
            marks.finish_event(event.id, final=False)
        raise
    if claim == "done":  # a duplicate: the event's id and the person were never held
        return outcome
    if outcome["reason"] == "snov_unavailable":
        marks.hold_person_for_retry(event.id)
    else:
        marks.unlock_person()
    # A deferred or failed event frees its id, so the host's retry is not a "duplicate".
    marks.finish_event(event.id, final=outcome["status"] in ("synced", "skipped"))
    return outcome


def apply_plan(
    plan: Plan, account: Account, marks: Marks, outcomes: Outcomes, event_ids: Sequence[str]
) -> dict[str, Any]:
    """Carry out the plan: the person into the list, and the outcome Snov.io's answers earn.

    ``event_ids``: the events the write carries (their steps are noted together)."""
    membership = Membership(account.client, marks, plan.list_id, event_ids)
    progress = OutreachProgress.of(marks, event_ids)
    try:
        if progress is not None:  # an earlier attempt wrote the person: campaigns are left
            written = progress.written()
        elif plan.route == "add_unless_present":
            written = membership.add_unless_present(plan.fields, plan.update)
        else:
            assert plan.update is not None, "only a lookup may leave a prospect alone"
            if plan.route == "update":
                written = membership.update_known(plan.update)
            else:
                written = membership.upsert_unknown(plan.fields, plan.update)
    except SnovError as error:
        return _trouble(error, plan, outcomes)
    if written.added:
        marks.forget_choices()
    if plan.update is None and not written.added:
        return outcomes.skip(left_alone(Target(plan.email, plan.list_id)))
    if plan.status_at is not None:
        marks.remember_status_at(plan.status_at)
    changed: OutreachChanged | None = None
    if plan.outreach is not None:
        try:
            changed = change_outreach(
                plan, plan.outreach, account, marks, event_ids, written, progress, membership
            )
        except SnovError as error:
            return _trouble(error, plan, outcomes)
    return _synced(written, plan, outcomes, changed)


def _synced(
    written: Written, plan: Plan, outcomes: Outcomes, changed: OutreachChanged | None = None
) -> dict[str, Any]:
    extra = {"email": plan.email, "list_id": plan.list_id, "prospect_id": written.prospect_id}
    tail = ""
    if changed is not None:
        tail = changed.words()
        extra.update(changed.fields())
    if plan.status_only:
        verb = "Added" if written.added else "Updated"
        return outcomes.make(
            "synced",
            "status_updated",
            f"{verb} {plan.email} in the Snov.io list with the meeting's new status"
            f"{written.note}{tail}.",
            **extra,
        )
    if written.added:
        return outcomes.make(
            "synced",
            "prospect_added",
            f"Added {plan.email} to the Snov.io list{written.note}{tail}.",
            **extra,
        )
    return outcomes.make(
        "synced",
        "prospect_updated",
        f"Updated {plan.email}, already in the Snov.io list, with the new details{tail}.",
        **extra,
    )


def _trouble(error: SnovError, plan: Plan, outcomes: Outcomes) -> dict[str, Any]:
    """A Snov.io problem as an outcome an admin can act on."""
    where = {"email": plan.email, "list_id": plan.list_id}
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
            f"The Snov.io target list (id {plan.list_id}) no longer exists: choose another"
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
        f"Snov.io refused to write {plan.email}: {said}",
        **where,
    )


# ---- outreach: the person's Snov.io campaigns, once they are written --------------------

OUTREACH_STEP = "outreach:"
"""The step noted once the person is written: a retry goes on with the campaigns only."""
PAUSED_TTL = STATUS_AT_TTL
"""How long the store remembers the campaigns this feature paused someone in."""

_DONE_WORDS: dict[OutreachChange, tuple[str, str]] = {
    "pause": ("paused them in", "pause"),
    "unsubscribe": ("unsubscribed them from", "unsubscribe them from"),
    "resume": ("set them back to Active in", "resume"),
}
_OUTCOME_FIELD: dict[OutreachChange, str] = {
    "pause": "campaigns_paused",
    "unsubscribe": "campaigns_unsubscribed",
    "resume": "campaigns_resumed",
}


@dataclass
class OutreachProgress:
    """The step mark of the campaign step: what the write achieved, the campaigns changed
    so far, and the one whose change was sent last without an answer yet."""

    added: bool
    prospect_id: str | None
    done: list[int] = field(default_factory=list)
    pending: int | None = None

    @classmethod
    def of(cls, marks: Marks, event_ids: Sequence[str]) -> OutreachProgress | None:
        for event_id in event_ids:
            step = marks.step(event_id)
            if step is not None and step.startswith(OUTREACH_STEP):
                try:
                    raw = json.loads(step.removeprefix(OUTREACH_STEP))
                    return cls(
                        added=bool(raw["added"]),
                        prospect_id=raw["prospect_id"],
                        done=[int(item) for item in raw["done"]],
                        pending=raw["pending"],
                    )
                except (ValueError, KeyError, TypeError):
                    return None  # unreadable: the write's own steps start over safely
        return None

    def note(self, marks: Marks, event_ids: Sequence[str]) -> None:
        value = OUTREACH_STEP + json.dumps(
            {
                "added": self.added,
                "prospect_id": self.prospect_id,
                "done": self.done,
                "pending": self.pending,
            }
        )
        for event_id in event_ids:
            marks.note_step(event_id, value)

    def written(self) -> Written:
        return Written(in_list=True, added=self.added, prospect_id=self.prospect_id)


@dataclass(frozen=True)
class OutreachChanged:
    """What the campaign step did: for the outcome."""

    change: OutreachChange
    changed: tuple[CampaignSeen, ...]
    refused: tuple[tuple[CampaignSeen, str], ...] = ()
    looked: bool = True
    """Whether the person's campaigns were read (not for a resume with nothing to resume)."""

    def words(self) -> str:
        done, verb = _DONE_WORDS[self.change]
        said = ""
        if self.changed:
            count = len(self.changed)
            noun = "campaign" if count == 1 else "campaigns"
            names = ", ".join(item.name for item in self.changed)
            said = f" and {done} {count} Snov.io {noun}: {names}"
        elif self.looked and self.change != "resume" and not self.refused:
            said = f" (in no active Snov.io campaign to {verb})"
        for campaign, why in self.refused:
            said += (
                f"; Snov.io refused to {verb} them in {campaign.name} ({why}), so it was skipped"
            )
        return said

    def fields(self) -> dict[str, Any]:
        if not self.changed:
            return {}
        return {_OUTCOME_FIELD[self.change]: [item.id for item in self.changed]}


def _paused_key(account: Account, email: str) -> str:
    # Per account and email, not per list: a campaign's recipients are emails.
    scope = hashlib.sha256(account.credentials.api_user_id.encode()).hexdigest()[:24]
    person = hashlib.sha256(email.casefold().encode()).hexdigest()[:32]
    return f"snov:outreach-paused:{scope}:{person}"


def paused_by_us(account: Account, email: str) -> set[int]:
    """The campaigns this feature paused the person in and has not resumed."""
    raw = account.store.get(_paused_key(account, email))
    try:
        return {int(item) for item in json.loads(raw)} if raw else set()
    except (ValueError, TypeError):
        return set()


def _remember_paused(account: Account, email: str, campaigns: set[int]) -> None:
    key = _paused_key(account, email)
    if campaigns:
        account.store.set(key, json.dumps(sorted(campaigns)), ttl=PAUSED_TTL)
    else:
        account.store.delete(key)


def change_outreach(
    plan: Plan,
    outreach: Outreach,
    account: Account,
    marks: Marks,
    event_ids: Sequence[str],
    written: Written,
    progress: OutreachProgress | None,
    membership: Membership,
) -> OutreachChanged:
    """Pause, unsubscribe or resume the person in their campaigns, after they are written.

    The step is noted first, so a retry after trouble here does not write the person
    again; before each change the campaign is noted as pending, and a retry that finds it
    already changed counts it as done (one lookup, one change per campaign, at most once
    more after a kill). Raises SnovError for trouble a retry can fix (429, 5xx, keys); a
    campaign Snov.io refuses to change (gone, Finished) is noted and skipped.
    """
    fresh = progress is None
    if progress is None:
        progress = OutreachProgress(added=written.added, prospect_id=written.prospect_id)
        progress.note(marks, event_ids)
    ours = paused_by_us(account, plan.email)
    if outreach.change == "resume" and not ours and progress.pending is None and not progress.done:
        return OutreachChanged("resume", (), looked=False)  # nothing of ours: no call
    client = account.client
    reused = membership.looked_up if fresh else None
    profiles = reused if reused is not None else client.prospects_by_email(plan.email)
    seen = campaigns_seen(profiles, plan.email)
    by_id = {item.id: item for item in seen}
    target = outreach.status.casefold()
    if progress.pending is not None:
        pending = by_id.get(progress.pending)
        if pending is not None and pending.statuses == {target}:  # the lost answer landed
            progress.done.append(pending.id)
            _track(account, plan.email, outreach.change, ours, pending.id)
        progress.pending = None
    done = [
        by_id.get(item, CampaignSeen(item, f"campaign {item}", frozenset()))
        for item in progress.done
    ]
    refused: list[tuple[CampaignSeen, str]] = []
    for campaign in campaigns_to_change(outreach, seen, ours):
        if campaign.id in progress.done:
            continue
        progress.pending = campaign.id
        progress.note(marks, event_ids)
        try:
            client.change_recipient_status(plan.email, campaign.id, outreach.status)
        except SnovRejected as error:
            refused.append((campaign, error.snov_message or str(error)))
            if outreach.change == "resume":  # gone or finished: nothing left to resume
                ours.discard(campaign.id)
                _remember_paused(account, plan.email, ours)
            progress.pending = None
            continue
        progress.done.append(campaign.id)
        progress.pending = None
        _track(account, plan.email, outreach.change, ours, campaign.id)
        progress.note(marks, event_ids)
        done.append(campaign)
    if outreach.change == "resume" and ours - by_id.keys():
        _remember_paused(account, plan.email, ours & by_id.keys())  # campaigns gone since
    return OutreachChanged(outreach.change, tuple(done), tuple(refused))


def _track(
    account: Account, email: str, change: OutreachChange, ours: set[int], campaign_id: int
) -> None:
    """Remember a pause of ours (and forget it once resumed), so a resume touches only ours."""
    if change == "pause":
        ours.add(campaign_id)
    elif change == "resume":
        ours.discard(campaign_id)
    else:
        return
    _remember_paused(account, email, ours)
