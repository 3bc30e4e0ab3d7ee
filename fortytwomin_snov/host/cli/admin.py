"""What an admin does to one integration: connect, disconnect, status, the settings form
(``schema``, ``choices``, ``action``) and the saved settings."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import click
from rich import box
from rich.table import Table
from rich.text import Text

from fortytwomin_snov.contract.errors import InvalidSettings
from fortytwomin_snov.host.cli.app import cli, help_without_command
from fortytwomin_snov.host.cli.options import (
    CommandFailed,
    TooDeep,
    ask,
    json_kind,
    json_problem,
    load_json,
    login_name,
    name_value,
    open_host,
    read_text,
    typed_value,
    with_database,
    with_integration,
)
from fortytwomin_snov.host.cli.output import (
    PROG,
    console,
    describe_connection,
    field_lines,
    plural,
    print_json,
    status_table,
    visible,
)
from fortytwomin_snov.host.reference import ReferenceHost

ROLES = ("owner", "admin", "member")


# ---- connection -----------------------------------------------------------------------------


@cli.command()
@with_database
@with_integration
@click.option(
    "--credential",
    "pairs",
    metavar="NAME=VALUE",
    multiple=True,
    help="A field of the integration's connect form (repeat for each). Fields left out are"
    " asked for, secret ones without echo (or read from stdin, one a line). Better leave"
    " secrets out: a command-line argument is visible to other users of this machine.",
)
@click.option(
    "--role",
    type=click.Choice(ROLES),
    default="admin",
    show_default=True,
    help="Your role in the 42min organization: only owners and admins may connect.",
)
@click.option("--actor", help="Your 42min user id (default: your login name).")
def connect(
    database: Path | None,
    integration: str | None,
    pairs: tuple[str, ...],
    role: str,
    actor: str | None,
) -> None:
    """Connect an integration with the fields its connect form asks for.

    The keys are checked by the plugin, then saved, the secret ones encrypted."""
    with open_host(database, integration) as host:
        schema = host.manifest().get("credentials_schema") or {}
        credentials = _credentials(host, schema, pairs)
        connected = host.connect(credentials, {"id": actor or login_name(), "role": role})
        name = host.display_name
        has_settings = host.saved_settings() is not None
    if has_settings:
        # A reconnect: the saved settings still apply, nothing to set up again.
        next_step = f" The saved settings still apply (`{PROG} status` shows them)."
    else:
        next_step = (
            f" Next: `{PROG} schema` (the settings form, `{PROG} choices FIELD` for a field's"
            f" choices), then `{PROG} settings set FILE`."
        )
    click.echo(f"Connected {name}: {describe_connection(connected.record, schema)}.{next_step}")
    if connected.requeued:
        click.echo(
            f"{plural(connected.requeued, 'job')} waiting for the connection"
            f" {'is' if connected.requeued == 1 else 'are'} queued again: run `{PROG} work`."
        )


def _credentials(
    host: ReferenceHost, schema: Mapping[str, Any], pairs: tuple[str, ...]
) -> dict[str, Any]:
    """The connect form's fields: those passed, then the required ones left out, asked for in
    the form's order (secret ones, ``writeOnly``, without echo)."""
    properties = schema.get("properties")
    properties = properties if isinstance(properties, Mapping) else {}
    given: dict[str, Any] = {}
    for pair in pairs:
        name, value = name_value(pair, "--credential")
        if name not in properties:
            fields = ", ".join(properties) or "none"
            raise CommandFailed(
                f"{name} is not a field of the {host.display_name} connect form (its fields:"
                f" {fields})"
            )
        given[name] = typed_value(value, properties[name])
    required = schema.get("required")
    wanted = required if isinstance(required, list) else list(properties)
    for name in properties:
        if name in given or name not in wanted:
            continue
        spec = properties[name] if isinstance(properties[name], Mapping) else {}
        title = str(spec.get("title") or name)
        answer = ask(title, f"--credential {name}=...", hidden=spec.get("writeOnly") is True)
        given[name] = typed_value(answer, spec)
    return given


@cli.command()
@with_database
@with_integration
def disconnect(database: Path | None, integration: str | None) -> None:
    """Forget an integration's connection. What was synced to the service stays there."""
    with open_host(database, integration) as host:
        name = host.display_name
        was_connected = host.disconnect()
    if not was_connected:
        click.echo(f"{name} was not connected.")
        return
    click.echo(
        f"Disconnected {name}: future syncs stop (queued jobs wait for the next connect)."
        f" What was already synced to {name} stays there: nothing is deleted."
    )


@cli.command()
@with_database
@with_integration
@click.option("--json", "as_json", is_flag=True, help="Print the status as JSON.")
def status(database: Path | None, integration: str | None, as_json: bool) -> None:
    """Connection, settings and the queue at a glance."""
    with open_host(database, integration) as host:
        current = host.status()
        name = host.display_name
        schema = host.manifest().get("credentials_schema") or {}
    if as_json:
        print_json(current.to_json())
        return
    click.secho(f"{name} ({current.integration})", bold=True)
    console().print(status_table(current, schema))


# ---- the settings form ----------------------------------------------------------------------


@cli.command()
@with_database
@with_integration
def schema(database: Path | None, integration: str | None) -> None:
    """Print the settings form as JSON, rendered for the connected account."""
    with open_host(database, integration) as host:
        print_json(host.settings_schema())


@cli.command()
@with_database
@with_integration
@click.argument("field")
@click.option("--json", "as_json", is_flag=True, help="Print the choices as JSON.")
def choices(database: Path | None, integration: str | None, field: str, as_json: bool) -> None:
    """A settings field's choices, as the connected account offers them now.

    FIELD is a top-level field of the settings form, or a JSON pointer into its schema
    (/$defs/row/properties/target)."""
    with open_host(database, integration) as host:
        form = host.settings_schema()
        saved = host.saved_settings()
        name = host.display_name
    ui = form.get("ui_schema") or {}
    notice = ((ui.get("ui:options") or {}).get("notice") or {}).get("message")
    if notice is not None:
        click.echo(f"Warning: {visible(str(notice))}", err=True)
    spec = _field_schema(form.get("schema") or {}, field)
    if spec is None:
        fields = ", ".join((form.get("schema") or {}).get("properties") or {}) or "none"
        raise CommandFailed(f"The {name} settings form has no field {field} (its fields: {fields})")
    options = _options(spec)
    if options is None:
        raise CommandFailed(f"{name} offers no choices for {field} now (it takes free entry)")
    field_ui = ui.get(field)
    field_ui = field_ui if isinstance(field_ui, dict) else {}
    warnings = (field_ui.get("ui:options") or {}).get("warnings") or {}
    current = saved.settings.get(field) if saved is not None else None
    rows = [
        {
            "value": value,
            "title": title,
            "warning": warnings.get(_key(value)),
            "selected": saved is not None and field in saved.settings and value == current,
        }
        for value, title in options
    ]
    if as_json:
        print_json(rows)
        return
    table = Table(title=f"{name}: {field}", box=box.SIMPLE_HEAD)
    table.add_column("Value", justify="right")
    table.add_column("Choice")
    table.add_column("Saved")
    for row in rows:
        table.add_row(
            Text(visible(_key(row["value"]))),
            Text(visible(row["title"])),
            "✓" if row["selected"] else "",
        )
    shown = console()
    shown.print(table)
    for row in rows:
        if row["warning"]:
            shown.print(Text(f"⚠ {visible(str(row['warning']))}", style="yellow"))


def _key(value: Any) -> str:
    """How a choice's value is written (and keyed in ``ui:options.warnings``)."""
    return value if isinstance(value, str) else json.dumps(value)


def _field_schema(schema: Mapping[str, Any], field: str) -> Mapping[str, Any] | None:
    if field.startswith("/"):
        found: Any = schema
        for part in field[1:].split("/"):
            part = part.replace("~1", "/").replace("~0", "~")
            found = found.get(part) if isinstance(found, Mapping) else None
        return found if isinstance(found, Mapping) else None
    spec = (schema.get("properties") or {}).get(field)
    return spec if isinstance(spec, Mapping) else None


def _options(spec: Mapping[str, Any]) -> list[tuple[Any, str]] | None:
    """A field's choices as (value, title): its ``oneOf`` consts, or its ``enum``; for a list
    field, its items'. None if it offers no fixed choices."""
    one_of = spec.get("oneOf")
    if isinstance(one_of, list):
        return [
            (option["const"], str(option.get("title", _key(option["const"]))))
            for option in one_of
            if isinstance(option, Mapping) and "const" in option
        ]
    enum = spec.get("enum")
    if isinstance(enum, list):
        return [(value, _key(value)) for value in enum]
    items = spec.get("items")
    if spec.get("type") == "array" and isinstance(items, Mapping):
        return _options(items)
    return None


def _declared_actions(form: Mapping[str, Any]) -> dict[str, tuple[str, dict[str, Any]]]:
    """Every action the form's ui_schema declares, by name: the field it sits on, and it."""
    found: dict[str, tuple[str, dict[str, Any]]] = {}
    for field, ui in (form.get("ui_schema") or {}).items():
        if not isinstance(ui, dict):
            continue
        for declared in (ui.get("ui:options") or {}).get("actions") or []:
            if isinstance(declared, dict) and isinstance(declared.get("name"), str):
                found.setdefault(declared["name"], (field, declared))
    return found


@cli.command()
@with_database
@with_integration
@click.argument("name")
@click.option(
    "--param",
    "pairs",
    metavar="KEY=VALUE",
    multiple=True,
    help="A parameter of the action (repeat for each).",
)
@click.option(
    "--use",
    is_flag=True,
    help="Set the field the action belongs to to what it made, and save the settings.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the action's result as JSON.")
def action(
    database: Path | None,
    integration: str | None,
    name: str,
    pairs: tuple[str, ...],
    use: bool,
    as_json: bool,
) -> None:
    """Run an action of the settings form (a button next to a field), such as creating the
    thing a field points at."""
    with open_host(database, integration) as host:
        service = host.display_name
        declared = _declared_actions(host.settings_schema())
        if name not in declared:
            known = ", ".join(declared) or "none"
            raise CommandFailed(
                f"The {service} settings form has no action {name} (its actions: {known})"
            )
        field, spec = declared[name]
        params_schema = spec.get("params_schema") or {}
        properties = params_schema.get("properties") or {}
        params: dict[str, Any] = {}
        for pair in pairs:
            key, value = name_value(pair, "--param")
            params[key] = typed_value(value, properties.get(key))
        missing = [key for key in params_schema.get("required") or [] if key not in params]
        if missing:
            needed = " ".join(f"--param {key}=..." for key in missing)
            raise CommandFailed(f"The action {name} needs {needed}")
        result = host.run_settings_action(name, params)
        made = result.get(spec["result_value"]) if spec.get("result_value") else None
        saved = _use(host, field, made) if use else None
    if as_json:
        print_json(result)
    else:
        click.echo(visible(f"{spec.get('title') or name}: done."))
        print_json(result)
    if saved is not None:
        click.echo(f"{field} is now {_key(made)}; the settings are saved.")
        for warning in saved:
            click.echo(f"Warning: {visible(warning)}")
    elif made is not None and not as_json:
        click.echo(f"To use it, set {field} to {_key(made)} in the settings (or pass --use).")


def _use(host: ReferenceHost, field: str, value: Any) -> list[str]:
    """Save the settings with ``field`` set to ``value``; their warnings."""
    if value is None:
        raise CommandFailed(f"The action ran, but did not say what to set {field} to")
    saved = host.saved_settings()
    document = dict(saved.settings) if saved is not None else {}
    document[field] = value
    try:
        return host.save_settings(document).warnings
    except InvalidSettings as error:
        raise CommandFailed(
            "The action ran, but the settings were not saved:"
            f" {plural(len(error.errors), 'problem')}",
            field_lines(error.errors),
        ) from None


# ---- the saved settings ---------------------------------------------------------------------


@cli.group(invoke_without_command=True)
@click.pass_context
def settings(context: click.Context) -> None:
    """Show or save the sync settings."""
    help_without_command(context)


@settings.command("show")
@with_database
@with_integration
def settings_show(database: Path | None, integration: str | None) -> None:
    """Print the saved settings as JSON (warnings go to stderr)."""
    with open_host(database, integration) as host:
        saved = host.saved_settings()
        name = host.display_name
    if saved is None:
        raise CommandFailed(f"No {name} settings are saved yet: run `{PROG} settings set FILE`")
    print_json(saved.settings)
    for warning in saved.warnings:
        click.echo(f"Warning: {visible(warning)}", err=True)


@settings.command("set")
@with_database
@with_integration
@click.argument("source", metavar="FILE|-")
def settings_set(database: Path | None, integration: str | None, source: str) -> None:
    """Save settings from a JSON file (or stdin), validated by the plugin."""
    text, where = read_text(source)
    try:
        document = load_json(text)
    except json.JSONDecodeError as error:
        raise CommandFailed(f"{where} is {json_problem(error)}") from None
    except TooDeep as error:
        raise CommandFailed(f"{where} is {error}: nothing saved") from None
    if not isinstance(document, dict):
        raise CommandFailed(
            f"{where} holds {json_kind(document)}, not the JSON object the settings are:"
            " nothing saved"
        )
    with open_host(database, integration) as host:
        name = host.display_name
        try:
            saved = host.save_settings(document)
        except InvalidSettings as error:
            raise CommandFailed(
                f"The {name} settings were not saved: {plural(len(error.errors), 'problem')}",
                field_lines(error.errors),
            ) from None
    click.echo(f"Saved the {name} settings.")
    for warning in saved.warnings:
        click.echo(f"Warning: {visible(warning)}")
    if saved.requeued:
        click.echo(
            f"{plural(saved.requeued, 'job')} waiting for settings"
            f" {'is' if saved.requeued == 1 else 'are'} queued again: run `{PROG} work`."
        )
