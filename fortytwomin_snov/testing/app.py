"""The emulator's ASGI application: the Snov.io API, and the control API under ``/_emulator/``.

This module does the HTTP work only: it reads and decodes each request, applies an injected
fault, asks :func:`api.answer` for the reply, records the exchange and sends the reply.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.types import Receive, Scope, Send

from .api import Answer, ApiCall, Reply, answer
from .control import PREFIX, control_routes
from .params import parse_form
from .records import BodyEncoding, RecordedRequest
from .state import EmulatorState


def create_app(state: EmulatorState) -> Starlette:
    """The ASGI app serving ``state``; run it under any ASGI server."""
    return Starlette(
        routes=[
            Mount(PREFIX, routes=control_routes(state)),
            Route("/{path:path}", SnovApi(state)),
        ],
        exception_handlers={HTTPException: _http_error},
    )


class SnovApi:
    """Answers every path outside the control prefix the way Snov.io would."""

    def __init__(self, state: EmulatorState) -> None:
        self._state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        arrived = self._state.now()
        epoch = self._state.epoch
        call = await _read_call(Request(scope, receive))
        fault = self._state.take_fault(call.path)
        if fault is not None and fault.kind == "drop":
            self._record(call, arrived, status=None)
            await _drop_connection(send)
            return
        if fault is not None and fault.kind == "delay":
            await asyncio.sleep(fault.seconds)
            if self._state.epoch != epoch:
                # The state was reset meanwhile (the next test began): touch nothing.
                await JSONResponse(None, status_code=503)(scope, receive, send)
                return
        if fault is not None and fault.kind == "server_error":
            body = {"success": False, "errors": self._state.options.texts.server_error}
            outcome = Answer(Reply(fault.status, body))
        else:
            outcome = answer(self._state, call)
        self._record(call, arrived, outcome.reply.status, outcome)
        response = JSONResponse(outcome.reply.body, status_code=outcome.reply.status)
        await response(scope, receive, send)

    def _record(
        self, call: ApiCall, arrived: float, status: int | None, outcome: Answer | None = None
    ) -> None:
        self._state.record(
            RecordedRequest(
                method=call.method,
                path=call.path,
                query=call.query,
                body=call.body,
                encoding=call.encoding,
                status=status,
                at=arrived,
                client_id=outcome.client_id if outcome else None,
                token_source=outcome.token_source if outcome else None,
            )
        )


async def _read_call(request: Request) -> ApiCall:
    raw = await request.body()
    media_type = request.headers.get("content-type", "").partition(";")[0].strip().casefold()
    body: Any = None
    encoding: BodyEncoding | None = None
    malformed = False
    if raw.strip():
        if media_type == "application/json" or media_type.endswith("+json"):
            encoding = "json"
            try:
                body = json.loads(raw)
            except ValueError:
                malformed = True
        else:
            # PHP reads any other body as a urlencoded form (multipart is not emulated).
            encoding = "form"
            body = parse_form(raw.decode("utf-8", errors="replace"))
    return ApiCall(
        method=request.method,
        path=request.url.path,
        query=parse_form(request.url.query),
        body=body,
        encoding=encoding,
        authorization=request.headers.get("authorization"),
        malformed=malformed,
    )


async def _drop_connection(send: Send) -> None:
    # Start a response and return before finishing it: the server then closes the
    # connection, and the client sees it end without a complete response.
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"application/json"), (b"content-length", b"64")],
        }
    )
    await send({"type": "http.response.body", "body": b'{"success":', "more_body": True})


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    return JSONResponse({"error": exc.detail}, status_code=exc.status_code)
