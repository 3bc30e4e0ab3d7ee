"""A local Snov.io API emulator, for tests, demos and benchmarks (never used by the plugin).

- :class:`EmulatorState` holds the emulated accounts and the controls: seeding, revoking
  credentials, expiring tokens, injecting faults, reading every request received.
- :class:`EmulatorServer` serves it over HTTP on 127.0.0.1 (Starlette under uvicorn);
  :func:`create_app` gives the bare ASGI app.
- :class:`EmulatorOptions` switches the behaviours the Snov.io reference leaves unconfirmed.
- The ``snov_emulator`` pytest fixture (:class:`SnovEmulator`) comes from
  :mod:`fortytwomin_snov.testing.pytest_plugin`, loaded by pytest automatically.

Names load on first use, so importing this package costs nothing and needs neither
Starlette nor uvicorn until a server is asked for.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .app import create_app
    from .clock import Clock, ManualClock
    from .demo import DEMO_CREDENTIALS, seed_demo
    from .options import EmulatorOptions, ErrorTexts
    from .pytest_plugin import SnovEmulator
    from .records import (
        Account,
        Campaign,
        Credentials,
        CustomField,
        Enrolment,
        Fault,
        Prospect,
        ProspectFields,
        ProspectList,
        RecordedRequest,
    )
    from .server import EmulatorServer
    from .state import AlreadyExists, EmulatorState, NotFound

_HOMES = {
    "create_app": "app",
    "Clock": "clock",
    "ManualClock": "clock",
    "DEMO_CREDENTIALS": "demo",
    "seed_demo": "demo",
    "EmulatorOptions": "options",
    "ErrorTexts": "options",
    "SnovEmulator": "pytest_plugin",
    "Account": "records",
    "Campaign": "records",
    "Credentials": "records",
    "CustomField": "records",
    "Enrolment": "records",
    "Fault": "records",
    "Prospect": "records",
    "ProspectFields": "records",
    "ProspectList": "records",
    "RecordedRequest": "records",
    "EmulatorServer": "server",
    "AlreadyExists": "state",
    "EmulatorState": "state",
    "NotFound": "state",
}

__all__ = [
    "DEMO_CREDENTIALS",
    "Account",
    "AlreadyExists",
    "Campaign",
    "Clock",
    "Credentials",
    "CustomField",
    "EmulatorOptions",
    "EmulatorServer",
    "EmulatorState",
    "Enrolment",
    "ErrorTexts",
    "Fault",
    "ManualClock",
    "NotFound",
    "Prospect",
    "ProspectFields",
    "ProspectList",
    "RecordedRequest",
    "SnovEmulator",
    "create_app",
    "seed_demo",
]


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{home}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_HOMES])
