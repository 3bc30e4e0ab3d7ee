"""Snov.io access tokens: fetched with the API keys, cached in the host's store, sent as Bearer.

Snov.io has no refresh token: a token (valid ``expires_in`` seconds, 3600 in practice) is
requested with the API user ID and secret. It is cached in the store under a digest of
*both* keys, so a token never vouches for a different secret, and renewed when less than
five minutes of it remain, or once when Snov.io answers 401 (the request is then sent
again once; a second 401 drops the cached token). One renewal at a time per process:
threads that wait for it reuse the fresh token.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
from collections.abc import Callable, Generator
from dataclasses import dataclass

import httpx
from pydantic import SecretStr, ValidationError

from fortytwomin_snov.contract.store import Store
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
        self._last_token: str | None = None  # only to scrub it from error messages

    def __repr__(self) -> str:
        return f"SnovAuth(api_user_id={self._api_user_id!r})"

    def scrub(self, text: str) -> str:
        """``text`` with the secret and the last token sent replaced by a placeholder."""
        for secret in (self._api_secret.get_secret_value(), self._last_token):
            if secret:
                text = text.replace(secret, "[redacted]")
        return text

    def forget(self) -> None:
        """Drop the cached token."""
        self._store.delete(self.cache_key)

    def _cached(self) -> _CachedToken | None:
        raw = self._store.get(self.cache_key)
        if raw is None:
            return None
        try:
            data = json.loads(raw)
            return _CachedToken(token=str(data["access_token"]), renew_at=float(data["renew_at"]))
        except (ValueError, TypeError, KeyError):
            return None

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
        self._store.set(self.cache_key, json.dumps(cached), ttl=grant.expires_in)
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
        cached = self._cached()
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
