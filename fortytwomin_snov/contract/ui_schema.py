"""The ``ui_schema`` a settings form comes with: react-jsonschema-form, plus conventions.

``render_settings_schema`` answers ``{"schema", "ui_schema"}``. ``schema`` is a JSON
Schema (draft 2020-12); choices are ``oneOf`` lists of ``{"const": value, "title":
label}``, which react-jsonschema-form draws as a select, so that titles can carry counts
and warnings. ``ui_schema`` follows react-jsonschema-form, and a host also reads these
keys, all of them under ``"ui:options"`` (:data:`OPTIONS`) of the root or of a field:

- :data:`NOTICE` (root): ``{"level": "warning", "message": str}``, something the admin
  should know about the whole form (the service could not be asked, so the choices are
  the last known ones, or free entry). The same text is the root ``description`` of
  ``schema`` and ``ui_schema["ui:description"]``, for renderers that know no notices.
- :data:`WARNINGS` (a choice field): ``{"<choice value>": str}``, the warning to show
  while that choice is selected.
- :data:`LOCKED_ROWS` (an array field): the indexes of the rows drawn with a lock,
  which cannot be edited or removed; :data:`LOCK_HINT` says why, in a line.
- :data:`ACTIONS` (a field): buttons next to it, each an :class:`Action`. The host
  collects ``params`` valid against ``params_schema``, calls ``run_settings_action(
  action=name, params=...)``, sets the field to ``result[result_value]`` and renders the
  form again, so the new choice is offered.
- :data:`FREE_ENTRY` (a choice field): ``true`` when the choices are suggestions: a value
  outside them is accepted too (``validate_settings`` judges it, with a warning at most).
  Such a field asks for the :data:`SEARCHABLE_SELECT` widget (``"ui:widget"``): a select
  the admin filters by typing, where what was typed may be kept as the value.
"""

from __future__ import annotations

from typing import Any, Final, Literal, TypedDict

OPTIONS: Final = "ui:options"
DESCRIPTION: Final = "ui:description"
NOTICE: Final = "notice"
WARNINGS: Final = "warnings"
LOCKED_ROWS: Final = "locked_rows"
LOCK_HINT: Final = "lock_hint"
ACTIONS: Final = "actions"
FREE_ENTRY: Final = "free_entry"
SEARCHABLE_SELECT: Final = "searchable_select"


class Notice(TypedDict):
    """The root notice: something the admin should know about the whole form."""

    level: Literal["warning"]
    message: str


class Action(TypedDict):
    """A button next to a field that runs a settings action."""

    name: str
    """What ``run_settings_action`` is called with as ``action``."""
    title: str
    description: str
    params_schema: dict[str, Any]
    """The JSON Schema (draft 2020-12) of the ``params`` the host collects."""
    result_value: str
    """The key of the action's result the field is set to."""
