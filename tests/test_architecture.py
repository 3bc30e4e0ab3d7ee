"""The import contracts in pyproject.toml (run by ``lint-imports`` in .ci/run) name every
module of the package: a module added later falls under the layer rules at once, or this
test says which list it is missing from."""

from __future__ import annotations

import pkgutil
import tomllib
from pathlib import Path
from typing import Any

import pytest

import fortytwomin_snov

PYPROJECT = Path(__file__).resolve().parents[1] / "pyproject.toml"
PACKAGE = "fortytwomin_snov"
HOST_SIDE = {"contract", "stores", "host"}
"""What the 42min host owns; everything else is the Snov.io plugin and its emulator."""
EMULATOR = "testing"
CLIENT = "snov"
REFERENCE_HOST_EXTRAS = {"commands", "demo"}
"""The plugin's additions to the reference host's CLI (demo, emulator): they use that host."""


def contracts() -> dict[str, dict[str, Any]]:
    config = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))["tool"]["importlinter"]
    return {contract["id"]: contract for contract in config["contracts"]}


def top_level() -> set[str]:
    return {module.name for module in pkgutil.iter_modules(fortytwomin_snov.__path__)}


def plugin() -> set[str]:
    return top_level() - HOST_SIDE - {EMULATOR}


def names(modules: list[str]) -> set[str]:
    assert all(module.startswith(f"{PACKAGE}.") for module in modules)
    return {module.removeprefix(f"{PACKAGE}.") for module in modules}


@pytest.mark.parametrize(
    ("contract", "key", "expected"),
    [
        ("contract", "forbidden_modules", lambda: top_level() - {"contract"}),
        ("stores", "forbidden_modules", lambda: top_level() - {"stores", "contract"}),
        ("client", "forbidden_modules", lambda: top_level() - {CLIENT, "contract"}),
        ("plugin", "source_modules", lambda: plugin() - REFERENCE_HOST_EXTRAS),
        ("host", "forbidden_modules", lambda: plugin() | {EMULATOR}),
        ("emulator", "forbidden_modules", lambda: plugin() - {CLIENT} | {"host"}),
    ],
)
def test_each_import_contract_names_every_module_it_should(
    contract: str, key: str, expected: Any
) -> None:
    listed = names(contracts()[contract][key])
    wanted = expected()
    assert listed == wanted, {"missing": wanted - listed, "not a module": listed - wanted}


def test_the_package_has_the_layers_the_readme_describes() -> None:
    assert HOST_SIDE | {EMULATOR, CLIENT, "hooks", "rules", "sync"} <= top_level()
