"""What Snov.io answered, turned into data or into an error of :mod:`fortytwomin_snov.snov.errors`.

Every HTTP response the client receives goes through :func:`raise_for_response`, and every
transport failure through :func:`transport_error`, so each status means the same thing
everywhere. Snov.io puts its error text in ``errors`` (a string, an object or a list) or
in ``message``, sometimes under HTTP 200 with ``success: false``; :func:`snov_error_text`
reads all of these.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from typing import TypeVar

import httpx
from pydantic import TypeAdapter, ValidationError

from fortytwomin_snov.snov.errors import (
    CredentialsRejected,
    CustomFieldNotFound,
    ListNotFound,
    RateLimited,
    SnovError,
    SnovRejected,
    SnovServerError,
    SnovUnreachable,
)

T = TypeVar("T")

CREDENTIALS_REJECTED = (
    "Snov.io rejected these keys: check that you copied both the API user ID and the API secret"
)
DEFAULT_RETRY_AFTER = 1.0
"""Seconds to wait after a 429 when the caller has nothing better: Snov.io sends no header."""

_MAX_TEXT = 500
_TEXT_KEYS = ("errors", "message", "error_description", "error")

_CUSTOM_FIELD_MISSING = re.compile(
    r"custom[\s_-]*fields?\b.*?\b(?:not\s+found|does\s*n[o']?t\s+exists?|not\s+exists?|unknown)"
    r"|\bunknown\s+custom[\s_-]*fields?",
    re.IGNORECASE | re.DOTALL,
)
_LIST_GONE = re.compile(
    r"\blist(?:\s*id)?\b.*?\b(?:not\s+found|does\s*n[o']?t\s+exists?|not\s+exists?"
    r"|(?:was|is|has\s+been)\s+(?:deleted|removed))"
    r"|\b(?:no\s+such|unknown|deleted|invalid)\s+list(?:\s*id)?\b"
    r"|\bcan(?:not|'t)\s+find\s+(?:the\s+)?list\b",
    re.IGNORECASE | re.DOTALL,
)
_QUOTED = re.compile(r"'([^']+)'|\"([^\"]+)\"|“([^”]+)”|«([^»]+)»")
_BRACKETED = re.compile(r"\[([^\]]+)\]")
_LISTED_AFTER = re.compile(r"\s*[:—-]\s*(.+)", re.DOTALL)


class RequestNotSent(SnovUnreachable):
    """The connection failed before the request left, so sending it again cannot repeat it."""


def json_body(response: httpx.Response) -> object | None:
    """The decoded JSON body, or ``None`` when the body is empty, not JSON, or absurdly deep."""
    try:
        body: object = response.json()
    except (ValueError, RecursionError):  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        return None
    return body


def reply_envelope(body: object) -> object:
    """The object carrying ``success``: Snov.io sometimes wraps it in a one-item array."""
    if isinstance(body, list) and len(body) == 1:
        (item,) = body
        if isinstance(item, dict) and "success" in item:
            return item
    return body


_MAX_DEPTH = 20
"""How deep an error object is read; Snov.io's are one or two levels."""


def _flatten(value: object, depth: int = 0) -> str:
    if value is None or isinstance(value, bool) or depth > _MAX_DEPTH:
        return ""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, dict):
        parts = []
        for key, item in value.items():
            text = _flatten(item, depth + 1)
            if text:
                named = isinstance(key, str) and not key.isdigit()
                parts.append(f"{key}: {text}" if named else text)
        return "; ".join(parts)
    if isinstance(value, list):
        return "; ".join(text for item in value if (text := _flatten(item, depth + 1)))
    return ""


Scrub = Callable[[str], str]
"""Removes secrets from a text; applied before a text is cut, so no part of one survives."""


def _unchanged(text: str) -> str:
    return text


def _clip(text: str, scrub: Scrub = _unchanged) -> str:
    # A lone surrogate (JSON's "\ud83d") would make the outcome unsendable: "?" instead.
    text = " ".join(scrub(text).split()).encode("utf-8", "replace").decode("utf-8")
    return text if len(text) <= _MAX_TEXT else text[: _MAX_TEXT - 1] + "…"


def snov_error_text(body: object, scrub: Scrub = _unchanged) -> str | None:
    """Snov.io's own explanation in a reply body, from ``errors`` or ``message``.

    ``errors`` may be a string, an object (``{"email": ["Invalid email"]}`` reads
    "email: Invalid email") or a list; OAuth-style ``error_description``/``error`` are
    read last, for the token endpoint.
    """
    if isinstance(body, str):
        return _clip(body, scrub) if body.strip() else None
    envelope = reply_envelope(body)
    if not isinstance(envelope, dict):
        return None
    for key in _TEXT_KEYS:
        text = _flatten(envelope.get(key))
        if text:
            return _clip(text, scrub)
    return None


def _plain_text(response: httpx.Response, scrub: Scrub) -> str | None:
    """A short non-JSON body is worth showing; an HTML error page is not."""
    text = response.text.strip()
    content_type = response.headers.get("content-type", "")
    if not text or text.startswith("<") or "html" in content_type:
        return None
    return _clip(text, scrub)


def _unique(labels: Iterable[str]) -> list[str]:
    seen: dict[str, None] = {}
    for label in labels:
        label = label.strip().strip("'\"").strip()
        if label:
            seen.setdefault(label, None)
    return list(seen)


def custom_field_labels_in(text: str, written: Sequence[str] = ()) -> list[str]:
    """The custom field labels a "custom field not found" text names.

    The labels the request wrote and the text mentions come first (a label may itself
    contain a quote), leaving out a label seen only inside a longer one; then labels
    parsed from quotes, brackets or a list after a colon;
    failing all that, every label the request wrote.
    """
    folded = text.casefold()
    mentioned = [label for label in written if label.casefold() in folded]
    # "Status" is not named by a text that only mentions "Deal status": a label counts
    # only where it appears more often than inside the longer labels that contain it.
    mentioned = [
        label
        for label in mentioned
        if folded.count(label.casefold())
        > sum(
            folded.count(other.casefold())
            for other in mentioned
            if other != label and label.casefold() in other.casefold()
        )
    ]
    if mentioned:
        return _unique(mentioned)
    quoted = [next(group for group in match.groups() if group) for match in _QUOTED.finditer(text)]
    if quoted:
        return _unique(quoted)
    bracketed = _BRACKETED.findall(text)
    if bracketed:
        return _unique(bracketed)
    missing = _CUSTOM_FIELD_MISSING.search(text)
    listed = _LISTED_AFTER.match(text, missing.end()) if missing else None
    if listed:
        return _unique(part.rstrip(".") for part in re.split(r"[,;]", listed.group(1)))
    return _unique(written)


def _where(response: httpx.Response) -> str:
    try:
        request = response.request
    except RuntimeError:
        return "the request"
    return f"{request.method} {request.url.path}"


def _said(text: str | None) -> str:
    return f" (Snov.io said: {text})" if text else ""


def _rejection(
    text: str | None,
    *,
    status_code: int,
    where: str,
    list_id: int | None,
    custom_field_labels: Sequence[str],
) -> SnovError:
    """A refusal with Snov.io's text, recognising a missing custom field and a missing list."""
    if text and _CUSTOM_FIELD_MISSING.search(text):
        labels = custom_field_labels_in(text, custom_field_labels)
        named = ", ".join(f'"{label}"' for label in labels) or "a custom field this request writes"
        return CustomFieldNotFound(
            f"Snov.io has no custom field {named}: create it in Snov.io or choose another"
            f" field{_said(text)}",
            labels=labels,
            status_code=status_code,
        )
    if text and list_id is not None and _LIST_GONE.search(text):
        gone = ListNotFound(
            f"The Snov.io list {list_id} does not exist or was deleted{_said(text)}",
            list_id=list_id,
        )
        gone.status_code = status_code
        return gone
    reason = f": {text}" if text else ", without saying why"
    return SnovRejected(
        f"Snov.io refused {where} (HTTP {status_code}){reason}",
        snov_message=text or "",
        status_code=status_code,
    )


def raise_for_response(
    response: httpx.Response,
    *,
    list_id: int | None = None,
    custom_field_labels: Sequence[str] = (),
    retry_after: float = DEFAULT_RETRY_AFTER,
    scrub: Scrub = _unchanged,
) -> object:
    """Return the decoded JSON body of a successful reply; raise the matching error otherwise.

    ``list_id`` and ``custom_field_labels`` are what the request wrote, so that a refusal
    naming a missing list or custom field becomes :class:`ListNotFound` or
    :class:`CustomFieldNotFound`. ``retry_after`` is what a 429 tells the caller to wait.
    """
    status = response.status_code
    body = json_body(response)
    if 200 <= status < 300 and body is not None:
        envelope = reply_envelope(body)
        if not (isinstance(envelope, dict) and envelope.get("success") is False):
            return body  # the common case: nothing to explain, so nothing is read for it
    where = _where(response)
    text = _plain_text(response, scrub) if body is None else snov_error_text(body, scrub)
    if status == 401:
        raise CredentialsRejected(CREDENTIALS_REJECTED, status_code=status)
    if status == 429:
        raise RateLimited(
            f"Snov.io's rate limit for this account is spent (HTTP 429);"
            f" try again in {retry_after:.1f} s",
            retry_after=retry_after,
            status_code=status,
        )
    if status >= 500:
        raise SnovServerError(
            f"Snov.io failed to answer {where} (HTTP {status}){_said(text)}", status_code=status
        )
    if status == 403:
        raise SnovRejected(
            f"Snov.io refused {where} (HTTP 403). This is most likely a wrong method or path,"
            f" or a Snov.io plan that does not include this API{_said(text)}",
            snov_message=text or "",
            status_code=status,
        )
    if status == 404:
        raise SnovRejected(
            f"Snov.io does not know {where} (HTTP 404){_said(text)}",
            snov_message=text or "",
            status_code=status,
        )
    if status >= 400:
        raise _rejection(
            text,
            status_code=status,
            where=where,
            list_id=list_id,
            custom_field_labels=custom_field_labels,
        )
    if not 200 <= status < 300:
        raise SnovServerError(
            f"Snov.io answered {where} with an unexpected HTTP {status}", status_code=status
        )
    if body is None:
        raise SnovServerError(
            f"Snov.io answered {where} without a JSON body (HTTP {status})", status_code=status
        )
    # A 2xx whose envelope says success: false; every other 2xx with a body returned above.
    raise _rejection(
        text,
        status_code=status,
        where=where,
        list_id=list_id,
        custom_field_labels=custom_field_labels,
    )


def parse_reply(
    adapter: TypeAdapter[T], body: object, *, where: str, status_code: int | None = None
) -> T:
    """Validate a reply body; a shape we do not understand is Snov.io's fault, not ours."""
    try:
        return adapter.validate_python(body)
    except ValidationError as exc:
        first = exc.errors(include_url=False, include_input=False)[0]
        at = ".".join(str(part) for part in first["loc"]) or "the top level"
        raise SnovServerError(
            f"Snov.io answered {where} in a shape this plugin does not understand"
            f" ({first['msg']} at {at})",
            status_code=status_code,
        ) from None


def transport_error(exc: httpx.HTTPError, *, where: str) -> SnovError:
    """The error for a request that got no usable HTTP response. Never carries httpx's text."""
    name = type(exc).__name__
    if isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout):
        return RequestNotSent(f"Could not connect to Snov.io for {where} ({name})")
    if isinstance(exc, httpx.TimeoutException):
        return SnovUnreachable(f"Snov.io did not answer {where} in time ({name})")
    if isinstance(exc, httpx.TransportError):
        return SnovUnreachable(f"The connection to Snov.io failed during {where} ({name})")
    return SnovServerError(f"Snov.io's answer to {where} could not be read ({name})")
