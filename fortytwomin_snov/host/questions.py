"""The questions of the host's forms, as ``host.form_fields()`` lists them to plugins.

A real host knows its booking pages and routing forms. The reference host has none, so it
learns them from two places:

- the events it has received (the queue): each booking answer's key is a question
  (``invitee_form_question:<key>``, its form the event type's title), each routing-form
  field's key a field (``routing_form_field:<key>``, its form the form id); the label is
  the key;
- labels an admin registers (``fortytwomin-snov questions add SOURCE LABEL``), kept in the
  ``form_questions`` table; a registered label wins over the key.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Final

from fortytwomin_snov.host.dialect import Connection
from fortytwomin_snov.host.errors import HostError

QUESTION = "invitee_form_question:"
ROUTING_FIELD = "routing_form_field:"
SOURCE_PATTERN: Final = re.compile(
    r"(invitee_form_question|routing_form_field):[A-Za-z0-9_.-]{1,100}"
)
"""A source as the contract names one (an id of 1-100 letters, digits, '_', '.' or '-')."""
MAX_LABEL = 200


@dataclass(frozen=True)
class Question:
    """One question of a form: the mapping source, its label and its form."""

    source: str
    label: str
    form: str | None
    registered: bool
    """Whether an admin gave it its label (else the label is the key from an event)."""

    def to_json(self) -> dict[str, Any]:
        return {"source": self.source, "label": self.label, "form": self.form}


class InvalidQuestion(HostError):
    """A source or label that cannot be registered; the message says why."""


def checked(source: str, label: str, form: str | None) -> tuple[str, str, str | None]:
    """The source, label and form to register, trimmed; InvalidQuestion if unusable."""
    source = source.strip()
    if not SOURCE_PATTERN.fullmatch(source):
        raise InvalidQuestion(
            f"{source!r} is not a source: write invitee_form_question:<id> or"
            " routing_form_field:<id> (an id is 1-100 letters, digits, '_', '.' or '-')"
        )
    label = " ".join(label.split())
    if not label or len(label) > MAX_LABEL:
        raise InvalidQuestion(f"A label is 1-{MAX_LABEL} characters")
    form = " ".join(form.split()) if form is not None else None
    if form is not None and len(form) > MAX_LABEL:
        raise InvalidQuestion(f"A form name is at most {MAX_LABEL} characters")
    return source, label, form or None


def register(tx: Connection, source: str, label: str, form: str | None, *, now: float) -> None:
    tx.execute(
        "INSERT INTO form_questions (source, label, form, saved_at) VALUES (?, ?, ?, ?)"
        " ON CONFLICT (source) DO UPDATE SET label = excluded.label, form = excluded.form,"
        " saved_at = excluded.saved_at",
        (source, label, form, now),
    )


def unregister(tx: Connection, source: str) -> bool:
    return tx.execute("DELETE FROM form_questions WHERE source = ?", (source,)).rowcount > 0


def registered(db: Connection) -> list[Question]:
    return [
        Question(source=row["source"], label=row["label"], form=row["form"], registered=True)
        for row in db.execute("SELECT source, label, form FROM form_questions ORDER BY source")
    ]


SEEN_WINDOW = 5000
"""How many of the newest events ``seen`` reads: a form asked lately shows up there, and
the read stays bounded however long the queue has grown."""


def seen(db: Connection) -> list[Question]:
    """The answer and field keys of the newest events, with the form that asked them (the
    newest event's). Read in Python, so one query serves SQLite and PostgreSQL alike, and a
    damaged row is passed over."""
    forms: dict[str, str | None] = {}
    rows = db.execute("SELECT event FROM jobs ORDER BY id DESC LIMIT ?", (SEEN_WINDOW,))
    for row in rows.fetchall():
        try:
            event = json.loads(row[0])
        except (TypeError, ValueError):
            continue
        if not isinstance(event, dict):
            continue
        for source, form in _asked(event):
            forms.setdefault(source, form)
    found: list[Question] = []
    for source, form in forms.items():
        if not SOURCE_PATTERN.fullmatch(source):
            continue  # an answer key no mapping row can name
        key = source.partition(":")[2]
        found.append(Question(source=source, label=key, form=form, registered=False))
    return found


def _asked(event: dict[str, Any]) -> list[tuple[str, str | None]]:
    booking, routing = event.get("booking"), event.get("routing_form")
    if isinstance(booking, dict) and isinstance(booking.get("answers"), dict):
        kind = booking.get("event_type")
        kind = kind if isinstance(kind, dict) else {}
        form = kind.get("title") or kind.get("id")
        named = form if isinstance(form, str) else None
        return [(QUESTION + str(key), named) for key in booking["answers"]]
    if isinstance(routing, dict) and isinstance(routing.get("fields"), dict):
        form = routing.get("form_id")
        named = form if isinstance(form, str) else None
        return [(ROUTING_FIELD + str(key), named) for key in routing["fields"]]
    return []


def form_fields(db: Connection) -> list[Question]:
    """Registered questions, then those only seen in events; each source once, by label."""
    known = {question.source: question for question in registered(db)}
    for question in seen(db):
        if question.source in known:
            mine = known[question.source]
            if mine.form is None and question.form is not None:
                known[question.source] = Question(
                    source=mine.source, label=mine.label, form=question.form, registered=True
                )
            continue
        known[question.source] = question
    return sorted(known.values(), key=lambda question: (question.label.casefold(), question.source))
