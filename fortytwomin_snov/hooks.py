"""Hook implementations: thin adapters from the host contract to the plugin's logic.

Each implementation checks the ``integration`` slug (``None`` when it is not ours),
parses its arguments, calls the domain modules and shapes the answer as JSON.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError

from fortytwomin_snov import SLUG
from fortytwomin_snov.account import Account, parse_credentials, store_of
from fortytwomin_snov.batch import sync_events
from fortytwomin_snov.checks import event_problems
from fortytwomin_snov.contract import ui_schema
from fortytwomin_snov.contract.errors import InvalidCredentials, InvalidRequest, StoreUnavailable
from fortytwomin_snov.contract.hookspecs import hookimpl
from fortytwomin_snov.contract.models import Actor
from fortytwomin_snov.contract.store import MemoryStore
from fortytwomin_snov.credentials import CredentialCheck
from fortytwomin_snov.manifest import manifest
from fortytwomin_snov.schemas import describe_field_errors
from fortytwomin_snov.settings.actions import run_action
from fortytwomin_snov.settings.form import offered_fields, render_form
from fortytwomin_snov.settings.review import validate_document
from fortytwomin_snov.snov.limiter import backfilling
from fortytwomin_snov.sync import sync_event

JSON = dict[str, Any]

_log = logging.getLogger(__name__)

_LEVELS = {"synced": logging.INFO, "skipped": logging.INFO}
"""Deferred and failed outcomes are warnings: the first may pile up, the second waits for an
admin."""


def _now() -> datetime:
    return datetime.now(UTC)


@hookimpl
def integration_manifest() -> JSON:
    return manifest().to_json()


@hookimpl
def validate_credentials(integration: str, credentials: Any, host: Any) -> JSON | None:
    if integration != SLUG:
        return None
    try:
        keys = parse_credentials(credentials)
    except InvalidCredentials as error:
        return CredentialCheck(ok=False, message=str(error), account=None).to_json()
    try:
        with Account(keys, store_of(host)) as account:
            return account.check().to_json()
    except StoreUnavailable as error:
        # A check is one request: a process-local store (its own token, its own count of
        # the rate limit) answers it while the shared one is down.
        _log.warning("The shared store failed; the keys are checked without it: %s", error)
        with Account(keys, MemoryStore()) as account:
            return account.check().to_json()


STORE_DOWN = "42min's shared store could not be reached; try again in a minute."
STORE_DOWN_FORM = (
    "42min's shared store could not be reached, so the lists and custom fields below were"
    " read from Snov.io just now, without the cache."
)


def _with_notice(form: JSON, notice: str) -> JSON:
    """The form with ``notice`` before any notice it has already (ui_schema's conventions)."""
    ui = form["ui_schema"]
    options = ui.setdefault(ui_schema.OPTIONS, {})
    earlier = options.get(ui_schema.NOTICE)
    message = notice if earlier is None else f"{notice} {earlier['message']}"
    options[ui_schema.NOTICE] = {"level": "warning", "message": message}
    ui[ui_schema.DESCRIPTION] = message
    form["schema"]["description"] = message
    return form


@hookimpl
def connect(integration: str, credentials: Any, actor: Any, host: Any) -> JSON | None:
    if integration != SLUG:
        return None
    try:
        who = Actor.model_validate(actor)
    except ValidationError as exc:
        raise InvalidRequest(f"The actor is not valid: {describe_field_errors(exc)}") from None
    try:
        with Account(parse_credentials(credentials), store_of(host)) as account:
            return account.connect(who, now=_now).to_json(reveal_secret=True)
    except StoreUnavailable as error:
        raise StoreUnavailable(
            f"Snov.io could not be connected: {STORE_DOWN} Nothing was saved."
        ) from error


@hookimpl
def render_settings_schema(integration: str, connection: Any, host: Any) -> JSON | None:
    if integration != SLUG:
        return None
    fields = offered_fields(host)
    try:
        return render_form(connection, store_of(host), now=_now, form_fields=fields)
    except StoreUnavailable as error:
        # The lists are read from Snov.io without the cache; a process-local store holds
        # the token and counts the few requests.
        _log.warning("The shared store failed; the settings form is read without it: %s", error)
        form = render_form(connection, MemoryStore(), now=_now, form_fields=fields)
        return _with_notice(form, STORE_DOWN_FORM)


@hookimpl
def validate_settings(integration: str, connection: Any, settings: Any, host: Any) -> JSON | None:
    if integration != SLUG:
        return None
    try:
        return validate_document(
            settings, connection, store_of(host), now=_now, form_fields=offered_fields(host)
        )
    except StoreUnavailable as error:
        raise StoreUnavailable(
            f"The settings could not be checked: {STORE_DOWN} Nothing was saved."
        ) from error


@hookimpl
def run_settings_action(
    integration: str, connection: Any, action: str, params: Any, host: Any
) -> JSON | None:
    if integration != SLUG:
        return None
    return run_action(action, params, connection, store_of(host))


@hookimpl
def on_booking_event(
    integration: str, connection: Any, settings: Any, event: Any, host: Any
) -> JSON | None:
    if integration != SLUG:
        return None
    with backfilling(_backfilled([event])):
        outcome = sync_event(connection, settings, event, store_of(host))
    _log_outcome(outcome)
    return outcome


@hookimpl
def on_booking_events(
    integration: str, connection: Any, settings: Any, events: Any, host: Any
) -> list[JSON] | None:
    if integration != SLUG:
        return None
    with backfilling(_backfilled(events)):
        outcomes = sync_events(connection, settings, events, store_of(host))
    for outcome in outcomes:
        _log_outcome(outcome)
    return outcomes


def _backfilled(events: Any) -> bool:
    """Whether the host marked every event as backfilled: then its requests leave a share of
    the rate limit to live events (see :mod:`fortytwomin_snov.snov.limiter`)."""
    return (
        isinstance(events, list)
        and bool(events)
        and all(isinstance(event, dict) and event.get("origin") == "backfill" for event in events)
    )


def _log_outcome(outcome: JSON) -> None:
    level = _LEVELS.get(outcome["status"], logging.WARNING)
    if not _log.isEnabledFor(level):
        return  # most hosts log warnings only: the line is not even built
    # Codes only: the message may hold a person's email or Snov.io's own text.
    _log.log(
        level,
        "Event %r (%s): %s, %s%s",
        outcome["event_id"],
        outcome["integration"],
        outcome["status"],
        outcome["reason"],
        f", retry in {outcome['retry_after']:.2f} s" if "retry_after" in outcome else "",
    )


@hookimpl
def disconnect(integration: str, connection: Any, host: Any) -> None:
    if integration != SLUG:
        return
    try:
        account = Account.for_connection(connection, store_of(host))
    except InvalidCredentials:
        return  # nothing can have been cached for a record that was never usable
    account.forget()


@hookimpl
def check_event(integration: str, event: Any) -> list[JSON] | None:
    if integration != SLUG:
        return None
    return [dict(problem) for problem in event_problems(event)]


# ---- the reference host's own hooks (fortytwomin_snov.host.hookspecs) -------------------------
# Optional: a 42min host without these specs still loads the plugin. Their modules are
# imported only when called, so the plugin itself never needs the host's libraries.


@hookimpl(optionalhook=True)
def register_commands(cli: Any) -> None:
    from fortytwomin_snov.commands import register

    register(cli)


@hookimpl(optionalhook=True)
def demo_session(integration: str, host: Any, echo: Any) -> Any:
    if integration != SLUG:
        return None
    from fortytwomin_snov.demo import demo_session as session

    return session(host, echo)
