"""Every hook a plugin can implement (the contract's and the reference host's own) is
exercised by at least one test that calls it by name (``hook.<name>(...)``), as datasette's
``test_plugin_hooks_have_tests`` does: a new hookspec without a test fails here."""

from __future__ import annotations

import ast
import functools
import inspect
from pathlib import Path
from types import ModuleType

import pytest

from fortytwomin_snov.contract import hookspecs
from fortytwomin_snov.host import hookspecs as host_hookspecs

TESTS = Path(__file__).resolve().parent
SPEC_MODULES: tuple[ModuleType, ...] = (hookspecs, host_hookspecs)


def spec_names(module: ModuleType) -> set[str]:
    return {
        name
        for name, function in inspect.getmembers(module, inspect.isfunction)
        if hasattr(function, f"{hookspecs.PROJECT_NAME}_spec")
    }


@functools.cache
def hooks_called_by_tests() -> dict[str, list[str]]:
    """Hook name -> the tests (``file::function``) whose body calls ``….hook.<name>``."""
    called: dict[str, list[str]] = {}
    for path in sorted(TESTS.rglob("test_*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for function in ast.walk(tree):
            if not (isinstance(function, ast.FunctionDef) and function.name.startswith("test_")):
                continue
            for node in ast.walk(function):
                if isinstance(node, ast.Attribute) and _is_hook_relay(node.value):
                    called.setdefault(node.attr, []).append(f"{path.name}::{function.name}")
    return called


def _is_hook_relay(node: ast.expr) -> bool:
    return (isinstance(node, ast.Name) and node.id == "hook") or (
        isinstance(node, ast.Attribute) and node.attr == "hook"
    )


@pytest.mark.parametrize(
    "name", sorted(name for module in SPEC_MODULES for name in spec_names(module))
)
def test_every_hookspec_is_called_by_a_test(name: str) -> None:
    assert hooks_called_by_tests().get(name), f"no test calls hook.{name}(...)"


def test_the_coverage_check_sees_the_hooks_it_should() -> None:
    # The walker itself: it finds this project's known callers, and names nothing that is
    # not a hookspec (a typo such as hook.on_booking_evnt would show up here).
    called = hooks_called_by_tests()
    specs = set().union(*(spec_names(module) for module in SPEC_MODULES))
    assert "on_booking_event" in called
    assert set(called) <= specs, set(called) - specs
