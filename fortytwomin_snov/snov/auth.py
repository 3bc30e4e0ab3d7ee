"""Snov.io access tokens: fetched with the API keys, cached in the host's store, sent as Bearer.

Snov.io has no refresh token: a token (valid ``expires_in`` seconds, 3600 in practice) is
requested with the API user ID and secret. It is cached in the store under a digest of
*both* keys, so a token never vouches for a different secret, and renewed when less than
five minutes of it remain, or once when Snov.io answers 401 (the request is then sent
again once; a second 401 drops the cached token). One renewal at a time per process:
threads that wait for it reuse the fresh token.

The cached token is sealed (AES-GCM) under a key derived (HKDF-SHA256) from the API secret,
which the store never holds: whoever reads the store, or the database file under it, gets
no usable token, while every process that has the secret opens it and reuses it.

:class:`Scrubber` keeps the secret and the token out of any text Snov.io echoes back: their
URL-encoded and base64 forms, and any run of 8 or more characters of any of them.
"""

from __future__ import annotations

import base64
import binascii
import contextvars
import hashlib
import json
import logging
import os
import threading
import time
import urllib.parse
from collections.abc import Callable, Generator, Iterable
from dataclasses import dataclass

import httpx
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from pydantic import SecretStr, ValidationError

from fortytwomin_snov.contract.store import Get, Store
from fortytwomin_snov.snov.errors import CredentialsRejected
from fortytwomin_snov.snov.models import AccessToken
from fortytwomin_snov.snov.responses import (
    CREDENTIALS_REJECTED,
    DEFAULT_RETRY_AFTER,
    json_body,
    raise_for_response,
)

_log = logging.getLogger(__name__)

TOKEN_PATH = "/v1/oauth/access_token"  # noqa: S105 (a path, not a password)
RENEW_BEFORE_EXPIRY = 300.0
"""Renew a token when fewer than this many seconds of it remain."""

_renewal_locks: dict[str, threading.Lock] = {}
_renewal_locks_guard = threading.Lock()


def _renewal_lock(cache_key: str) -> threading.Lock:
    """The process-wide lock that serialises renewals for one pair of keys."""
    with _renewal_locks_guard:
        return _renewal_locks.setdefault(cache_key, threading.Lock())


def _reveal(secret: SecretStr | str) -> str:
    return secret.get_secret_value() if isinstance(secret, SecretStr) else secret


def token_cache_key(api_user_id: str, api_secret: SecretStr | str) -> str:
    """The store key of the cached token for these keys: a digest, never the secret itself."""
    digest = hashlib.sha256(f"{api_user_id}\0{_reveal(api_secret)}".encode()).hexdigest()
    return f"snov:token:{digest[:32]}"


def forget_token(store: Store, api_user_id: str, api_secret: SecretStr | str) -> None:
    """Drop the cached token for these keys (on disconnect, or when Snov.io rejects it)."""
    store.delete(token_cache_key(api_user_id, api_secret))


_SEAL_SALT = b"fortytwomin-snov token cache v1"
_NONCE_BYTES = 12


class _TokenSeal:
    """Seals the cached token for the store under a key derived from the API secret.

    The key is never stored: only a process that has the secret can open the token, and a
    sealed token opens only under the store key it was written to (the associated data), so
    it cannot be moved to another account's entry.
    """

    def __init__(self, api_user_id: str, api_secret: SecretStr | str, cache_key: str) -> None:
        key = HKDF(
            algorithm=hashes.SHA256(),
            length=32,
            salt=_SEAL_SALT,
            info=b"access token\0" + api_user_id.encode(),
        ).derive(_reveal(api_secret).encode())
        self._aead = AESGCM(key)
        self._bound_to = cache_key.encode()

    def __repr__(self) -> str:
        return "_TokenSeal()"

    def seal(self, plain: str) -> str:
        nonce = os.urandom(_NONCE_BYTES)
        sealed = self._aead.encrypt(nonce, plain.encode(), self._bound_to)
        return base64.urlsafe_b64encode(nonce + sealed).decode("ascii")

    def open(self, sealed: str) -> str | None:
        """The sealed text, or None if it is not a token this secret sealed for this key."""
        try:
            raw = base64.urlsafe_b64decode(sealed.encode("ascii"))
            if len(raw) <= _NONCE_BYTES:
                return None
            plain = self._aead.decrypt(raw[:_NONCE_BYTES], raw[_NONCE_BYTES:], self._bound_to)
            return plain.decode()
        except (InvalidTag, binascii.Error, ValueError):
            return None


def cached_token(store: Store, api_user_id: str, api_secret: SecretStr | str) -> str | None:
    """The token cached for these keys, opened, or None. Never print it."""
    key = token_cache_key(api_user_id, api_secret)
    raw = store.get(key)
    opened = None if raw is None else _TokenSeal(api_user_id, api_secret, key).open(raw)
    if opened is None:
        return None
    try:
        return str(json.loads(opened)["access_token"])
    except (ValueError, TypeError, KeyError):
        return None


SCRUB_WINDOW = 8
"""Any run of this many characters of the secret or the token (or of their encoded forms) is
redacted: a prefix of a secret, or a cut-off one, is as good as the secret to a guesser."""
REDACTED = "[redacted]"


def _encoded_forms(value: str) -> set[str]:
    """``value`` as Snov.io might echo it: as is, URL-encoded, base64 (standard and URL-safe,
    padded or not)."""
    raw = value.encode()
    forms = {
        value,
        urllib.parse.quote(value, safe=""),
        urllib.parse.quote_plus(value, safe=""),
        urllib.parse.quote(value),
    }
    for encoded in (base64.b64encode(raw), base64.urlsafe_b64encode(raw)):
        text = encoded.decode("ascii")
        forms.update((text, text.rstrip("=")))
    return {form for form in forms if form}


class Scrubber:
    """Replaces every run of :data:`SCRUB_WINDOW` or more characters of the given values (and
    of their encoded forms) in a text with :data:`REDACTED`.

    The windows are collected once; a scrub then costs one set lookup per character of the
    text. Values shorter than a window are replaced whole.
    """

    def __init__(self, values: Iterable[str]) -> None:
        self._windows: set[str] = set()
        self._short: list[str] = []
        for value in values:
            for form in _encoded_forms(value):
                if len(form) < SCRUB_WINDOW:
                    self._short.append(form)
                else:
                    self._windows.update(
                        form[start : start + SCRUB_WINDOW]
                        for start in range(len(form) - SCRUB_WINDOW + 1)
                    )
        self._short.sort(key=len, reverse=True)

    def __repr__(self) -> str:
        return f"Scrubber({len(self._windows)} windows)"

    def __call__(self, text: str) -> str:
        if self._windows and len(text) >= SCRUB_WINDOW:
            hidden = bytearray(len(text))
            for start in range(len(text) - SCRUB_WINDOW + 1):
                if text[start : start + SCRUB_WINDOW] in self._windows:
                    hidden[start : start + SCRUB_WINDOW] = b"\1" * SCRUB_WINDOW
            if any(hidden):
                pieces: list[str] = []
                position = 0
                while position < len(text):
                    end = position
                    while end < len(text) and hidden[end] == hidden[position]:
                        end += 1
                    pieces.append(REDACTED if hidden[position] else text[position:end])
                    position = end
                text = "".join(pieces)
        for short in self._short:
            text = text.replace(short, REDACTED)
        return text


_read_ahead: contextvars.ContextVar[tuple[SnovAuth, str | None] | None] = contextvars.ContextVar(
    "token_read_ahead", default=None
)
"""The sealed token a caller read for the next request of this context, and whose it is."""


@dataclass(frozen=True)
class _CachedToken:
    token: str
    renew_at: float

    def __repr__(self) -> str:
        return f"_CachedToken(renew_at={self.renew_at})"


class SnovAuth(httpx.Auth):
    """Sets ``Authorization: Bearer <token>``, fetching and renewing the token as needed.

    The token request is sent by this flow itself, through the same ``httpx.Client``, so it
    passes the client's event hooks (the rate limiter counts it) and carries the timeout of
    the request it serves.
    """

    requires_response_body = True

    def __init__(
        self,
        api_user_id: str,
        api_secret: SecretStr,
        *,
        store: Store,
        token_url: httpx.URL | str,
        headers: dict[str, str] | None = None,
        clock: Callable[[], float] = time.time,
        retry_after_429: Callable[[], float] = lambda: DEFAULT_RETRY_AFTER,
    ) -> None:
        self._api_user_id = api_user_id
        self._api_secret = api_secret
        self._store = store
        self._token_url = httpx.URL(token_url)
        self._headers = dict(headers or {})
        self._clock = clock
        self._retry_after_429 = retry_after_429
        self.cache_key = token_cache_key(api_user_id, api_secret)
        self._seal = _TokenSeal(api_user_id, api_secret, self.cache_key)
        self._last_token: str | None = None  # only to scrub it from error messages
        self._scrubber = Scrubber([api_secret.get_secret_value()])
        self._scrubbed_token: str | None = None
        self._opened: tuple[str | None, _CachedToken | None] = (None, None)
        """The sealed text last opened, and its token: opening costs a decryption."""

    def __repr__(self) -> str:
        return f"SnovAuth(api_user_id={self._api_user_id!r})"

    def scrub(self, text: str) -> str:
        """``text`` with the secret and the last token sent, their URL-encoded and base64
        forms, and any 8 or more characters of any of them replaced by a placeholder."""
        token = self._last_token
        if token != self._scrubbed_token:
            # Built again only when the token changes: about once an hour.
            values = [self._api_secret.get_secret_value(), *([token] if token else [])]
            self._scrubber = Scrubber(values)
            self._scrubbed_token = token
        return self._scrubber(text)

    def forget(self) -> None:
        """Drop the cached token."""
        self._store.delete(self.cache_key)

    def token_op(self) -> Get:
        """The operation that reads the cached token, for a caller to run in a store round
        trip it makes anyway; its result goes to :meth:`read_ahead`."""
        return Get(self.cache_key)

    def read_ahead(self, sealed: str | None) -> None:
        """The next request of this context uses ``sealed`` (what :meth:`token_op` read)
        instead of reading the cached token again."""
        _read_ahead.set((self, sealed))

    def end_read_ahead(self) -> None:
        """Drop what :meth:`read_ahead` left, if no request used it."""
        ahead = _read_ahead.get()
        if ahead is not None and ahead[0] is self:
            _read_ahead.set(None)

    def _read(self) -> str | None:
        """The sealed token: read ahead for this request, or from the store."""
        ahead = _read_ahead.get()
        if ahead is not None and ahead[0] is self:
            _read_ahead.set(None)
            return ahead[1]
        return self._store.get(self.cache_key)

    def _cached(self, *, ahead: bool = False) -> _CachedToken | None:
        raw = self._read() if ahead else self._store.get(self.cache_key)
        if raw is not None and raw == self._opened[0]:
            return self._opened[1]  # opened before: the same sealed text, the same token
        opened = None if raw is None else self._seal.open(raw)
        if opened is None:  # none, or not sealed with this secret: fetch a new one
            return None
        try:
            data = json.loads(opened)
            cached = _CachedToken(token=str(data["access_token"]), renew_at=float(data["renew_at"]))
        except (ValueError, TypeError, KeyError):
            return None
        self._opened = (raw, cached)
        return cached

    def _fresh(self, cached: _CachedToken | None) -> bool:
        return cached is not None and self._clock() < cached.renew_at

    def _token_request(self, serving: httpx.Request) -> httpx.Request:
        return httpx.Request(
            "POST",
            self._token_url,
            json={
                "grant_type": "client_credentials",
                "client_id": self._api_user_id,
                "client_secret": self._api_secret.get_secret_value(),
            },
            headers=self._headers,
            extensions={"timeout": serving.extensions["timeout"]}
            if "timeout" in serving.extensions
            else {},
        )

    def _accept(self, response: httpx.Response, *, why: str) -> str:
        """Read the token endpoint's answer, cache the token, and return it."""
        status = response.status_code
        if status in (400, 401):
            raise CredentialsRejected(CREDENTIALS_REJECTED, status_code=status)
        if not 200 <= status < 300:
            raise_for_response(response, retry_after=self._retry_after_429(), scrub=self.scrub)
        try:
            grant = AccessToken.model_validate(json_body(response))
        except ValidationError:
            raise CredentialsRejected(CREDENTIALS_REJECTED, status_code=status) from None
        token = grant.access_token.get_secret_value()
        margin = min(RENEW_BEFORE_EXPIRY, grant.expires_in / 2)
        now = self._clock()
        cached = {"access_token": token, "renew_at": now + grant.expires_in - margin}
        self._store.set(self.cache_key, self._seal.seal(json.dumps(cached)), ttl=grant.expires_in)
        # Never the token, nor any part of it: the account and the timing are enough.
        _log.info(
            "Fetched a Snov.io access token for account %s (%s); valid for %d s",
            self._api_user_id,
            why,
            grant.expires_in,
        )
        return token

    def _renew(
        self, serving: httpx.Request, *, stale: str | None, why: str
    ) -> Generator[httpx.Request, httpx.Response, str]:
        """A token newer than ``stale``: another thread's fresh one, or a new one."""
        with _renewal_lock(self.cache_key):
            cached = self._cached()
            if cached is not None and cached.token != stale and self._fresh(cached):
                return cached.token
            response = yield self._token_request(serving)
            return self._accept(response, why=why)

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        cached = self._cached(ahead=True)  # a renewal reads the store again, under its lock
        if cached is not None and self._fresh(cached):
            token = cached.token
        else:
            why = "none cached" if cached is None else "renewed before the cached one expires"
            token = yield from self._renew(request, stale=None, why=why)
        self._last_token = token
        request.headers["Authorization"] = f"Bearer {token}"
        response = yield request
        if response.status_code != httpx.codes.UNAUTHORIZED:
            return
        token = yield from self._renew(request, stale=token, why="renewed after a 401")
        self._last_token = token
        request.headers["Authorization"] = f"Bearer {token}"
        response = yield request
        if response.status_code == httpx.codes.UNAUTHORIZED:
            _log.warning(
                "Snov.io answered 401 to a fresh access token for account %s; the cached"
                " token is dropped",
                self._api_user_id,
            )
            self.forget()
