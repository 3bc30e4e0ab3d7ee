"""Write N booking events as JSON Lines, for timing ``fortytwomin-snov send`` on a big file.

python benchmarks/send_events.py 100000 > events.jsonl
/usr/bin/time -v fortytwomin-snov send events.jsonl --db bench.db
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime, timedelta


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    start = datetime(2025, 3, 14, 9, 0, tzinfo=UTC)
    out = sys.stdout
    for number in range(1, count + 1):
        moment = (start + timedelta(seconds=number)).strftime("%Y-%m-%dT%H:%M:%SZ")
        event = {
            "id": f"evt-{number}",
            "type": "booking.created",
            "occurred_at": moment,
            "booking": {
                "uid": f"bk-{number}",
                "start": "2025-03-20T15:00:00+01:00",
                "end": "2025-03-20T15:30:00+01:00",
                "timezone": "Europe/Berlin",
                "event_type": {"id": "et_intro30", "title": "Intro call"},
                "invitee": {"email": f"person{number}@example.com", "name": f"Person {number}"},
                "answers": {"company": f"Company {number % 100}"},
            },
        }
        out.write(json.dumps(event, separators=(",", ":")) + "\n")


if __name__ == "__main__":
    main()
