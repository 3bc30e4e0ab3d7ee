"""A :class:`~fortytwomin_snov.contract.store.Store` on a Redis server, shared by the
workers of several machines. Needs the ``redis`` extra (``pip install
'fortytwomin-snov[redis]'``).

Every operation is one Redis command (or one Lua script), so it is atomic on the server;
:meth:`RedisStore.apply` sends a batch as one ``MULTI``/``EXEC`` pipeline, one round trip:
``add`` is ``SET NX PX``, ``set`` is ``SET PX`` (a plain ``SET`` clears an earlier TTL) and
``incr`` with a TTL is a script that sets the expiry only when ``INCRBY`` created the key.
TTLs are sent in milliseconds, rounded up (at least 1 ms), and expire on the server's
clock. Nothing is retried: an operation that fails on the network raises
:class:`~fortytwomin_snov.contract.errors.StoreUnavailable` after at most the socket
timeouts, and is never applied twice.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, cast

import redis
from redis.backoff import NoBackoff
from redis.exceptions import AuthenticationError, RedisError, ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError
from redis.retry import Retry

from fortytwomin_snov.contract.errors import StoreUnavailable
from fortytwomin_snov.contract.store import Add, Delete, Get, Incr, Op, Result, Set

DEFAULT_PREFIX = "fortytwomin:"
DEFAULT_SOCKET_TIMEOUT = 3.0
DEFAULT_SOCKET_CONNECT_TIMEOUT = 3.0

# INCRBY, then PEXPIRE only if this call created the key: a later incr never extends
# (or adds) an expiry. ARGV[2] is the TTL in milliseconds.
_INCR_WITH_TTL = """
local created = redis.call('EXISTS', KEYS[1]) == 0
local total = redis.call('INCRBY', KEYS[1], ARGV[1])
if created then
    redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return total
"""


def _milliseconds(ttl: float) -> int:
    """``ttl`` seconds in whole milliseconds, rounded up, so a tiny TTL is never 0."""
    return max(1, math.ceil(ttl * 1000))


class RedisStore:
    """A :class:`Store` on one Redis server (or a proxy speaking its protocol).

    Make one with :meth:`from_url`. Every key is stored under ``prefix``, so several hosts
    and integrations can share a server. The client owns one connection pool, is thread
    safe, and is closed with :meth:`close`.
    """

    def __init__(self, client: redis.Redis, *, prefix: str = DEFAULT_PREFIX) -> None:
        """Wrap a client made with ``decode_responses=True`` (see :meth:`from_url`)."""
        self._client = client
        self.prefix = prefix
        self._incr_with_ttl = client.register_script(_INCR_WITH_TTL)

    @classmethod
    def from_url(
        cls,
        url: str,
        *,
        prefix: str = DEFAULT_PREFIX,
        socket_timeout: float = DEFAULT_SOCKET_TIMEOUT,
        socket_connect_timeout: float = DEFAULT_SOCKET_CONNECT_TIMEOUT,
    ) -> RedisStore:
        """A store on the server at ``url`` (``redis://[:password@]host:port/db``,
        ``rediss://`` for TLS, ``unix:///path.sock?db=0``), as redis-py reads it.

        No connection is made until the first operation. ``socket_timeout`` bounds every
        command, ``socket_connect_timeout`` every connection attempt (seconds).
        """
        client = redis.Redis.from_url(
            url,
            socket_timeout=socket_timeout,
            socket_connect_timeout=socket_connect_timeout,
            decode_responses=True,
            # Never retried: an incr or add sent twice over a broken connection would count
            # twice. The caller sees StoreUnavailable and decides.
            retry=Retry(NoBackoff(), 0),
        )
        return cls(client, prefix=prefix)

    def __repr__(self) -> str:
        return f"RedisStore({self._where()}, prefix={self.prefix!r})"

    def _where(self) -> str:
        """Where the server is, without user name or password."""
        options = self._client.connection_pool.connection_kwargs
        db = options.get("db", 0)
        if "path" in options:
            return f"unix://{options['path']}?db={db}"
        return f"{options.get('host', 'localhost')}:{options.get('port', 6379)}/{db}"

    def close(self) -> None:
        """Close the connection pool's connections."""
        self._client.close()

    @contextmanager
    def _errors(self) -> Iterator[None]:
        """Turn redis-py's errors into the contract's (never chained: they may describe
        the connection)."""
        try:
            yield
        except ResponseError as error:
            if "not an integer" in str(error):
                raise ValueError("the value is not an integer") from None
            raise self._unavailable("answered with an error") from None
        except AuthenticationError:
            raise self._unavailable("refused the credentials") from None
        except RedisTimeoutError:
            raise self._unavailable("did not answer in time") from None
        except RedisError:
            # Connection refused or dropped, a server still loading, and the like.
            raise self._unavailable("could not be reached") from None

    def _unavailable(self, what: str) -> StoreUnavailable:
        return StoreUnavailable(
            f"The shared store (Redis at {self._where()}) {what}; try again later"
        )

    def get(self, key: str) -> str | None:
        with self._errors():
            value = self._client.get(self.prefix + key)
        return cast("str | None", value)

    def set(self, key: str, value: str, ttl: float | None = None) -> None:
        with self._errors():
            if ttl is None:
                self._client.set(self.prefix + key, value)
            else:
                self._client.set(self.prefix + key, value, px=_milliseconds(ttl))

    def add(self, key: str, value: str, ttl: float | None = None) -> bool:
        px = None if ttl is None else _milliseconds(ttl)
        with self._errors():
            stored = self._client.set(self.prefix + key, value, px=px, nx=True)
        return stored is not None

    def delete(self, key: str) -> None:
        with self._errors():
            self._client.delete(self.prefix + key)

    def incr(self, key: str, amount: int = 1, ttl: float | None = None) -> int:
        name = self.prefix + key
        with self._errors():
            if ttl is None:
                total = self._client.incrby(name, amount)
            else:
                total = self._incr_with_ttl(keys=[name], args=[amount, _milliseconds(ttl)])
        return int(total)

    def apply(self, ops: Sequence[Op]) -> list[Result]:
        # MULTI/EXEC: the server runs the batch with no other client in between. Like any
        # single operation it is never retried (an add sent twice could claim twice).
        with self._errors():
            pipe = self._client.pipeline(transaction=True)
            for op in ops:
                self._queue(pipe, op)
            replies = pipe.execute()
        return [_result(op, reply) for op, reply in zip(ops, replies, strict=True)]

    def _queue(self, pipe: Any, op: Op) -> None:
        name = self.prefix + op.key
        if isinstance(op, Get):
            pipe.get(name)
        elif isinstance(op, Set):
            pipe.set(name, op.value, px=None if op.ttl is None else _milliseconds(op.ttl))
        elif isinstance(op, Add):
            px = None if op.ttl is None else _milliseconds(op.ttl)
            pipe.set(name, op.value, px=px, nx=True)
        elif isinstance(op, Delete):
            pipe.delete(name)
        elif op.ttl is None:
            pipe.incrby(name, op.amount)
        else:
            self._incr_with_ttl(keys=[name], args=[op.amount, _milliseconds(op.ttl)], client=pipe)


def _result(op: Op, reply: Any) -> Result:
    if isinstance(op, Get):
        return cast("str | None", reply)
    if isinstance(op, Add):
        return reply is not None
    if isinstance(op, Incr):
        return int(reply)
    assert isinstance(op, Set | Delete)
    return None
