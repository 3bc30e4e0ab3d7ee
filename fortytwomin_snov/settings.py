"""Settings: the live settings form, the checks at save time, and the form's actions.

:func:`render_form` draws ``schema/settings.schema.json`` narrowed to the Snov.io account;
:func:`validate_document` turns what an admin submitted into the document the host saves;
:func:`run_action` runs what the form's buttons ask for.

The form (``render_settings_schema``)
-------------------------------------
``schema`` is a JSON Schema (draft 2020-12). Choices are ``oneOf`` lists of
``{"const": value, "title": label}``, which react-jsonschema-form draws as a select, so
that titles can carry prospect counts and warnings:

- ``target_list_id``: ``null`` (no list: nothing syncs) and each list of the account; a list
  that an Active campaign uses names the campaign in its title and description.
- ``lifecycle_status_field`` and ``host_email_field``: ``null`` (none) and each custom field.
- ``$defs/field_mapping/properties/target``: the standard prospect fields and
  ``prospect.cf_<label>`` for each custom field.

When Snov.io cannot be asked, the form is drawn from the choices last read from it, or, if
there are none, as the static schema (free entry), with a notice saying what happened.

``ui_schema`` follows react-jsonschema-form, plus these conventions:

- A notice is the root ``description`` of ``schema``, ``ui_schema["ui:description"]`` and
  ``ui_schema["ui:options"]["notice"] = {"level": "warning", "message": str}``.
- ``ui_schema["target_list_id"]["ui:options"]["warnings"]``: ``{"<list id>": str}``, the
  warning to show while that list is selected (it feeds an Active campaign).
- ``ui_schema["field_mappings"]["ui:options"]``: ``"locked_rows"`` (indexes of the rows
  that are drawn with a lock and cannot be edited or removed) and ``"lock_hint"``.
- ``ui_schema[<field>]["ui:options"]["actions"]``: buttons next to a field, each
  ``{"name", "title", "description", "params_schema", "result_value"}``. The host collects
  ``params`` valid against ``params_schema``, calls ``run_settings_action(action=name,
  params=...)``, sets the field to ``result[result_value]`` and renders the form again so
  the new choice is offered. Snov.io's: ``create_list`` on ``target_list_id``.

Saving (``validate_settings``)
------------------------------
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

from pydantic import TypeAdapter, ValidationError

from fortytwomin_snov.account import Account, AccountList, Choices
from fortytwomin_snov.contract.errors import (
    FieldError,
    IntegrationError,
    InvalidCredentials,
    InvalidRequest,
    InvalidSettings,
)
from fortytwomin_snov.contract.models import LINE_PATTERN, broken_text
from fortytwomin_snov.contract.store import Store
from fortytwomin_snov.models import (
    CUSTOM_TARGET_PREFIX,
    LOCKED_ROWS,
    STANDARD_FIELDS,
    TARGET_PREFIX,
    Label,
    Settings,
    field_errors,
    load_schema,
)
from fortytwomin_snov.snov import ProspectList
from fortytwomin_snov.snov.errors import (
    CredentialsRejected,
    RateLimited,
    SnovServerError,
    SnovUnreachable,
)

JSON = dict[str, Any]

CREATE_LIST: Final = "create_list"
ACTIONS: Final = (CREATE_LIST,)
LIST_NAME_MAX_LENGTH: Final = 100
MAX_MAPPING_ROWS: Final = 100
"""The schema's ``maxItems`` of ``field_mappings``, the locked rows included."""

LOCK_HINT = "Email, name and phone are mapped for you and can't be removed."
CAMPAIGN_WARNING = (
    "Adding a prospect to a list that has an active Snov.io campaign can automatically start"
    " that campaign's outreach to the person: point the target list at a plain list if you"
    " don't want bookings to trigger emails."
)
INTRO = "Choose the Snov.io list your prospects go into and what syncs."

_LOCKED_PAIRS = frozenset((row.source, row.target) for row in LOCKED_ROWS)
_STATUS_TRIGGERS = {
    "booking_canceled": "Booking canceled",
    "booking_rescheduled": "Booking rescheduled",
    "booking_no_show": "Booking no-show",
}
_TRIGGER_TITLES = {
    "booking_created": "Booking created",
    **_STATUS_TRIGGERS,
    "routing_form_submitted": "Routing form submitted",
}
_PROPERTY_TITLES = {
    "target_list_id": "Target list",
    "triggers": "Triggers",
    "existing_prospect": "If the prospect already exists",
    "lifecycle_status_field": "Lifecycle status field",
    "status_labels": "Status wording",
    "host_email_field": "Host email field",
    "field_mappings": "Field mappings",
}
_STATUS_LABEL_TITLES = {
    "created": "Meeting booked",
    "canceled": "Meeting canceled",
    "rescheduled": "Meeting rescheduled",
    "no_show": "No-show",
}
_STANDARD_TITLES = {
    "email": "Email",
    "name": "Full name",
    "firstName": "First name",
    "lastName": "Last name",
    "phone": "Phone",
    "company": "Company",
    "companySite": "Company website",
    "position": "Position",
    "country": "Country",
    "locality": "Locality",
    "linkedIn": "LinkedIn profile",
}
_LABEL = TypeAdapter(Label)


# ---- the connection ------------------------------------------------------------------


def _when(fetched_at: str) -> str:
    try:
        moment = datetime.fromisoformat(fetched_at)
    except ValueError:
        return fetched_at
    return moment.strftime("%Y-%m-%d %H:%M %Z").strip()


def _unavailable(error: IntegrationError) -> tuple[str, str]:
    """What happened, and what the admin can do about it."""
    if isinstance(error, CredentialsRejected):
        return (
            "Snov.io rejected the saved API keys",
            "Reconnect Snov.io with a current API user ID and API secret.",
        )
    if isinstance(error, InvalidCredentials):
        return ("The stored Snov.io connection is not usable", "Connect Snov.io again.")
    if isinstance(error, RateLimited):
        seconds = max(1, round(error.retry_after))
        return (
            "Snov.io is limiting requests right now",
            f"Try again in {seconds} seconds.",
        )
    if isinstance(error, SnovUnreachable):
        return ("Snov.io could not be reached", "Try again in a minute.")
    if isinstance(error, SnovServerError):
        return ("Snov.io failed to answer", "Try again in a minute.")
    return (f"Snov.io refused the request ({error})", "Try again later.")


# ---- the form ------------------------------------------------------------------------


def render_form(connection: Any, store: Store, *, now: Callable[[], datetime]) -> JSON:
    """The settings form for this connection; never raises (see the module docstring)."""
    choices, notice = _form_choices(connection, store, now)
    return {"schema": _form_schema(choices, notice), "ui_schema": _ui_schema(choices, notice)}


def _form_choices(
    connection: Any, store: Store, now: Callable[[], datetime]
) -> tuple[Choices | None, str | None]:
    """The account's choices (cached for a short time), or the last known ones and a notice."""
    try:
        account = Account.for_connection(connection, store)
    except InvalidCredentials as error:
        return None, _form_notice(error, None)
    with account:
        try:
            return account.choices(use_cache=True, now=now), None
        except IntegrationError as error:
            known = account.last_known_choices()
            return known, _form_notice(error, known)


def _form_notice(error: IntegrationError, known: Choices | None) -> str:
    what, then = _unavailable(error)
    if known is None:
        shown = (
            "so the account's lists and custom fields cannot be offered: enter the list ID"
            " and custom field labels yourself"
        )
        return f"{what}, {shown}. {then}"
    shown = (
        "so the lists and custom fields below are those last read from Snov.io"
        f" ({_when(known.fetched_at)})"
    )
    return f"{what}, {shown}. {then}"


def _prospects(count: int) -> str:
    return "1 prospect" if count == 1 else f"{count} prospects"


def _and(names: Sequence[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def _quoted(names: Sequence[str]) -> str:
    return ", ".join(f'"{name}"' for name in names)


def _active_campaigns(item: AccountList) -> tuple[str, str]:
    """How to name the Active campaigns of a list, and whose emails they are."""
    names = _quoted(item.active_campaigns)
    if len(item.active_campaigns) == 1:
        return f"active Snov.io campaign {names}", "that campaign's"
    return f"active Snov.io campaigns {names}", "those campaigns'"


def _campaign_warning(item: AccountList) -> str:
    campaigns, whose = _active_campaigns(item)
    return (
        f'The list "{item.name}" is used by the {campaigns}: adding people to it starts'
        f" {whose} emails to them. Point the target list at a plain list if bookings should"
        " not trigger emails."
    )


def _list_option(item: AccountList, *, name_is_shared: bool) -> JSON:
    shared = f", ID {item.id}" if name_is_shared else ""
    title = f"{item.name} ({_prospects(item.contacts)}{shared})"
    option: JSON = {"const": item.id, "title": title}
    if item.active_campaigns:
        campaigns, whose = _active_campaigns(item)
        option["title"] = f"{title} ⚠ {campaigns}: adding people here starts {whose} emails"
        option["description"] = _campaign_warning(item)
    return option


def _labels(choices: Choices) -> list[str]:
    """The custom field labels a saved document can name (Snov.io may hold odd ones)."""
    usable: list[str] = []
    for label in choices.custom_fields:
        try:
            _LABEL.validate_python(label)
        except ValidationError:
            continue
        if label not in usable:
            usable.append(label)
    return usable


def _form_schema(choices: Choices | None, notice: str | None) -> JSON:
    schema = load_schema("settings")
    # This document is one account's form, not the published schema it narrows.
    schema.pop("$id", None)
    schema.pop("examples", None)
    schema["description"] = notice or INTRO
    properties: JSON = schema["properties"]
    definitions: JSON = schema["$defs"]
    for name, title in _PROPERTY_TITLES.items():
        properties[name]["title"] = title
    for name, title in _TRIGGER_TITLES.items():
        definitions["triggers"]["properties"][name]["title"] = title
    for name, title in _STATUS_LABEL_TITLES.items():
        definitions["status_labels"]["properties"][name]["title"] = title
    # The locked-row rule (if/then) is checked at save time; drawn, it would become an
    # "Option 1/2/3" picker on every row.
    for keyword in ("if", "then", "else"):
        definitions["field_mapping"].pop(keyword, None)
    mapping = definitions["field_mapping"]["properties"]
    mapping["source"]["title"] = "Source"
    mapping["target"]["title"] = "Target"
    mapping["locked"]["title"] = "Locked"
    existing = properties["existing_prospect"]
    existing.pop("enum", None)
    existing["oneOf"] = [
        {"const": "update", "title": "Update", "description": "Refresh it with the new details."},
        {"const": "skip", "title": "Skip", "description": "Leave it untouched."},
    ]
    if choices is None:
        return schema

    names = [item.name for item in choices.lists]
    properties["target_list_id"]["oneOf"] = [
        {"const": None, "title": "No list (nothing syncs)"},
        *(
            _list_option(item, name_is_shared=names.count(item.name) > 1)
            for item in _unique_lists(choices.lists)
        ),
    ]
    labels = _labels(choices)
    for name, none in (
        ("lifecycle_status_field", "None (cancellations, reschedules and no-shows are skipped)"),
        ("host_email_field", "None"),
    ):
        properties[name]["oneOf"] = [
            {"const": None, "title": none},
            *({"const": label, "title": label} for label in labels),
        ]
    mapping["target"]["oneOf"] = [
        *(
            {"const": TARGET_PREFIX + name, "title": f"{_STANDARD_TITLES[name]} (prospect.{name})"}
            for name in STANDARD_FIELDS
        ),
        *(
            {"const": CUSTOM_TARGET_PREFIX + label, "title": f"{label} (custom field)"}
            for label in labels
        ),
    ]
    return schema


def _unique_lists(lists: Sequence[AccountList]) -> list[AccountList]:
    seen: set[int] = set()
    unique: list[AccountList] = []
    for item in lists:
        if item.id not in seen:
            seen.add(item.id)
            unique.append(item)
    return unique


def _create_list_action() -> JSON:
    return {
        "name": CREATE_LIST,
        "title": "Create a new list",
        "description": "Creates an empty Snov.io list and selects it as the target list.",
        "params_schema": {
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "type": "object",
            "properties": {
                "name": {
                    "type": "string",
                    "title": "List name",
                    "description": "The new list's name, as Snov.io will show it.",
                    "minLength": 1,
                    "maxLength": LIST_NAME_MAX_LENGTH,
                    "pattern": r"\S",
                }
            },
            "required": ["name"],
            "additionalProperties": False,
        },
        "result_value": "id",
    }


def _ui_schema(choices: Choices | None, notice: str | None) -> JSON:
    ui: JSON = {"ui:order": list(_PROPERTY_TITLES), "ui:description": notice or INTRO}
    if notice is not None:
        ui["ui:options"] = {"notice": {"level": "warning", "message": notice}}
    live = choices is not None
    list_help = "Required: until you pick a list, nothing syncs. " + CAMPAIGN_WARNING
    list_options: JSON = {"actions": [_create_list_action()]}
    lifecycle_help = (
        "Pick an existing Snov.io custom field to receive the meeting's status. Without one,"
        " cancellations, reschedules and no-shows are skipped: only the initial sync runs."
    )
    host_help = (
        "Pick an existing Snov.io custom field to record which 42min host the meeting was with."
    )
    if choices is not None:
        list_options["warnings"] = {
            str(item.id): _campaign_warning(item) for item in choices.lists if item.active_campaigns
        }
        if not choices.lists:
            list_help = "Your Snov.io account has no lists yet: create one here. " + list_help
        if not _labels(choices):
            missing = (
                " Your Snov.io account has no custom fields yet: create one in Snov.io,"
                " then reload this page."
            )
            lifecycle_help += missing
            host_help += missing
    choice_widget = {"ui:widget": "select"} if live else {}
    label_placeholder = {} if live else {"ui:placeholder": "A custom field label, as in Snov.io"}
    ui["target_list_id"] = {
        **choice_widget,
        **({} if live else {"ui:placeholder": "The list ID, from the list's Snov.io address"}),
        "ui:help": list_help,
        "ui:options": list_options,
    }
    ui["triggers"] = {name: {"ui:widget": "checkbox"} for name in _TRIGGER_TITLES}
    ui["triggers"]["routing_form_submitted"]["ui:help"] = (
        "Off by default: turn it on to sync people who submit a routing form."
    )
    ui["existing_prospect"] = {
        "ui:widget": "radio",
        "ui:help": (
            "Status updates from a later cancel, reschedule or no-show always update the"
            " prospect, whatever you choose here."
        ),
    }
    ui["lifecycle_status_field"] = {**choice_widget, **label_placeholder, "ui:help": lifecycle_help}
    ui["status_labels"] = {"ui:help": "The wording written into the lifecycle status field."}
    ui["host_email_field"] = {**choice_widget, **label_placeholder, "ui:help": host_help}
    ui["field_mappings"] = {
        "ui:help": (
            "Blank rows are dropped when you save, so a saved mapping always does something."
        ),
        "ui:options": {
            "orderable": False,
            "locked_rows": list(range(len(LOCKED_ROWS))),
            "lock_hint": LOCK_HINT,
        },
        "items": {
            "source": {
                "ui:placeholder": "invitee_form_question:<id> or routing_form_field:<id>",
                "ui:help": (
                    "invitee_form_question:<id> for a booking-form answer,"
                    " routing_form_field:<id> for a routing-form answer."
                ),
            },
            "target": {
                **choice_widget,
                **({} if live else {"ui:placeholder": "prospect.company or prospect.cf_<label>"}),
                "ui:help": (
                    "A standard prospect field, or a Snov.io custom field written as"
                    " prospect.cf_<label>."
                ),
            },
            "locked": {"ui:widget": "hidden"},
        },
    }
    return ui


# ---- saving --------------------------------------------------------------------------


def _pointer(*parts: str | int) -> str:
    return "".join("/" + str(part).replace("~", "~0").replace("/", "~1") for part in parts)


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
        return _pointer("field_mappings", index if origin is None else origin, *rest)

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
    document: Any, connection: Any, store: Store, *, now: Callable[[], datetime]
) -> JSON:
    """The settings to save and the warnings to show; InvalidSettings lists every problem."""
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
        label = review.checked(_pointer(name), review.draft.get(name))
        if label is not None:
            labels.append((_pointer(name), label))
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
    what, then = _unavailable(error)
    return (
        f"{what}, so the target list and custom fields could not be checked. The settings"
        f" were saved as entered; a list or field that is missing will show in the sync log."
        f" {then}"
    )


def _warn_about_campaigns(
    review: _Review, choices: Choices, list_id: int, *, as_of: str | None
) -> None:
    chosen = choices.list_named(list_id)
    if chosen is None or not chosen.active_campaigns:
        return
    warning = _campaign_warning(chosen)
    if as_of is not None:
        warning = f"As last read from Snov.io ({_when(as_of)}): {warning}"
    review.warnings.append(warning)


def _warn_about_choices(review: _Review, settings: Settings) -> None:
    if settings.target_list_id is None:
        review.warnings.append(
            "No target list is chosen, so nothing will sync: every booking and form submission"
            ' is skipped with "no target list" in the sync log.'
        )
    if settings.lifecycle_status_field is None:
        skipped = [
            title for name, title in _STATUS_TRIGGERS.items() if getattr(settings.triggers, name)
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


# ---- actions -------------------------------------------------------------------------


def run_action(action: str, params: Any, connection: Any, store: Store) -> JSON:
    """Run a settings action; ``create_list`` with ``{"name": str}`` returns the new list."""
    if action != CREATE_LIST:
        raise InvalidRequest(
            f"Unknown settings action {str(action)[:100]!r}: the Snov.io settings page offers"
            f" {', '.join(ACTIONS)}"
        )
    name = _new_list_name(params)
    with Account.for_connection(connection, store) as account:
        created: ProspectList = account.create_list(name)
    return {"id": created.id, "name": created.name}


def _new_list_name(params: Any) -> str:
    if not isinstance(params, dict):
        raise InvalidRequest('create_list takes {"name": <the new list\'s name>}')
    unknown = sorted(str(key)[:100] for key in params if key != "name")
    if unknown:
        raise InvalidRequest(f"create_list takes only name, not {', '.join(map(repr, unknown))}")
    name = params.get("name")
    if isinstance(name, str) and broken_text(name) is not None:
        raise InvalidRequest("create_list: name contains a broken character (half of an emoji?)")
    if not isinstance(name, str) or not name.strip():
        raise InvalidRequest("create_list needs a name: the new list's name must not be blank")
    name = name.strip()
    if len(name) > LIST_NAME_MAX_LENGTH:
        raise InvalidRequest(
            f"name: a Snov.io list name has at most {LIST_NAME_MAX_LENGTH} characters"
        )
    if re.fullmatch(LINE_PATTERN, name) is None:
        raise InvalidRequest("name: use one line of text, without control characters")
    return name
