"""The settings form's actions: what its buttons announce and what they run.

Snov.io's one action is ``create_list``, next to the target list: it creates an empty
list and the form selects it (see :mod:`fortytwomin_snov.contract.ui_schema`).
"""

from __future__ import annotations

import re
from typing import Any, Final

from fortytwomin_snov.account import Account
from fortytwomin_snov.contract.errors import InvalidRequest
from fortytwomin_snov.contract.models import LINE_PATTERN, broken_text
from fortytwomin_snov.contract.store import Store
from fortytwomin_snov.contract.ui_schema import Action
from fortytwomin_snov.snov import ProspectList

JSON = dict[str, Any]

CREATE_LIST: Final = "create_list"
ACTIONS: Final = (CREATE_LIST,)
LIST_NAME_MAX_LENGTH: Final = 100


def create_list_action() -> Action:
    """The ``create_list`` button, as the form's ``ui_schema`` announces it."""
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
