"""rules.py: every help-page rule, one table row each, with no HTTP and no store.

Each rule has a row that trips it and, next to it, a row that just misses it, so a rule
that stopped applying (or applied too widely) fails a row. The last tests hold the README's
rule and outcome tables to what ``rules.py`` and the outcome contract can return.

It stays one file over 400 lines because the table is the point: every rule read in one
place. The builders at the top are deliberately minimal, to give way to shared factories.
"""

from __future__ import annotations

import ast
import inspect
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, get_args

import pytest

from fortytwomin_snov import rules
from fortytwomin_snov.contract.models import EVENT_ADAPTER
from fortytwomin_snov.mapping import Event
from fortytwomin_snov.outcomes import REASON_STATUS, OutcomeReason
from fortytwomin_snov.rules import History, Plan, Skip, Target, decide, target_of
from fortytwomin_snov.settings.model import Settings
from fortytwomin_snov.snov import ProspectFields

README = Path(__file__).resolve().parents[1] / "README.md"

LIST_ID = 4242
JANE = "jane@example.com"
LEE = "lee@example.com"
HOST_EMAIL = "maria@acme.example"
STATUS_FIELD = "Meeting status"
HOST_FIELD = "Host email"
OCCURRED_AT = "2025-03-14T09:30:00Z"
AT = datetime.fromisoformat(OCCURRED_AT).timestamp()
"""The builders' occurred_at, in the POSIX seconds the store's ordering mark holds."""

# ---- builders --------------------------------------------------------------------------


def booking(
    kind: str = "booking.created",
    *,
    email: str | None = JANE,
    host_email: str | None = HOST_EMAIL,
    answers: dict[str, Any] | None = None,
) -> Event:
    invitee = {"name": "Jane Doe"} | ({} if email is None else {"email": email})
    document: dict[str, Any] = {
        "id": "evt_1",
        "type": kind,
        "occurred_at": OCCURRED_AT,
        "booking": {
            "uid": "bk_1",
            "start": "2025-03-20T15:00:00Z",
            "end": "2025-03-20T15:30:00Z",
            "timezone": "Europe/Berlin",
            "invitee": invitee,
            "answers": answers or {},
        },
    }
    if host_email is not None:
        document["booking"]["host"] = {"email": host_email}
    return EVENT_ADAPTER.validate_python(document)


def submission(*, email: str | None = LEE) -> Event:
    respondent = {"name": "Lee Chen"} | ({} if email is None else {"email": email})
    return EVENT_ADAPTER.validate_python(
        {
            "id": "evt_2",
            "type": "routing_form.submitted",
            "occurred_at": OCCURRED_AT,
            "routing_form": {
                "form_id": "rf_1",
                "submission_id": "sub_1",
                "fields": {"company": "Chen & Co"},
                "respondent": respondent,
            },
        }
    )


def settings(**changes: Any) -> Settings:
    """A target list, both custom fields, and a company row from either kind of form."""
    document: dict[str, Any] = {
        "target_list_id": LIST_ID,
        "lifecycle_status_field": STATUS_FIELD,
        "host_email_field": HOST_FIELD,
        "field_mappings": [
            {"source": "person.email", "target": "prospect.email", "locked": True},
            {"source": "person.name", "target": "prospect.name", "locked": True},
            {"source": "invitee_form_question:company", "target": "prospect.company"},
            {"source": "routing_form_field:company", "target": "prospect.company"},
        ],
    }
    return Settings.model_validate(document | changes)


def with_triggers(**triggers: bool) -> Settings:
    return settings(triggers=triggers)


NEW = History()
"""Nothing remembered: a first delivery, a person the store does not know."""
DONE = History(event_done=True)
MEMBER = History(in_list=True)
SKIP = {"existing_prospect": "skip"}


# ---- what a row expects ----------------------------------------------------------------


@dataclass(frozen=True)
class Stops:
    """The event is not written: this reason, this status, a message saying this."""

    reason: str
    says: str
    status: str = "skipped"


def everything(email: str, label: str | None = None, *, host: bool = True) -> dict[str, Any]:
    """The add-prospect body a full write sends: the builders' name, the mapped company, and
    the status label and (for a booking) the host's email when given."""
    if email == JANE:
        body: dict[str, Any] = {"email": JANE, "fullName": "Jane Doe", "companyName": "Acme"}
    else:
        body = {"email": LEE, "fullName": "Lee Chen", "companyName": "Chen & Co"}
        host = False  # a routing form has no host
    custom = {STATUS_FIELD: label} if label is not None else {}
    if host:
        custom[HOST_FIELD] = HOST_EMAIL
    return body | ({"customFields": custom} if custom else {})


def status_only(label: str) -> dict[str, Any]:
    return {"email": JANE, "customFields": {STATUS_FIELD: label, HOST_FIELD: HOST_EMAIL}}


Expected = Stops | dict[str, Any]

ACME = {"company": "Acme"}

RULES = [
    # -- no target list
    pytest.param(
        booking(answers=ACME),
        settings(target_list_id=None),
        NEW,
        Stops("no_target_list", "No Snov.io target list is chosen"),
        id="no_target_list",
    ),
    pytest.param(
        booking(answers=ACME),
        settings(target_list_id=None, triggers={"booking_created": False}),
        NEW,
        Stops("no_target_list", "choose one in the settings"),
        id="no_target_list_before_trigger_off",
    ),
    # -- triggers
    pytest.param(
        submission(),
        settings(),
        NEW,
        Stops("trigger_off", "Routing-form submissions are turned off"),
        id="trigger_off_routing_form_default",
    ),
    pytest.param(
        submission(),
        with_triggers(routing_form_submitted=True),
        NEW,
        {"email": LEE, "route": "add_or_update", "fields": everything(LEE), "status_at": None},
        id="trigger_on_routing_form_plans_the_respondent",
    ),
    pytest.param(
        booking("booking.canceled"),
        with_triggers(booking_canceled=False),
        NEW,
        Stops("trigger_off", "Cancellations are turned off"),
        id="trigger_off_booking_canceled",
    ),
    pytest.param(
        booking("booking.no_show"),
        with_triggers(booking_canceled=False),
        NEW,
        {"status_only": True, "status_label": "No-show"},
        id="trigger_off_touches_only_its_own_event",
    ),
    # -- email
    pytest.param(
        booking(email=None),
        settings(),
        NEW,
        Stops("no_email", "The invitee has no email address"),
        id="no_email_invitee",
    ),
    pytest.param(
        booking(email="   "),
        settings(),
        NEW,
        Stops("no_email", "The invitee has no email address"),
        id="no_email_blank_invitee",
    ),
    pytest.param(
        submission(email=None),
        with_triggers(routing_form_submitted=True),
        NEW,
        Stops("no_email", "The respondent has no email address"),
        id="no_email_respondent",
    ),
    pytest.param(
        booking(email="jane"),
        settings(),
        NEW,
        Stops(
            "invalid_event",
            "/booking/invitee/email: 'jane' is not an email address",
            status="failed",
        ),
        id="malformed_email_invitee_fails",
    ),
    pytest.param(
        submission(email="lee@localhost"),
        with_triggers(routing_form_submitted=True),
        NEW,
        Stops(
            "invalid_event",
            "/routing_form/respondent/email: 'lee@localhost' is not an email address",
            status="failed",
        ),
        id="malformed_email_respondent_fails",
    ),
    pytest.param(
        booking(email="  jane@example.com "),
        settings(),
        NEW,
        {"email": JANE, "list_id": LIST_ID},
        id="email_trimmed_is_well_formed",
    ),
    # -- the lifecycle field
    *(
        pytest.param(
            booking(kind),
            settings(lifecycle_status_field=None),
            NEW,
            Stops("no_lifecycle_field", "No lifecycle status field is chosen"),
            id=f"no_lifecycle_field_{kind.removeprefix('booking.')}",
        )
        for kind in ("booking.canceled", "booking.rescheduled", "booking.no_show")
    ),
    pytest.param(
        booking(answers=ACME),
        settings(lifecycle_status_field=None),
        NEW,
        {"fields": everything(JANE), "status_label": None},
        id="no_lifecycle_field_new_booking_still_plans",
    ),
    pytest.param(
        booking("booking.canceled", email="jane"),
        settings(lifecycle_status_field=None),
        NEW,
        Stops("no_lifecycle_field", "cancellations, reschedules and no-shows"),
        id="no_lifecycle_field_before_malformed_email",
    ),
    # -- duplicate and stale, from the store's marks
    pytest.param(
        booking(),
        settings(),
        DONE,
        Stops("duplicate_event", "delivered before and is already synced"),
        id="duplicate_event",
    ),
    pytest.param(
        booking("booking.canceled"),
        settings(lifecycle_status_field=None),
        DONE,
        Stops("no_lifecycle_field", "No lifecycle status field"),
        id="duplicate_event_after_the_settings_rules",
    ),
    pytest.param(
        booking(),
        settings(),
        History(last_status_at=AT + 1),
        Stops("stale_event", f"A later change to {JANE}'s meeting was synced already"),
        id="stale_event_older_than_last_status",
    ),
    pytest.param(
        booking("booking.rescheduled"),
        settings(),
        History(last_status_at=AT),
        {"route": "add_or_update", "status_at": AT},
        id="stale_event_not_at_the_same_moment",
    ),
    pytest.param(
        submission(),
        with_triggers(routing_form_submitted=True),
        History(last_status_at=AT + 1),
        {"route": "add_or_update", "status_at": None},
        id="stale_event_never_for_routing_forms",
    ),
    pytest.param(
        booking(),
        settings(),
        History(event_done=True, last_status_at=AT + 1),
        Stops("duplicate_event", "delivered before"),
        id="duplicate_event_before_stale_event",
    ),
    # -- existing prospects
    pytest.param(
        booking(answers=ACME),
        settings(**SKIP),
        MEMBER,
        Stops("existing_prospect_skipped", "settings say to leave existing prospects"),
        id="existing_prospect_skipped_known_member",
    ),
    pytest.param(
        submission(),
        settings(**SKIP, triggers={"routing_form_submitted": True}),
        MEMBER,
        Stops("existing_prospect_skipped", f"{LEE} is already a prospect in the list"),
        id="existing_prospect_skipped_routing_form",
    ),
    pytest.param(
        booking("booking.canceled", answers=ACME),
        settings(**SKIP),
        MEMBER,
        {
            "route": "update",
            "update": status_only("Meeting canceled"),
            "status_only": True,
        },
        id="skip_mode_status_event_still_updates_known_member",
    ),
    pytest.param(
        booking("booking.no_show", answers=ACME),
        settings(**SKIP),
        NEW,
        {
            "route": "add_unless_present",
            "fields": everything(JANE, "No-show"),
            "update": status_only("No-show"),
        },
        id="skip_mode_status_event_for_unknown_person_updates_status_only",
    ),
    pytest.param(
        booking(answers=ACME),
        settings(**SKIP),
        NEW,
        {
            "route": "add_unless_present",
            "fields": everything(JANE, "Meeting booked"),
            "update": None,
            "status_only": False,
        },
        id="skip_mode_new_booking_looks_up_and_leaves_existing",
    ),
    # -- the plan
    pytest.param(
        booking(answers=ACME),
        settings(),
        NEW,
        {
            "email": JANE,
            "list_id": LIST_ID,
            "route": "add_or_update",
            "fields": everything(JANE, "Meeting booked"),
            "update": everything(JANE, "Meeting booked"),
            "status_only": False,
            "status_label": "Meeting booked",
            "status_at": AT,
        },
        id="plan_new_prospect",
    ),
    pytest.param(
        booking(answers=ACME),
        settings(),
        MEMBER,
        {"route": "update", "update": everything(JANE, "Meeting booked")},
        id="plan_known_member_gets_every_field",
    ),
    pytest.param(
        booking("booking.canceled", answers=ACME),
        settings(),
        MEMBER,
        {
            "route": "update",
            "fields": everything(JANE, "Meeting canceled"),
            "update": status_only("Meeting canceled"),
            "status_only": True,
            "status_label": "Meeting canceled",
            "status_at": AT,
        },
        id="plan_status_update",
    ),
    pytest.param(
        booking("booking.rescheduled", answers=ACME),
        settings(),
        NEW,
        {
            "route": "add_or_update",
            "fields": everything(JANE, "Meeting rescheduled"),
            "update": status_only("Meeting rescheduled"),
        },
        id="plan_status_event_for_unknown_person_adds_everything",
    ),
    pytest.param(
        booking("booking.rescheduled"),
        settings(status_labels={"rescheduled": "Moved"}),
        MEMBER,
        {"status_label": "Moved", "update": status_only("Moved")},
        id="plan_custom_status_label",
    ),
    pytest.param(
        booking(answers=ACME, host_email=None),
        settings(host_email_field=None),
        NEW,
        {"fields": everything(JANE, "Meeting booked", host=False)},
        id="plan_no_host_email_field",
    ),
    pytest.param(
        booking("booking.no_show", host_email=None),
        settings(),
        MEMBER,
        {"update": {"email": JANE, "customFields": {STATUS_FIELD: "No-show"}}},
        id="plan_host_email_field_without_a_host",
    ),
    pytest.param(
        booking(answers={"company": "Acme", "role": "CTO"}),
        settings(
            field_mappings=[
                {"source": "person.email", "target": "prospect.email", "locked": True},
                {"source": "invitee_form_question:role", "target": "prospect.cf_Role"},
            ]
        ),
        NEW,
        {
            "fields": {
                "email": JANE,
                "customFields": {
                    "Role": "CTO",
                    STATUS_FIELD: "Meeting booked",
                    HOST_FIELD: HOST_EMAIL,
                },
            }
        },
        id="plan_custom_mapping",
    ),
]


def _shown(value: object) -> object:
    return value.to_api() if isinstance(value, ProspectFields) else value


@pytest.mark.parametrize(("event", "config", "history", "expected"), RULES)
def test_decide(event: Event, config: Settings, history: History, expected: Expected) -> None:
    decision = decide(event, config, history)
    if isinstance(expected, Stops):
        assert isinstance(decision, Skip), decision
        assert (decision.reason, decision.status) == (expected.reason, expected.status)
        assert expected.says in decision.message
    else:
        assert isinstance(decision, Plan), decision
        assert {name: _shown(getattr(decision, name)) for name in expected} == expected


@pytest.mark.parametrize(("event", "config", "history", "expected"), RULES)
def test_target_of_names_whom_decide_writes(
    event: Event, config: Settings, history: History, expected: Expected
) -> None:
    """The caller reads the marks of ``target_of``'s person; decide must agree with it."""
    target = target_of(event, config)
    decision = decide(event, config, history)
    if isinstance(target, Skip):
        assert decision == target
    else:
        assert isinstance(target, Target)
        assert (decision.email, decision.list_id) == (target.email, target.list_id)


def test_a_skip_names_whom_it_is_about_once_known() -> None:
    assert decide(booking(email=None), settings(), NEW) == Skip(
        "no_email", "The invitee has no email address, and Snov.io needs one."
    )
    malformed = decide(booking(email="jane"), settings(), NEW)
    assert isinstance(malformed, Skip)
    assert (malformed.email, malformed.list_id) == ("jane", None)
    duplicate = decide(booking(), settings(), DONE)
    assert isinstance(duplicate, Skip)
    assert (duplicate.email, duplicate.list_id) == (JANE, LIST_ID)


# ---- the README against rules.py -------------------------------------------------------

REASONS = frozenset(get_args(OutcomeReason))


def _reasons_rules_can_return() -> set[str]:
    """Every reason code a ``Skip(...)`` in rules.py is built with."""
    tree = ast.parse(inspect.getsource(rules))
    return {
        node.args[0].value
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id == "Skip"
        and node.args
        and isinstance(node.args[0], ast.Constant)
        and isinstance(node.args[0].value, str)
    }


def _readme_section(title: str) -> str:
    text = README.read_text(encoding="utf-8")
    start = text.index(f"\n{title}\n")
    end = re.compile(r"\n#{2,3} ").search(text, start + len(title) + 2)
    return text[start : end.start() if end else len(text)]


def _table_rows(section: str) -> list[list[str]]:
    rows = [
        [cell.strip() for cell in line.strip().strip("|").split("|")]
        for line in section.splitlines()
        if line.startswith("| ")
    ]
    return [row for row in rows[1:] if not set("".join(row)) <= set("- ")]  # no header, rule


def _codes(cell: str) -> list[str]:
    return [code for code in re.findall(r"`([^`]+)`", cell) if code in REASONS]


def test_the_readme_rule_table_is_the_rules_in_rules_py() -> None:
    rows = _table_rows(_readme_section("## Syncing events"))
    known = _reasons_rules_can_return()
    assert known, "no Skip(...) found in rules.py"
    named: list[str] = []
    for number, rule, outcome in rows:
        codes = _codes(outcome)
        assert len(codes) == 1, f"rule {number} names one reason: {outcome}"
        [reason] = codes
        assert reason in known, (
            f"rule {number} ({rule}) names {reason}, which rules.py never returns"
        )
        assert outcome.startswith(f"`{REASON_STATUS[reason]}`, `{reason}`"), outcome
        named.append(reason)
    assert sorted(named) == sorted(known), "one row per reason rules.py can return"
    assert [int(row[0]) for row in rows] == list(range(1, len(rows) + 1))


def test_the_readme_outcomes_table_lists_every_reason_with_its_status() -> None:
    rows = _table_rows(_readme_section("### Outcomes"))
    listed = {row[1].strip("`"): row[0] for row in rows}
    assert len(listed) == len(rows), "a reason listed twice"
    assert listed == dict(REASON_STATUS)
    assert _reasons_rules_can_return() <= listed.keys()
