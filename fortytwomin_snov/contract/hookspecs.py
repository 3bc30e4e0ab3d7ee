# mypy: disable-error-code="empty-body"
# Hookspecs are signatures with documentation; pluggy never calls their bodies.
"""The 42min integrations host contract: the hooks an integration plugin implements.

A host builds ``pluggy.PluginManager("fortytwomin")``, adds these specs with
``add_hookspecs(hookspecs)``, loads plugins with
``load_setuptools_entrypoints("fortytwomin")`` and calls hooks with keyword arguments
only. ``integration`` is the slug the host dispatches on; an implementation returns
``None`` when the slug is not its own, so for ``firstresult`` hooks the owner's answer
is the result.

Data crossing the contract is JSON (dicts, lists, strings, numbers, booleans, None)
that validates against the published schemas in the package's ``schema/`` folder
(``fortytwomin_snov.schema`` once installed). Errors a host should expect are the
contract errors of :mod:`fortytwomin_snov.contract.errors`: every one descends from
``IntegrationError`` and its message is safe to show an admin. Anything else an admin,
a booking or Snov.io can cause is answered, never raised.

``host`` is the host's services object (see :class:`Host`). Every hook but
``integration_manifest`` takes it; an implementation may leave it out of its
signature. ``host=None`` means a process-local memory store.
"""

from __future__ import annotations

from typing import Any, Protocol, TypedDict

import pluggy

from fortytwomin_snov.contract.store import Store

PROJECT_NAME = "fortytwomin"
"""The pluggy project name, and the entry point group plugins register under."""

hookspec = pluggy.HookspecMarker(PROJECT_NAME)
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)

JSON = Any
"""A JSON value: what crosses the contract."""


class Host(Protocol):
    """The services a host lends plugins. ``store`` is the only one required.

    Optional capabilities a host may add, which a plugin looks up with ``getattr`` and
    does without when they are absent (see :class:`HostWithFormFields`):

    - ``form_fields()``: the booking-form questions and routing-form fields the host
      knows, so a settings form can offer mapping sources by label.
    """

    @property
    def store(self) -> Store:
        """A small shared key-value store: see :class:`fortytwomin_snov.contract.store.Store`."""
        ...


class FormField(TypedDict):
    """A value an event may carry, as ``Host.form_fields`` lists it."""

    source: str
    """The mapping source: ``invitee_form_question:<id>`` or ``routing_form_field:<id>``."""
    label: str
    """What the admin knows it by: the question as the form asks it."""
    form: str | None
    """The booking page or routing form that asks it (None: not known)."""


class HostWithFormFields(Host, Protocol):
    """A host that knows its forms' questions (optional: a plugin never requires it)."""

    def form_fields(self) -> list[FormField]:
        """Every booking-form question and routing-form field the host knows, each
        ``{"source", "label", "form"}``. A source not listed may still appear in events
        (a form created later), so plugins accept it, with a warning at most."""
        ...


@hookspec
def integration_manifest() -> dict[str, JSON]:
    """Describe the integration, for the host's Integrations page.

    Called once per plugin (not ``firstresult``): the host gets a list with one manifest
    per installed integration.

    Returns:
        A manifest (``schema/manifest.schema.json``): ``slug``, ``name`` (display name),
        ``category`` (``"crm"``), ``auth`` (``"api_key"``), ``admin_only`` (``true``),
        ``description`` (one line) and ``credentials_schema`` (the JSON Schema of the
        connect form; secrets are ``writeOnly``).

    Raises:
        Nothing.
    """


@hookspec(firstresult=True)
def validate_credentials(
    integration: str, credentials: dict[str, JSON], host: Host | None
) -> dict[str, JSON] | None:
    """Check API keys against the service without saving anything.

    Args:
        integration: the slug of the integration the host means.
        credentials: ``{"api_user_id": str, "api_secret": str}``
            (``schema/credentials.schema.json``).
        host: the host's services (the token obtained is cached in ``host.store``).

    Returns:
        ``{"ok": bool, "message": str, "account": {...} | None}``
        (``schema/credential-check.schema.json``). ``ok`` is false, with a message an
        admin can act on, for blank or malformed keys (no request is sent), keys the
        service rejects, and the service being unreachable or rate limited; the message
        tells these cases apart. ``None`` when ``integration`` is not this plugin's.

    Raises:
        Nothing: every failure is an ``ok: false`` answer.
    """


@hookspec(firstresult=True)
def connect(
    integration: str, credentials: dict[str, JSON], actor: dict[str, JSON], host: Host | None
) -> dict[str, JSON] | None:
    """Check the keys and return the connection record the host stores.

    Args:
        integration: the slug of the integration the host means.
        credentials: ``{"api_user_id": str, "api_secret": str}``.
        actor: who is connecting, ``{"id": str, "role": "owner" | "admin" | "member"}``.
            Only owners and admins may connect.
        host: the host's services.

    Returns:
        The connection record (``schema/connection.schema.json``), secret included: the
        host must store it encrypted and pass it back to later hooks as ``connection``.
        ``None`` when ``integration`` is not this plugin's.

    Raises:
        PermissionDenied: the actor is not an owner or admin (no request is sent).
        InvalidCredentials: the keys are blank, malformed or rejected.
        IntegrationError: the service could not be reached to check the keys; the
            message says so and nothing was saved.
    """


@hookspec(firstresult=True)
def render_settings_schema(
    integration: str, connection: dict[str, JSON], host: Host | None
) -> dict[str, JSON] | None:
    """Build the settings form for a connection, with live choices from the account.

    Args:
        integration: the slug of the integration the host means.
        connection: the record ``connect`` returned.
        host: the host's services (choices are cached in ``host.store`` for a short time).

    Returns:
        ``{"schema": <JSON Schema, draft 2020-12>, "ui_schema": {...}}``: the schema is
        ``schema/settings.schema.json`` narrowed to the account's lists and custom
        fields; ``ui_schema`` carries widgets, help texts, warnings and actions for a
        react-jsonschema-form style renderer. When the service cannot be reached it
        still renders, from the last known choices or as free entry with a notice.
        ``None`` when ``integration`` is not this plugin's.

    Raises:
        Nothing.
    """


@hookspec(firstresult=True)
def validate_settings(
    integration: str, connection: dict[str, JSON], settings: dict[str, JSON], host: Host | None
) -> dict[str, JSON] | None:
    """Normalise and check a settings document before the host saves it.

    Args:
        integration: the slug of the integration the host means.
        connection: the record ``connect`` returned.
        settings: the document the admin submitted (``schema/settings.schema.json``).
        host: the host's services.

    Returns:
        ``{"settings": <normalised settings>, "warnings": [str, ...]}``: blank mapping
        rows dropped, locked rows restored, defaults filled in. The host saves
        ``settings`` and shows the warnings. ``None`` when ``integration`` is not this
        plugin's.

    Raises:
        InvalidSettings: with ``errors``, one ``{"pointer", "message"}`` per problem,
            all of them at once.
    """


@hookspec(firstresult=True)
def run_settings_action(
    integration: str,
    connection: dict[str, JSON],
    action: str,
    params: dict[str, JSON],
    host: Host | None,
) -> dict[str, JSON] | None:
    """Run an action the settings page offers (for Snov.io: ``create_list``).

    Args:
        integration: the slug of the integration the host means.
        connection: the record ``connect`` returned.
        action: the action's name, as the ``ui_schema`` announces it.
        params: the action's parameters (``create_list``: ``{"name": str}``).
        host: the host's services.

    Returns:
        The action's result (``create_list``: the new list, ``{"id": int, "name": str}``).
        ``None`` when ``integration`` is not this plugin's.

    Raises:
        InvalidRequest: unknown action or bad parameters (the message names them).
        IntegrationError: the service refused or could not be reached.
    """


@hookspec(firstresult=True)
def on_booking_event(
    integration: str,
    connection: dict[str, JSON],
    settings: dict[str, JSON],
    event: dict[str, JSON],
    host: Host | None,
) -> dict[str, JSON] | None:
    """Sync one booking or routing-form event and say what happened.

    Args:
        integration: the slug of the integration the host means.
        connection: the record ``connect`` returned.
        settings: the saved settings (as ``validate_settings`` returned them).
        event: one event (``schema/booking-event.schema.json``); ``event["id"]`` is the
            idempotency key.
        host: the host's services (idempotency and ordering marks, the token and the
            rate-limit budget live in ``host.store``).

    Returns:
        One outcome (``schema/outcome.schema.json``; each integration publishes a narrower
        one, Snov.io's is ``schema/sync-outcome.schema.json``): ``status`` ``synced``,
        ``skipped``, ``deferred`` (run again after ``retry_after`` seconds) or ``failed``
        (with ``blocked_on`` ``credentials`` or ``settings`` when an admin's fix will let
        it succeed), a stable ``reason`` code and a ``message`` for the sync log.
        ``None`` when ``integration`` is not this plugin's.

    Raises:
        Nothing: bad input, bad settings and every problem of the service are outcomes.
    """


@hookspec(firstresult=True)
def on_booking_events(
    integration: str,
    connection: dict[str, JSON],
    settings: dict[str, JSON],
    events: list[dict[str, JSON]],
    host: Host | None,
) -> list[dict[str, JSON]] | None:
    """Sync a batch of events of one connection and say what happened to each.

    Optional: a host calls it where the integration's plugin implements it, and sends the
    events one at a time through ``on_booking_event`` otherwise. An implementation may
    write what several events say about one record once (for Snov.io: once per person,
    with the latest status and the newest details); it must record every event's
    idempotency mark as ``on_booking_event`` would.

    Args:
        integration: the slug of the integration the host means.
        connection: the record ``connect`` returned.
        settings: the saved settings (as ``validate_settings`` returned them).
        events: the events (each ``schema/booking-event.schema.json``), in the order the
            host took them; each ``event["id"]`` is its idempotency key.
        host: the host's services, as for ``on_booking_event``.

    Returns:
        One outcome per event, in the order given (each as ``on_booking_event`` returns
        it). An event written together with another reports that write's result under a
        reason of its own (Snov.io: ``synced``, ``merged_into_batch``). A problem met in
        the middle leaves the events before it as they are and gives the rest their own
        ``deferred`` or ``failed`` outcome. ``None`` when ``integration`` is not this
        plugin's.

    Raises:
        Nothing: as ``on_booking_event``, every problem is an outcome, and an unexpected
        one in the middle of a batch is the outcome of the events it stopped.
    """


@hookspec
def disconnect(integration: str, connection: dict[str, JSON], host: Host | None) -> None:
    """Forget what the plugin cached for a connection the host is removing.

    Args:
        integration: the slug of the integration the host means.
        connection: the record ``connect`` returned.
        host: the host's services.

    Returns:
        Nothing. Data already written to the service stays there.

    Raises:
        Nothing.
    """


@hookspec(firstresult=True)
def check_event(
    integration: str, event: dict[str, JSON], host: Host | None
) -> list[dict[str, JSON]] | None:
    """Check one event the way ``on_booking_event`` will, without syncing it.

    A host calls it when an event arrives (before queueing it), so that an event the
    integration would refuse is reported to whoever sent it, not found later in the
    sync log. Optional for the host: ``on_booking_event`` checks every event anyway.

    Args:
        integration: the slug of the integration the host means.
        event: one event, as it would be passed to ``on_booking_event``.
        host: the host's services (not needed by every plugin).

    Returns:
        The problems ``on_booking_event`` would fail the event for (``invalid_event``),
        each ``{"pointer", "message"}`` with a JSON pointer into the event; ``[]`` when
        it would be accepted. ``None`` when ``integration`` is not this plugin's.

    Raises:
        Nothing.
    """
