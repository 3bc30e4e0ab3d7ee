"""Running the admin pages: uvicorn on 127.0.0.1, a queue worker beside it, and the demo.

:func:`serve` is what ``fortytwomin-snov serve`` runs, in the foreground until Ctrl-C:
it builds the front end if needed, opens the host's database (or, with ``demo``, runs
the integration's demo on a temporary database through the ``demo_session`` hook its
plugin implements: connected, settings saved, some events synced, so every page has
something to show), serves :func:`~fortytwomin_snov.host.web.create_app` and works the queue in a
background thread, so a replay from the Sync log page runs without another command. Once
the server is up it prints a one-time sign-in link for the first owner (the demo makes
one, :data:`DEMO_OWNER`), or says how to add an owner.

:class:`AdminServer` runs an app in a background thread on an ephemeral port, for tests.
"""

from __future__ import annotations

import contextlib
import socket
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import cast

import uvicorn
from starlette.types import ASGIApp

from fortytwomin_snov.host import users
from fortytwomin_snov.host.errors import HostError
from fortytwomin_snov.host.reference import ReferenceHost
from fortytwomin_snov.host.web import create_app
from fortytwomin_snov.host.web_frontend import default_frontend_root, ensure_built

HOST = "127.0.0.1"
DEFAULT_PORT = 8042
WORKER_POLL_INTERVAL = 0.5
"""Longest wait of the background worker before it notices a job queued by a page."""

DEMO_OWNER = "demo-owner@example.com"
"""The owner ``serve --demo`` signs in."""

Echo = Callable[[str], None]


class _Server(uvicorn.Server):
    """uvicorn's server, telling us once it accepts connections."""

    def __init__(self, config: uvicorn.Config, on_ready: Callable[[], None]) -> None:
        super().__init__(config)
        self._on_ready = on_ready

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=sockets)
        self._on_ready()


def _bind(port: int) -> socket.socket:
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        listener.bind((HOST, port))
    except OSError as error:
        listener.close()
        raise HostError(
            f"Cannot listen on {HOST}:{port} ({error.strerror or error}): pick another --port"
        ) from None
    return listener


class AdminServer:
    """``app`` served on ``127.0.0.1:port`` (``port=0``: any free port), or on a
    ``listener`` already bound.

    A context manager running uvicorn in a background thread (:meth:`start`,
    :meth:`stop`), or :meth:`serve` in the foreground until Ctrl-C.
    """

    def __init__(
        self, app: ASGIApp, *, port: int = 0, listener: socket.socket | None = None
    ) -> None:
        self._app = app
        self._listener = listener if listener is not None else _bind(port)
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:<port>``, without a trailing slash."""
        port: int = self._listener.getsockname()[1]
        return f"http://{HOST}:{port}"

    def _make_server(self, on_ready: Callable[[], None]) -> _Server:
        config = uvicorn.Config(self._app, log_level="warning", access_log=False, lifespan="off")
        self._server = _Server(config, on_ready=on_ready)
        return self._server

    def start(self, *, timeout: float = 10.0) -> None:
        server = self._make_server(self._ready.set)
        self._thread = threading.Thread(
            target=server.run,
            kwargs={"sockets": [self._listener]},
            name="admin-pages",
            daemon=True,
        )
        self._thread.start()
        if not self._ready.wait(timeout):
            self.stop()
            raise HostError(f"The admin pages did not start within {timeout:.0f} s")

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        self._listener.close()

    def serve(self, on_ready: Callable[[str], None] | None = None) -> None:
        """Serve in the foreground until Ctrl-C or SIGTERM; ``on_ready`` gets the base URL
        once connections are accepted."""
        server = self._make_server(lambda: on_ready(self.base_url) if on_ready else None)
        try:
            server.run(sockets=[self._listener])
        except KeyboardInterrupt:
            pass  # uvicorn shut down cleanly, then passed the Ctrl-C on
        finally:
            self._listener.close()

    def __enter__(self) -> AdminServer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


class QueueWorker:
    """Works a host database's queue in a background thread until stopped.

    It opens its own :class:`ReferenceHost` on the file, as a worker in another process
    would, so the pages' requests never wait for a sync.
    """

    def __init__(
        self,
        database: str | Path,
        *,
        poll_interval: float = WORKER_POLL_INTERVAL,
        on_error: Echo | None = None,
        store: str | None = None,
    ) -> None:
        self._database = database
        self._store = store
        self._poll_interval = poll_interval
        self._on_error = on_error
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _run(self) -> None:
        try:
            with ReferenceHost(self._database, store=self._store) as host:
                host.work(stop=self._stop, poll_interval=self._poll_interval)
        except Exception as error:  # noqa: BLE001 - the pages stay up; the admin is told
            if self._on_error is not None:
                self._on_error(f"The queue worker stopped: {error}")

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="queue-worker", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def __enter__(self) -> QueueWorker:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()


def run_demo_session(host: ReferenceHost, echo: Echo) -> contextlib.AbstractContextManager[None]:
    """The demo of ``host``'s integration, from its plugin's ``demo_session`` hook;
    HostError if the plugin offers none."""
    session = host.plugin_manager.hook.demo_session(
        integration=host.integration, host=host, echo=echo
    )
    if session is None:
        raise HostError(f"The {host.display_name} plugin offers no demo")
    return cast("contextlib.AbstractContextManager[None]", session)


def serve(
    database: str | Path | None = None,
    *,
    port: int = DEFAULT_PORT,
    demo: bool = False,
    integration: str | None = None,
    worker: bool = True,
    frontend: Path | None = None,
    echo: Echo | None = None,
    store: str | None = None,
) -> None:
    """Serve the admin pages on 127.0.0.1 until Ctrl-C (see the module documentation).

    ``database``: the host's file or PostgreSQL URL (None: the default file; with ``demo``,
    a temporary one). ``store``: the plugins' shared store (None: in the database).
    ``integration``: whose demo ``demo`` runs (None: the only installed one); the pages
    serve every installed integration.
    ``worker``: also work the queue in the background. ``frontend``: the front end's
    folder (default: ``frontend/`` of this checkout), built first if needed.
    """
    echo = echo or _print
    dist = ensure_built(frontend or default_frontend_root(), echo=echo)
    with contextlib.ExitStack() as stack:
        # The port first: a port in use fails at once, before the demo runs.
        listener = stack.enter_context(contextlib.closing(_bind(port)))
        if demo:
            temporary = database is None
            if database is None:
                folder = stack.enter_context(
                    tempfile.TemporaryDirectory(prefix="fortytwomin-snov-")
                )
                database = Path(folder) / "host.db"
            host = stack.enter_context(ReferenceHost(database, store=store))
            shown = host.for_integration(integration or host.integration)
            stack.enter_context(run_demo_session(shown, echo))
            echo(f"Database: {host.database.shown}" + (" (temporary)" if temporary else ""))
        else:
            host = stack.enter_context(ReferenceHost(database, store=store))
            echo(f"Database: {host.database.shown}")
        server = AdminServer(create_app(host, dist, demo=demo), listener=listener)
        if worker:
            stack.enter_context(QueueWorker(host.location, on_error=echo, store=store))

        if demo and not any(user.role == "owner" for user in users.list_users(host.database)):
            users.add_user(host.database, DEMO_OWNER, "owner", now=time.time())

        def ready(url: str) -> None:
            echo(f"The admin pages are at {url}/integrations (Ctrl-C to stop).")
            echo(sign_in_line(host, url))

        server.serve(on_ready=ready)
    echo("Stopped.")


def sign_in_line(host: ReferenceHost, url: str) -> str:
    """A one-time sign-in link for the host's first owner, or how to add an owner."""
    owner = users.first_owner(host.database)
    where = f" --db {host.database.shown}"
    if owner is None:
        return (
            "Nobody can sign in yet: add an owner with `fortytwomin-snov users add EMAIL"
            f" --role owner{where}`, then get a sign-in link with `fortytwomin-snov users"
            f" login EMAIL --url {url}{where}`."
        )
    link = users.issue_link(host.database, owner.email, url, now=time.time())
    minutes = int(users.LINK_LIFETIME // 60)
    return f"Sign in as {owner.email} (this link works once, within {minutes} minutes): {link}"


def _print(line: str) -> None:
    print(line, flush=True)
