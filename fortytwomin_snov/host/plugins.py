"""How a host finds integration plugins: a PluginManager with the contract (and this host's
own hooks), loaded from entry points (the real discovery path, never a direct import)."""

from __future__ import annotations

import importlib.metadata
from typing import Any

import pluggy

from fortytwomin_snov.contract import hookspecs
from fortytwomin_snov.host import hookspecs as host_hookspecs
from fortytwomin_snov.host.errors import HostError, PluginNotFound


def load_plugin_manager() -> pluggy.PluginManager:
    """A PluginManager with the contract, the reference host's hooks and every installed
    ``fortytwomin`` plugin."""
    manager = pluggy.PluginManager(hookspecs.PROJECT_NAME)
    manager.add_hookspecs(hookspecs)
    manager.add_hookspecs(host_hookspecs)
    for entry_point in importlib.metadata.entry_points(group=hookspecs.PROJECT_NAME):
        if manager.get_plugin(entry_point.name) is not None:
            continue  # the same distribution seen twice on the path
        try:
            plugin = entry_point.load()
        except Exception as error:  # noqa: BLE001 - any import failure of a third party's code
            raise HostError(
                f"The installed plugin {entry_point.name!r} could not be loaded"
                f" ({type(error).__name__}: {error}): reinstall or remove it"
            ) from None
        manager.register(plugin, name=entry_point.name)
    manager.check_pending()
    return manager


def manifests(manager: pluggy.PluginManager) -> dict[str, dict[str, Any]]:
    """Every installed integration's manifest by slug, in slug order."""
    found: dict[str, dict[str, Any]] = {}
    for manifest in manager.hook.integration_manifest():
        if isinstance(manifest, dict) and isinstance(manifest.get("slug"), str):
            found.setdefault(manifest["slug"], manifest)
    return dict(sorted(found.items()))


def sole_integration(manager: pluggy.PluginManager) -> str:
    """The slug of the only installed integration; HostError when there are none or several."""
    slugs = list(manifests(manager))
    if len(slugs) == 1:
        return slugs[0]
    if not slugs:
        raise PluginNotFound(
            "No integration is installed: install a plugin (its entry point group is"
            f" '{hookspecs.PROJECT_NAME}')"
        )
    raise HostError(
        f"Several integrations are installed ({', '.join(slugs)}): name one with --integration"
    )
