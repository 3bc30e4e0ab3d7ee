"""Host work benchmark: what the reference host itself spends per job (claim, snapshot,
record) when the plugin costs nothing, so that only the host's queue is measured.

Run from the repository root::

    .venv/bin/python benchmarks/host_work.py
    .venv/bin/python benchmarks/host_work.py --events 50 --runs 20

A plugin written against the contract alone answers every event of a batch ``synced`` at
once, through ``on_booking_events``. Each run queues ``--events`` events of the burst
workload (``workload.py``: about 20 % further events for people seen) on a fresh SQLite
file and times ``work(until_empty=True)`` (``--batch`` people a batch): wall and CPU
(``time.process_time``) per job, the median and the best run; and the transactions and
other statements the host ran on its connection per job (the same in every run).
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any, cast

import pluggy
from burst import print_rows
from workload import ADMIN, BENCHMARKS, machine, make_workload

from fortytwomin_snov.contract import hookspecs
from fortytwomin_snov.contract.hookspecs import hookimpl
from fortytwomin_snov.host.reference import ReferenceHost

SLUG = "instant"


class InstantPlugin:
    """An integration whose every sync succeeds at once."""

    @hookimpl
    def integration_manifest(self) -> dict[str, Any]:
        return {
            "slug": SLUG,
            "name": "Instant",
            "category": "crm",
            "auth": "api_key",
            "admin_only": True,
            "description": "Answers every event synced, at once.",
            "credentials_schema": {
                "type": "object",
                "properties": {"token": {"type": "string", "writeOnly": True}},
                "required": ["token"],
            },
        }

    @hookimpl
    def connect(self, integration: str, credentials: dict[str, Any]) -> dict[str, Any] | None:
        return dict(credentials) if integration == SLUG else None

    @hookimpl
    def validate_settings(
        self, integration: str, settings: dict[str, Any]
    ) -> dict[str, Any] | None:
        return {"settings": settings, "warnings": []} if integration == SLUG else None

    @hookimpl
    def on_booking_events(
        self, integration: str, events: list[dict[str, Any]]
    ) -> list[dict[str, Any]] | None:
        if integration != SLUG:
            return None
        return [
            {
                "event_id": event["id"],
                "event_type": event["type"],
                "status": "synced",
                "reason": "instant",
                "message": "Synced at once.",
            }
            for event in events
        ]


def one_run(
    events: list[dict[str, Any]], batch: int, folder: Path
) -> tuple[float, float, Counter[str]]:
    """Wall and CPU seconds of one ``work(until_empty=True)`` over ``events``, and the
    statements it ran on the host's connection (``BEGIN``, ``COMMIT`` and the others)."""
    manager = pluggy.PluginManager(hookspecs.PROJECT_NAME)
    manager.add_hookspecs(hookspecs)
    manager.register(InstantPlugin(), name=SLUG)
    database = folder / f"host-{time.monotonic_ns()}.db"
    with ReferenceHost(
        database, integration=SLUG, plugin_manager=manager, batch_size=batch, environ={}
    ) as host:
        host.connect({"token": "t"}, ADMIN)
        host.save_settings({})
        host.enqueue_many(events)
        statements: Counter[str] = Counter()
        connection = cast(sqlite3.Connection, host.database._db)  # counted, never changed
        connection.set_trace_callback(lambda sql: statements.update([_kind(sql)]))
        wall, cpu = time.perf_counter(), time.process_time()
        summary = host.work(until_empty=True)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        connection.set_trace_callback(None)
        assert summary.statuses["synced"] == len(events), summary
    return wall, cpu, statements


def _kind(sql: str) -> str:
    word = sql.split(None, 1)[0].upper() if sql.strip() else ""
    return word if word in ("BEGIN", "COMMIT") else "other"


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--events", type=int, default=50, help="events queued per run")
    parser.add_argument("--runs", type=int, default=20, help="runs, each on a fresh file")
    parser.add_argument("--batch", type=int, default=20, help="people per batch")
    parser.add_argument("--seed", type=int, default=42, help="the workload's random seed")
    parser.add_argument("--out", type=Path, default=None, help="JSON result file")
    args = parser.parse_args()
    started = machine()
    events = make_workload(args.events, seed=args.seed).events
    walls: list[float] = []
    cpus: list[float] = []
    with tempfile.TemporaryDirectory() as folder:
        one_run(events, args.batch, Path(folder))  # warm-up: imports, schema, caches
        for _ in range(args.runs):
            wall, cpu, statements = one_run(events, args.batch, Path(folder))
            walls.append(wall)
            cpus.append(cpu)
    per_job = {
        "wall_ms_median": statistics.median(walls) * 1e3 / args.events,
        "wall_ms_best": min(walls) * 1e3 / args.events,
        "cpu_ms_median": statistics.median(cpus) * 1e3 / args.events,
        "cpu_ms_best": min(cpus) * 1e3 / args.events,
        # The same in every run: the last one's.
        "transactions": statements["BEGIN"] / args.events,
        "statements": statements["other"] / args.events,
    }
    print_rows(
        [
            ("per job", "median", "best"),
            (
                "wall (ms)",
                f"{per_job['wall_ms_median']:.3f}",
                f"{per_job['wall_ms_best']:.3f}",
            ),
            ("CPU (ms)", f"{per_job['cpu_ms_median']:.3f}", f"{per_job['cpu_ms_best']:.3f}"),
            ("transactions", f"{per_job['transactions']:.2f}", ""),
            ("other statements", f"{per_job['statements']:.2f}", ""),
        ]
    )
    out = args.out or BENCHMARKS / "results" / f"host-work-events{args.events}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    document = {
        "command": " ".join([".venv/bin/python", "benchmarks/host_work.py", *sys.argv[1:]]),
        "machine": started,
        "parameters": vars(args) | {"out": str(out)},
        "per_job": {name: round(value, 4) for name, value in per_job.items()},
        "runs_wall_s": [round(value, 5) for value in walls],
        "runs_cpu_s": [round(value, 5) for value in cpus],
    }
    out.write_text(json.dumps(document, indent=2) + "\n")
    print(f"\nresults: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
