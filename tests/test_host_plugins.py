"""The reference host's own hooks (``fortytwomin_snov.host.hookspecs``), as the Snov.io plugin
answers them through a real PluginManager loaded from the entry points."""

from __future__ import annotations

from pathlib import Path

import click
import pluggy
import pytest

from fortytwomin_snov.host.plugins import load_plugin_manager
from fortytwomin_snov.host.reference import ReferenceHost


@pytest.fixture
def manager() -> pluggy.PluginManager:
    return load_plugin_manager()


def test_register_commands_adds_the_plugins_demo_and_emulator(
    manager: pluggy.PluginManager,
) -> None:
    group = click.Group("fortytwomin-snov")

    manager.hook.register_commands(cli=group)

    assert {"demo", "emulator"} <= set(group.commands)
    assert group.commands["demo"].help


def test_demo_session_answers_only_for_its_own_slug(
    manager: pluggy.PluginManager, tmp_path: Path
) -> None:
    with ReferenceHost(tmp_path / "host.db", integration="snov") as host:
        assert manager.hook.demo_session(integration="other", host=host, echo=print) is None
        session = manager.hook.demo_session(integration="snov", host=host, echo=print)
    assert session is not None
    assert hasattr(session, "__enter__")
    assert hasattr(session, "__exit__")
