"""Store round trips per event: what one ``on_booking_event`` asks of ``host.store``.

Run from the repository root::

    .venv/bin/python benchmarks/store_ops.py
    .venv/bin/python benchmarks/store_ops.py --events 50 --redis-url redis://localhost:6379/0

Each store (memory, SQLite, Redis) sits behind a counting wrapper
(:class:`fortytwomin_snov.testing.counting.CountingStore`), which counts operations, writes
and round trips: a batch of operations is one round trip on a store that runs batches
itself, one per operation on one that does not. The network is stubbed as in
``overhead.py``; the access token is fetched by a first event that is not counted, so the
numbers are those of a cached token. Without ``--redis-url`` a throwaway ``redis-server``
is started on a free port.

Cases, per person: a new person (one add), the same person again (one update, as the store
knows them), a cancellation (one status update), and that cancellation delivered twice.
"""

from __future__ import annotations

import argparse
import json
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any

from overhead import CONNECTION, LIST_ID, UNLIMITED, HookHost, stubbed_network
from workload import BENCHMARKS, command_line, environment, machine, settings_document

from fortytwomin_snov.contract.store import MemoryStore, Store
from fortytwomin_snov.host.plugins import load_plugin_manager
from fortytwomin_snov.snov.environment import BASE_URL_ENV, RATE_LIMIT_ENV
from fortytwomin_snov.stores import SqliteStore
from fortytwomin_snov.testing.counting import CountingStore

CASES = ("new person", "known person", "status update", "duplicate")
EXPECTED = {
    "new person": "prospect_added",
    "known person": "prospect_updated",
    "status update": "status_updated",
    "duplicate": "duplicate_event",
}


def _event(kind: str, number: int, event_id: str, at: str) -> dict[str, Any]:
    return {
        "id": event_id,
        "type": kind,
        "occurred_at": at,
        "booking": {
            "uid": f"bk_{number}",
            "start": "2026-12-01T15:00:00+01:00",
            "end": "2026-12-01T15:30:00+01:00",
            "timezone": "Europe/Berlin",
            "invitee": {"email": f"person{number}@example.com", "name": f"Person {number}"},
            "answers": {"company": "Example GmbH"},
        },
    }


def _events(number: int) -> dict[str, dict[str, Any]]:
    cancel = _event("booking.canceled", number, f"cancel-{number}", "2026-11-26T12:00:00Z")
    return {
        "new person": _event("booking.created", number, f"new-{number}", "2026-11-26T10:00:00Z"),
        "known person": _event(
            "booking.created", number, f"again-{number}", "2026-11-26T11:00:00Z"
        ),
        "status update": cancel,
        "duplicate": cancel,
    }


def measure(store: Store, people: int) -> dict[str, dict[str, float]]:
    """Per case: round trips, operations and writes per event (means over ``people``)."""
    manager = load_plugin_manager()
    counting = CountingStore(store)
    host = HookHost(counting)
    settings = settings_document(LIST_ID)

    def call(event: dict[str, Any]) -> str:
        outcome: dict[str, Any] = manager.hook.on_booking_event(
            integration="snov", connection=CONNECTION, settings=settings, event=event, host=host
        )
        return str(outcome["reason"])

    call(_event("booking.created", 0, "warm-up", "2026-11-26T09:00:00Z"))  # fetches the token
    totals = {case: [0, 0, 0] for case in CASES}
    for number in range(1, people + 1):
        for case, event in _events(number).items():
            counting.reset()
            reason = call(event)
            if reason != EXPECTED[case]:
                raise SystemExit(f"{case}: expected {EXPECTED[case]}, got {reason}")
            counts = counting.reset()
            totals[case][0] += counts.round_trips
            totals[case][1] += len(counts.ops)
            totals[case][2] += counts.writes
    return {
        case: {
            "round_trips": trips / people,
            "ops": ops / people,
            "writes": writes / people,
        }
        for case, (trips, ops, writes) in totals.items()
    }


@contextmanager
def throwaway_redis() -> Iterator[str]:
    """A redis-server on a free port of 127.0.0.1, without persistence, for this run."""
    binary = shutil.which("redis-server")
    if binary is None:
        raise SystemExit("redis-server is not installed: pass --redis-url")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with tempfile.TemporaryDirectory(prefix="fortytwomin-redis-") as folder:
        server = subprocess.Popen(  # noqa: S603 - a fixed binary and arguments
            [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--dir", folder],
            stdout=subprocess.DEVNULL,
        )
        try:
            deadline = time.monotonic() + 10
            while True:
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        raise SystemExit("redis-server did not start") from None
                    time.sleep(0.05)
            yield f"redis://127.0.0.1:{port}/0"
        finally:
            server.terminate()
            server.wait(timeout=10)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=(__doc__ or "").split("\n\n")[0].replace("\n", " "),
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--events", type=int, default=20, help="people measured per case")
    parser.add_argument("--redis-url", help="a Redis server to use (a key prefix of its own)")
    parser.add_argument(
        "--out", type=Path, default=BENCHMARKS / "results" / "store-ops.json", help="JSON file"
    )
    args = parser.parse_args(argv)
    started = machine()
    from fortytwomin_snov.stores.redis import RedisStore

    results: dict[str, dict[str, dict[str, float]]] = {}
    with (
        environment({RATE_LIMIT_ENV: str(UNLIMITED), BASE_URL_ENV: "https://api.snov.io"}),
        stubbed_network(),
        tempfile.TemporaryDirectory(prefix="fortytwomin-bench-") as folder,
        nullcontext(args.redis_url) if args.redis_url else throwaway_redis() as url,
    ):
        stores: list[tuple[str, Callable[[], Any]]] = [
            ("memory", MemoryStore),
            ("sqlite", lambda: SqliteStore(Path(folder) / "store.db")),
            ("redis", lambda: RedisStore.from_url(url, prefix=f"bench:{time.time_ns()}:")),
        ]
        for name, make in stores:
            store = make()
            results[name] = measure(store, args.events)
            if hasattr(store, "close"):
                store.close()
    print("store round trips per event (ops, writes), token cached:")
    print(f"{'case':15}" + "".join(f"  {name:>22}" for name in results))
    for case in CASES:
        cells = [
            f"{row[case]['round_trips']:g} ({row[case]['ops']:g} ops, {row[case]['writes']:g} w)"
            for row in results.values()
        ]
        print(f"{case:15}" + "".join(f"  {cell:>22}" for cell in cells))
    document = {
        "command": command_line("store_ops.py", sys.argv[1:]),
        "machine": started,
        "events": args.events,
        "per_event": results,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(document, indent=2) + "\n")
    print(f"\nresults: {args.out.name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
