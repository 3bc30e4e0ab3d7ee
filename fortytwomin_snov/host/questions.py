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

import re
import sqlite3
from dataclasses import dataclass
from typing import Any, Final

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


def register(
    tx: sqlite3.Connection, source: str, label: str, form: str | None, *, now: float
) -> None:
    tx.execute(
        "INSERT INTO form_questions (source, label, form, saved_at) VALUES (?, ?, ?, ?)"
        " ON CONFLICT (source) DO UPDATE SET label = excluded.label, form = excluded.form,"
        " saved_at = excluded.saved_at",
        (source, label, form, now),
    )


def unregister(tx: sqlite3.Connection, source: str) -> bool:
    return tx.execute("DELETE FROM form_questions WHERE source = ?", (source,)).rowcount > 0


def registered(db: sqlite3.Connection) -> list[Question]:
    return [
        Question(source=row["source"], label=row["label"], form=row["form"], registered=True)
        for row in db.execute("SELECT source, label, form FROM form_questions ORDER BY source")
    ]


# The keys of every event's answers and fields, with the form that asked them (the newest
# event's), in one pass over the queue inside SQLite.
_SEEN = """
SELECT ? || answer.key AS source, MAX(jobs.id) AS newest,
    COALESCE(json_extract(jobs.event, '$.booking.event_type.title'),
             json_extract(jobs.event, '$.booking.event_type.id')) AS form
FROM jobs, json_each(jobs.event, '$.booking.answers') AS answer
WHERE json_type(jobs.event, '$.booking.answers') = 'object'
GROUP BY answer.key
UNION ALL
SELECT ? || field.key, MAX(jobs.id), json_extract(jobs.event, '$.routing_form.form_id')
FROM jobs, json_each(jobs.event, '$.routing_form.fields') AS field
WHERE json_type(jobs.event, '$.routing_form.fields') = 'object'
GROUP BY field.key
"""


def seen(db: sqlite3.Connection) -> list[Question]:
    found: list[Question] = []
    for row in db.execute(_SEEN, (QUESTION, ROUTING_FIELD)):
        source = str(row["source"])
        if not SOURCE_PATTERN.fullmatch(source):
            continue  # an answer key no mapping row can name
        form = row["form"] if isinstance(row["form"], str) else None
        key = source.partition(":")[2]
        found.append(Question(source=source, label=key, form=form, registered=False))
    return found


def form_fields(db: sqlite3.Connection) -> list[Question]:
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
