"""Saving settings (``validate_settings``): the submitted document checked, normalised and
looked up in Snov.io before the host saves it.

In order: blank mapping rows (no source and no target) are dropped; the locked email, name
and phone rows are put back at the start if they were removed or changed (a change is not
kept, and a warning says so); defaults are filled in; every field is checked against the
schema; two rows may not fill the same prospect field, nor one of the custom fields that
receive the meeting status or the host's email; then the chosen list and custom fields are
looked up in Snov.io, fresh. Every problem is reported at once. **Pointers name the place
in the document the admin submitted**: ``/field_mappings/3/target`` is the fourth row as
submitted, before blank rows were dropped and locked rows put back.

When Snov.io cannot be asked at save time (unreachable, rate limited, keys rejected, or a
stored connection that cannot be used), the settings are accepted with a warning: nothing
the admin typed is lost, the problem is not in the settings (a rejected key is fixed by
reconnecting, not on this page), and a list or field that is really missing still shows
up in the sync log.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final

from pydantic import ValidationError

from fortytwomin_snov.account import Account, Choices
from fortytwomin_snov.contract.errors import (
    FieldError,
    IntegrationError,
    InvalidCredentials,
    InvalidSettings,
)
from fortytwomin_snov.contract.models import broken_text, json_pointer
from fortytwomin_snov.contract.store import Store
from fortytwomin_snov.schemas import field_errors
from fortytwomin_snov.settings.form import (
    PERSON_SOURCES,
    STATUS_TRIGGER_TITLES,
    OfferedField,
    campaign_warning,
    when_read,
)
from fortytwomin_snov.settings.model import CUSTOM_TARGET_PREFIX, LOCKED_ROWS, Settings
from fortytwomin_snov.wording import snov_trouble

JSON = dict[str, Any]

MAX_MAPPING_ROWS: Final = 100
"""The schema's ``maxItems`` of ``field_mappings``, the locked rows included."""

_LOCKED_PAIRS = frozenset((row.source, row.target) for row in LOCKED_ROWS)


def _and(names: Sequence[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def _blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


@dataclass
class _Review:
    """A submitted document on its way to being saved: the normalised draft and findings."""

    draft: JSON
    origins: list[int | None] = field(default_factory=list)
    """For each row of the draft's mapping: its index as submitted (None: put back by us)."""
    errors: list[FieldError] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def fail(self, pointer: str, message: str) -> None:
        error = FieldError(pointer=pointer, message=message)
        if error not in self.errors:
            self.errors.append(error)

    def has_error(self, pointer: str) -> bool:
        """Whether a problem was found at ``pointer`` or at a place that holds it.

        A problem with the mapping list as a whole (too many rows) says nothing of its rows.
        """
        return any(
            pointer == error["pointer"]
            or (
                pointer.startswith(error["pointer"] + "/") and error["pointer"] != "/field_mappings"
            )
            for error in self.errors
        )

    def row_pointer(self, index: int, *rest: str) -> str:
        """The pointer to a draft row, as the admin submitted it."""
        origin = self.origins[index] if index < len(self.origins) else None
        return json_pointer(["field_mappings", index if origin is None else origin, *rest])

    def submitted(self, pointer: str) -> str:
        """A pointer into the draft, turned into one into the submitted document."""
        match = re.fullmatch(r"/field_mappings/([0-9]+)(/.*)?", pointer)
        if match is None:
            return pointer
        return self.row_pointer(int(match.group(1))) + (match.group(2) or "")

    def rows(self) -> list[tuple[int, JSON]]:
        """The draft's well-formed rows, by draft index."""
        rows = self.draft.get("field_mappings")
        if not isinstance(rows, list):
            return []
        return [(index, row) for index, row in enumerate(rows) if isinstance(row, dict)]

    def checked(self, pointer: str, value: object) -> str | None:
        """``value`` if it is a string that passed its own checks."""
        if isinstance(value, str) and not self.has_error(pointer):
            return value
        return None


def validate_document(
    document: Any,
    connection: Any,
    store: Store,
    *,
    now: Callable[[], datetime],
    form_fields: Sequence[OfferedField] | None = None,
) -> JSON:
    """The settings to save and the warnings to show; InvalidSettings lists every problem.

    ``form_fields``: the sources the host lists (None: it lists none); a row reading a
    source outside them is kept, with a warning."""
    if not isinstance(document, dict):
        raise InvalidSettings(
            [FieldError(pointer="", message="The settings must be a JSON object.")]
        )
    broken = broken_text(document)
    if broken is not None:
        raise InvalidSettings([broken])
    review = _normalise(document)
    try:
        settings: Settings | None = Settings.model_validate(review.draft)
    except ValidationError as exc:
        settings = None
        for error in field_errors(exc):
            pointer = review.submitted(error["pointer"])
            if pointer == "/field_mappings" and review.has_error(pointer):
                continue  # the list as a whole: one message, said in our words
            review.fail(pointer, error["message"])
    _check_targets(review)
    _check_in_snov(review, connection, store, now)
    if review.errors or settings is None:
        raise InvalidSettings(review.errors)
    _warn_about_choices(review, settings)
    _warn_about_outreach(review, settings, store, connection)
    if form_fields is not None:
        _warn_about_sources(review, {item.source for item in form_fields})
    return {"settings": settings.to_json(), "warnings": review.warnings}


def _normalise(document: Mapping[str, Any]) -> _Review:
    """Blank choices become null, blank rows go, the locked rows come back first."""
    review = _Review(draft=dict(document))
    for name in ("target_list_id", "lifecycle_status_field", "host_email_field"):
        if name in review.draft and _blank(review.draft[name]):
            review.draft[name] = None
    if "field_mappings" not in document:
        return review  # the default: the locked rows alone
    submitted = document["field_mappings"]
    locked = [row.to_json() for row in LOCKED_ROWS]
    review.origins = [None] * len(locked)
    if not isinstance(submitted, list):
        review.fail("/field_mappings", "Use a list of mapping rows.")
        review.draft["field_mappings"] = locked
        return review
    kept: list[Any] = []
    for index, row in enumerate(submitted):
        if row is None or (
            isinstance(row, dict) and _blank(row.get("source")) and _blank(row.get("target"))
        ):
            continue
        if isinstance(row, dict):
            pair = (row.get("source"), row.get("target"))
            if all(isinstance(part, str) for part in pair) and pair in _LOCKED_PAIRS:
                continue  # one of the locked rows, put back below
            if row.get("locked") is True:
                review.warnings.append(
                    f"Field mapping row {index + 1} changed a locked row: email, name and phone"
                    " are always mapped from the person, so the locked row was put back and the"
                    " change was not kept. To send one of them to another field too, add a row."
                )
                continue
        kept.append(row)
        review.origins.append(index)
    review.draft["field_mappings"] = locked + kept
    if len(review.draft["field_mappings"]) > MAX_MAPPING_ROWS:
        review.fail(
            "/field_mappings",
            f"Use at most {MAX_MAPPING_ROWS} mapping rows, the {len(locked)} locked rows"
            f" included ({len(locked) + len(kept)} after blank rows were dropped).",
        )
    return review


def _check_targets(review: _Review) -> None:
    """Each prospect field, and each custom field, is filled by one source only."""
    lifecycle = review.checked(
        "/lifecycle_status_field", review.draft.get("lifecycle_status_field")
    )
    host_email = review.checked("/host_email_field", review.draft.get("host_email_field"))
    if host_email is not None and host_email == lifecycle:
        review.fail(
            "/host_email_field",
            f'"{host_email}" already receives the meeting status (the lifecycle status field):'
            " choose another custom field for the host's email.",
        )
    reserved = {
        lifecycle: "the meeting status (the lifecycle status field)",
        host_email: "the host's email (the host email field)",
    }
    filled: dict[str, str] = {}
    for index, row in review.rows():
        pointer = review.row_pointer(index, "target")
        target = review.checked(pointer, row.get("target"))
        if target is None:
            continue
        if target in filled:
            review.fail(
                pointer,
                f"{target} is already filled by an earlier row ({filled[target]}): each"
                " prospect field takes one source, so remove one of the rows.",
            )
            continue
        source = row.get("source")
        filled[target] = source if isinstance(source, str) else "another source"
        label = target.removeprefix(CUSTOM_TARGET_PREFIX)
        if target.startswith(CUSTOM_TARGET_PREFIX) and label in reserved:
            review.fail(
                pointer,
                f'The custom field "{label}" already receives {reserved[label]}:'
                " map this row to another field.",
            )


@dataclass(frozen=True)
class _Wanted:
    """What must exist in Snov.io for the settings to work, and where each is chosen."""

    list_id: int | None
    labels: list[tuple[str, str]]
    """(pointer, custom field label), in document order."""


def _wanted(review: _Review) -> _Wanted:
    list_id = review.draft.get("target_list_id")
    usable_list = (
        list_id
        if isinstance(list_id, int)
        and not isinstance(list_id, bool)
        and not review.has_error("/target_list_id")
        else None
    )
    labels: list[tuple[str, str]] = []
    for name in ("lifecycle_status_field", "host_email_field"):
        label = review.checked(json_pointer([name]), review.draft.get(name))
        if label is not None:
            labels.append((json_pointer([name]), label))
    for index, row in review.rows():
        pointer = review.row_pointer(index, "target")
        target = review.checked(pointer, row.get("target"))
        if target is not None and target.startswith(CUSTOM_TARGET_PREFIX):
            labels.append((pointer, target.removeprefix(CUSTOM_TARGET_PREFIX)))
    return _Wanted(list_id=usable_list, labels=labels)


def _check_in_snov(
    review: _Review, connection: Any, store: Store, now: Callable[[], datetime]
) -> None:
    """The chosen list and custom fields exist in Snov.io now (read fresh, not cached)."""
    wanted = _wanted(review)
    if wanted.list_id is None and not wanted.labels:
        return
    try:
        account = Account.for_connection(connection, store)
    except InvalidCredentials as error:
        review.warnings.append(_not_checked(error))
        return
    with account:
        previous = account.last_known_choices()
        try:
            choices = account.choices(use_cache=False, now=now)
        except IntegrationError as error:
            review.warnings.append(_not_checked(error))
            if previous is not None and wanted.list_id is not None:
                _warn_about_campaigns(review, previous, wanted.list_id, as_of=previous.fetched_at)
            return
    if wanted.list_id is not None:
        if choices.list_named(wanted.list_id) is None:
            known = previous.list_named(wanted.list_id) if previous is not None else None
            named = f' "{known.name}" (ID {wanted.list_id})' if known else f" {wanted.list_id}"
            review.fail(
                "/target_list_id",
                f"The Snov.io list{named} does not exist or was deleted: choose another list or"
                " create a new one.",
            )
        else:
            _warn_about_campaigns(review, choices, wanted.list_id, as_of=None)
    existing = set(choices.custom_fields)
    for pointer, label in wanted.labels:
        if label not in existing:
            review.fail(
                pointer,
                f'Snov.io has no custom field "{label}": create it in Snov.io or choose one'
                " that exists.",
            )


def _not_checked(error: IntegrationError) -> str:
    trouble = snov_trouble(error)
    return (
        f"{trouble.what}, so the target list and custom fields could not be checked. The"
        " settings were saved as entered; a list or field that is missing will show in the"
        f" sync log. {trouble.then}"
    )


def _warn_about_campaigns(
    review: _Review, choices: Choices, list_id: int, *, as_of: str | None
) -> None:
    chosen = choices.list_named(list_id)
    if chosen is None or not chosen.active_campaigns:
        return
    warning = campaign_warning(chosen)
    if as_of is not None:
        warning = f"As last read from Snov.io ({when_read(as_of)}): {warning}"
    review.warnings.append(warning)


def _warn_about_choices(review: _Review, settings: Settings) -> None:
    if settings.target_list_id is None:
        review.warnings.append(
            "No target list is chosen, so nothing will sync: every booking and form submission"
            ' is skipped with "no target list" in the sync log.'
        )
    if settings.lifecycle_status_field is None:
        skipped = [
            title
            for name, title in STATUS_TRIGGER_TITLES.items()
            if getattr(settings.triggers, name)
        ]
        if skipped:
            review.warnings.append(
                "No lifecycle status field is chosen, so cancellations, reschedules and no-shows"
                f" will be skipped: {_and(skipped)} {'is' if len(skipped) == 1 else 'are'} on"
                " but have nothing to write. Only new bookings sync."
            )
    routing_rows = [
        row for row in settings.field_mappings if row.source.startswith("routing_form_field:")
    ]
    if routing_rows and not settings.triggers.routing_form_submitted:
        review.warnings.append(
            '"Routing form submitted" is off, so the rows that read routing-form answers do'
            " nothing until you turn it on."
        )


def _warn_about_outreach(
    review: _Review, settings: Settings, store: Store, connection: Any
) -> None:
    """Pausing right after enrolling, and an unsubscribe that can't be undone."""
    outreach = settings.outreach_on_booking
    if outreach.action == "none":
        return
    if outreach.action == "unsubscribe":
        review.warnings.append(
            "Unsubscribe is final in Snov.io: people who book get no more emails from those"
            " campaigns, even if the meeting is canceled. Choose Pause to be able to set them"
            " back to Active."
        )
    if settings.target_list_id is None:
        return
    try:
        account = Account.for_connection(connection, store)
    except InvalidCredentials:
        return
    with account:
        known = account.last_known_choices()  # read fresh just above, when Snov.io answered
    chosen = known.list_named(settings.target_list_id) if known is not None else None
    if chosen is None or not chosen.active_campaigns:
        return
    verb = "pause" if outreach.action == "pause" else "unsubscribe"
    review.warnings.append(
        f'The target list "{chosen.name}" feeds an active Snov.io campaign, so a booking'
        f" enrols the person there and then {verb}s them at once: point the target list at"
        " a plain list, or expect every booked person to show as"
        f" {'paused' if verb == 'pause' else 'unsubscribed'} in that campaign."
    )


def _warn_about_sources(review: _Review, known: set[str]) -> None:
    """A source no form of the host asks (yet) is kept: the form may be created later."""
    for index, row in review.rows():
        source = row.get("source")
        if not isinstance(source, str) or source in known or source in PERSON_SOURCES:
            continue
        origin = review.origins[index] if index < len(review.origins) else None
        number = index + 1 if origin is None else origin + 1
        review.warnings.append(
            f"Field mapping row {number} reads {source}, which none of your forms asks yet:"
            " it fills nothing until an event carries that answer. Check the spelling, or"
            " ignore this if the form is still to come."
        )
