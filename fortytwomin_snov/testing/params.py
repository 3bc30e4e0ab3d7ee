"""Reading request parameters the way Snov.io's PHP backend does.

Form and query keys use PHP's bracket syntax: ``customFields[Project name]=x`` nests,
``phones[]=a&phones[]=b`` builds a list, and a repeated plain key keeps only its last value.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any
from urllib.parse import parse_qsl

_BRACKETED = re.compile(r"\[([^\]]*)\]")


def parse_form(text: str) -> dict[str, Any]:
    """Decode an urlencoded form or query string into nested dicts and lists."""
    return nest_bracket_keys(parse_qsl(text, keep_blank_values=True))


def nest_bracket_keys(pairs: Iterable[tuple[str, str]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        base, segments = _split_key(key)
        _insert(result, base, segments, value)
    return result


def _split_key(key: str) -> tuple[str, list[str]]:
    opening = key.find("[")
    if opening <= 0:
        return key, []
    segments: list[str] = []
    position = opening
    while position < len(key):
        match = _BRACKETED.match(key, position)
        if match is None:
            # PHP ignores whatever follows the last well-formed bracket pair.
            break
        segments.append(match.group(1))
        position = match.end()
    if not segments:
        return key, []
    return key[:opening], segments


def _insert(container: dict[str, Any], key: str, segments: list[str], value: str) -> None:
    if not segments:
        container[key] = value
        return
    head, rest = segments[0], segments[1:]
    if head == "":
        items = container.get(key)
        if not isinstance(items, list):
            items = container[key] = []
        if rest:
            child: dict[str, Any] = {}
            items.append(child)
            _insert(child, rest[0], rest[1:], value)
        else:
            items.append(value)
        return
    nested = container.get(key)
    if not isinstance(nested, dict):
        nested = container[key] = {}
    _insert(nested, head, rest, value)


def flag(value: Any) -> bool:
    """A boolean parameter: true, 1, "1", "true", "on", "yes" (any case) mean true."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return value != 0
    if isinstance(value, str):
        return value.strip().casefold() in {"1", "true", "on", "yes"}
    return False


def integer(value: Any) -> int | None:
    """An integer parameter sent as a number or a string of digits; None otherwise."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().isdecimal():
        return int(value.strip())
    return None


def text(value: Any) -> str | None:
    """A string parameter: scalars become text, blanks and structures count as absent."""
    if value is None or isinstance(value, dict | list):
        return None
    if isinstance(value, bool):
        return "1" if value else ""
    rendered = str(value).strip()
    return rendered or None
