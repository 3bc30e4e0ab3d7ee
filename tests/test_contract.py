"""The host contract: packaging, entry point discovery, hookspecs and their reference docs."""

from __future__ import annotations

import importlib.metadata
import importlib.resources
import inspect
import json
import re
from pathlib import Path

import jsonschema
import pluggy

import fortytwomin_snov
from fortytwomin_snov import hooks
from fortytwomin_snov.contract import hookspecs

README = Path(__file__).resolve().parents[1] / "README.md"

FIRSTRESULT = {
    "validate_credentials",
    "connect",
    "render_settings_schema",
    "validate_settings",
    "run_settings_action",
    "on_booking_event",
    "on_booking_events",
    "check_event",
}
ALL_HOOKS = FIRSTRESULT | {"integration_manifest", "disconnect"}


def spec_functions() -> dict[str, object]:
    return {
        name: function
        for name, function in inspect.getmembers(hookspecs, inspect.isfunction)
        if hasattr(function, "fortytwomin_spec")
    }


def test_entry_point_names_the_hook_module() -> None:
    (entry_point,) = importlib.metadata.entry_points(group="fortytwomin", name="snov")
    assert entry_point.value == "fortytwomin_snov.hooks"
    assert entry_point.load() is hooks


def test_plugin_manager_loads_the_plugin_through_the_entry_point(
    plugin_manager: pluggy.PluginManager,
) -> None:
    assert plugin_manager.get_plugin("snov") is hooks
    plugin_manager.check_pending()


def test_contract_declares_every_hook_with_its_firstresult_flag() -> None:
    specs = spec_functions()
    assert set(specs) == ALL_HOOKS
    for name, function in specs.items():
        options = function.fortytwomin_spec  # type: ignore[attr-defined]
        assert options["firstresult"] is (name in FIRSTRESULT), name


def test_every_spec_documents_arguments_return_and_errors() -> None:
    for name, function in spec_functions().items():
        doc = inspect.getdoc(function) or ""
        assert "Returns:" in doc, name
        assert "Raises:" in doc, name
        for argument in inspect.signature(function).parameters:  # type: ignore[arg-type]
            assert f"{argument}:" in doc, f"{name} does not document {argument}"


def test_readme_has_a_heading_with_each_exact_spec_signature() -> None:
    headings = set(re.findall(r"^#{2,4} (\S+\(.*\))\s*$", README.read_text(), re.MULTILINE))
    for name, function in spec_functions().items():
        arguments = ", ".join(inspect.signature(function).parameters)  # type: ignore[arg-type]
        assert f"{name}({arguments})" in headings, f"README lacks a heading for {name}"


def test_schemas_ship_as_package_data() -> None:
    files = importlib.resources.files("fortytwomin_snov.schema")
    names = {entry.name for entry in files.iterdir() if entry.name.endswith(".json")}
    assert {
        "credentials.schema.json",
        "connection.schema.json",
        "manifest.schema.json",
        "settings.schema.json",
        "booking-event.schema.json",
        "sync-outcome.schema.json",
    } <= names
    for name in names:
        schema = json.loads(files.joinpath(name).read_text())
        assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema", name


def test_package_is_typed_and_versioned() -> None:
    assert importlib.resources.files("fortytwomin_snov").joinpath("py.typed").is_file()
    assert importlib.metadata.version("fortytwomin-snov") == fortytwomin_snov.__version__


def readme_examples() -> list[tuple[str, str]]:
    pattern = re.compile(r"<!-- example: ([\w-]+) -->\n```json\n(.*?)\n```", re.DOTALL)
    return pattern.findall(README.read_text())


def test_every_readme_example_validates_against_its_schema() -> None:
    examples = readme_examples()
    assert {name for name, _ in examples} >= {
        "credentials",
        "settings",
        "booking-event",
        "sync-outcome",
    }
    for name, text in examples:
        document = json.loads(text)
        schema = json.loads(
            importlib.resources.files("fortytwomin_snov.schema")
            .joinpath(f"{name}.schema.json")
            .read_text()
        )
        jsonschema.Draft202012Validator(schema).validate(document)


def test_readme_outcome_table_lists_every_reason_under_its_status() -> None:
    from fortytwomin_snov.outcomes import REASON_STATUS

    rows = {
        reason: status
        for status, reason in re.findall(
            r"^\| (synced|skipped|deferred|failed) \| `(\w+)` \|", README.read_text(), re.M
        )
    }
    assert rows == dict(REASON_STATUS)
