"""The live settings form (``render_settings_schema``): ``schema/settings.schema.json``
narrowed to the Snov.io account, and its ``ui_schema``.

Choices are ``oneOf`` lists (see :mod:`fortytwomin_snov.contract.ui_schema` for the
conventions of both documents):

- ``target_list_id``: ``null`` (no list: nothing syncs) and each list of the account; a list
  that an Active campaign uses names the campaign in its title and description, and
  carries a warning while it is selected.
- ``lifecycle_status_field`` and ``host_email_field``: ``null`` (none) and each custom field.
- ``$defs/field_mapping/properties/target``: the standard prospect fields and
  ``prospect.cf_<label>`` for each custom field.

The locked rows are the email, name and phone rows; ``create_list`` sits next to the
target list. When Snov.io cannot be asked, the form is drawn from the choices last read
from it, or, if there are none, as the static schema (free entry), with a notice saying
what happened.

It stays one module (about 520 lines): the schema and its ui_schema are drawn from the same
choices in one pass, and the form's sections (lists, fields, mappings, outreach) change
together with the help page's wording.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Final

from pydantic import StringConstraints, TypeAdapter, ValidationError

from fortytwomin_snov.account import Account, AccountCampaign, AccountList, Choices
from fortytwomin_snov.contract import ui_schema
from fortytwomin_snov.contract.errors import IntegrationError, InvalidCredentials
from fortytwomin_snov.contract.store import Store
from fortytwomin_snov.schemas import load_schema
from fortytwomin_snov.settings.actions import create_list_action
from fortytwomin_snov.settings.model import (
    CUSTOM_TARGET_PREFIX,
    LOCKED_ROWS,
    SOURCE_PATTERN,
    STANDARD_FIELDS,
    TARGET_PREFIX,
    Label,
)
from fortytwomin_snov.wording import snov_trouble

JSON = dict[str, Any]

_log = logging.getLogger(__name__)

LOCK_HINT = "Email, name and phone are mapped for you and can't be removed."
CAMPAIGN_WARNING = (
    "Adding a prospect to a list that has an active Snov.io campaign can automatically start"
    " that campaign's outreach to the person: point the target list at a plain list if you"
    " don't want bookings to trigger emails."
)
INTRO = "Choose the Snov.io list your prospects go into and what syncs."

STATUS_TRIGGER_TITLES: Final = {
    "booking_canceled": "Booking canceled",
    "booking_rescheduled": "Booking rescheduled",
    "booking_no_show": "Booking no-show",
}
_TRIGGER_TITLES = {
    "booking_created": "Booking created",
    **STATUS_TRIGGER_TITLES,
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
    "outreach_on_booking": "Snov.io campaigns when someone books",
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


def when_read(fetched_at: str) -> str:
    """When choices were read from Snov.io, for an admin: ``2025-03-14 09:30 UTC``."""
    try:
        moment = datetime.fromisoformat(fetched_at)
    except ValueError:
        return fetched_at
    return moment.strftime("%Y-%m-%d %H:%M %Z").strip()


PERSON_SOURCES: Final = {
    "person.email": "Email of the invitee or respondent (person.email)",
    "person.name": "Name of the invitee or respondent (person.name)",
    "person.phone": "Phone of the invitee or respondent (person.phone)",
}
_SOURCE = TypeAdapter(Annotated[str, StringConstraints(pattern=SOURCE_PATTERN)])


@dataclass(frozen=True)
class OfferedField:
    """A mapping source the host knows, as ``host.form_fields()`` listed it."""

    source: str
    label: str
    form: str | None

    @property
    def title(self) -> str:
        return f"{self.label} — {self.form}" if self.form else self.label


def offered_fields(host: object) -> list[OfferedField] | None:
    """The mapping sources the host lists (``host.form_fields()``, an optional capability),
    or None when it has no such list. Entries that are not sources are left out; a host
    whose list fails is treated as one without it: the form still renders."""
    form_fields = getattr(host, "form_fields", None)
    if not callable(form_fields):
        return None
    try:
        listed = form_fields()
    except Exception:  # noqa: BLE001 - the host's trouble must not take the page down
        _log.warning("The host's form_fields() failed; mapping sources are typed in")
        return None
    if not isinstance(listed, list):
        return None
    offered: list[OfferedField] = []
    seen: set[str] = set()
    for item in listed:
        if not isinstance(item, Mapping):
            continue
        source, label, form = item.get("source"), item.get("label"), item.get("form")
        if not isinstance(source, str) or source in seen or source in PERSON_SOURCES:
            continue
        try:
            _SOURCE.validate_python(source)
        except ValidationError:
            continue
        seen.add(source)
        offered.append(
            OfferedField(
                source=source,
                label=label.strip() if isinstance(label, str) and label.strip() else source,
                form=form.strip() if isinstance(form, str) and form.strip() else None,
            )
        )
    return offered


def render_form(
    connection: Any,
    store: Store,
    *,
    now: Callable[[], datetime],
    form_fields: Sequence[OfferedField] | None = None,
) -> JSON:
    """The settings form for this connection; never raises (see the module docstring).

    ``form_fields``: the sources the host lists, offered by label; None: typed in."""
    choices, notice = _form_choices(connection, store, now)
    schema = _form_schema(choices, notice)
    ui = _ui_schema(choices, notice)
    if form_fields is not None:
        _offer_sources(schema, ui, form_fields)
    return {"schema": schema, "ui_schema": ui}


def _offer_sources(schema: JSON, ui: JSON, form_fields: Sequence[OfferedField]) -> None:
    """The mapping source as a searchable choice among the person's fields and the host's
    questions; a source typed by hand stays allowed (a form created later)."""
    source = schema["$defs"]["field_mapping"]["properties"]["source"]
    source["oneOf"] = [
        *({"const": value, "title": title} for value, title in PERSON_SOURCES.items()),
        *({"const": item.source, "title": item.title} for item in form_fields),
    ]
    source_ui = ui["field_mappings"]["items"]["source"]
    source_ui["ui:widget"] = ui_schema.SEARCHABLE_SELECT
    source_ui[ui_schema.OPTIONS] = {ui_schema.FREE_ENTRY: True}
    source_ui["ui:placeholder"] = "Search the questions of your forms"
    source_ui["ui:help"] = (
        "A booking-form question or routing-form field, by its label. One your forms do not"
        " ask yet can be typed as invitee_form_question:<id> or routing_form_field:<id>."
    )


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
    trouble = snov_trouble(error)
    if known is None:
        shown = (
            "so the account's lists and custom fields cannot be offered: enter the list ID"
            " and custom field labels yourself"
        )
        return f"{trouble.what}, {shown}. {trouble.then}"
    shown = (
        "so the lists and custom fields below are those last read from Snov.io"
        f" ({when_read(known.fetched_at)})"
    )
    return f"{trouble.what}, {shown}. {trouble.then}"


def _prospects(count: int) -> str:
    return "1 prospect" if count == 1 else f"{count} prospects"


def _quoted(names: Sequence[str]) -> str:
    return ", ".join(f'"{name}"' for name in names)


def _active_campaigns(item: AccountList) -> tuple[str, str]:
    """How to name the Active campaigns of a list, and whose emails they are."""
    names = _quoted(item.active_campaigns)
    if len(item.active_campaigns) == 1:
        return f"active Snov.io campaign {names}", "that campaign's"
    return f"active Snov.io campaigns {names}", "those campaigns'"


def campaign_warning(item: AccountList) -> str:
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
        option["description"] = campaign_warning(item)
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
    _outreach_titles(definitions)
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
    _outreach_choices(definitions, choices)
    return schema


def _unique_lists(lists: Sequence[AccountList]) -> list[AccountList]:
    seen: set[int] = set()
    unique: list[AccountList] = []
    for item in lists:
        if item.id not in seen:
            seen.add(item.id)
            unique.append(item)
    return unique


def _ui_schema(choices: Choices | None, notice: str | None) -> JSON:
    ui: JSON = {"ui:order": list(_PROPERTY_TITLES), ui_schema.DESCRIPTION: notice or INTRO}
    if notice is not None:
        warning: ui_schema.Notice = {"level": "warning", "message": notice}
        ui[ui_schema.OPTIONS] = {ui_schema.NOTICE: warning}
    live = choices is not None
    list_help = "Required: until you pick a list, nothing syncs. " + CAMPAIGN_WARNING
    list_options: JSON = {ui_schema.ACTIONS: [create_list_action()]}
    lifecycle_help = (
        "Pick an existing Snov.io custom field to receive the meeting's status. Without one,"
        " cancellations, reschedules and no-shows are skipped: only the initial sync runs."
    )
    host_help = (
        "Pick an existing Snov.io custom field to record which 42min host the meeting was with."
    )
    if choices is not None:
        list_options[ui_schema.WARNINGS] = {
            str(item.id): campaign_warning(item) for item in choices.lists if item.active_campaigns
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
        ui_schema.OPTIONS: list_options,
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
        ui_schema.OPTIONS: {
            "orderable": False,
            ui_schema.LOCKED_ROWS: list(range(len(LOCKED_ROWS))),
            ui_schema.LOCK_HINT: LOCK_HINT,
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
    ui["outreach_on_booking"] = _outreach_ui(choices)
    return ui


# ---- outreach_on_booking: the person's campaigns when they book --------------------------

_OUTREACH_ACTIONS = (
    ("none", "Leave their campaigns alone", "Bookings don't change any Snov.io campaign."),
    (
        "pause",
        "Pause them",
        "Pause the person in the campaigns below, so the drip emails stop while they have a"
        " meeting with you.",
    ),
    (
        "unsubscribe",
        "Unsubscribe them",
        "Unsubscribe the person from the campaigns below. This is final in Snov.io: they get"
        " no more emails from those campaigns, even if the meeting is canceled.",
    ),
)


def _outreach_titles(definitions: JSON) -> None:
    outreach = definitions["outreach_on_booking"]["properties"]
    outreach["action"]["title"] = "When someone books"
    outreach["action"].pop("enum", None)
    outreach["action"]["oneOf"] = [
        {"const": value, "title": title, "description": description}
        for value, title, description in _OUTREACH_ACTIONS
    ]
    outreach["campaign_ids"]["title"] = "Campaigns"
    outreach["resume_on_cancel"]["title"] = "Set them back to Active if the meeting is canceled"


def _campaign_title(item: AccountCampaign) -> str:
    status = f" ({item.status})" if item.status else ""
    return f"{item.name}{status}"


def _outreach_choices(definitions: JSON, choices: Choices) -> None:
    """The account's campaigns, with their status, as the choices of ``campaign_ids``."""
    campaigns = _unique_campaigns(choices.campaigns)
    if not campaigns:
        return
    chosen = definitions["outreach_on_booking"]["properties"]["campaign_ids"]
    chosen["items"]["oneOf"] = [
        {"const": item.id, "title": _campaign_title(item)} for item in campaigns
    ]
    chosen["uniqueItems"] = True


def _unique_campaigns(campaigns: Sequence[AccountCampaign]) -> list[AccountCampaign]:
    seen: set[int] = set()
    unique: list[AccountCampaign] = []
    for item in campaigns:
        if item.id not in seen:
            seen.add(item.id)
            unique.append(item)
    return unique


def _outreach_ui(choices: Choices | None) -> JSON:
    campaigns_help = (
        "Leave empty to apply it to every campaign the person is an active recipient of,"
        " or pick the campaigns it applies to. Only recipients still Active are changed:"
        " someone Finished, already Paused or Unsubscribed is left as is."
    )
    if choices is not None and not choices.campaigns:
        campaigns_help += " Your Snov.io account has no campaigns yet."
    return {
        "ui:help": (
            "People who book are often people a Snov.io campaign is still emailing. Choose"
            " what happens to them in your campaigns when they book (or submit a routing"
            " form, if that trigger is on)."
        ),
        "ui:order": ["action", "campaign_ids", "resume_on_cancel"],
        "action": {"ui:widget": "radio"},
        "campaign_ids": {
            **({"ui:widget": "checkboxes"} if choices is not None and choices.campaigns else {}),
            "ui:help": campaigns_help,
        },
        "resume_on_cancel": {
            "ui:widget": "checkbox",
            "ui:help": (
                "When the meeting is canceled or marked as a no-show, set the person back to"
                " Active in the campaigns this setting paused, so the emails go on. A campaign"
                " someone paused by hand is never resumed, and an unsubscribe can't be undone."
            ),
        },
    }
