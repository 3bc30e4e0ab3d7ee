"""The settings hooks through a real PluginManager: the live form, saving, and its actions.

Snov.io is a strict pytest-httpx mock (every request expected, every response used) or the
package's emulator over real sockets. Test names starting ``test_help_`` each check one
sentence of the Snov.io help page.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pluggy
import pytest
import stamina
from jsonschema import Draft202012Validator
from pytest_httpx import HTTPXMock

from fortytwomin_snov.contract.errors import IntegrationError, InvalidRequest, InvalidSettings
from fortytwomin_snov.contract.store import MemoryStore
from fortytwomin_snov.schemas import load_schema
from fortytwomin_snov.settings.model import STANDARD_TARGETS
from fortytwomin_snov.snov import BASE_URL_ENV
from fortytwomin_snov.snov.errors import CredentialsRejected, SnovRejected
from fortytwomin_snov.testing import Credentials, SnovEmulator
from fortytwomin_snov.testing.clock import ManualClock

USER = "user-1"
SECRET = "s3cr3t-VALUE-0123456789"
TOKEN = "TOKENabcdefghij0123456789ABCDEFGHIJklmn"
API = "https://api.snov.io"
TOKEN_URL = f"{API}/v1/oauth/access_token"
BEARER = {"Authorization": f"Bearer {TOKEN}"}
TOKEN_BODY = {"grant_type": "client_credentials", "client_id": USER, "client_secret": SECRET}

CAMPAIGNS_PATH = "/v1/get-user-campaigns"
LISTS_PATH = "/v1/get-user-lists"
FIELDS_PATH = "/v1/prospect-custom-fields"

PLAIN_LIST = 101
CAMPAIGN_LIST = 102
DELETED_LIST = 103
LISTS = [
    {"id": PLAIN_LIST, "name": "42min bookings", "contacts": 12, "isDeleted": False},
    {"id": CAMPAIGN_LIST, "name": "Outreach Q3", "contacts": 1, "isDeleted": False},
    {"id": DELETED_LIST, "name": "Old leads", "contacts": 0, "isDeleted": True},
]
CAMPAIGNS = [
    {"id": 9, "campaign": "Q3 cold outreach", "list_id": CAMPAIGN_LIST, "status": "Active"},
    {"id": 10, "campaign": "Summer promo", "list_id": PLAIN_LIST, "status": "Paused"},
]
LABELS = ["Meeting status", "42min host", "Team size"]
FIELDS = [
    {"key": f"customFields['{label}']", "label": label, "required": False, "type": "string"}
    for label in LABELS
]

LOCKED = [
    {"source": "person.email", "target": "prospect.email", "locked": True},
    {"source": "person.name", "target": "prospect.name", "locked": True},
    {"source": "person.phone", "target": "prospect.phone", "locked": True},
]
DEFAULT_TRIGGERS = {
    "booking_created": True,
    "booking_canceled": True,
    "booking_rescheduled": True,
    "booking_no_show": True,
    "routing_form_submitted": False,
}
DEFAULT_LABELS = {
    "created": "Meeting booked",
    "canceled": "Meeting canceled",
    "rescheduled": "Meeting rescheduled",
    "no_show": "No-show",
}


def connection_of(api_user_id: str = USER, api_secret: str = SECRET) -> dict[str, Any]:
    return {
        "integration": "snov",
        "api_user_id": api_user_id,
        "api_secret": api_secret,
        "connected_at": "2025-03-14T09:30:00Z",
        "connected_by": "admin-1",
    }


CONNECTION = connection_of()


@dataclass
class Host:
    store: MemoryStore


@pytest.fixture(autouse=True)
def _no_retries() -> Iterator[None]:
    with stamina.set_testing(True, attempts=1):
        yield


@pytest.fixture
def host(clock: ManualClock) -> Host:
    return Host(store=MemoryStore(clock=clock))


class SnovMock:
    """Snov.io as a strict pytest-httpx mock."""

    def __init__(self, httpx_mock: HTTPXMock) -> None:
        self.httpx_mock = httpx_mock

    def token(self, **response: Any) -> None:
        if not response:
            response = {"json": {"access_token": TOKEN, "token_type": "Bearer", "expires_in": 3600}}
        self.httpx_mock.add_response(
            method="POST", url=TOKEN_URL, match_json=TOKEN_BODY, **response
        )

    def answer(self, method: str, path: str, **response: Any) -> None:
        self.httpx_mock.add_response(
            method=method, url=f"{API}{path}", match_headers=BEARER, **response
        )

    def account(
        self,
        *,
        lists: list[dict[str, Any]] = LISTS,
        fields: list[dict[str, Any]] = FIELDS,
        campaigns: list[dict[str, Any]] = CAMPAIGNS,
    ) -> None:
        """One read of the account's choices: campaigns, lists, custom fields."""
        self.answer("GET", CAMPAIGNS_PATH, json=campaigns)
        self.answer("GET", LISTS_PATH, json=lists)
        self.answer("GET", FIELDS_PATH, json=fields)

    def paths(self) -> list[str]:
        return [request.url.path for request in self.httpx_mock.get_requests()]


@pytest.fixture
def snov(httpx_mock: HTTPXMock, monkeypatch: pytest.MonkeyPatch) -> SnovMock:
    monkeypatch.delenv(BASE_URL_ENV, raising=False)
    return SnovMock(httpx_mock)


def render(hook: pluggy.HookRelay, host: Host, connection: Any = CONNECTION) -> dict[str, Any]:
    form = hook.render_settings_schema(integration="snov", connection=connection, host=host)
    assert isinstance(form, dict)
    return form


def save(
    hook: pluggy.HookRelay, host: Host, settings: Any, connection: Any = CONNECTION
) -> dict[str, Any]:
    saved = hook.validate_settings(
        integration="snov", connection=connection, settings=settings, host=host
    )
    assert isinstance(saved, dict)
    return saved


def errors_of(
    hook: pluggy.HookRelay, host: Host, settings: Any, connection: Any = CONNECTION
) -> list[dict[str, str]]:
    with pytest.raises(InvalidSettings) as raised:
        save(hook, host, settings, connection)
    return [dict(error) for error in raised.value.errors]


def act(
    hook: pluggy.HookRelay, host: Host, action: str, params: Any, connection: Any = CONNECTION
) -> dict[str, Any]:
    result = hook.run_settings_action(
        integration="snov", connection=connection, action=action, params=params, host=host
    )
    assert isinstance(result, dict)
    return result


def choices(schema: dict[str, Any], *path: str) -> dict[Any, str]:
    """The ``oneOf`` choices at ``path`` (property names), as {value: title}."""
    node = schema
    for name in path:
        node = node["properties"][name]
    return {option["const"]: option["title"] for option in node["oneOf"]}


def target_choices(schema: dict[str, Any]) -> dict[str, str]:
    target = schema["$defs"]["field_mapping"]["properties"]["target"]
    return {option["const"]: option["title"] for option in target["oneOf"]}


def schemas_with_defaults(node: Any, path: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    if isinstance(node, dict):
        if "default" in node:
            yield path, node
        for key, value in node.items():
            if key not in ("default", "const", "examples"):
                yield from schemas_with_defaults(value, f"{path}/{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from schemas_with_defaults(value, f"{path}/{index}")


def assert_sound(schema: dict[str, Any]) -> None:
    """Valid draft 2020-12, and every default valid against the schema that holds it."""
    Draft202012Validator.check_schema(schema)
    root = Draft202012Validator(schema)
    found = list(schemas_with_defaults(schema))
    assert len(found) >= 7 + 5 + 4  # the properties, the triggers, the status labels
    for path, holder in found:
        problems = [e.message for e in root.evolve(schema=holder).iter_errors(holder["default"])]
        assert problems == [], path
    assert list(root.iter_errors({})) == []


def notice_of(form: dict[str, Any]) -> str:
    notice = form["ui_schema"]["ui:options"]["notice"]
    assert notice["level"] == "warning"
    assert form["schema"]["description"] == notice["message"]
    assert form["ui_schema"]["ui:description"] == notice["message"]
    return str(notice["message"])


# ---- the form: live choices ----------------------------------------------------------


def test_other_integrations_get_none_and_no_request_is_sent(
    hook: pluggy.HookRelay, host: Host, snov: SnovMock
) -> None:
    assert hook.render_settings_schema(integration="hubspot", connection={}, host=host) is None
    assert (
        hook.validate_settings(integration="hubspot", connection={}, settings={}, host=host) is None
    )
    assert (
        hook.run_settings_action(
            integration="hubspot", connection={}, action="create_list", params={}, host=host
        )
        is None
    )
    assert snov.paths() == []


def test_the_rendered_form_is_valid_draft_2020_12_and_every_default_validates(
    hook: pluggy.HookRelay, host: Host, snov: SnovMock
) -> None:
    snov.token()
    snov.account()
    form = render(hook, host)
    assert_sound(form["schema"])
    assert "notice" not in form["ui_schema"].get("ui:options", {})
    assert form["schema"]["description"] == form["ui_schema"]["ui:description"]
    assert json.loads(json.dumps(form)) == form  # plain JSON
    # The locked-row rule is checked at save time, not drawn (a renderer makes a picker of it).
    assert not {"if", "then", "else"} & set(form["schema"]["$defs"]["field_mapping"])


def test_help_pick_the_snov_list_your_prospects_go_into(
    hook: pluggy.HookRelay, host: Host, snov: SnovMock
) -> None:
    snov.token()
    snov.account()
    offered = choices(render(hook, host)["schema"], "target_list_id")
    assert list(offered) == [None, PLAIN_LIST, CAMPAIGN_LIST]  # not the deleted list
    assert offered[None] == "No list (nothing syncs)"
    assert offered[PLAIN_LIST] == "42min bookings (12 prospects)"
    assert offered[CAMPAIGN_LIST].startswith("Outreach Q3 (1 prospect) ⚠")


def test_lists_sharing_a_name_are_told_apart_by_id(
    hook: pluggy.HookRelay, host: Host, snov: SnovMock
) -> None:
    twins = [
        {"id": 7, "name": "Leads", "contacts": 2},
        {"id": 8, "name": "Leads", "contacts": 0},
    ]
    snov.token()
    snov.account(lists=twins, campaigns=[])
    offered = choices(render(hook, host)["schema"], "target_list_id")
    assert offered[7] == "Leads (2 prospects, ID 7)"
    assert offered[8] == "Leads (0 prospects, ID 8)"


def test_help_a_list_with_an_active_campaign_warns_that_adding_people_starts_its_outreach(
    hook: pluggy.HookRelay, host: Host, snov: SnovMock
) -> None:
    snov.token()
    snov.account()
    form = render(hook, host)
    options = {o["const"]: o for o in form["schema"]["properties"]["target_list_id"]["oneOf"]}
    warned = options[CAMPAIGN_LIST]
    assert '"Q3 cold outreach"' in warned["title"]
    assert "starts that campaign's emails" in warned["title"]
    assert '"Q3 cold outreach"' in warned["description"]
    # A paused campaign starts nothing.
    assert "⚠" not in options[PLAIN_LIST]["title"]
    assert "description" not in options[PLAIN_LIST]
    widget = form["ui_schema"]["target_list_id"]
    assert list(widget["ui:options"]["warnings"]) == [str(CAMPAIGN_LIST)]
    assert "Q3 cold outreach" in widget["ui:options"]["warnings"][str(CAMPAIGN_LIST)]
    assert "active Snov.io campaign" in widget["ui:help"]


def test_a_list_with_two_active_campaigns_names_both(
    hook: pluggy.HookRelay, host: Host, snov: SnovMock
) -> None:
    two = [
        {"id": 1, "campaign": "First", "list_id": PLAIN_LIST, "status": "active"},
        {"id": 2, "campaign": "Second", "list_id": PLAIN_LIST, "status": "Active"},
    ]
    snov.token()
    snov.account(campaigns=two)
    offered = choices(render(hook, host)["schema"], "target_list_id")
    assert (
        'campaigns "First", "Second": adding people here starts those campaigns\''
        in (offered[PLAIN_LIST])
    )


def test_help_you_can_also_create_a_new_list_right_from_this_page(
    hook: pluggy.HookRelay, host: Host, snov: SnovMock
) -> None:
    snov.token()
    snov.account()
    (action,) = render(hook, host)["ui_schema"]["target_list_id"]["ui:options"]["actions"]
    assert action["name"] == "create_list"
    assert action["title"] == "Create a new list"
    assert action["result_value"] == "id"
    params = Draft202012Validator(action["params_schema"])
    Draft202012Validator.check_schema(action["params_schema"])
    assert params.is_valid({"name": "42min bookings"})
    assert not params.is_valid({})
    assert not params.is_valid({"name": "   "})
    assert not params.is_valid({"name": "x", "other": 1})


def test_help_lifecycle_status_field_is_an_existing_snov_custom_field(
    hook: pluggy.HookRelay, host: Host, snov: SnovMock
) -> None:
    snov.token()
    snov.account()
    schema = render(hook, host)["schema"]
    offered = choices(schema, "lifecycle_status_field")
    assert list(offered) == [None, *LABELS]
    assert "skipped" in offered[None]
    assert schema["properties"]["lifecycle_status_field"]["default"] is None


def test_help_you_can_also_pick_a_host_email_field(
    hook: pluggy.HookRelay, host: Host, snov: SnovMock
) -> None:
    snov.token()
    snov.account()
    offered = choices(render(hook, host)["schema"], "host_email_field")
    assert list(offered) == [None, *LABELS]


def test_custom_fields_whose_labels_cannot_be_saved_are_not_offered(
    hook: pluggy.HookRelay, host: Host, snov: SnovMock
) -> None:
    odd = [{"label": " leading space"}, {"label": "x" * 101}, {"label": "Budget"}]
    snov.token()
    snov.account(fields=odd)
    schema = render(hook, host)["schema"]
    assert list(choices(schema, "lifecycle_status_field")) == [None, "Budget"]
    assert [t for t in target_choices(schema) if "cf_" in t] == ["prospect.cf_Budget"]


def test_an_account_without_lists_or_custom_fields_says_what_to_do(
    hook: pluggy.HookRelay, host: Host, snov: SnovMock
) -> None:
    snov.token()
    snov.account(lists=[], fields=[], campaigns=[])
    form = render(hook, host)
    assert_sound(form["schema"])
    assert list(choices(form["schema"], "target_list_id")) == [None]
    assert "no lists yet: create one here" in form["ui_schema"]["target_list_id"]["ui:help"]
    assert "no custom fields yet" in form["ui_schema"]["lifecycle_status_field"]["ui:help"]


def test_help_map_fields_targets_are_standard_prospect_fields_or_custom_fields(
    hook: pluggy.HookRelay, host: Host, snov: SnovMock
) -> None:
    snov.token()
    snov.account()
    offered = target_choices(render(hook, host)["schema"])
    assert list(offered) == [*STANDARD_TARGETS, *(f"prospect.cf_{label}" for label in LABELS)]
    assert offered["prospect.company"] == "Company (prospect.company)"
    assert offered["prospect.cf_Team size"] == "Team size (custom field)"


def test_help_email_name_and_phone_are_mapped_for_you_and_cannot_be_removed(
    hook: pluggy.HookRelay, host: Host, snov: SnovMock
) -> None:
    snov.token()
    snov.account()
    form = render(hook, host)
    assert form["schema"]["properties"]["field_mappings"]["default"] == LOCKED
    mappings = form["ui_schema"]["field_mappings"]
    assert mappings["ui:options"]["locked_rows"] == [0, 1, 2]
    assert "can't be removed" in mappings["ui:options"]["lock_hint"]
    assert mappings["items"]["locked"] == {"ui:widget": "hidden"}


@pytest.mark.parametrize(("trigger", "on"), DEFAULT_TRIGGERS.items())
def test_help_trigger_defaults(
    hook: pluggy.HookRelay, host: Host, snov: SnovMock, trigger: str, on: bool
) -> None:
    """Booking created, canceled, rescheduled and no-show on; routing form submitted off."""
    snov.token()
    snov.account()
    schema = render(hook, host)["schema"]
    assert schema["properties"]["triggers"]["default"][trigger] is on
    assert schema["$defs"]["triggers"]["properties"][trigger]["default"] is on


def test_help_if_the_prospect_already_exists_choose_update_by_default_or_skip(
    hook: pluggy.HookRelay, host: Host, snov: SnovMock
) -> None:
    snov.token()
    snov.account()
    schema = render(hook, host)["schema"]
    assert choices(schema, "existing_prospect") == {"update": "Update", "skip": "Skip"}
    assert schema["properties"]["existing_prospect"]["default"] == "update"


def test_help_status_wording_defaults(hook: pluggy.HookRelay, host: Host, snov: SnovMock) -> None:
    """The defaults are Meeting booked, Meeting canceled, Meeting rescheduled and No-show."""
    snov.token()
    snov.account()
    schema = render(hook, host)["schema"]
    assert schema["properties"]["status_labels"]["default"] == DEFAULT_LABELS


# ---- the form: the choice cache and Snov.io trouble -----------------------------------


def test_opening_the_page_twice_sends_no_second_round_of_requests(
    hook: pluggy.HookRelay, host: Host, snov: SnovMock, clock: ManualClock
) -> None:
    snov.token()
    snov.account()
    first = render(hook, host)
    assert render(hook, host) == first  # strict mock: a second request would fail here
    assert len(snov.paths()) == 4
    clock.advance(61)  # the choices are kept for a short time only; the token lasts longer
    snov.account(lists=LISTS[:1])
    assert list(choices(render(hook, host)["schema"], "target_list_id")) == [None, PLAIN_LIST]
    assert snov.paths()[4:] == [CAMPAIGNS_PATH, LISTS_PATH, FIELDS_PATH]


def test_unreachable_snov_renders_the_last_known_choices_with_a_notice(
    hook: pluggy.HookRelay, host: Host, snov: SnovMock, clock: ManualClock
) -> None:
    snov.token()
    snov.account()
    live = render(hook, host)
    clock.advance(61)
    snov.httpx_mock.add_exception(
        httpx.ConnectError("refused"), method="GET", url=f"{API}{CAMPAIGNS_PATH}"
    )
    form = render(hook, host)
    notice = notice_of(form)
    assert notice.startswith("Snov.io could not be reached")
    assert "last read from Snov.io" in notice
    assert choices(form["schema"], "target_list_id") == choices(live["schema"], "target_list_id")
    assert target_choices(form["schema"]) == target_choices(live["schema"])
    assert_sound(form["schema"])


def test_unreachable_snov_with_nothing_known_renders_free_entry_with_a_notice(
    hook: pluggy.HookRelay, host: Host, snov: SnovMock
) -> None:
    snov.httpx_mock.add_exception(httpx.ConnectError("refused"), method="POST", url=TOKEN_URL)
    form = render(hook, host)
    notice = notice_of(form)
    assert notice.startswith("Snov.io could not be reached")
    assert "enter the list ID and custom field labels yourself" in notice
    schema = form["schema"]
    assert_sound(schema)
    static = load_schema("settings")
    for name in ("target_list_id", "lifecycle_status_field", "host_email_field"):
        assert "oneOf" not in schema["properties"][name]
        assert schema["properties"][name]["type"] == static["properties"][name]["type"]
    target = schema["$defs"]["field_mapping"]["properties"]["target"]
    assert "oneOf" not in target
    assert target["pattern"] == static["$defs"]["field_mapping"]["properties"]["target"]["pattern"]
    # Free entry still accepts what an admin may type.
    assert Draft202012Validator(schema).is_valid(
        {"target_list_id": 5, "lifecycle_status_field": "Anything"}
    )
    assert "ui:widget" not in form["ui_schema"]["target_list_id"]
    assert form["ui_schema"]["target_list_id"]["ui:options"]["actions"][0]["name"] == "create_list"


def test_rejected_keys_render_with_a_notice_to_reconnect(
    hook: pluggy.HookRelay, host: Host, snov: SnovMock
) -> None:
    snov.token(status_code=401, json={"error": "invalid_client"})
    notice = notice_of(render(hook, host))
    assert notice.startswith("Snov.io rejected the saved API keys")
    assert "Reconnect Snov.io" in notice
    assert SECRET not in notice


def test_a_failing_snov_renders_with_a_notice(
    hook: pluggy.HookRelay, host: Host, snov: SnovMock
) -> None:
    snov.token()
    snov.answer("GET", CAMPAIGNS_PATH, status_code=503, text="")
    notice = notice_of(render(hook, host))
    assert notice.startswith("Snov.io failed to answer, so the account's lists")
    assert notice.endswith("Try again in a minute.")


def test_a_rate_limited_render_says_when_to_try_again(
    hook: pluggy.HookRelay, host: Host, snov: SnovMock
) -> None:
    snov.token()
    snov.answer("GET", CAMPAIGNS_PATH, status_code=429, text="")
    notice = notice_of(render(hook, host))
    assert notice.startswith("Snov.io is limiting requests right now")
    assert "seconds" in notice


def test_an_unusable_connection_record_renders_free_entry_and_sends_nothing(
    hook: pluggy.HookRelay, host: Host, snov: SnovMock
) -> None:
    form = render(hook, host, connection={"integration": "snov"})
    assert "Connect Snov.io again" in notice_of(form)
    assert snov.paths() == []
    assert_sound(form["schema"])


# ---- saving ----------------------------------------------------------------------------


def test_an_empty_document_is_saved_with_the_help_page_defaults_and_warnings(
    hook: pluggy.HookRelay, host: Host, snov: SnovMock
) -> None:
    saved = save(hook, host, {})
    assert saved["settings"] == {
        "target_list_id": None,
        "triggers": DEFAULT_TRIGGERS,
        "existing_prospect": "update",
        "lifecycle_status_field": None,
        "status_labels": DEFAULT_LABELS,
        "host_email_field": None,
        "field_mappings": LOCKED,
        "outreach_on_booking": {"action": "none", "campaign_ids": [], "resume_on_cancel": False},
    }
    assert snov.paths() == []  # nothing chosen that Snov.io must confirm
    assert len(saved["warnings"]) == 2


def test_a_blank_choice_is_saved_as_none(
    hook: pluggy.HookRelay, host: Host, snov: SnovMock
) -> None:
    blank = {"target_list_id": "", "lifecycle_status_field": "  ", "host_email_field": ""}
    saved = save(hook, host, blank)["settings"]
    assert [saved[name] for name in blank] == [None, None, None]
    assert snov.paths() == []


def test_help_a_target_list_is_required_until_you_pick_one_nothing_syncs(
    hook: pluggy.HookRelay, host: Host, snov: SnovMock
) -> None:
    warnings = save(hook, host, {})["warnings"]
    assert any(w.startswith("No target list is chosen, so nothing will sync") for w in warnings)


def test_help_without_a_lifecycle_field_cancel_reschedule_and_no_show_are_skipped(
    hook: pluggy.HookRelay, host: Host, snov: SnovMock
) -> None:
    warnings = save(hook, host, {"triggers": {"booking_no_show": False}})["warnings"]
    (warning,) = [w for w in warnings if w.startswith("No lifecycle status field")]
    assert "cancellations, reschedules and no-shows will be skipped" in warning
    assert "Booking canceled and Booking rescheduled are on but have nothing to write" in warning
    assert "Booking no-show" not in warning
    status_triggers_off = {
        "triggers": {
            "booking_canceled": False,
            "booking_rescheduled": False,
            "booking_no_show": False,
        }
    }
    quiet = save(hook, host, status_triggers_off)["warnings"]
    assert not any(w.startswith("No lifecycle status field") for w in quiet)


def test_help_blank_rows_are_dropped_when_you_save(
    hook: pluggy.HookRelay, host: Host, snov: SnovMock
) -> None:
    submitted = {
        "field_mappings": [
            *LOCKED,
            {"source": "", "target": ""},
            {},
            None,
            {"source": "   ", "locked": False},
            {"source": "invitee_form_question:company", "target": "prospect.company"},
        ]
    }
    saved = save(hook, host, submitted)["settings"]
    assert saved["field_mappings"] == [
        *LOCKED,
        {"source": "invitee_form_question:company", "target": "prospect.company", "locked": False},
    ]


def test_removed_locked_rows_are_put_back_at_the_start_in_order(
    hook: pluggy.HookRelay, host: Host, snov: SnovMock
) -> None:
    company = {"source": "invitee_form_question:company", "target": "prospect.company"}
    submitted = {"field_mappings": [company, LOCKED[2], {**LOCKED[0], "locked": False}]}
    saved = save(hook, host, submitted)
    assert saved["settings"]["field_mappings"] == [*LOCKED, {**company, "locked": False}]
    assert not any("locked row" in warning for warning in saved["warnings"])


def test_a_changed_locked_row_is_put_back_with_a_warning(
    hook: pluggy.HookRelay, host: Host, snov: SnovMock
) -> None:
    changed = {"source": "person.phone", "target": "prospect.company", "locked": True}
    submitted = {"field_mappings": [LOCKED[0], LOCKED[1], changed]}
    saved = save(hook, host, submitted)
    assert saved["settings"]["field_mappings"] == LOCKED
    (warning,) = [w for w in saved["warnings"] if "locked row" in w]
    assert warning.startswith("Field mapping row 3 changed a locked row")
    assert "was put back" in warning


def test_help_sources_are_booking_form_or_routing_form_answers_mapped_anywhere(
    hook: pluggy.HookRelay, host: Host, snov: SnovMock
) -> None:
    rows = [
        {"source": "invitee_form_question:q_1.a-b", "target": "prospect.position"},
        {"source": "routing_form_field:team-size", "target": "prospect.country"},
        # A booking question may fill even a field that usually holds something else.
        {"source": "invitee_form_question:mobile", "target": "prospect.linkedIn"},
        {"source": "person.email", "target": "prospect.locality"},
    ]
    saved = save(hook, host, {"field_mappings": rows})
    assert saved["settings"]["field_mappings"] == [*LOCKED, *({**r, "locked": False} for r in rows)]
    assert any('"Routing form submitted" is off' in w for w in saved["warnings"])


def test_every_problem_is_reported_at_once_with_pointers_into_the_submitted_document(
    hook: pluggy.HookRelay, host: Host, snov: SnovMock
) -> None:
    submitted = {
        "target_list_id": "101",
        "triggers": {"booking_created": "yes"},
        "existing_prospect": "merge",
        "lifecycle_status_field": " Meeting status",
        "status_labels": {"created": ""},
        "surprise": 1,
        "field_mappings": [
            {"source": "", "target": ""},  # blank: dropped, yet row 2 stays row 2
            LOCKED[0],
            {"source": "calendar:x", "target": "prospect.company"},
            {"source": "invitee_form_question:a", "target": "prospect.age"},
            {"source": "invitee_form_question:b", "target": "prospect.cf_"},
            "a row",
            {"source": "invitee_form_question:c", "target": "prospect.company", "extra": True},
        ],
    }
    errors = errors_of(hook, host, submitted)
    pointers = [error["pointer"] for error in errors]
    assert sorted(pointers) == sorted(
        [
            "/target_list_id",
            "/triggers/booking_created",
            "/existing_prospect",
            "/lifecycle_status_field",
            "/status_labels/created",
            "/surprise",
            "/field_mappings/2/source",
            "/field_mappings/3/target",
            "/field_mappings/4/target",
            "/field_mappings/5",
            "/field_mappings/6/extra",
            "/field_mappings/6/target",  # prospect.company is filled by row 2 already
        ]
    )
    by_pointer = {error["pointer"]: error["message"] for error in errors}
    assert "invitee_form_question:<id>" in by_pointer["/field_mappings/2/source"]
    assert "prospect.cf_<custom field label>" in by_pointer["/field_mappings/3/target"]
    assert "already filled by an earlier row" in by_pointer["/field_mappings/6/target"]
    assert by_pointer["/surprise"] == "This field is not allowed."
    assert snov.paths() == []  # nothing well-formed left for Snov.io to confirm


def test_a_document_that_is_not_an_object_is_one_error_at_the_root(
    hook: pluggy.HookRelay, host: Host, snov: SnovMock
) -> None:
    assert errors_of(hook, host, ["not", "settings"]) == [
        {"pointer": "", "message": "The settings must be a JSON object."}
    ]


def test_mappings_that_are_not_a_list_are_one_error(
    hook: pluggy.HookRelay, host: Host, snov: SnovMock
) -> None:
    assert errors_of(hook, host, {"field_mappings": {"source": "person.email"}}) == [
        {"pointer": "/field_mappings", "message": "Use a list of mapping rows."}
    ]


def test_too_many_mapping_rows_is_one_error_counting_the_locked_rows(
    hook: pluggy.HookRelay, host: Host, snov: SnovMock
) -> None:
    rows = [
        {"source": f"invitee_form_question:q{n}", "target": "prospect.company"} for n in range(98)
    ]
    errors = errors_of(hook, host, {"field_mappings": [{}, *rows]})
    assert errors[0] == {
        "pointer": "/field_mappings",
        "message": "Use at most 100 mapping rows, the 3 locked rows included (101 after blank"
        " rows were dropped).",
    }
    assert [e["pointer"] for e in errors].count("/field_mappings") == 1
    assert load_schema("settings")["properties"]["field_mappings"]["maxItems"] == 100
    # One row fewer is within the limit: the remaining errors are the repeated targets.
    assert errors[1]["pointer"] == "/field_mappings/2/target"
    assert len(errors) == 1 + 97


def test_two_rows_filling_one_prospect_field_is_an_error_on_the_later_row(
    hook: pluggy.HookRelay, host: Host, snov: SnovMock
) -> None:
    rows = [
        *LOCKED,
        {"source": "invitee_form_question:work_email", "target": "prospect.email"},
        {"source": "invitee_form_question:a", "target": "prospect.position"},
        {"source": "invitee_form_question:b", "target": "prospect.position"},
    ]
    errors = errors_of(hook, host, {"field_mappings": rows})
    assert [error["pointer"] for error in errors] == [
        "/field_mappings/3/target",
        "/field_mappings/5/target",
    ]
    assert "(person.email)" in errors[0]["message"]
    assert "(invitee_form_question:a)" in errors[1]["message"]


def test_one_custom_field_cannot_receive_the_status_the_host_email_and_a_mapping(
    hook: pluggy.HookRelay, host: Host, snov: SnovMock
) -> None:
    snov.token()
    snov.account()
    submitted = {
        "lifecycle_status_field": "Meeting status",
        "host_email_field": "Meeting status",
        "field_mappings": [
            {"source": "invitee_form_question:s", "target": "prospect.cf_Meeting status"}
        ],
    }
    errors = errors_of(hook, host, submitted)
    assert [error["pointer"] for error in errors] == [
        "/host_email_field",
        "/field_mappings/0/target",
    ]
    assert "already receives the meeting status" in errors[0]["message"]


def test_help_a_chosen_list_and_custom_fields_are_checked_in_snov_at_save_time(
    hook: pluggy.HookRelay, host: Host, snov: SnovMock
) -> None:
    snov.token()
    snov.account()
    submitted = {
        "target_list_id": DELETED_LIST,
        "lifecycle_status_field": "Stage",
        "host_email_field": "42min host",
        "status_labels": {"no_show": " no"},
        "field_mappings": [
            {"source": "routing_form_field:budget", "target": "prospect.cf_Budget"},
            {"source": "routing_form_field:size", "target": "prospect.cf_Team size"},
        ],
    }
    errors = errors_of(hook, host, submitted)
    assert errors == [
        {
            "pointer": "/status_labels/no_show",
            "message": "Use one line of text that does not start with a space.",
        },
        {
            "pointer": "/target_list_id",
            "message": f"The Snov.io list {DELETED_LIST} does not exist or was deleted: choose"
            " another list or create a new one.",
        },
        {
            "pointer": "/lifecycle_status_field",
            "message": 'Snov.io has no custom field "Stage": create it in Snov.io or choose one'
            " that exists.",
        },
        {
            "pointer": "/field_mappings/0/target",
            "message": 'Snov.io has no custom field "Budget": create it in Snov.io or choose one'
            " that exists.",
        },
    ]


def test_a_deleted_list_is_named_when_it_was_known(
    hook: pluggy.HookRelay, host: Host, snov: SnovMock
) -> None:
    snov.token()
    snov.account()
    render(hook, host)
    snov.account(lists=[item for item in LISTS if item["id"] != PLAIN_LIST])
    errors = errors_of(hook, host, {"target_list_id": PLAIN_LIST})
    assert errors[0]["message"].startswith(
        f'The Snov.io list "42min bookings" (ID {PLAIN_LIST}) does not exist or was deleted'
    )


def test_the_check_at_save_time_reads_snov_fresh_not_from_the_cache(
    hook: pluggy.HookRelay, host: Host, snov: SnovMock
) -> None:
    snov.token()
    snov.account()
    render(hook, host)
    snov.account(fields=[])  # the custom field was deleted since the page was drawn
    errors = errors_of(hook, host, {"target_list_id": PLAIN_LIST, "host_email_field": "42min host"})
    assert errors == [
        {
            "pointer": "/host_email_field",
            "message": 'Snov.io has no custom field "42min host": create it in Snov.io or choose'
            " one that exists.",
        }
    ]
    assert snov.paths()[4:] == [CAMPAIGNS_PATH, LISTS_PATH, FIELDS_PATH]


def test_help_saving_a_list_with_an_active_campaign_warns_that_it_starts_emails(
    hook: pluggy.HookRelay, host: Host, snov: SnovMock
) -> None:
    snov.token()
    snov.account()
    saved = save(
        hook, host, {"target_list_id": CAMPAIGN_LIST, "lifecycle_status_field": "Meeting status"}
    )
    assert saved["settings"]["target_list_id"] == CAMPAIGN_LIST
    assert saved["warnings"] == [
        'The list "Outreach Q3" is used by the active Snov.io campaign "Q3 cold outreach":'
        " adding people to it starts that campaign's emails to them. Point the target list at"
        " a plain list if bookings should not trigger emails."
    ]


def test_a_saved_document_validates_against_the_rendered_form(
    hook: pluggy.HookRelay, host: Host, snov: SnovMock
) -> None:
    snov.token()
    snov.account()
    form = render(hook, host)
    snov.account()
    submitted = {
        "target_list_id": PLAIN_LIST,
        "triggers": {"routing_form_submitted": True},
        "existing_prospect": "skip",
        "lifecycle_status_field": "Meeting status",
        "status_labels": {"rescheduled": "Meeting moved"},
        "host_email_field": "42min host",
        "field_mappings": [
            {"source": "", "target": ""},
            {"source": "invitee_form_question:company", "target": "prospect.company"},
            {"source": "routing_form_field:size", "target": "prospect.cf_Team size"},
        ],
    }
    saved = save(hook, host, submitted)
    assert saved["warnings"] == []
    Draft202012Validator(form["schema"]).validate(saved["settings"])
    assert saved["settings"]["status_labels"] == {**DEFAULT_LABELS, "rescheduled": "Meeting moved"}
    assert saved["settings"]["field_mappings"][:3] == LOCKED


def test_unreachable_snov_at_save_time_accepts_the_settings_with_a_warning(
    hook: pluggy.HookRelay, host: Host, snov: SnovMock
) -> None:
    snov.token()
    snov.account()
    render(hook, host)
    snov.httpx_mock.add_exception(
        httpx.ReadTimeout("timed out"), method="GET", url=f"{API}{CAMPAIGNS_PATH}"
    )
    submitted = {"target_list_id": CAMPAIGN_LIST, "lifecycle_status_field": "Gone or not"}
    saved = save(hook, host, submitted)
    assert saved["settings"]["lifecycle_status_field"] == "Gone or not"
    not_checked, campaign = saved["warnings"]
    assert not_checked.startswith(
        "Snov.io could not be reached, so the target list and custom fields could not be checked"
    )
    assert "saved as entered" in not_checked
    # What was last known still warns about the campaign.
    assert campaign.startswith("As last read from Snov.io")
    assert '"Q3 cold outreach"' in campaign


def test_rejected_keys_at_save_time_accept_the_settings_and_say_to_reconnect(
    hook: pluggy.HookRelay, host: Host, snov: SnovMock
) -> None:
    snov.token(status_code=401, json={"error": "invalid_client"})
    saved = save(hook, host, {"target_list_id": 5, "lifecycle_status_field": "Stage"})
    assert saved["settings"]["target_list_id"] == 5
    (warning,) = saved["warnings"]
    assert warning.startswith("Snov.io rejected the saved API keys")
    assert "Reconnect Snov.io" in warning


def test_rate_limited_at_save_time_accepts_the_settings_with_a_warning(
    hook: pluggy.HookRelay, host: Host, snov: SnovMock
) -> None:
    snov.token()
    snov.answer("GET", CAMPAIGNS_PATH, status_code=429, text="")
    (warning,) = save(hook, host, {"target_list_id": 5, "lifecycle_status_field": "Stage"})[
        "warnings"
    ]
    assert warning.startswith("Snov.io is limiting requests right now, so the target list")


def test_an_unusable_connection_at_save_time_accepts_the_settings_with_a_warning(
    hook: pluggy.HookRelay, host: Host, snov: SnovMock
) -> None:
    saved = save(hook, host, {"target_list_id": 5, "lifecycle_status_field": "Stage"}, {})
    (warning,) = saved["warnings"]
    assert warning.startswith("The stored Snov.io connection is not usable")
    assert "Connect Snov.io again" in warning
    assert snov.paths() == []


# ---- actions ---------------------------------------------------------------------------


def test_create_list_creates_the_list_and_returns_its_id_and_name(
    hook: pluggy.HookRelay, host: Host, snov: SnovMock
) -> None:
    snov.token()
    snov.answer(
        "POST",
        "/v1/lists",
        match_json={"name": "42min bookings"},
        json=[{"success": True, "data": {"id": 555}}],
    )
    assert act(hook, host, "create_list", {"name": "  42min bookings "}) == {
        "id": 555,
        "name": "42min bookings",
    }


@pytest.mark.parametrize(
    ("action", "params", "named"),
    [
        ("delete_list", {"name": "x"}, "'delete_list'"),
        ("create_list", None, '{"name"'),
        ("create_list", {}, "name"),
        ("create_list", {"name": "   "}, "must not be blank"),
        ("create_list", {"name": 7}, "must not be blank"),
        ("create_list", {"name": "x" * 101}, "at most 100 characters"),
        ("create_list", {"name": "two\nlines"}, "one line"),
        ("create_list", {"name": "x", "folder": "y"}, "'folder'"),
    ],
)
def test_unknown_actions_and_bad_params_are_clear_errors_and_send_nothing(
    hook: pluggy.HookRelay, host: Host, snov: SnovMock, action: str, params: Any, named: str
) -> None:
    with pytest.raises(InvalidRequest) as raised:
        act(hook, host, action, params)
    assert named in str(raised.value)
    if action != "create_list":
        assert "create_list" in str(raised.value)  # the known actions are listed
    assert snov.paths() == []


def test_snov_refusing_to_create_a_list_is_an_integration_error(
    hook: pluggy.HookRelay, host: Host, snov: SnovMock
) -> None:
    snov.token()
    snov.answer(
        "POST", "/v1/lists", status_code=422, json={"success": False, "errors": "Name too odd"}
    )
    with pytest.raises(SnovRejected, match="Name too odd"):
        act(hook, host, "create_list", {"name": "Odd"})


def test_rejected_keys_when_creating_a_list_are_an_integration_error(
    hook: pluggy.HookRelay, host: Host, snov: SnovMock
) -> None:
    snov.token(status_code=401, json={"error": "invalid_client"})
    with pytest.raises(CredentialsRejected) as raised:
        act(hook, host, "create_list", {"name": "New"})
    assert isinstance(raised.value, IntegrationError)
    assert SECRET not in str(raised.value)


def test_a_created_list_is_offered_at_once(
    hook: pluggy.HookRelay, host: Host, snov: SnovMock
) -> None:
    snov.token()
    snov.account()
    render(hook, host)
    snov.answer("POST", "/v1/lists", json={"success": True, "data": {"id": 777}})
    created = act(hook, host, "create_list", {"name": "Fresh"})
    snov.account(lists=[*LISTS, {"id": 777, "name": "Fresh", "contacts": 0}])
    offered = choices(render(hook, host)["schema"], "target_list_id")
    assert offered[created["id"]] == "Fresh (0 prospects)"


# ---- end to end, against the emulator --------------------------------------------------


@dataclass
class Seeded:
    connection: dict[str, Any]
    plain: int
    campaign: int
    deleted: int


@pytest.fixture
def seeded(snov_emulator: SnovEmulator) -> Seeded:
    account: Credentials = snov_emulator.add_account()
    state = snov_emulator.state
    plain = state.add_list(account.client_id, "42min bookings")
    campaign = state.add_list(account.client_id, "Outreach Q3")
    deleted = state.add_list(account.client_id, "Old leads", deleted=True)
    state.add_campaign(account.client_id, "Q3 cold outreach", campaign.id)
    state.add_campaign(account.client_id, "Draft idea", plain.id, status="Draft")
    for label in LABELS:
        state.add_custom_field(account.client_id, label)
    state.create_prospect(account.client_id, plain.id, {"email": "ada@example.com"})
    return Seeded(
        connection=connection_of(account.client_id, account.client_secret),
        plain=plain.id,
        campaign=campaign.id,
        deleted=deleted.id,
    )


def test_emulator_render_offers_the_account_and_warns_about_its_active_campaign(
    hook: pluggy.HookRelay, host: Host, seeded: Seeded, snov_emulator: SnovEmulator
) -> None:
    form = render(hook, host, seeded.connection)
    assert_sound(form["schema"])
    offered = choices(form["schema"], "target_list_id")
    assert list(offered) == [None, seeded.plain, seeded.campaign]
    assert offered[seeded.plain] == "42min bookings (1 prospect)"
    assert '"Q3 cold outreach"' in offered[seeded.campaign]
    assert list(choices(form["schema"], "lifecycle_status_field")) == [None, *LABELS]
    requests = len(snov_emulator.state.requests())
    render(hook, host, seeded.connection)
    assert len(snov_emulator.state.requests()) == requests  # cached


def test_emulator_create_list_then_render_offers_it(
    hook: pluggy.HookRelay, host: Host, seeded: Seeded, snov_emulator: SnovEmulator
) -> None:
    render(hook, host, seeded.connection)
    created = act(hook, host, "create_list", {"name": "From the settings page"}, seeded.connection)
    assert created["name"] == "From the settings page"
    lists = {
        item.id: item.name for item in snov_emulator.state.lists(seeded.connection["api_user_id"])
    }
    assert lists[created["id"]] == "From the settings page"
    offered = choices(render(hook, host, seeded.connection)["schema"], "target_list_id")
    assert offered[created["id"]] == "From the settings page (0 prospects)"


def test_emulator_save_checks_the_list_and_custom_fields_and_warns_about_the_campaign(
    hook: pluggy.HookRelay, host: Host, seeded: Seeded
) -> None:
    errors = errors_of(
        hook,
        host,
        {"target_list_id": seeded.deleted, "lifecycle_status_field": "Nope"},
        seeded.connection,
    )
    assert [error["pointer"] for error in errors] == ["/target_list_id", "/lifecycle_status_field"]
    saved = save(
        hook,
        host,
        {"target_list_id": seeded.campaign, "lifecycle_status_field": "Meeting status"},
        seeded.connection,
    )
    (warning,) = saved["warnings"]
    assert '"Q3 cold outreach"' in warning
    form = render(hook, host, seeded.connection)
    Draft202012Validator(form["schema"]).validate(saved["settings"])


def test_emulator_revoked_keys_render_from_the_last_known_choices(
    hook: pluggy.HookRelay,
    host: Host,
    seeded: Seeded,
    snov_emulator: SnovEmulator,
    clock: ManualClock,
) -> None:
    live = render(hook, host, seeded.connection)
    snov_emulator.state.revoke_credentials(seeded.connection["api_user_id"])
    clock.advance(61)
    form = render(hook, host, seeded.connection)
    assert "Reconnect Snov.io" in notice_of(form)
    assert choices(form["schema"], "target_list_id") == choices(live["schema"], "target_list_id")


# ---- outreach_on_booking -----------------------------------------------------------------


def test_help_the_form_offers_the_accounts_campaigns_with_their_status(
    hook: pluggy.HookRelay, host: Host, snov: SnovMock
) -> None:
    snov.token()
    snov.account()
    form = render(hook, host)
    outreach = form["schema"]["$defs"]["outreach_on_booking"]["properties"]
    offered = {o["const"]: o["title"] for o in outreach["campaign_ids"]["items"]["oneOf"]}
    assert offered == {9: "Q3 cold outreach (Active)", 10: "Summer promo (Paused)"}
    assert [o["const"] for o in outreach["action"]["oneOf"]] == ["none", "pause", "unsubscribe"]
    ui = form["ui_schema"]["outreach_on_booking"]
    assert "never resumed" in ui["resume_on_cancel"]["ui:help"]
    assert "final in Snov.io" in outreach["action"]["oneOf"][2]["description"]


def test_help_saving_pause_on_a_list_that_feeds_an_active_campaign_warns(
    hook: pluggy.HookRelay, host: Host, snov: SnovMock
) -> None:
    snov.token()
    snov.account()
    saved = save(
        hook,
        host,
        {
            "target_list_id": CAMPAIGN_LIST,
            "lifecycle_status_field": "Meeting status",
            "outreach_on_booking": {"action": "pause", "campaign_ids": [9]},
        },
    )
    assert saved["settings"]["outreach_on_booking"] == {
        "action": "pause",
        "campaign_ids": [9],
        "resume_on_cancel": False,
    }
    assert any(
        "enrols the person there and then pauses them at once" in w for w in saved["warnings"]
    )


def test_help_saving_unsubscribe_warns_that_it_is_final(
    hook: pluggy.HookRelay, host: Host, snov: SnovMock
) -> None:
    snov.token()
    snov.account()
    saved = save(
        hook,
        host,
        {
            "target_list_id": PLAIN_LIST,
            "lifecycle_status_field": "Meeting status",
            "outreach_on_booking": {"action": "unsubscribe"},
        },
    )
    assert saved["warnings"] == [
        "Unsubscribe is final in Snov.io: people who book get no more emails from those"
        " campaigns, even if the meeting is canceled. Choose Pause to be able to set them"
        " back to Active."
    ]


# ---- mapping sources the host lists (the optional host.form_fields()) ---------------------

TEAM_SIZE = "invitee_form_question:team_size"
BUDGET = "routing_form_field:budget"


@dataclass
class HostWithForms:
    store: MemoryStore
    fields: list[dict[str, Any]]

    def form_fields(self) -> list[dict[str, Any]]:
        return self.fields


def forms_host(clock: ManualClock) -> HostWithForms:
    return HostWithForms(
        store=MemoryStore(clock=clock),
        fields=[
            {"source": TEAM_SIZE, "label": "How big is your team?", "form": "Intro call"},
            {"source": BUDGET, "label": "Budget", "form": None},
            {"source": "not a source", "label": "Dropped", "form": None},
            "not an object",
        ],
    )


def source_of(form: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    schema = form["schema"]["$defs"]["field_mapping"]["properties"]["source"]
    return schema, form["ui_schema"]["field_mappings"]["items"]["source"]


def test_sources_the_host_lists_are_offered_by_label_in_a_searchable_select(
    hook: pluggy.HookRelay, clock: ManualClock, snov: SnovMock
) -> None:
    snov.token()
    snov.account()
    form = render(hook, forms_host(clock))  # type: ignore[arg-type]
    schema, ui = source_of(form)
    offered = {option["const"]: option["title"] for option in schema["oneOf"]}
    assert offered == {
        "person.email": "Email of the invitee or respondent (person.email)",
        "person.name": "Name of the invitee or respondent (person.name)",
        "person.phone": "Phone of the invitee or respondent (person.phone)",
        TEAM_SIZE: "How big is your team? — Intro call",
        BUDGET: "Budget",
    }
    assert ui["ui:widget"] == "searchable_select"
    assert ui["ui:options"] == {"free_entry": True}
    assert_sound(form["schema"])


def test_without_form_fields_the_source_is_typed_in(
    hook: pluggy.HookRelay, host: Host, snov: SnovMock
) -> None:
    snov.token()
    snov.account()
    schema, ui = source_of(render(hook, host))
    assert "oneOf" not in schema
    assert "ui:widget" not in ui
    assert ui["ui:placeholder"].startswith("invitee_form_question:<id>")


def test_a_host_whose_form_fields_fails_still_gets_its_form(
    hook: pluggy.HookRelay, clock: ManualClock, snov: SnovMock
) -> None:
    class Broken:
        store = MemoryStore(clock=clock)

        def form_fields(self) -> list[dict[str, Any]]:
            raise RuntimeError("the host's forms are down")

    snov.token()
    snov.account()
    schema, _ = source_of(render(hook, Broken()))  # type: ignore[arg-type]
    assert "oneOf" not in schema


def test_a_source_the_host_does_not_list_is_saved_with_a_warning_not_an_error(
    hook: pluggy.HookRelay, clock: ManualClock, snov: SnovMock
) -> None:
    host = forms_host(clock)
    rows = [
        {"source": "", "target": ""},
        {"source": TEAM_SIZE, "target": "prospect.company"},
        {"source": "invitee_form_question:later", "target": "prospect.position"},
    ]
    saved = save(hook, host, {"field_mappings": rows})  # type: ignore[arg-type]
    assert [row["source"] for row in saved["settings"]["field_mappings"][3:]] == [
        TEAM_SIZE,
        "invitee_form_question:later",
    ]
    unknown = [w for w in saved["warnings"] if "none of your forms asks yet" in w]
    assert unknown == [
        "Field mapping row 3 reads invitee_form_question:later, which none of your forms asks"
        " yet: it fills nothing until an event carries that answer. Check the spelling, or"
        " ignore this if the form is still to come."
    ]


def test_without_form_fields_no_source_is_warned_about(
    hook: pluggy.HookRelay, host: Host, snov: SnovMock
) -> None:
    rows = [{"source": "invitee_form_question:later", "target": "prospect.position"}]
    saved = save(hook, host, {"field_mappings": rows})
    assert not [w for w in saved["warnings"] if "none of your forms" in w]
