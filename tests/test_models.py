"""The published schemas and the pydantic models: valid, documented, and in step."""

from __future__ import annotations

import copy
import importlib.resources
import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any, ClassVar

import pytest
from hypothesis import given
from hypothesis import strategies as st
from jsonschema import Draft202012Validator
from pydantic import Field, SecretStr, TypeAdapter, ValidationError, create_model

from fortytwomin_snov.contract import models as contract_models
from fortytwomin_snov.contract.models import EVENT_ADAPTER, Actor, BookingEvent
from fortytwomin_snov.contract.schemas import CONTRACT_SCHEMAS
from fortytwomin_snov.credentials import Connection, Credentials
from fortytwomin_snov.outcomes import REASON_STATUS, SyncOutcome
from fortytwomin_snov.schemas import CONTRACT_TYPES, SCHEMA_NAMES, field_errors, load_schema
from fortytwomin_snov.settings.model import SOURCE_PATTERN, Settings
from fortytwomin_snov.sync import Outcomes

CONTRACT_BASE = "https://schemas.42min.com/integrations/"
SCHEMA_BASE = CONTRACT_BASE + "snov/"
SECRET = "s3cr3t-Value-That-Must-Not-Leak"

# ---- helpers -----------------------------------------------------------------------


def adapter(name: str) -> TypeAdapter[Any]:
    return TypeAdapter(CONTRACT_TYPES[name])


def validator(name: str) -> Draft202012Validator:
    return Draft202012Validator(load_schema(name))


def example(name: str, index: int = 0) -> dict[str, Any]:
    return copy.deepcopy(load_schema(name)["examples"][index])


def dump(name: str, value: Any) -> Any:
    return adapter(name).dump_python(value, mode="json", context={"reveal_secret": True})


def model_pointers(name: str, document: Any) -> set[str]:
    with pytest.raises(ValidationError) as caught:
        adapter(name).validate_python(document)
    return {error["pointer"] for error in field_errors(caught.value)}


def all_examples() -> list[tuple[str, int]]:
    return [
        (name, index)
        for name in SCHEMA_NAMES
        for index in range(len(load_schema(name).get("examples", [])))
    ]


# ---- the schema walker -------------------------------------------------------------
# Both sides are reduced to what a document can hold: types, allowed constants,
# defaults, patterns, properties (recursively), required names, closedness, array
# items and map values. Unions (anyOf/oneOf, pydantic's discriminated union) are
# merged: properties and constants are united, required names intersected.
# Conditionals (allOf/if/then/not) are rules, checked by the invalid documents below.

NO_DEFAULT = "<no default>"


def _resolve(node: Any, root: dict[str, Any]) -> Any:
    while isinstance(node, dict) and "$ref" in node:
        target: Any = root
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = {**target, **{key: value for key, value in node.items() if key != "$ref"}}
    return node


def _variants(node: Any, root: dict[str, Any]) -> list[dict[str, Any]]:
    node = _resolve(node, root)
    if node is True or node is None:
        return [{}]
    members = node.get("anyOf", []) + node.get("oneOf", [])
    if not members:
        return [node]
    return [variant for member in members for variant in _variants(member, root)]


def _merge(nodes: list[Any], root: dict[str, Any]) -> Any:
    """One node standing for several (a property in several union members)."""
    if len(nodes) == 1:
        return nodes[0]
    defaults = {
        json.dumps(resolved.get("default", NO_DEFAULT), sort_keys=True)
        for resolved in (_resolve(node, root) for node in nodes)
        if isinstance(resolved, dict)
    }
    merged: dict[str, Any] = {"anyOf": nodes}
    if len(defaults) == 1:
        merged["default"] = json.loads(defaults.pop())
    return merged


def _types(variant: dict[str, Any]) -> set[str]:
    kind = variant.get("type")
    if kind is None:
        return set()
    return {kind} if isinstance(kind, str) else set(kind)


def summarize(node: Any, root: dict[str, Any]) -> dict[str, Any]:
    resolved = _resolve(node, root)
    variants = _variants(node, root)
    types: set[str] = set()
    for variant in variants:
        types |= _types(variant)
    constants: set[str] = set()
    restricted = True
    for variant in variants:
        if "const" in variant:
            constants.add(json.dumps(variant["const"]))
        elif "enum" in variant:
            constants |= {json.dumps(value) for value in variant["enum"] if value is not None}
        elif _types(variant) != {"null"}:
            restricted = False
    objects = [
        variant for variant in variants if "properties" in variant or "object" in _types(variant)
    ]
    names = sorted({name for variant in objects for name in variant.get("properties", {})})
    properties = {
        name: summarize(
            _merge(
                [v["properties"][name] for v in objects if name in v.get("properties", {})], root
            ),
            root,
        )
        for name in names
    }
    values = [
        v["additionalProperties"]
        for v in objects
        if isinstance(v.get("additionalProperties"), dict)
    ]
    items = [v["items"] for v in variants if "items" in v]
    return {
        "types": sorted(types),
        "constants": sorted(constants) if restricted and constants else None,
        "default": json.dumps(resolved.get("default", NO_DEFAULT), sort_keys=True)
        if isinstance(resolved, dict)
        else NO_DEFAULT,
        "patterns": sorted({v["pattern"] for v in variants if "pattern" in v}),
        "properties": properties,
        "required": sorted(set.intersection(*(set(v.get("required", [])) for v in objects)))
        if objects
        else [],
        "closed": bool(objects) and all(v.get("additionalProperties") is False for v in objects),
        "items": summarize(_merge(items, root), root) if items else None,
        "values": summarize(_merge(values, root), root) if values else None,
    }


def differences(published: dict[str, Any], model: dict[str, Any], path: str = "") -> list[str]:
    where = path or "/"
    found = [
        f"{where}: {key} differ: schema {published[key]!r}, model {model[key]!r}"
        for key in ("types", "constants", "default", "patterns", "required", "closed")
        if published[key] != model[key]
    ]
    for name in sorted(set(published["properties"]) | set(model["properties"])):
        if name not in model["properties"]:
            found.append(f"{path}/{name}: only in the schema")
        elif name not in published["properties"]:
            found.append(f"{path}/{name}: only in the model")
        else:
            found += differences(
                published["properties"][name], model["properties"][name], f"{path}/{name}"
            )
    for key in ("items", "values"):
        if (published[key] is None) != (model[key] is None):
            found.append(f"{where}: {key} only on one side")
        elif published[key] is not None:
            found += differences(published[key], model[key], f"{path}/<{key}>")
    return found


def compare(schema: dict[str, Any], contract_type: Any) -> list[str]:
    model_schema = TypeAdapter(contract_type).json_schema()
    return differences(summarize(schema, schema), summarize(model_schema, model_schema))


# ---- the schema files --------------------------------------------------------------


def test_the_schema_package_holds_exactly_the_published_schemas() -> None:
    folder = importlib.resources.files("fortytwomin_snov.schema")
    files = sorted(item.name for item in folder.iterdir() if item.name.endswith(".json"))
    assert files == sorted(SCHEMA_NAMES)


@pytest.mark.parametrize("name", SCHEMA_NAMES)
def test_schema_is_valid_draft_2020_12_with_id_and_title(name: str) -> None:
    text = importlib.resources.files("fortytwomin_snov.schema").joinpath(name).read_text("utf-8")
    schema = json.loads(text)
    Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    contract = name.removesuffix(".schema.json") in CONTRACT_SCHEMAS
    assert schema["$id"] == (CONTRACT_BASE if contract else SCHEMA_BASE) + name
    assert schema["title"].strip()
    assert schema["description"].strip()
    assert schema["examples"], "every schema carries at least one example"
    assert "$ref" not in json.dumps(schema).replace('"$ref": "#/', "")  # no cross-file refs


def _properties_without_description(node: Any, path: str) -> list[str]:
    missing: list[str] = []
    if isinstance(node, dict):
        for name, prop in node.get("properties", {}).items():
            if not (isinstance(prop, dict) and str(prop.get("description", "")).strip()):
                missing.append(f"{path}/properties/{name}")
        for key, value in node.items():
            if key != "examples":
                missing += _properties_without_description(value, f"{path}/{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            missing += _properties_without_description(value, f"{path}/{index}")
    return missing


@pytest.mark.parametrize("name", SCHEMA_NAMES)
def test_every_property_at_every_depth_has_a_description(name: str) -> None:
    assert _properties_without_description(load_schema(name), "") == []


def test_the_description_check_notices_a_missing_description() -> None:
    schema = load_schema("settings")
    del schema["$defs"]["triggers"]["properties"]["booking_no_show"]["description"]
    assert _properties_without_description(schema, "") == [
        "/$defs/triggers/properties/booking_no_show"
    ]


def test_secrets_are_write_only_in_the_schemas() -> None:
    assert load_schema("credentials")["properties"]["api_secret"]["writeOnly"] is True
    assert load_schema("connection")["properties"]["api_secret"]["writeOnly"] is True
    assert "writeOnly" not in load_schema("credentials")["properties"]["api_user_id"]


def test_load_schema_takes_short_names_and_hands_out_copies() -> None:
    first = load_schema("settings")
    first["properties"].clear()
    assert load_schema("settings.schema.json")["properties"], "the cached schema was changed"
    with pytest.raises(ValueError, match="No schema named 'deals'"):
        load_schema("deals")


# ---- examples ----------------------------------------------------------------------


@pytest.mark.parametrize(("name", "index"), all_examples())
def test_example_validates_parses_and_round_trips(name: str, index: int) -> None:
    document = example(name, index)
    validator(name).validate(document)
    parsed = adapter(name).validate_python(document)
    dumped = dump(name, parsed)
    validator(name).validate(dumped)
    assert adapter(name).validate_python(dumped) == parsed


def test_manifest_example_carries_a_valid_credentials_schema() -> None:
    Draft202012Validator.check_schema(example("manifest")["credentials_schema"])


def test_settings_defaults_are_the_help_page_defaults() -> None:
    settings = Settings()
    assert settings.target_list_id is None
    assert settings.triggers.model_dump() == {
        "booking_created": True,
        "booking_canceled": True,
        "booking_rescheduled": True,
        "booking_no_show": True,
        "routing_form_submitted": False,
    }
    assert settings.existing_prospect == "update"
    assert settings.lifecycle_status_field is None
    assert settings.host_email_field is None
    assert settings.status_labels.model_dump() == {
        "created": "Meeting booked",
        "canceled": "Meeting canceled",
        "rescheduled": "Meeting rescheduled",
        "no_show": "No-show",
    }
    assert [row.model_dump() for row in settings.field_mappings] == [
        {"source": "person.email", "target": "prospect.email", "locked": True},
        {"source": "person.name", "target": "prospect.name", "locked": True},
        {"source": "person.phone", "target": "prospect.phone", "locked": True},
    ]
    validator("settings").validate(settings.to_json())


def test_event_adapter_tells_the_two_event_kinds_apart() -> None:
    assert isinstance(EVENT_ADAPTER.validate_python(example("booking-event", 0)), BookingEvent)
    submitted = EVENT_ADAPTER.validate_python(example("booking-event", 4))
    assert isinstance(submitted, contract_models.RoutingFormEvent)
    assert submitted.routing_form.fields["interests"] == ["crm", "calendar"]


def test_omittable_fields_are_left_out_of_dumps_not_nulled() -> None:
    outcome = SyncOutcome(
        event_id="evt_1",
        event_type="booking.created",
        integration="snov",
        status="skipped",
        reason="no_target_list",
        message="Choose a target list in the Snov.io settings.",
    )
    assert set(outcome.to_json()) == {
        "event_id",
        "event_type",
        "integration",
        "status",
        "reason",
        "message",
    }


# ---- models and schemas in step ----------------------------------------------------


@pytest.mark.parametrize("name", SCHEMA_NAMES)
def test_model_and_schema_agree(name: str) -> None:
    assert compare(load_schema(name), CONTRACT_TYPES[name]) == []


def _add_trigger(schema: dict[str, Any]) -> None:
    schema["$defs"]["triggers"]["properties"]["booking_updated"] = {
        "type": "boolean",
        "default": True,
        "description": "New.",
    }


def _drop_target(schema: dict[str, Any]) -> None:
    del schema["$defs"]["field_mapping"]["properties"]["target"]
    schema["$defs"]["field_mapping"]["required"].remove("target")


def _require_locked(schema: dict[str, Any]) -> None:
    schema["$defs"]["field_mapping"]["required"].append("locked")


def _extend_enum(schema: dict[str, Any]) -> None:
    schema["properties"]["existing_prospect"]["enum"].append("merge")


def _change_default(schema: dict[str, Any]) -> None:
    schema["$defs"]["triggers"]["properties"]["routing_form_submitted"]["default"] = True


def _change_object_default(schema: dict[str, Any]) -> None:
    schema["properties"]["status_labels"]["default"]["no_show"] = "Did not come"


def _change_pattern(schema: dict[str, Any]) -> None:
    schema["$defs"]["field_mapping"]["properties"]["source"]["pattern"] = "^.+$"


def _open_rows(schema: dict[str, Any]) -> None:
    del schema["$defs"]["field_mapping"]["additionalProperties"]


def _nullable_labels(schema: dict[str, Any]) -> None:
    schema["$defs"]["status_labels"]["properties"]["created"]["type"] = ["string", "null"]


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (_add_trigger, "/triggers/booking_updated: only in the schema"),
        (_drop_target, "/field_mappings/<items>/target: only in the model"),
        (_require_locked, "/field_mappings/<items>: required differ"),
        (_extend_enum, "/existing_prospect: constants differ"),
        (_change_default, "/triggers/routing_form_submitted: default differ"),
        (_change_object_default, "/status_labels: default differ"),
        (_change_pattern, "/field_mappings/<items>/source: patterns differ"),
        (_open_rows, "/field_mappings/<items>: closed differ"),
        (_nullable_labels, "/status_labels/created: types differ"),
    ],
)
def test_comparison_reports_a_schema_side_change(mutate: Any, expected: str) -> None:
    schema = load_schema("settings")
    mutate(schema)
    assert any(found.startswith(expected) for found in compare(schema, Settings)), expected


def test_comparison_reports_a_field_added_to_the_model_only() -> None:
    widened = create_model(
        "WidenedOutcome",
        __base__=SyncOutcome,
        campaign_id=(int | None, Field(default=None, description="New.")),
    )
    assert compare(load_schema("sync-outcome"), widened) == ["/campaign_id: only in the model"]


def test_comparison_reports_a_new_event_type_on_one_side() -> None:
    schema = load_schema("booking-event")
    schema["properties"]["type"]["enum"].append("booking.updated")
    assert compare(schema, contract_models.Event)[0].startswith("/type: constants differ")


# ---- invalid documents: rejected by the schema and by the model --------------------


def _with(name: str, index: int = 0, **changes: Any) -> dict[str, Any]:
    """An example with changes: ``a__b=v`` sets document["a"]["b"]; DROP deletes."""
    document = example(name, index)
    for dotted, value in changes.items():
        *parents, last = dotted.split("__")
        target: Any = document
        for part in parents:
            target = target[int(part)] if isinstance(target, list) else target[part]
        key: Any = int(last) if isinstance(target, list) else last
        if value is DROP:
            del target[key]
        else:
            target[key] = value
    return document


DROP = object()
ROW = {"source": "invitee_form_question:company", "target": "prospect.company"}
BOOKING_EXTRA = {"uid": "bk_1", "start": "2025-03-20T15:00:00Z", "end": "2025-03-20T15:30:00Z"}

INVALID: list[tuple[str, str, dict[str, Any], set[str]]] = [
    # (rule, schema, document, the pointers field_errors gives)
    ("missing secret", "credentials", _with("credentials", api_secret=DROP), {"/api_secret"}),
    ("blank user id", "credentials", _with("credentials", api_user_id="   "), {"/api_user_id"}),
    ("empty user id", "credentials", _with("credentials", api_user_id=""), {"/api_user_id"}),
    (
        "space in user id",
        "credentials",
        _with("credentials", api_user_id="ab cd"),
        {"/api_user_id"},
    ),
    ("empty secret", "credentials", _with("credentials", api_secret=""), {"/api_secret"}),
    ("long secret", "credentials", _with("credentials", api_secret="x" * 201), {"/api_secret"}),
    ("number user id", "credentials", _with("credentials", api_user_id=12345), {"/api_user_id"}),
    ("extra credential", "credentials", _with("credentials", token="abc"), {"/token"}),
    (
        "other integration",
        "connection",
        _with("connection", integration="pipedrive"),
        {"/integration"},
    ),
    (
        "no T",
        "connection",
        _with("connection", connected_at="2025-03-14 09:30:00Z"),
        {"/connected_at"},
    ),
    (
        "no offset",
        "connection",
        _with("connection", connected_at="2025-03-14T09:30:00"),
        {"/connected_at"},
    ),
    ("unix time", "connection", _with("connection", connected_at=1741944600), {"/connected_at"}),
    ("token stored", "connection", _with("connection", access_token="tok"), {"/access_token"}),
    ("blank actor", "connection", _with("connection", connected_by=""), {"/connected_by"}),
    ("unknown category", "manifest", _with("manifest", category="erp"), {"/category"}),
    ("unknown auth", "manifest", _with("manifest", auth="basic"), {"/auth"}),
    ("string bool", "manifest", _with("manifest", admin_only="yes"), {"/admin_only"}),
    ("http docs", "manifest", _with("manifest", docs_url="http://42min.com/help"), {"/docs_url"}),
    ("null docs", "manifest", _with("manifest", docs_url=None), {"/docs_url"}),
    ("no rate", "manifest", _with("manifest", rate_limit=0), {"/rate_limit"}),
    ("rate per second", "manifest", _with("manifest", rate_limit=0.5), {"/rate_limit"}),
    ("text rate", "manifest", _with("manifest", rate_limit="60"), {"/rate_limit"}),
    ("two lines", "manifest", _with("manifest", description="Snov.io\nsync"), {"/description"}),
    ("no form", "manifest", _with("manifest", credentials_schema=DROP), {"/credentials_schema"}),
    (
        "ok without account",
        "credential-check",
        _with("credential-check", account=None),
        {"/account"},
    ),
    (
        "failure with account",
        "credential-check",
        _with("credential-check", 1, account={"balance": "1.00", "teamwork": False}),
        {"/account"},
    ),
    ("blank message", "credential-check", _with("credential-check", message="  "), {"/message"}),
    (
        "number balance",
        "credential-check",
        _with("credential-check", account__balance=25000),
        {"/account/balance"},
    ),
    ("missing account", "credential-check", _with("credential-check", account=DROP), {"/account"}),
    (
        "unknown choice",
        "settings",
        _with("settings", existing_prospect="merge"),
        {"/existing_prospect"},
    ),
    ("list id zero", "settings", _with("settings", target_list_id=0), {"/target_list_id"}),
    ("list id text", "settings", _with("settings", target_list_id="1818597"), {"/target_list_id"}),
    (
        "unknown trigger",
        "settings",
        _with("settings", triggers__booking_updated=True),
        {"/triggers/booking_updated"},
    ),
    (
        "text trigger",
        "settings",
        _with("settings", triggers__booking_created="true"),
        {"/triggers/booking_created"},
    ),
    (
        "empty label",
        "settings",
        _with("settings", status_labels__created=""),
        {"/status_labels/created"},
    ),
    (
        "blank label",
        "settings",
        _with("settings", status_labels__no_show="  "),
        {"/status_labels/no_show"},
    ),
    (
        "empty field",
        "settings",
        _with("settings", lifecycle_status_field=""),
        {"/lifecycle_status_field"},
    ),
    (
        "long field",
        "settings",
        _with("settings", host_email_field="x" * 101),
        {"/host_email_field"},
    ),
    (
        "unknown target",
        "settings",
        _with("settings", field_mappings__3__target="prospect.companyName"),
        {"/field_mappings/3/target"},
    ),
    (
        "empty custom label",
        "settings",
        _with("settings", field_mappings__3__target="prospect.cf_"),
        {"/field_mappings/3/target"},
    ),
    (
        "custom label too long",
        "settings",
        _with("settings", field_mappings__3__target="prospect.cf_" + "é" * 101),
        {"/field_mappings/3/target"},
    ),
    (
        "empty question id",
        "settings",
        _with("settings", field_mappings__3__source="invitee_form_question:"),
        {"/field_mappings/3/source"},
    ),
    (
        "space in question id",
        "settings",
        _with("settings", field_mappings__3__source="routing_form_field:team size"),
        {"/field_mappings/3/source"},
    ),
    (
        "row without target",
        "settings",
        _with("settings", field_mappings__3__target=DROP),
        {"/field_mappings/3/target"},
    ),
    (
        "blank row",
        "settings",
        _with("settings", field_mappings__3={"source": "", "target": ""}),
        {"/field_mappings/3/source", "/field_mappings/3/target"},
    ),
    (
        "text locked",
        "settings",
        _with("settings", field_mappings__3__locked="false"),
        {"/field_mappings/3/locked"},
    ),
    (
        "own row locked",
        "settings",
        _with("settings", field_mappings__3__locked=True),
        {"/field_mappings/3/locked"},
    ),
    (
        "locked row crossed",
        "settings",
        _with("settings", field_mappings__0__target="prospect.name"),
        {"/field_mappings/0/locked"},
    ),
    (
        "too many rows",
        "settings",
        _with("settings", field_mappings=[ROW] * 101),
        {"/field_mappings"},
    ),
    (
        "booking without booking",
        "booking-event",
        _with("booking-event", booking=DROP),
        {"/booking"},
    ),
    (
        "booking with routing form",
        "booking-event",
        _with("booking-event", routing_form=example("booking-event", 4)["routing_form"]),
        {"/routing_form"},
    ),
    (
        "form without form",
        "booking-event",
        _with("booking-event", 4, routing_form=DROP),
        {"/routing_form"},
    ),
    (
        "form with booking",
        "booking-event",
        _with("booking-event", 4, booking=example("booking-event", 0)["booking"]),
        {"/booking"},
    ),
    ("unknown type", "booking-event", _with("booking-event", type="booking.moved"), {"/type"}),
    ("no type", "booking-event", _with("booking-event", type=DROP), {"/type"}),
    ("no id", "booking-event", _with("booking-event", id=DROP), {"/id"}),
    ("empty id", "booking-event", _with("booking-event", id=""), {"/id"}),
    (
        "bad time",
        "booking-event",
        _with("booking-event", occurred_at="yesterday"),
        {"/occurred_at"},
    ),
    (
        "number email",
        "booking-event",
        _with("booking-event", booking__invitee__email=42),
        {"/booking/invitee/email"},
    ),
    (
        "extra invitee field",
        "booking-event",
        _with("booking-event", booking__invitee__company="Example"),
        {"/booking/invitee/company"},
    ),
    (
        "number answer",
        "booking-event",
        _with("booking-event", booking__answers__company=5),
        {"/booking/answers/company"},
    ),
    (
        "mixed list answer",
        "booking-event",
        _with("booking-event", booking__answers__topics=["a", 1]),
        {"/booking/answers/topics"},
    ),
    (
        "bad time zone",
        "booking-event",
        _with("booking-event", booking__timezone="Europe Berlin"),
        {"/booking/timezone"},
    ),
    (
        "no invitee",
        "booking-event",
        _with("booking-event", booking__invitee=DROP),
        {"/booking/invitee"},
    ),
    (
        "host without email",
        "booking-event",
        _with("booking-event", booking__host__email=DROP),
        {"/booking/host/email"},
    ),
    (
        "no respondent",
        "booking-event",
        _with("booking-event", 4, routing_form__respondent=DROP),
        {"/routing_form/respondent"},
    ),
    ("extra event field", "booking-event", _with("booking-event", source="api"), {"/source"}),
    (
        "deferred without wait",
        "sync-outcome",
        _with("sync-outcome", 2, retry_after=DROP),
        {"/retry_after"},
    ),
    (
        "wait when skipped",
        "sync-outcome",
        _with("sync-outcome", 1, retry_after=30),
        {"/retry_after"},
    ),
    ("zero wait", "sync-outcome", _with("sync-outcome", 2, retry_after=0), {"/retry_after"}),
    ("null wait", "sync-outcome", _with("sync-outcome", 2, retry_after=None), {"/retry_after"}),
    (
        "reason of another status",
        "sync-outcome",
        _with("sync-outcome", reason="no_email"),
        {"/reason"},
    ),
    (
        "blocked when skipped",
        "sync-outcome",
        _with("sync-outcome", 1, blocked_on="settings"),
        {"/blocked_on"},
    ),
    (
        "unknown blocker",
        "sync-outcome",
        _with("sync-outcome", 3, blocked_on="network"),
        {"/blocked_on"},
    ),
    (
        "other integration outcome",
        "sync-outcome",
        _with("sync-outcome", integration="hubspot"),
        {"/integration"},
    ),
    ("unknown reason", "sync-outcome", _with("sync-outcome", reason="oops"), {"/reason"}),
    ("text list id", "sync-outcome", _with("sync-outcome", list_id="1818597"), {"/list_id"}),
    ("empty message", "sync-outcome", _with("sync-outcome", message=""), {"/message"}),
    ("no message", "sync-outcome", _with("sync-outcome", message=DROP), {"/message"}),
]


@pytest.mark.parametrize(
    ("name", "document", "pointers"),
    [pytest.param(name, document, pointers, id=rule) for rule, name, document, pointers in INVALID],
)
def test_invalid_document_is_rejected_by_schema_and_model(
    name: str, document: dict[str, Any], pointers: set[str]
) -> None:
    file_name = name + ".schema.json"
    assert not validator(file_name).is_valid(document), "the schema accepted it"
    assert model_pointers(file_name, document) == pointers


# ---- field_errors ------------------------------------------------------------------


def test_field_errors_point_through_the_event_union_at_the_document_path() -> None:
    document = _with("booking-event", booking__invitee__email=42, booking__uid="")
    with pytest.raises(ValidationError) as caught:
        EVENT_ADAPTER.validate_python(document)
    assert field_errors(caught.value) == [
        {"pointer": "/booking/uid", "message": "Use visible characters only, with no spaces."},
        {"pointer": "/booking/invitee/email", "message": "Input should be a valid string"},
    ]


def test_field_errors_escape_json_pointer_characters() -> None:
    document = _with("booking-event", booking__answers={"a/b~c": 5})
    with pytest.raises(ValidationError) as caught:
        EVENT_ADAPTER.validate_python(document)
    assert field_errors(caught.value) == [
        {
            "pointer": "/booking/answers/a~1b~0c",
            "message": "An answer must be a string or a list of strings.",
        }
    ]


def test_field_errors_keep_a_key_that_looks_like_an_event_type() -> None:
    with pytest.raises(ValidationError) as caught:
        EVENT_ADAPTER.validate_python(_with("booking-event", **{"booking.created": 1}))
    assert field_errors(caught.value) == [
        {"pointer": "/booking.created", "message": "This field is not allowed."}
    ]


def test_field_errors_give_settings_pointers_and_readable_messages() -> None:
    document = _with(
        "settings",
        field_mappings__2__target="prospect.telephone",
        existing_prospect="merge",
        triggers__booking_created=DROP,
    )
    document["field_mappings"][4].pop("target")
    with pytest.raises(ValidationError) as caught:
        Settings.model_validate(document)
    errors = field_errors(caught.value)
    assert [error["pointer"] for error in errors] == [
        "/existing_prospect",
        "/field_mappings/2/target",
        "/field_mappings/2/locked",
        "/field_mappings/4/target",
    ]
    assert errors[1]["message"].startswith("Use prospect.<field> with a standard field (email,")
    assert errors[3]["message"] == "This field is required."


def test_field_errors_name_the_event_types_for_an_unknown_type() -> None:
    with pytest.raises(ValidationError) as caught:
        EVENT_ADAPTER.validate_python(_with("booking-event", type="booking.moved"))
    [error] = field_errors(caught.value)
    assert error["pointer"] == "/type"
    assert "'routing_form.submitted'" in error["message"]


# ---- secrets -----------------------------------------------------------------------


def _connection() -> Connection:
    return Connection.model_validate(_with("connection", api_secret=SECRET))


def test_secret_is_not_in_repr_or_str() -> None:
    credentials = Credentials.model_validate({"api_user_id": "user1", "api_secret": SECRET})
    connection = _connection()
    for shown in (repr(credentials), str(credentials), repr(connection), str(connection)):
        assert SECRET not in shown
    assert credentials.api_secret.get_secret_value() == SECRET


def test_secret_is_masked_in_dumps_unless_revealed() -> None:
    connection = _connection()
    assert SECRET not in json.dumps(connection.to_json())
    assert SECRET not in connection.model_dump_json()
    revealed = connection.to_json(reveal_secret=True)
    assert revealed["api_secret"] == SECRET
    validator("connection").validate(revealed)
    assert connection.credentials.to_json(reveal_secret=True) == {
        "api_user_id": connection.api_user_id,
        "api_secret": SECRET,
    }


def test_a_rejected_secret_is_not_echoed_in_errors() -> None:
    leaky = SECRET + " with a space"
    with pytest.raises(ValidationError) as caught:
        Credentials.model_validate({"api_user_id": "user 1", "api_secret": leaky})
    assert leaky not in str(caught.value)
    assert leaky not in repr(caught.value)
    assert leaky not in json.dumps(field_errors(caught.value))
    assert {error["pointer"] for error in field_errors(caught.value)} == {
        "/api_user_id",
        "/api_secret",
    }


def test_credentials_accept_a_secret_object() -> None:
    credentials = Credentials(api_user_id="user1", api_secret=SecretStr(SECRET))
    assert credentials.to_json(reveal_secret=True)["api_secret"] == SECRET


def test_actor_roles() -> None:
    assert Actor(id="usr_1", role="owner").is_admin
    assert Actor(id="usr_2", role="admin").is_admin
    assert not Actor(id="usr_3", role="member").is_admin
    with pytest.raises(ValidationError):
        Actor.model_validate({"id": "usr_4", "role": "guest"})


# ---- properties: the schema and the model agree on generated documents -------------

STATUSES = ("synced", "skipped", "deferred", "failed")


@given(
    status=st.sampled_from(STATUSES),
    reason=st.sampled_from(tuple(REASON_STATUS)),
    retry_after=st.none() | st.floats(min_value=0.001, max_value=86400) | st.integers(1, 3600),
    blocked_on=st.none() | st.sampled_from(("credentials", "settings")),
)
def test_outcome_rules_hold_alike_in_schema_and_model(
    status: str, reason: str, retry_after: float | None, blocked_on: str | None
) -> None:
    document: dict[str, Any] = {
        "event_id": "evt_1",
        "event_type": "booking.created",
        "integration": "snov",
        "status": status,
        "reason": reason,
        "message": "Something happened.",
    }
    if retry_after is not None:
        document["retry_after"] = retry_after
    if blocked_on is not None:
        document["blocked_on"] = blocked_on
    expected = (
        REASON_STATUS[reason] == status
        and (retry_after is not None) == (status == "deferred")
        and (blocked_on is None or status == "failed")
    )
    assert validator("sync-outcome.schema.json").is_valid(document) is expected
    try:
        outcome = SyncOutcome.model_validate(document)
    except ValidationError:
        assert not expected
    else:
        assert expected
        validator("sync-outcome.schema.json").validate(outcome.to_json())


class TestMappingRowPatterns:
    """Arbitrary text: the schema's and the model's verdicts on a mapping row agree."""

    # Python's re (used by jsonschema) lets "$" match before a final newline, which
    # ECMA-262 (the JSON Schema dialect) and the model do not: leave that one case out.
    texts: ClassVar[Any] = st.text(max_size=120).filter(lambda text: not text.endswith("\n"))

    @staticmethod
    def _agree(row: dict[str, Any]) -> None:
        document = {"field_mappings": [row]}
        accepted_by_schema = validator("settings.schema.json").is_valid(document)
        try:
            Settings.model_validate(document)
        except ValidationError:
            accepted_by_model = False
        else:
            accepted_by_model = True
        assert accepted_by_schema is accepted_by_model

    @given(label=texts)
    def test_custom_field_labels(self, label: str) -> None:
        self._agree({"source": "person.email", "target": "prospect.cf_" + label})

    @given(question=texts)
    def test_question_ids(self, question: str) -> None:
        self._agree({"source": "invitee_form_question:" + question, "target": "prospect.company"})

    @given(source=st.from_regex(SOURCE_PATTERN, fullmatch=True))
    def test_generated_sources_are_accepted(self, source: str) -> None:
        row = {"source": source, "target": "prospect.cf_Notes"}
        assert Settings.model_validate({"field_mappings": [row]}).field_mappings[0].source == source
        assert validator("settings.schema.json").is_valid({"field_mappings": [row]})


@given(
    moment=st.datetimes(
        min_value=datetime(1000, 1, 1),
        timezones=st.builds(
            timezone, st.integers(-23 * 60 - 59, 23 * 60 + 59).map(lambda m: timedelta(minutes=m))
        ),
    )
)
def test_dumped_date_times_are_rfc_3339_and_parse_back(moment: datetime) -> None:
    connection = Connection.model_validate(_with("connection", connected_at=moment))
    document = connection.to_json(reveal_secret=True)
    validator("connection.schema.json").validate(document)
    assert Connection.model_validate(document).connected_at == moment


def test_date_times_keep_their_offset_and_accept_lowercase_separators() -> None:
    connection = Connection.model_validate(
        _with("connection", connected_at="2025-03-14t10:30:00.25+01:00")
    )
    assert connection.connected_at == datetime(2025, 3, 14, 9, 30, 0, 250000, tzinfo=UTC)
    assert connection.to_json()["connected_at"] == "2025-03-14T10:30:00.250000+01:00"


_MADE_OUTCOMES = [
    *load_schema("sync-outcome")["examples"],
    {
        "event_id": "evt_01HQ3KC2D0G",
        "event_type": "booking.created",
        "integration": "snov",
        "status": "synced",
        "reason": "prospect_added",
        "message": "Added jane.doe@example.com to the Snov.io list; paused in 2 campaigns.",
        "email": "jane.doe@example.com",
        "list_id": 1818597,
        "campaigns_paused": [101, 102],
    },
]


@pytest.mark.parametrize("expected", _MADE_OUTCOMES, ids=lambda document: document["reason"])
def test_an_outcome_the_sync_makes_is_the_document_its_model_dumps(
    expected: dict[str, Any],
) -> None:
    """``Outcomes.make`` checks the document against the model and answers the document
    itself, not the model's dump: the two must stay equal."""
    extra = {key: value for key, value in expected.items() if key not in _OUTCOME_HEAD}
    made = Outcomes(expected["event_id"], expected["event_type"]).make(
        expected["status"], expected["reason"], expected["message"], **extra
    )
    assert made == expected
    assert made == SyncOutcome.model_validate(made).to_json()


_OUTCOME_HEAD = ("event_id", "event_type", "integration", "status", "reason", "message")


def test_an_outcome_the_model_refuses_is_never_made() -> None:
    with pytest.raises(ValidationError, match="A synced outcome has one of these reasons"):
        Outcomes("evt_1", "booking.created").make("synced", "rate_limited", "Not so.")


def test_every_snov_outcome_is_a_contract_outcome() -> None:
    # The plugin's narrower schema may add fields and codes, never break the contract's.
    contract = validator("outcome")
    for document in load_schema("sync-outcome")["examples"]:
        assert list(contract.iter_errors(document)) == []
    broken = {**example("sync-outcome"), "status": "deferred"}
    assert not contract.is_valid(broken)  # a deferred outcome without retry_after
