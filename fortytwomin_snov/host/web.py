"""The reference host's admin pages: a Starlette app over :class:`ReferenceHost`.

The pages (Integrations, Connect, Settings, Sync log, Disconnect) are a small React app
in ``frontend/`` that draws every form with react-jsonschema-form from the plugin's own
schemas; this module serves its build (``frontend/dist``, see
:mod:`~fortytwomin_snov.host.web_frontend`) and the JSON API it calls. Running it (a
uvicorn server on 127.0.0.1, the queue worker, the demo) is
:mod:`~fortytwomin_snov.host.web_server`'s job.

Signing in (see :mod:`fortytwomin_snov.host.users`)::

    GET  /auth/sign-in?token=...&next=/path  a one-time link from `users login` or `serve`:
                                             signs the browser in (a new session) and
                                             redirects to ``next`` (a path of this site;
                                             default /integrations). A link used already,
                                             expired or unknown, or a ``next`` elsewhere,
                                             is a 400 page.

The session is a signed cookie (HttpOnly, SameSite=Strict, 12 hours) naming the user; its
signing key is derived from the host's secret key. Every request re-reads the user, so a
removed user's session stops at once and a changed role applies at once.

JSON API (``{slug}`` is any installed integration's; any other slug is a 404). Every
endpoint needs a signed-in user (401 otherwise); those marked * change something and need
an owner or an admin (403 for a member), a same-origin request (an ``Origin`` of this
site, or ``Sec-Fetch-Site: same-origin``) and the session's CSRF token in
``X-CSRF-Token`` (403 otherwise)::

    GET  /api/me                             {"user": {"id", "email", "role"},
                                             "may_change", "csrf_token"}
    POST /api/sign-out                       (same origin and CSRF token) -> {"signed_out"}
    GET  /api/integrations                   {"demo", "integrations": [card]}: every
                                             installed manifest without its credentials
                                             schema, with "managed" (true: this host
                                             serves every installed integration),
                                             "connected", "settings_saved"
    GET  /api/integrations/{slug}            {"manifest", "status", "demo"}: the manifest
                                             (with its credentials_schema) and
                                             HostStatus.to_json()
    POST /api/integrations/{slug}/connect *  {"credentials": {...}} -> {"connection",
                                             "saved_at", "requeued"} (the record without
                                             its secret); the actor is the signed-in user
    POST /api/integrations/{slug}/disconnect *   -> {"was_connected"}
    GET  /api/integrations/{slug}/settings   {"form": {"schema", "ui_schema"}, "saved":
                                             {"settings", "warnings", "saved_at"} | null}
    PUT  /api/integrations/{slug}/settings * the settings document -> {"settings",
                                             "warnings", "saved_at", "requeued"}
    POST /api/integrations/{slug}/actions/{action} *  params -> the action's result
    GET  /api/integrations/{slug}/log?status=failed&status=...&limit=100
                                             {"entries": [entry], "jobs": {state: count}}:
                                             newest first; each entry with its job's
                                             "job_state" and "replayable" (the job's latest
                                             entry, and the job failed or parked)
    POST /api/integrations/{slug}/replay *   {"job_ids": [int]} (or {} for every failed
                                             job) -> {"queued": [int]}

An error is ``{"error": {"type", "message"}}`` (InvalidSettings adds ``"errors"``: each
``{"pointer", "message"}``, the pointer into the submitted document) with status 400 (a
body that is not JSON or nested too deeply, bad parameters, numbers out of range), 401
(not signed in), 403 (a member changing something, PermissionDenied, another origin, a
missing or wrong CSRF token), 404, 409 (not connected, or a secret the key cannot open),
413 (a body over 1 MiB), 415 (a write whose body is not ``application/json``), 422
(InvalidCredentials, InvalidSettings, InvalidRequest), 500 (the host itself failed) or 502
(the integration's service could not be asked). Messages are the plugin's and the host's,
written for an admin.

The API never sends a secret back: connection records go out without the fields the
manifest's credentials schema marks ``writeOnly``. Only ``127.0.0.1`` and ``localhost``
are accepted as the Host header (no DNS rebinding onto the loopback port). Every response
forbids framing (``X-Frame-Options: DENY``, CSP ``frame-ancestors 'none'``) and runs only
this site's own scripts (CSP ``script-src 'self'``).

It stays one module (about 620 lines): the routes, the sign-in checks every route passes
through and the JSON shapes the pages read are one API, documented above in one place.
"""

from __future__ import annotations

import hmac
import html
import json
import logging
import re
import secrets
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any, Literal, cast

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import MutableHeaders
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from fortytwomin_snov.contract.errors import (
    IntegrationError,
    InvalidCredentials,
    InvalidRequest,
    InvalidSettings,
    PermissionDenied,
)
from fortytwomin_snov.host import users
from fortytwomin_snov.host.errors import HostError, NotConnected, SecretKeyError
from fortytwomin_snov.host.jobs import STATUSES, LogEntry, Status
from fortytwomin_snov.host.reference import ReferenceHost

LOG_LIMIT = 100
MAX_LOG_LIMIT = 500
MAX_JOB_ID = 2**63 - 1
"""SQLite's largest integer: a bigger job id cannot name a job."""
MAX_JOB_IDS = 1000
MAX_BODY = 1024 * 1024
MAX_JSON_DEPTH = 32
"""Deeper JSON is refused before a plugin sees it: no document of the contract comes near."""
ALLOWED_HOSTS = ("127.0.0.1", "localhost")
REPLAYABLE_STATES = frozenset({"failed", "parked"})

SESSION_COOKIE = "fortytwomin_session"
SESSION_MAX_AGE = 12 * 60 * 60
SESSION_KEY_PURPOSE = "fortytwomin-snov admin pages session cookie v1"
CSRF_HEADER = "X-CSRF-Token"
WRITES = frozenset({"POST", "PUT", "DELETE", "PATCH"})

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:;"
    " connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self';"
    " frame-ancestors 'none'"
)
SECURITY_HEADERS = (
    ("Content-Security-Policy", CONTENT_SECURITY_POLICY),
    ("X-Frame-Options", "DENY"),
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "same-origin"),
)

Endpoint = Callable[[Request], Awaitable[Response]]
Access = Literal["user", "change"]
Clock = Callable[[], float]

_log = logging.getLogger(__name__)


class BadRequest(Exception):
    """The request itself is malformed (400): the message says how."""


class _Refused(Exception):
    """The request may not be answered: ``status`` (401, 403, 413), a type and a message."""

    def __init__(self, status: int, kind: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.kind = kind


def _error(status: int, kind: str, message: str, **extra: Any) -> JSONResponse:
    return JSONResponse({"error": {"type": kind, "message": message, **extra}}, status_code=status)


def _status_of(error: IntegrationError) -> int:
    if isinstance(error, PermissionDenied):
        return 403
    if isinstance(error, NotConnected | SecretKeyError):
        return 409
    if isinstance(error, InvalidCredentials | InvalidSettings | InvalidRequest):
        return 422
    if isinstance(error, HostError):
        return 500
    return 502  # the service could not be asked (unreachable, limiting, failing)


class _UnknownIntegration(Exception):
    """A slug this host does not manage (404)."""


class SecurityHeaders:
    """Adds :data:`SECURITY_HEADERS` to every response (pages, assets, API, errors), and
    keeps API answers and sign-in pages out of every cache."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        private = str(scope.get("path", "")).startswith(("/api/", "/auth/"))

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in SECURITY_HEADERS:
                    headers[name] = value
                if private:
                    headers["Cache-Control"] = "no-store"
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _same_origin(request: Request) -> bool:
    """Whether a write comes from a page of this site: its ``Origin`` is ours, or (a
    browser that sends none) ``Sec-Fetch-Site`` says same-origin."""
    origin = request.headers.get("origin")
    if origin is not None:
        return origin == f"{request.url.scheme}://{request.headers.get('host', '')}"
    return request.headers.get("sec-fetch-site") == "same-origin"


def _csrf_matches(request: Request) -> bool:
    expected = request.session.get("csrf")
    given = request.headers.get(CSRF_HEADER)
    if not isinstance(expected, str) or not given:
        return False
    return hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))


async def _signed_in(request: Request, database: Any) -> users.User:
    """The session's user, re-read from the database: 401 without one (or once removed)."""
    user_id = request.session.get("uid")
    user = (
        await run_in_threadpool(users.user_by_id, database, user_id)
        if isinstance(user_id, int) and not isinstance(user_id, bool)
        else None
    )
    if user is None:
        request.session.clear()
        raise _Refused(
            401,
            "NotSignedIn",
            "Sign in first: run `fortytwomin-snov users login EMAIL` and open the link it prints.",
        )
    return user


def _check_write(request: Request, user: users.User, access: Access) -> None:
    """A write: same origin, the session's CSRF token, and (to change) an owner or admin."""
    if not _same_origin(request):
        raise _Refused(403, "Forbidden", "This request did not come from the admin pages.")
    if not _csrf_matches(request):
        raise _Refused(
            403, "Forbidden", "The request's CSRF token is missing or wrong: reload the page."
        )
    if access == "change" and not user.may_change:
        raise _Refused(
            403,
            "PermissionDenied",
            "Only owners and admins can connect, disconnect, change settings, run actions or"
            f" replay jobs: you are signed in as a {user.role}.",
        )
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind != "application/json":
        raise _Refused(415, "UnsupportedMediaType", "Send the request body as JSON.")


def _guarded(endpoint: Endpoint, database: Any, access: Access) -> Endpoint:
    """Sign-in, origin, CSRF and role checks first; then the errors a user can cause
    become answers."""

    async def guarded(request: Request) -> Response:
        try:
            user = await _signed_in(request, database)
            if request.method in WRITES:
                _check_write(request, user, access)
            request.state.user = user
            return await endpoint(request)
        except _Refused as refused:
            return _error(refused.status, refused.kind, str(refused))
        except _UnknownIntegration:
            return _error(404, "NotFound", "This host does not manage that integration.")
        except BadRequest as error:
            return _error(400, "BadRequest", str(error))
        except RecursionError:
            return _error(400, "BadRequest", "The request is nested too deeply.")
        except InvalidSettings as error:
            return _error(422, "InvalidSettings", str(error), errors=list(error.errors))
        except IntegrationError as error:
            return _error(_status_of(error), type(error).__name__, str(error))
        except Exception as error:  # noqa: BLE001 - an answer, not a traceback page
            # The type alone: a message might carry what the request held.
            _log.error("%s %s failed: %s", request.method, request.url.path, type(error).__name__)
            return _error(500, "HostFailed", "The host failed to answer: see its log.")

    return guarded


def _reject_constant(name: str) -> Any:
    raise BadRequest(f"The request body is not JSON ({name} is not a JSON number).")


def _too_deep(value: Any, limit: int) -> bool:
    # Iterative, so that checking the depth cannot itself recurse too deeply.
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            if depth > limit:
                return True
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children)
    return False


async def _json_body(request: Request) -> Any:
    body = bytearray()
    async for chunk in request.stream():
        body.extend(chunk)
        if len(body) > MAX_BODY:
            raise _Refused(413, "TooLarge", f"The request body is over {MAX_BODY} bytes.")
    try:
        value = json.loads(bytes(body), parse_constant=_reject_constant)
    except RecursionError:
        raise BadRequest(
            f"The request body is nested too deeply (at most {MAX_JSON_DEPTH} levels)."
        ) from None
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise BadRequest("The request body is not JSON.") from None
    if _too_deep(value, MAX_JSON_DEPTH):
        raise BadRequest(
            f"The request body is nested too deeply (at most {MAX_JSON_DEPTH} levels)."
        )
    return value


def _object(value: Any, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise BadRequest(f"{what} must be a JSON object.")
    return value


def _card(manifest: dict[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in manifest.items() if name != "credentials_schema"}


def _entry_json(entry: LogEntry, job_state: str | None, latest: bool) -> dict[str, Any]:
    document = entry.to_json()
    document.pop("outcome", None)
    document.pop("integration", None)
    document["job_state"] = job_state
    document["latest"] = latest
    document["replayable"] = latest and job_state in REPLAYABLE_STATES
    return document


def _job_ids(value: Any) -> list[int] | None:
    if value is None:
        return None
    if not (
        isinstance(value, list)
        and all(isinstance(job, int) and not isinstance(job, bool) for job in value)
    ):
        raise BadRequest("job_ids must be a list of job ids.")
    if len(value) > MAX_JOB_IDS:
        raise BadRequest(f"job_ids names at most {MAX_JOB_IDS} jobs at once.")
    if any(not 1 <= job <= MAX_JOB_ID for job in value):
        raise BadRequest(f"A job id is a whole number from 1 to {MAX_JOB_ID}.")
    return list(value)


class AdminApi:
    """The JSON API's endpoints over one host (see the module documentation)."""

    def __init__(self, host: ReferenceHost, *, demo: bool = False) -> None:
        self.host = host
        self.demo = demo

    def _host(self, request: Request) -> ReferenceHost:
        """The host for the request's integration (404 unless it is installed)."""
        slug = request.path_params["slug"]
        if slug not in self.host.installed():
            raise _UnknownIntegration
        return self.host.for_integration(slug)

    # ---- who is signed in ----------------------------------------------------------------

    async def me(self, request: Request) -> Response:
        user: users.User = request.state.user
        csrf = request.session.get("csrf")
        if not isinstance(csrf, str):
            csrf = request.session["csrf"] = secrets.token_urlsafe(32)
        return JSONResponse(
            {"user": user.to_json(), "may_change": user.may_change, "csrf_token": csrf}
        )

    async def sign_out(self, request: Request) -> Response:
        request.session.clear()
        return JSONResponse({"signed_out": True})

    # ---- reading ------------------------------------------------------------------------

    def _integrations(self) -> dict[str, Any]:
        cards: list[dict[str, Any]] = []
        for slug, manifest in self.host.installed().items():
            status = self.host.for_integration(slug).status()
            cards.append(
                {
                    **_card(manifest),
                    "managed": True,
                    "connected": status.connected,
                    "settings_saved": status.settings_saved,
                }
            )
        return {"demo": self.demo, "integrations": cards}

    async def integrations(self, request: Request) -> Response:
        return JSONResponse(await run_in_threadpool(self._integrations))

    async def integration(self, request: Request) -> Response:
        host = self._host(request)

        def read() -> dict[str, Any]:
            return {
                "manifest": host.manifest(),
                "status": host.status().to_json(),
                "demo": self.demo,
            }

        return JSONResponse(await run_in_threadpool(read))

    async def settings(self, request: Request) -> Response:
        host = self._host(request)

        def read() -> dict[str, Any]:
            form = host.settings_schema()
            saved = host.saved_settings()
            return {
                "form": form,
                "saved": None
                if saved is None
                else {
                    "settings": saved.settings,
                    "warnings": saved.warnings,
                    "saved_at": saved.to_json()["saved_at"],
                },
            }

        return JSONResponse(await run_in_threadpool(read))

    async def log(self, request: Request) -> Response:
        host = self._host(request)
        statuses = request.query_params.getlist("status")
        unknown = [status for status in statuses if status not in STATUSES]
        if unknown:
            raise BadRequest(f"status is one of {', '.join(STATUSES)}, not {unknown[0]!r}.")
        limit = _limit(request.query_params.get("limit"))
        wanted = cast("list[Status]", statuses) or None
        return JSONResponse(await run_in_threadpool(self._log, host, wanted, limit))

    def _log(
        self, host: ReferenceHost, statuses: Sequence[Status] | None, limit: int
    ) -> dict[str, Any]:
        entries = host.sync_log(status=statuses, limit=limit)
        states: dict[int, str | None] = {}
        latest: dict[int, int | None] = {}
        for job_id in {entry.job_id for entry in entries}:
            job = host.job(job_id)
            states[job_id] = None if job is None else job.state
            newest = host.sync_log(job_id=job_id, limit=1)
            latest[job_id] = newest[0].id if newest else None
        return {
            "entries": [
                _entry_json(entry, states[entry.job_id], latest[entry.job_id] == entry.id)
                for entry in entries
            ],
            "jobs": dict(host.job_counts()),
        }

    # ---- writing ------------------------------------------------------------------------

    async def connect(self, request: Request) -> Response:
        host = self._host(request)
        body = _object(await _json_body(request), "The request")
        credentials = _object(body.get("credentials"), "credentials")
        # Who connects is the signed-in user, never something the request says.
        user: users.User = request.state.user
        actor = {"id": user.email, "role": user.role}
        connected = await run_in_threadpool(host.connect, credentials, actor)
        return JSONResponse(connected.to_json())

    async def disconnect(self, request: Request) -> Response:
        host = self._host(request)
        was_connected = await run_in_threadpool(host.disconnect)
        return JSONResponse({"was_connected": was_connected})

    async def save_settings(self, request: Request) -> Response:
        host = self._host(request)
        document = _object(await _json_body(request), "The settings")
        saved = await run_in_threadpool(host.save_settings, document)
        return JSONResponse(saved.to_json())

    async def action(self, request: Request) -> Response:
        host = self._host(request)
        params = await _json_body(request)
        name = request.path_params["action"]
        result = await run_in_threadpool(host.run_settings_action, name, params)
        return JSONResponse(result)

    async def replay(self, request: Request) -> Response:
        host = self._host(request)
        body = _object(await _json_body(request), "The request")
        job_ids = _job_ids(body.get("job_ids"))
        queued = await run_in_threadpool(host.replay, job_ids)
        return JSONResponse({"queued": queued})

    def routes(self) -> list[BaseRoute]:
        base = "/api/integrations/{slug}"
        database = self.host.database

        def route(path: str, endpoint: Endpoint, method: str, access: Access = "user") -> Route:
            return Route(path, _guarded(endpoint, database, access), methods=[method])

        return [
            route("/api/me", self.me, "GET"),
            route("/api/sign-out", self.sign_out, "POST"),
            route("/api/integrations", self.integrations, "GET"),
            route(base, self.integration, "GET"),
            route(f"{base}/connect", self.connect, "POST", "change"),
            route(f"{base}/disconnect", self.disconnect, "POST", "change"),
            route(f"{base}/settings", self.settings, "GET"),
            route(f"{base}/settings", self.save_settings, "PUT", "change"),
            route(f"{base}/actions/{{action}}", self.action, "POST", "change"),
            route(f"{base}/log", self.log, "GET"),
            route(f"{base}/replay", self.replay, "POST", "change"),
            Route(
                "/api/{rest:path}",
                _guarded(_api_not_found, database, "user"),
                methods=["GET", "POST", "PUT", "DELETE", "PATCH"],
            ),
        ]


def _limit(text: str | None) -> int:
    if text is None:
        return LOG_LIMIT
    # ASCII digits only: str.isdigit() also takes "²", which int() refuses.
    if re.fullmatch(r"[0-9]{1,4}", text) is None or not 1 <= int(text) <= MAX_LOG_LIMIT:
        raise BadRequest(f"limit is a whole number from 1 to {MAX_LOG_LIMIT}.")
    return int(text)


async def _api_not_found(request: Request) -> Response:
    return _error(404, "NotFound", "No such API endpoint.")


_SIGN_IN_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Sign in · 42min reference host</title></head>
<body><h1>Not signed in</h1><p>{message}</p></body></html>
"""


def _sign_in_refused(message: str) -> HTMLResponse:
    return HTMLResponse(_SIGN_IN_PAGE.format(message=html.escape(message)), status_code=400)


def sign_in_endpoint(database: Any, clock: Clock) -> Endpoint:
    """``GET /auth/sign-in``: redeem a one-time link, start a new session, go to ``next``."""

    async def sign_in(request: Request) -> Response:
        try:
            # The page to open is checked first, so a bad one does not use up the link.
            target = users.safe_next(request.query_params.get("next"))
            user = await run_in_threadpool(
                lambda: users.redeem_link(
                    database, request.query_params.get("token", ""), now=clock()
                )
            )
        except HostError as error:
            return _sign_in_refused(str(error))
        # A new session (and CSRF token): nothing of a session from before carries over.
        request.session.clear()
        request.session.update({"uid": user.id, "csrf": secrets.token_urlsafe(32)})
        return RedirectResponse(target, status_code=303)

    return sign_in


def create_app(
    host: ReferenceHost, dist: Path, *, demo: bool = False, clock: Clock = time.time
) -> Starlette:
    """The admin pages and their API over ``host``, serving the front end built in ``dist``.

    The caller owns ``host`` (and closes it). ``demo`` only tells the pages that the demo
    keys were printed where the server started. ``clock`` decides when sign-in links expire.
    The session cookie is signed with a key derived from the host's secret key (made if
    absent), so sessions last across restarts and end when the key changes.
    """
    index = dist / "index.html"
    if not index.is_file():
        raise FileNotFoundError(f"The admin pages are not built: {index} is missing")

    async def page(request: Request) -> Response:
        # Every page is the one React app, which reads its path; never cached, so a new
        # build is picked up on reload.
        return FileResponse(index, headers={"Cache-Control": "no-cache"})

    api = AdminApi(host, demo=demo)
    routes: list[BaseRoute] = [
        *api.routes(),
        Route("/auth/sign-in", sign_in_endpoint(host.database, clock), methods=["GET"]),
        Mount("/assets", StaticFiles(directory=dist / "assets"), name="assets"),
        Route("/{path:path}", page, methods=["GET"]),
    ]
    session_key = host.derived_key(SESSION_KEY_PURPOSE).hex()
    return Starlette(
        routes=routes,
        middleware=[
            Middleware(SecurityHeaders),
            Middleware(TrustedHostMiddleware, allowed_hosts=list(ALLOWED_HOSTS)),
            Middleware(
                SessionMiddleware,
                secret_key=session_key,
                session_cookie=SESSION_COOKIE,
                max_age=SESSION_MAX_AGE,
                same_site="strict",
            ),
        ],
    )
