"""Running the emulator: uvicorn on 127.0.0.1, in a background thread or in the foreground."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable
from types import TracebackType
from typing import Any

import uvicorn
from uvicorn.config import LOGGING_CONFIG

from .app import create_app
from .clock import Clock
from .options import EmulatorOptions
from .state import EmulatorState

HOST = "127.0.0.1"


class _Server(uvicorn.Server):
    """uvicorn's server, telling us once it accepts connections."""

    def __init__(self, config: uvicorn.Config, on_ready: Callable[[], None]) -> None:
        super().__init__(config)
        self._on_ready = on_ready

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=sockets)
        self._on_ready()


class EmulatorServer:
    """The emulator served on ``127.0.0.1:port`` (``port=0``: any free port).

    Use it as a context manager, or call :meth:`start` and :meth:`stop`; :meth:`serve`
    runs it in the foreground until interrupted. Give a ``state`` to serve existing data,
    or ``options`` and ``clock`` to build a fresh one.
    """

    def __init__(
        self,
        state: EmulatorState | None = None,
        *,
        port: int = 0,
        options: EmulatorOptions | None = None,
        clock: Clock | None = None,
        log_level: str = "warning",
        access_log: bool = False,
    ) -> None:
        if state is not None and (options is not None or clock is not None):
            raise TypeError("give either a state, or the options and clock to build one")
        self.state = state or EmulatorState(options, clock=clock or time.time)
        self._requested_port = port
        self._log_level = log_level
        self._access_log = access_log
        self._socket: socket.socket | None = None
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()

    @property
    def port(self) -> int:
        """The port actually bound; only known once the server has started."""
        if self._socket is None:
            raise RuntimeError("the emulator is not running")
        port: int = self._socket.getsockname()[1]
        return port

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:<port>``, without a trailing slash."""
        return f"http://{HOST}:{self.port}"

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self, timeout: float = 10.0) -> EmulatorServer:
        """Serve from a background thread; returns once connections are accepted."""
        if self._thread is not None:
            raise RuntimeError("the emulator is already running")
        server = self._prepare(log_config=None, on_ready=self._ready.set)
        sock = self._bind()
        self._thread = threading.Thread(
            target=self._run_in_thread, args=(server, sock), name="snov-emulator", daemon=True
        )
        self._thread.start()
        if not self._ready.wait(timeout) or not server.started:
            self.stop()
            raise RuntimeError("the Snov.io emulator did not start")
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """Stop serving and wait for the thread; safe to call more than once."""
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout)
        self._thread = None
        self._server = None
        if self._socket is not None:
            self._socket.close()
            self._socket = None
        self._ready.clear()

    def serve(self, on_ready: Callable[[str], None] | None = None) -> None:
        """Serve in this thread until interrupted; ``on_ready(base_url)`` once listening.

        From the main thread, Ctrl+C stops the server gracefully and then raises
        ``KeyboardInterrupt`` as usual.
        """
        if self._thread is not None:
            raise RuntimeError("the emulator is already running")

        def ready() -> None:
            if on_ready is not None:
                on_ready(self.base_url)

        server = self._prepare(log_config=LOGGING_CONFIG, on_ready=ready)
        try:
            server.run(sockets=[self._bind()])
        finally:
            self._server = None
            self._socket = None

    def __enter__(self) -> EmulatorServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        where = self.base_url if self._socket is not None else "not running"
        return f"EmulatorServer({where})"

    def _prepare(self, log_config: dict[str, Any] | None, on_ready: Callable[[], None]) -> _Server:
        config = uvicorn.Config(
            create_app(self.state),
            # None leaves the host program's logging alone (uvicorn's own config rewires it).
            log_config=log_config,
            log_level=self._log_level,
            access_log=self._access_log,
            lifespan="off",
            timeout_graceful_shutdown=1,
        )
        self._server = _Server(config, on_ready=on_ready)
        return self._server

    def _bind(self) -> socket.socket:
        # Binding here, not in uvicorn, tells us the real port when 0 was asked for.
        # IPPROTO_TCP explicitly: asyncio sets TCP_NODELAY on accepted connections only when
        # the listening socket says TCP, and without it each keep-alive reply waits ~40 ms.
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((HOST, self._requested_port))
        except OSError:
            sock.close()
            raise
        self._socket = sock
        return sock

    def _run_in_thread(self, server: _Server, sock: socket.socket) -> None:
        try:
            server.run(sockets=[sock])
        finally:
            # Wakes start() at once should the server fail to come up.
            self._ready.set()
