"""The environment variables the Snov.io client reads when it is built.

Plain names with no imports, so the emulator's pytest plugin and the benchmarks can name
them without loading the client.
"""

from typing import Final

BASE_URL_ENV: Final = "FORTYTWOMIN_SNOV_API_BASE"
"""The Snov.io API address (``https://api.snov.io`` when unset): the emulator's, in tests."""

RATE_LIMIT_ENV: Final = "FORTYTWOMIN_SNOV_RATE_LIMIT"
"""Requests per ``rate_window`` (a minute by default) when the client is given no rate_limit:
the emulator and some hosts run with another limit, and hooks build clients without one."""

TIMEOUT_ENV: Final = "FORTYTWOMIN_SNOV_TIMEOUT"
"""Seconds to wait for Snov.io's answer (connecting takes at most 5 of them)."""
