"""Documents validated once per process: a worker is handed the same connection and settings
with every event, and validating them again cost about a tenth of an event's CPU."""

from __future__ import annotations

import json
from typing import Generic, TypeVar

T = TypeVar("T")

_ENCODER = json.JSONEncoder(ensure_ascii=False)
"""What ``json.dumps(document, ensure_ascii=False)`` builds for every call, built once."""


def json_text(document: object) -> str | None:
    """``document`` as JSON text, or None when it is not plain JSON or holds a broken
    character (a lone surrogate): a quick way to learn that a document is clean, before
    the slower walk that names the place of a broken character."""
    try:
        text = _ENCODER.encode(document)
        text.encode()
    except (TypeError, ValueError, RecursionError):
        return None
    return text


class Validated(Generic[T]):
    """Documents validated already, by their JSON text. A hit also needs the document to
    equal the one validated, since the text alone does not tell a list from a tuple.
    Bounded; thread-safe (a dict's get and set are atomic)."""

    def __init__(self, size: int = 64) -> None:
        self._size = size
        self._seen: dict[str, tuple[object, T]] = {}

    def get(self, text: str | None, document: object) -> T | None:
        found = None if text is None else self._seen.get(text)
        return found[1] if found is not None and found[0] == document else None

    def put(self, text: str | None, parsed: T) -> T:
        if text is not None:
            if len(self._seen) >= self._size:
                self._seen.clear()
            self._seen[text] = (json.loads(text), parsed)
        return parsed
