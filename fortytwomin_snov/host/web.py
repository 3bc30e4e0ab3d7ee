"""The reference host's admin pages: a Starlette app over :class:`ReferenceHost`.

The pages (Integrations, Connect, Settings, Sync log, Disconnect) are a small React app
in ``frontend/`` that draws every form with react-jsonschema-form from the plugin's own
schemas; this module serves its build (``frontend/dist``, see
:mod:`~fortytwomin_snov.host.web_frontend`) and the JSON API it calls. Running it (a
uvicorn server on 127.0.0.1, the queue worker, the demo) is
:mod:`~fortytwomin_snov.host.web_server`'s job.

JSON API (``{slug}`` is any installed integration's; any other slug is a 404)::

    GET  /api/integrations                   {"demo", "integrations": [card]}: every
                                             installed manifest without its credentials
                                             schema, with "managed" (true: this host
                                             serves every installed integration),
                                             "connected", "settings_saved"
    GET  /api/integrations/{slug}            {"manifest", "status", "demo"}: the manifest
                                             (with its credentials_schema) and
                                             HostStatus.to_json()
    POST /api/integrations/{slug}/connect    {"credentials": {...}, "role": "owner"|"admin"
                                             |"member"} -> {"connection", "saved_at",
                                             "requeued"} (the record without its secret)
    POST /api/integrations/{slug}/disconnect -> {"was_connected"}
    GET  /api/integrations/{slug}/settings   {"form": {"schema", "ui_schema"}, "saved":
                                             {"settings", "warnings", "saved_at"} | null}
    PUT  /api/integrations/{slug}/settings   the settings document -> {"settings",
                                             "warnings", "saved_at", "requeued"}
    POST /api/integrations/{slug}/actions/{action}   params -> the action's result
    GET  /api/integrations/{slug}/log?status=failed&status=...&limit=100
                                             {"entries": [entry], "jobs": {state: count}}:
                                             newest first; each entry with its job's
                                             "job_state" and "replayable" (the job's latest
                                             entry, and the job failed or parked)
    POST /api/integrations/{slug}/replay     {"job_ids": [int]} (or {} for every failed
                                             job) -> {"queued": [int]}

An error is ``{"error": {"type", "message"}}`` (InvalidSettings adds ``"errors"``: each
``{"pointer", "message"}``, the pointer into the submitted document) with status 400 (a
body that is not JSON, bad parameters), 403 (PermissionDenied), 404, 409 (not connected,
or a secret the key cannot open), 415 (a write whose body is not ``application/json``),
422 (InvalidCredentials, InvalidSettings, InvalidRequest), 500 (the host itself failed)
or 502 (the integration's service could not be asked). Messages are the plugin's and the
host's, written for an admin.

The API never sends a secret back: connection records go out without the fields the
manifest's credentials schema marks ``writeOnly``. Writes must be JSON (a cross-site form
cannot send that without a preflight this app never answers), and only ``127.0.0.1`` and
``localhost`` are accepted as the Host header (no DNS rebinding onto the loopback port).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any, cast

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from fortytwomin_snov.contract.errors import (
    IntegrationError,
    InvalidCredentials,
    InvalidRequest,
    InvalidSettings,
    PermissionDenied,
)
from fortytwomin_snov.host.errors import HostError, NotConnected, SecretKeyError
from fortytwomin_snov.host.jobs import STATUSES, LogEntry, Status
from fortytwomin_snov.host.reference import ReferenceHost

ROLES = ("owner", "admin", "member")
LOG_LIMIT = 100
MAX_LOG_LIMIT = 500
ALLOWED_HOSTS = ("127.0.0.1", "localhost")
REPLAYABLE_STATES = frozenset({"failed", "parked"})

Endpoint = Callable[[Request], Awaitable[Response]]


class BadRequest(Exception):
    """The request itself is malformed (400): the message says how."""


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


def _guarded(endpoint: Endpoint) -> Endpoint:
    """Refuse writes that are not JSON; turn the errors an admin can cause into answers."""

    async def guarded(request: Request) -> Response:
        if request.method in ("POST", "PUT"):
            kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
            if kind != "application/json":
                return _error(415, "UnsupportedMediaType", "Send the request body as JSON.")
        try:
            return await endpoint(request)
        except _UnknownIntegration:
            return _error(404, "NotFound", "This host does not manage that integration.")
        except BadRequest as error:
            return _error(400, "BadRequest", str(error))
        except InvalidSettings as error:
            return _error(422, "InvalidSettings", str(error), errors=list(error.errors))
        except IntegrationError as error:
            return _error(_status_of(error), type(error).__name__, str(error))

    return guarded


async def _json_body(request: Request) -> Any:
    try:
        return json.loads(await request.body())
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise BadRequest("The request body is not JSON.") from None


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
        role = body.get("role")
        if role not in ROLES:
            raise BadRequest(f"role is one of {', '.join(ROLES)}.")
        actor = {"id": f"web-{role}", "role": role}
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
        job_ids = body.get("job_ids")
        if job_ids is not None and not (
            isinstance(job_ids, list)
            and all(isinstance(job, int) and not isinstance(job, bool) for job in job_ids)
        ):
            raise BadRequest("job_ids must be a list of job ids.")
        queued = await run_in_threadpool(host.replay, job_ids)
        return JSONResponse({"queued": queued})

    def routes(self) -> list[BaseRoute]:
        base = "/api/integrations/{slug}"

        def route(path: str, endpoint: Endpoint, method: str) -> Route:
            return Route(path, _guarded(endpoint), methods=[method])

        return [
            route("/api/integrations", self.integrations, "GET"),
            route(base, self.integration, "GET"),
            route(f"{base}/connect", self.connect, "POST"),
            route(f"{base}/disconnect", self.disconnect, "POST"),
            route(f"{base}/settings", self.settings, "GET"),
            route(f"{base}/settings", self.save_settings, "PUT"),
            route(f"{base}/actions/{{action}}", self.action, "POST"),
            route(f"{base}/log", self.log, "GET"),
            route(f"{base}/replay", self.replay, "POST"),
        ]


def _limit(text: str | None) -> int:
    if text is None:
        return LOG_LIMIT
    if not text.isdigit() or not 1 <= int(text) <= MAX_LOG_LIMIT:
        raise BadRequest(f"limit is a whole number from 1 to {MAX_LOG_LIMIT}.")
    return int(text)


async def _api_not_found(request: Request) -> Response:
    return _error(404, "NotFound", "No such API endpoint.")


def create_app(host: ReferenceHost, dist: Path, *, demo: bool = False) -> Starlette:
    """The admin pages and their API over ``host``, serving the front end built in ``dist``.

    The caller owns ``host`` (and closes it). ``demo`` only tells the pages that the demo
    keys were printed where the server started.
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
        Route("/api/{rest:path}", _api_not_found, methods=["GET", "POST", "PUT", "DELETE"]),
        Mount("/assets", StaticFiles(directory=dist / "assets"), name="assets"),
        Route("/{path:path}", page, methods=["GET"]),
    ]
    return Starlette(
        routes=routes,
        middleware=[Middleware(TrustedHostMiddleware, allowed_hosts=list(ALLOWED_HOSTS))],
    )
