"""The Snov.io API client: the one place in the plugin that talks to Snov.io.

Each request takes a permit from the shared rate limiter, carries a Bearer token from
:class:`~fortytwomin_snov.snov.auth.SnovAuth`, and is retried here, and only here, when
another attempt can help: a failed connection, a 5xx, a 429 (the policy, and the logging
of each retry, are in :mod:`~fortytwomin_snov.snov.retries`). Retries are few and quick;
anything longer is the host queue's business, so the last error is raised as
:class:`RateLimited`, :class:`SnovServerError` or :class:`SnovUnreachable`.

It stays one module (about 510 lines): one class whose endpoints share the request path
(permit, token, retries, scrubbing); splitting them would spread that path out.
"""

from __future__ import annotations

import functools
import importlib.metadata
import ipaddress
import json
import logging
import os
import re
import ssl
import time
from collections.abc import Callable, Mapping, Sequence
from types import TracebackType
from typing import Literal, Self

import httpx
from pydantic import SecretStr, TypeAdapter, ValidationError

from fortytwomin_snov.contract.errors import ConfigurationError, InvalidRequest
from fortytwomin_snov.contract.store import Op, Result, Store
from fortytwomin_snov.snov import retries
from fortytwomin_snov.snov.auth import TOKEN_PATH, SnovAuth
from fortytwomin_snov.snov.environment import BASE_URL_ENV, RATE_LIMIT_ENV, TIMEOUT_ENV
from fortytwomin_snov.snov.errors import (
    CustomFieldNotFound,
    SnovError,
    SnovRejected,
    SnovServerError,
)
from fortytwomin_snov.snov.limiter import RateLimiter
from fortytwomin_snov.snov.models import (
    AddProspectReply,
    AddProspectResult,
    Balance,
    BalanceReply,
    Campaign,
    CreateListReply,
    CustomField,
    ProspectFields,
    ProspectList,
    ProspectProfile,
    ProspectsReply,
)
from fortytwomin_snov.snov.responses import (
    DEFAULT_RETRY_AFTER,
    parse_reply,
    raise_for_response,
    reply_envelope,
    transport_error,
)

_log = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://api.snov.io"
DEFAULT_RATE_LIMIT = 60
"""Snov.io's own limit, per minute, used when ``$FORTYTWOMIN_SNOV_RATE_LIMIT`` is unset."""
DEFAULT_TIMEOUT = httpx.Timeout(15.0, connect=5.0)

BALANCE = "/v1/get-balance"
LISTS = "/v1/get-user-lists"
CREATE_LIST = "/v1/lists"
ADD_PROSPECT = "/v1/add-prospect-to-list"
CUSTOM_FIELDS = "/v1/prospect-custom-fields"
CAMPAIGNS = "/v1/get-user-campaigns"
PROSPECTS_BY_EMAIL = "/v1/get-prospects-by-email"
CHANGE_RECIPIENT_STATUS = "/v1/change-recipient-status"

RecipientStatus = Literal["Active", "Paused", "Unsubscribed"]
"""The statuses ``change-recipient-status`` sets (Snov.io's own spelling)."""

_ALREADY_IN_LIST = re.compile(
    r"same\s+email\s+already\s+exists|already\s+exists\s+in\s+(?:your|this|the)\s+list",
    re.IGNORECASE,
)
_PROSPECT_NOT_FOUND = re.compile(r"not\s+found|does\s*n[o']?t\s+exist|not\s+exist", re.IGNORECASE)

_JSON_BODY = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False)
"""Encodes a request body as httpx encodes ``json=``; built once, where ``json.dumps`` with
these arguments builds one per call."""

_BALANCE = TypeAdapter(BalanceReply)
_LISTS = TypeAdapter(list[ProspectList])
_NEW_LIST = TypeAdapter(CreateListReply)
_ADDED = TypeAdapter(AddProspectReply)
_CUSTOM_FIELDS = TypeAdapter(list[CustomField])
_CAMPAIGNS = TypeAdapter(list[Campaign])
_PROSPECTS = TypeAdapter(ProspectsReply)


class _NoCookies(httpx.Cookies):
    """A cookie jar that keeps nothing: the API authenticates with a Bearer token, and
    reading every response's headers for cookies cost about 20 µs per request."""

    def extract_cookies(self, response: httpx.Response) -> None:
        return


class _Http(httpx.Client):
    """The pooled ``httpx.Client`` of one :class:`SnovClient`, without a cookie jar."""

    @property
    def cookies(self) -> httpx.Cookies:
        return _NO_COOKIES

    @cookies.setter
    def cookies(self, cookies: object) -> None:
        return  # httpx sets an empty jar while it builds the client


_NO_COOKIES = _NoCookies()


class SnovClient:
    """A Snov.io account, reached with its API user ID and API secret.

    ``store`` is the host's shared store: it holds the access token and the rate budget,
    so every client on every worker that shares it stays within Snov.io's limit together.
    ``rate_limit`` (requests per ``rate_window``) defaults to ``$FORTYTWOMIN_SNOV_RATE_LIMIT``,
    read when the client is built, or else 60.
    """

    def __init__(
        self,
        api_user_id: str,
        api_secret: SecretStr | str,
        *,
        store: Store,
        base_url: str | None = None,
        timeout: float | httpx.Timeout | None = None,
        rate_limit: int | None = None,
        rate_window: float = 60.0,
        max_wait: float = 2.0,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.api_user_id = api_user_id
        secret = api_secret if isinstance(api_secret, SecretStr) else SecretStr(api_secret)
        base = base_url or os.environ.get(BASE_URL_ENV, "").strip() or DEFAULT_BASE_URL
        self._limiter = RateLimiter(
            store,
            api_user_id,
            limit=rate_limit_from_environment() if rate_limit is None else rate_limit,
            window=rate_window,
            max_wait=max_wait,
            clock=clock,
            sleep=sleep,
        )
        headers = {"User-Agent": user_agent(), "Accept": "application/json"}
        try:
            self._http = _Http(
                base_url=base,
                timeout=_timeout_from_environment() if timeout is None else timeout,
                headers=headers,
                transport=transport,
                verify=_tls_context(),
                follow_redirects=False,
                event_hooks={"request": [self._before_send], "response": [self._after_receive]},
            )
        except httpx.InvalidURL:
            raise ConfigurationError(f"Not a usable Snov.io API address: {base!r}") from None
        _refuse_plain_http(self._http.base_url, named=BASE_URL_ENV if base_url is None else None)
        self._auth = SnovAuth(
            api_user_id,
            secret,
            store=store,
            token_url=self._http.base_url.join(TOKEN_PATH.lstrip("/")),
            headers=headers,
            clock=clock,
            retry_after_429=self._retry_after_429,
        )
        self._http.auth = self._auth
        # What httpx's build_request would merge again for every request, merged once.
        self._urls: dict[str, httpx.URL] = {}
        self._json_headers = httpx.Headers(self._http.headers)
        self._json_headers["Content-Type"] = "application/json"
        self._timeout = self._http.timeout.as_dict()
        retries.log_retries_here()

    def __repr__(self) -> str:
        return f"SnovClient(api_user_id={self.api_user_id!r}, base_url={self.base_url!r})"

    # ---- store reads and writes ahead of a request ---------------------------------------

    def ahead_ops(self) -> list[Op]:
        """What the next request of this context will need from the store (its rate-limit
        ticket, the cached token), for a caller to run in a round trip it makes anyway. The
        results go to :meth:`take_ahead`."""
        return [self._limiter.ticket_op(), self._auth.token_op()]

    def take_ahead(self, results: Sequence[Result], writes: Callable[[], list[Op]]) -> bool:
        """The next request of this context (thread or task) uses ``results`` (what
        :meth:`ahead_ops` answered) instead of its own round trips; until :meth:`end_ahead`,
        each request also writes ``writes()`` in the round trip that takes its permit, before
        it leaves (see "Drawn ahead" in :mod:`~fortytwomin_snov.snov.limiter`). False, and
        nothing taken, when the results are not what a store answers: then the requests read
        and draw for themselves, and write nothing for the caller."""
        counter, sealed = results
        if not isinstance(counter, int) or not (sealed is None or isinstance(sealed, str)):
            return False
        self._limiter.draw_ahead(counter, writes)
        self._auth.read_ahead(sealed)
        return True

    def end_ahead(self) -> list[Op]:
        """End what :meth:`take_ahead` started in this context. Returns the operations that
        give back a rate-limit ticket no request used, for the caller's next round trip."""
        self._auth.end_read_ahead()
        return self._limiter.end_ahead()

    @property
    def base_url(self) -> str:
        return str(self._http.base_url).rstrip("/")

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    # ---- plumbing -------------------------------------------------------------------

    def _before_send(self, request: httpx.Request) -> None:
        # Every request that leaves counts: token requests and retries included.
        self._limiter.acquire()

    def _after_receive(self, response: httpx.Response) -> None:
        if response.status_code == httpx.codes.TOO_MANY_REQUESTS:
            pause = self._limiter.note_throttled()
            _log.warning(
                "Snov.io answered 429 to %s %s for account %s: every worker pauses %.2f s",
                response.request.method,
                response.request.url.path,
                self.api_user_id,
                pause,
            )

    def _retry_after_429(self) -> float:
        return self._limiter.next_turn_in()

    def _scrub(self, error: SnovError) -> SnovError:
        """Make sure no secret or token Snov.io might echo reaches an error message."""
        error.message = self._auth.scrub(error.message)
        error.args = (error.message,)
        if isinstance(error, SnovRejected):
            error.snov_message = self._auth.scrub(error.snov_message)
        if isinstance(error, CustomFieldNotFound):
            error.labels = [self._auth.scrub(label) for label in error.labels]
        return error

    def _exchange(
        self,
        method: str,
        path: str,
        body: Mapping[str, object] | None,
        *,
        list_id: int | None,
        custom_field_labels: Sequence[str],
        form: bool = False,
    ) -> object:
        where = f"{method} {path}"
        failure: SnovError | None = None
        try:
            if form:
                response = self._http.request(method, path, data=body)
            else:
                response = self._http.send(self._json_request(method, path, body))
        except httpx.HTTPError as exc:
            # Raised outside the handler: httpx's exception (which holds the request and
            # its Authorization header) must not ride along as __context__.
            failure = transport_error(exc, where=where)
        if failure is not None:
            raise failure
        # The suggested wait costs a store read: only a 429 needs it.
        throttled = response.status_code == httpx.codes.TOO_MANY_REQUESTS
        return raise_for_response(
            response,
            list_id=list_id,
            custom_field_labels=custom_field_labels,
            retry_after=self._retry_after_429() if throttled else DEFAULT_RETRY_AFTER,
            scrub=self._auth.scrub,
        )

    def _json_request(
        self, method: str, path: str, body: Mapping[str, object] | None
    ) -> httpx.Request:
        """The request ``self._http.request(method, path, json=body)`` would send, built
        from the client's URL, headers and timeout merged once: httpx merges them anew for
        every request, which cost about a third of its CPU per request."""
        url = self._urls.get(path)
        if url is None:
            url = self._urls[path] = self._http.base_url.join(path.lstrip("/"))
        if body is None:
            return httpx.Request(
                method, url, headers=self._http.headers, extensions={"timeout": self._timeout}
            )
        content = _JSON_BODY.encode(body).encode()
        return httpx.Request(
            method,
            url,
            content=content,
            headers=self._json_headers,
            extensions={"timeout": self._timeout},  # a dict per request: httpx may add to it
        )

    def _call(
        self,
        method: str,
        path: str,
        body: Mapping[str, object] | None = None,
        *,
        list_id: int | None = None,
        custom_field_labels: Sequence[str] = (),
        idempotent: bool = True,
        form: bool = False,
    ) -> object:
        """Send one request, with bounded retries; the decoded body of the successful reply.

        ``form``: send ``body`` form-encoded instead of as JSON."""
        try:
            return retries.call(
                functools.partial(
                    self._exchange,
                    method,
                    path,
                    body,
                    list_id=list_id,
                    custom_field_labels=custom_field_labels,
                    form=form,
                ),
                where=f"{method} {path}",
                scrub=self._auth.scrub,
                idempotent=idempotent,
            )
        except SnovError as error:
            raise self._scrub(error) from None

    # ---- endpoints ------------------------------------------------------------------

    def balance(self) -> Balance:
        """The account balance; also the cheapest way to check that the keys work."""
        body = self._call("GET", BALANCE)
        return parse_reply(_BALANCE, body, where=f"GET {BALANCE}").data

    def lists(self) -> list[ProspectList]:
        """The account's prospect lists, without the deleted ones Snov.io also returns."""
        body = self._call("GET", LISTS)
        return [
            item for item in parse_reply(_LISTS, body, where=f"GET {LISTS}") if not item.deleted
        ]

    def create_list(self, name: str) -> ProspectList:
        """Create a prospect list. Not retried after it may have reached Snov.io."""
        name = name.strip()
        if not name:
            raise InvalidRequest("A Snov.io list needs a name")
        body = self._call("POST", CREATE_LIST, {"name": name}, idempotent=False)
        reply = parse_reply(_NEW_LIST, reply_envelope(body), where=f"POST {CREATE_LIST}")
        if reply.list_id is None:
            raise SnovServerError(
                f"Snov.io answered POST {CREATE_LIST} without the new list's id", status_code=200
            )
        return ProspectList(id=reply.list_id, name=reply.list_name or name)

    def add_prospect(
        self,
        list_id: int,
        fields: ProspectFields | Mapping[str, object],
        *,
        update_contact: bool = False,
        create_duplicates: bool = False,
    ) -> AddProspectResult:
        """Add a prospect to a list.

        Check ``added``: Snov.io answers 200 with ``added: false`` when the email already
        sits in another list (it updates that profile, which stays where it is). Use
        ``create_duplicates`` to put such a person into this list too. An email already in
        *this* list comes back as ``already_in_list``, not as an error.
        """
        if update_contact and create_duplicates:
            raise InvalidRequest(
                "Snov.io cannot both update the existing prospect and create a duplicate:"
                " choose update_contact or create_duplicates, not both"
            )
        prospect = fields if isinstance(fields, ProspectFields) else _prospect_fields(fields)
        body: dict[str, object] = {"listId": list_id, **prospect.to_api()}
        if update_contact:
            body["updateContact"] = True
        if create_duplicates:
            body["createDuplicates"] = True
        try:
            reply = self._call(
                "POST",
                ADD_PROSPECT,
                body,
                list_id=list_id,
                custom_field_labels=list(prospect.custom_fields or {}),
                # A createDuplicates add that failed with a 5xx may have made its profile
                # already; sent again it could make a second one, so only the sync's own
                # retry (which looks the person up first) repeats it.
                idempotent=not create_duplicates,
            )
        except SnovRejected as rejected:
            if _ALREADY_IN_LIST.search(rejected.snov_message):
                return AddProspectResult(
                    prospect_id=None, added=False, updated=False, already_in_list=True
                )
            raise
        added = parse_reply(_ADDED, reply, where=f"POST {ADD_PROSPECT}")
        return AddProspectResult(prospect_id=added.id, added=added.added, updated=added.updated)

    def custom_fields(self) -> list[CustomField]:
        """The account's prospect custom fields; values are written by their label."""
        body = self._call("GET", CUSTOM_FIELDS)
        return parse_reply(_CUSTOM_FIELDS, body, where=f"GET {CUSTOM_FIELDS}")

    def campaigns(self) -> list[Campaign]:
        """The account's campaigns (team campaigns included), each with the list it uses."""
        body = self._call("GET", CAMPAIGNS)
        return parse_reply(_CAMPAIGNS, body, where=f"GET {CAMPAIGNS}")

    def prospects_by_email(self, email: str) -> list[ProspectProfile]:
        """Every profile with this email (one per list it was duplicated into); [] if none."""
        try:
            body = self._call("POST", PROSPECTS_BY_EMAIL, {"email": email})
        except SnovRejected as rejected:
            # Snov.io says "not found" with HTTP 200 and success: false.
            status = rejected.status_code or 0
            if 200 <= status < 300 and (
                not rejected.snov_message or _PROSPECT_NOT_FOUND.search(rejected.snov_message)
            ):
                return []
            raise
        return parse_reply(_PROSPECTS, body, where=f"POST {PROSPECTS_BY_EMAIL}").data

    def change_recipient_status(
        self, email: str, campaign_id: int, status: RecipientStatus
    ) -> None:
        """Set a recipient's status in one campaign (``Active``, ``Paused``, ``Unsubscribed``).

        Sent as a form: Snov.io documents this call with a form body, and whether it reads
        JSON is unconfirmed (``do-not-email-list`` does not). Retried like a read: setting
        the same status twice leaves the recipient as once. A refusal (an unknown campaign,
        an email not in it, a Finished recipient) is raised as :class:`SnovRejected`.
        """
        body = {"email": email, "campaign_id": str(campaign_id), "status": status}
        # Any reply but a refusal (success: false included, raised by _call) means done.
        self._call("POST", CHANGE_RECIPIENT_STATUS, body, form=True)


def rate_limit_from_environment() -> int:
    raw = os.environ.get(RATE_LIMIT_ENV, "").strip()
    if not raw:
        return DEFAULT_RATE_LIMIT
    if not (raw.isascii() and raw.isdigit()) or int(raw) < 1:
        raise ConfigurationError(
            f"{RATE_LIMIT_ENV} must be a positive whole number of requests per minute, not {raw!r}"
        )
    return int(raw)


@functools.cache
def user_agent() -> str:
    """``fortytwomin-snov/<version>``, the installed distribution's version: read from its
    metadata, since this package may import only the contract and itself."""
    try:
        version = importlib.metadata.version("fortytwomin-snov")
    except importlib.metadata.PackageNotFoundError:  # pragma: no cover - run from a checkout
        version = "unknown"
    return f"fortytwomin-snov/{version}"


@functools.cache
def _refuse_plain_http(base: httpx.URL, *, named: str | None) -> None:
    """A plain http:// address is for a local emulator only: anywhere else the secret and
    the token would cross the network unencrypted."""
    if base.scheme != "http":
        return
    host = base.host.rstrip(".").lower()
    if host == "localhost":
        return
    try:
        if ipaddress.ip_address(host).is_loopback:
            return
    except ValueError:
        pass  # a name other than localhost
    where = f" (from {named})" if named else ""
    port = f":{base.port}" if base.port is not None else ""
    raise ConfigurationError(  # the host alone: user info in the address may be a password
        f"The Snov.io API address http://{base.host}{port}{where} is plain http:// on another"
        " machine: the API secret would travel unencrypted. Use https://, or http:// on"
        " 127.0.0.1, ::1 or localhost for a local emulator"
    )


@functools.cache
def _tls_context() -> ssl.SSLContext:
    """One TLS context for every client of the process: loading the CA certificates costs
    about 17 ms, and hooks make a client per event."""
    return httpx.create_ssl_context()


def _timeout_from_environment() -> httpx.Timeout:
    raw = os.environ.get(TIMEOUT_ENV, "").strip()
    if not raw:
        return DEFAULT_TIMEOUT
    try:
        seconds = float(raw)
    except ValueError:
        seconds = 0.0
    if not 0 < seconds < float("inf"):
        raise ConfigurationError(f"{TIMEOUT_ENV} must be a positive number of seconds, not {raw!r}")
    return httpx.Timeout(seconds, connect=min(5.0, seconds))


def _prospect_fields(fields: Mapping[str, object]) -> ProspectFields:
    try:
        return ProspectFields.model_validate(dict(fields))
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in error['loc']) or 'fields'}: {error['msg']}"
            for error in exc.errors(include_url=False, include_input=False)
        )
        raise InvalidRequest(f"The prospect fields are not valid: {problems}") from None
