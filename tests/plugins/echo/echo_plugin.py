"""A second integration, written against the host contract alone (``fortytwomin_snov.contract``):
it "syncs" an event by echoing it into the outcome. The CLI tests install it through a
throwaway dist-info whose entry point (``[fortytwomin] echo = echo_plugin``) a host finds
the way it finds any plugin."""

from __future__ import annotations

from typing import Any

from fortytwomin_snov.contract.errors import InvalidCredentials, InvalidSettings, PermissionDenied
from fortytwomin_snov.contract.hookspecs import hookimpl

SLUG = "echo"

CREDENTIALS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "account": {"title": "Account", "type": "string", "minLength": 1},
        "token": {"title": "Token", "type": "string", "minLength": 1, "writeOnly": True},
    },
    "required": ["account", "token"],
    "additionalProperties": False,
}


@hookimpl
def integration_manifest() -> dict[str, Any]:
    return {
        "slug": SLUG,
        "name": "Echo",
        "category": "crm",
        "auth": "api_key",
        "admin_only": True,
        "description": "Echoes every booking event back into the sync log.",
        "credentials_schema": CREDENTIALS_SCHEMA,
    }


def _check(credentials: dict[str, Any]) -> None:
    if not credentials.get("account") or not credentials.get("token"):
        raise InvalidCredentials("Echo needs an account and a token.")


@hookimpl
def validate_credentials(integration: str, credentials: dict[str, Any]) -> dict[str, Any] | None:
    if integration != SLUG:
        return None
    _check(credentials)
    return {"ok": True, "message": "Echo accepts these keys.", "account": None}


@hookimpl
def connect(
    integration: str, credentials: dict[str, Any], actor: dict[str, Any]
) -> dict[str, Any] | None:
    if integration != SLUG:
        return None
    if actor.get("role") not in ("owner", "admin"):
        raise PermissionDenied("Only owners and admins may connect Echo.")
    _check(credentials)
    return {**credentials, "connected_by": actor["id"]}


@hookimpl
def render_settings_schema(integration: str, connection: dict[str, Any]) -> dict[str, Any] | None:
    if integration != SLUG:
        return None
    schema = {
        "type": "object",
        "properties": {
            "channel": {
                "title": "Channel",
                "oneOf": [
                    {"const": "general", "title": "General"},
                    {"const": "sales", "title": "Sales"},
                ],
            }
        },
        "required": ["channel"],
    }
    return {"schema": schema, "ui_schema": {}}


@hookimpl
def validate_settings(
    integration: str, connection: dict[str, Any], settings: dict[str, Any]
) -> dict[str, Any] | None:
    if integration != SLUG:
        return None
    if settings.get("channel") not in ("general", "sales"):
        raise InvalidSettings([{"pointer": "/channel", "message": "Choose general or sales."}])
    return {"settings": {"channel": settings["channel"]}, "warnings": []}


@hookimpl
def on_booking_event(
    integration: str, connection: dict[str, Any], settings: dict[str, Any], event: dict[str, Any]
) -> dict[str, Any] | None:
    if integration != SLUG:
        return None
    return {
        "event_id": event["id"],
        "event_type": event["type"],
        "integration": SLUG,
        "status": "synced",
        "reason": "echoed",
        "message": f"Echoed {event['id']} to #{settings['channel']} of {connection['account']}.",
    }


@hookimpl
def disconnect(integration: str, connection: dict[str, Any]) -> None:
    return None
