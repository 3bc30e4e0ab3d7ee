"""Batch delivery: many events in, one Snov.io write per person, one outcome per event.

:func:`sync_events` groups a batch by person and list, applies the help page's rules
(:func:`~fortytwomin_snov.rules.decide`) to each person's events in ``occurred_at`` order,
as if each were written in turn, and merges what they would write into one write: the
latest status and the newest details. The write goes through the same
:class:`~fortytwomin_snov.sync.Membership` as a single event's, with the same marks: every
event's idempotency mark, one hold on the person, the steps noted under every event the
write carries.

The event whose data the write ends with (the newest) reports what Snov.io did; the others
it carries are ``synced`` with ``merged_into_batch``. A problem of the whole account or
service (the rate limit, an outage of Snov.io or of the host's store, rejected keys, a
deleted list) stops the batch: the
people already written stay synced, the rest get that outcome without a request.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from fortytwomin_snov.account import Account
from fortytwomin_snov.contract.errors import InvalidCredentials, StoreUnavailable
from fortytwomin_snov.contract.store import Store
from fortytwomin_snov.mapping import Event
from fortytwomin_snov.rules import History, Plan, Skip, Target, decide, target_of
from fortytwomin_snov.settings.model import Settings
from fortytwomin_snov.snov import ProspectFields
from fortytwomin_snov.sync import (
    IN_PROGRESS_RETRY,
    Marks,
    Outcomes,
    apply_plan,
    invalid_connection,
    invalid_settings,
    read_event,
    read_settings,
    store_unavailable,
)

JSON = dict[str, Any]

STOPPING_REASONS = frozenset(
    {
        "rate_limited",
        "snov_unavailable",
        "store_unavailable",
        "credentials_rejected",
        "list_not_found",
    }
)
"""Reasons that hold for every person of the account: the rest of the batch is not tried."""


@dataclass
class _Item:
    index: int
    event: Event
    outcomes: Outcomes


@dataclass
class _Person:
    target: Target
    items: list[_Item] = field(default_factory=list)


def sync_events(
    connection: Any, settings_document: Any, event_documents: Any, store: Store
) -> list[JSON]:
    """One outcome per event, in the order given. Never raises for bad input or Snov.io
    trouble; an unexpected error stops the batch with ``batch_interrupted`` for the events
    not yet written."""
    documents = list(event_documents) if isinstance(event_documents, list | tuple) else []
    answers: list[JSON | None] = [None] * len(documents)
    parsed: list[_Item] = []
    for index, document in enumerate(documents):
        outcomes, event = read_event(document)
        if isinstance(event, dict):
            answers[index] = event
        else:
            parsed.append(_Item(index, event, outcomes))
    settings = read_settings(settings_document) if parsed else None
    if isinstance(settings, str):
        for item in parsed:
            answers[item.index] = invalid_settings(item.outcomes, settings)
        parsed = []
    people: dict[tuple[str, int], _Person] = {}
    for item in parsed:
        assert isinstance(settings, Settings)
        target = target_of(item.event, settings)
        if isinstance(target, Skip):
            answers[item.index] = item.outcomes.skip(target)
            continue
        key = (target.email.casefold(), target.list_id)
        people.setdefault(key, _Person(target)).items.append(item)
    if people:
        assert isinstance(settings, Settings)
        try:
            account = Account.for_connection(connection, store)
        except InvalidCredentials as error:
            for person in people.values():
                for item in person.items:
                    answers[item.index] = invalid_connection(item.outcomes, error)
        else:
            with account:
                _sync_people(list(people.values()), settings, account, answers)
    assert all(answer is not None for answer in answers)
    return [answer for answer in answers if answer is not None]


def _sync_people(
    people: list[_Person], settings: Settings, account: Account, answers: list[JSON | None]
) -> None:
    stop: JSON | None = None
    for person in people:
        if stop is not None:
            for item in person.items:
                answers[item.index] = _like(stop, item, person.target)
            continue
        try:
            results = _sync_person(person, settings, account)
        except StoreUnavailable as error:
            first = person.items[0]
            stop = store_unavailable(
                first.outcomes, error, email=person.target.email, list_id=person.target.list_id
            )
            for item in person.items:
                answers[item.index] = _like(stop, item, person.target)
            continue
        except Exception as error:  # noqa: BLE001 - the people written so far keep their outcomes
            stop = person.items[0].outcomes.make(
                "failed",
                "batch_interrupted",
                f"An unexpected error ({type(error).__name__}) stopped the sync before this"
                " event was written: replay it.",
            )
            for item in person.items:
                answers[item.index] = _like(stop, item, person.target)
            continue
        for index, outcome in results.items():
            answers[index] = outcome
            if outcome["reason"] in STOPPING_REASONS:
                stop = outcome


def _like(template: JSON, item: _Item, target: Target) -> JSON:
    """The outcome another event gets from a problem met before it (its own id, type, email)."""
    copied = {**template, "event_id": item.outcomes.event_id, "event_type": item.event.type}
    copied["email"] = target.email
    copied["list_id"] = target.list_id
    copied.pop("prospect_id", None)
    return copied


def _sync_person(person: _Person, settings: Settings, account: Account) -> dict[int, JSON]:
    """Every outcome of one person's events, by batch index."""
    target = person.target
    marks = Marks(account.store, account, target.list_id, target.email)
    try:
        results = _marked_person(person, settings, account, marks)
    except BaseException:
        marks.flush(quietly=True, final=True)
        raise
    marks.flush(final=True)
    return results


def _marked_person(
    person: _Person, settings: Settings, account: Account, marks: Marks
) -> dict[int, JSON]:
    target = person.target
    where = {"email": target.email, "list_id": target.list_id}
    results: dict[int, JSON] = {}
    ordered = sorted(person.items, key=lambda item: (item.event.occurred_at, item.index))
    claimed: list[_Item] = []
    repeats: list[tuple[_Item, _Item]] = []  # the same event id twice in one batch
    first_of: dict[str, _Item] = {}
    claims = marks.claim_events([item.event.id for item in ordered])
    for item in ordered:
        earlier = first_of.get(item.event.id)
        if earlier is not None:
            repeats.append((item, earlier))
            continue
        first_of[item.event.id] = item
        claim = claims[item.event.id]
        if claim == "running":
            results[item.index] = item.outcomes.make(
                "deferred",
                "in_progress",
                "This event is being synced by another worker; it is checked again shortly.",
                retry_after=IN_PROGRESS_RETRY,
                **where,
            )
        elif claim == "done":
            skip = decide(item.event, settings, History(event_done=True))
            assert isinstance(skip, Skip)
            results[item.index] = item.outcomes.skip(skip)
        else:
            claimed.append(item)
    if claimed:
        results.update(_write_person(claimed, settings, account, marks, where))
    for item, earlier in repeats:
        outcome = results[earlier.index]
        if outcome["status"] in ("synced", "skipped"):
            skip = decide(item.event, settings, History(event_done=True))
            assert isinstance(skip, Skip)
            results[item.index] = item.outcomes.skip(skip)
        else:
            results[item.index] = {**outcome}
    return results


def _write_person(
    claimed: list[_Item],
    settings: Settings,
    account: Account,
    marks: Marks,
    where: dict[str, Any],
) -> dict[int, JSON]:
    """Decide each claimed event in turn, write the merged plan once, finish every mark."""
    ids = [item.event.id for item in claimed]
    lead = ids[0]
    results: dict[int, JSON] = {}
    if not marks.lock_person(lead, ids[1:]):
        for item in claimed:
            marks.finish_event(item.event.id, final=False)
            results[item.index] = item.outcomes.make(
                "deferred",
                "in_progress",
                f"Another event for {where['email']} is being synced; this one runs again shortly.",
                retry_after=IN_PROGRESS_RETRY,
                **where,
            )
        return results
    written_by: JSON | None = None
    try:
        history = marks.history(event_done=False)
        plans: list[tuple[_Item, Plan]] = []
        follow: list[_Item] = []  # skipped only because an earlier plan of the batch lands
        for item in claimed:
            decision = decide(item.event, settings, history)
            if isinstance(decision, Skip):
                results[item.index] = item.outcomes.skip(decision)
                if plans:
                    follow.append(item)
                continue
            plans.append((item, decision))
            # As if this plan were written: the person is in the list, this is their status.
            status_at = history.last_status_at
            if decision.status_at is not None:
                status_at = max(status_at or decision.status_at, decision.status_at)
            history = History(last_status_at=status_at, in_list=True)
        if plans:
            carrier = plans[-1][0]
            written_by = apply_plan(
                _merged([plan for _, plan in plans]),
                account,
                marks,
                carrier.outcomes,
                [item.event.id for item, _ in plans],
            )
            for item, _ in plans:
                results[item.index] = _carried(written_by, item, carrier)
            if written_by["status"] != "synced":
                for item in follow:
                    results[item.index] = _carried(written_by, item, carrier)
    except BaseException:
        marks.unlock_person()
        for event_id in ids:
            marks.finish_event(event_id, final=False)
        raise
    if written_by is not None and written_by["reason"] == "snov_unavailable":
        marks.hold_person_for_retry(lead)
    else:
        marks.unlock_person()
    for item in claimed:
        final = results[item.index]["status"] in ("synced", "skipped")
        marks.finish_event(item.event.id, final=final)
    return results


def _carried(written: JSON, item: _Item, carrier: _Item) -> JSON:
    """An event's outcome from the write that carried it."""
    if item is carrier:
        return written
    if written["status"] == "synced":
        extra = {key: written[key] for key in ("email", "list_id", "prospect_id") if key in written}
        return item.outcomes.make(
            "synced",
            "merged_into_batch",
            f"Written to Snov.io together with a newer event for {written.get('email')}"
            f" ({carrier.outcomes.event_id}).",
            **extra,
        )
    return {**written, "event_id": item.outcomes.event_id, "event_type": item.event.type}


def _merged(plans: Sequence[Plan]) -> Plan:
    """One plan for a person's plans, oldest first: the first one's route (what the store
    knew before the batch), the newest details and status over the older ones."""
    if len(plans) == 1:
        return plans[0]
    first, last = plans[0], plans[-1]
    updates = [plan.update for plan in plans if plan.update is not None]
    stamps = [plan.status_at for plan in plans if plan.status_at is not None]
    labels = [plan.status_label for plan in plans if plan.status_label is not None]
    # The newest event that touches campaigns decides: a cancel after a booking resumes.
    outreach = [plan.outreach for plan in plans if plan.outreach is not None]
    return Plan(
        email=last.email,
        list_id=first.list_id,
        route=first.route,
        fields=_merged_fields([plan.fields for plan in plans]),
        update=_merged_fields(updates) if updates else None,
        status_only=all(plan.status_only for plan in plans),
        status_label=labels[-1] if labels else None,
        status_at=max(stamps) if stamps else None,
        outreach=outreach[-1] if outreach else None,
    )


def _merged_fields(items: Sequence[ProspectFields]) -> ProspectFields:
    """Later values over earlier ones; custom fields and social links merged key by key."""
    if len(items) == 1:
        return items[0]
    body: dict[str, Any] = {}
    for item in items:
        for name, value in item.model_dump(exclude_none=True).items():
            if name in ("custom_fields", "social_links"):
                body[name] = {**body.get(name, {}), **value}
            else:
                body[name] = value
    return ProspectFields.model_validate(body)
