"""Where the admin pages come from (fortytwomin_snov/host/web_frontend.py): a checkout's
``frontend/`` first, built on demand; else the built pages an installed wheel carries,
served without npm. The folders here are laid out like a checkout or like site-packages.
"""

from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path
from types import ModuleType

import pytest

from fortytwomin_snov.host import web_frontend
from fortytwomin_snov.host.errors import HostError
from fortytwomin_snov.host.web_frontend import (
    NPM_MISSING,
    default_frontend_root,
    ensure_built,
    packaged_pages,
)

ROOT = Path(__file__).resolve().parents[1]


def _package(root: Path, *, checkout: bool, packaged: bool) -> Path:
    """A ``fortytwomin_snov`` folder under ``root``, with a front end beside it or pages in it."""
    package = root / "fortytwomin_snov"
    (package / "host").mkdir(parents=True)
    if checkout:
        (root / "frontend").mkdir()
        (root / "frontend" / "package.json").write_text("{}", encoding="utf-8")
    if packaged:
        (packaged_pages(package) / "assets").mkdir(parents=True)
        (packaged_pages(package) / "index.html").write_text("<html></html>", encoding="utf-8")
    return package


@pytest.fixture
def no_npm(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))


def _backend() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "build_backend", ROOT / "frontend" / "build_backend.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_this_checkout_serves_its_own_frontend_folder() -> None:
    assert default_frontend_root() == ROOT / "frontend"


def test_a_checkout_comes_before_packaged_pages(tmp_path: Path) -> None:
    package = _package(tmp_path, checkout=True, packaged=True)
    assert default_frontend_root(package) == tmp_path / "frontend"


@pytest.mark.usefixtures("no_npm")
def test_an_installed_wheel_serves_its_packaged_pages_without_npm(tmp_path: Path) -> None:
    package = _package(tmp_path / "site-packages", checkout=False, packaged=True)
    root = default_frontend_root(package)
    assert root == package / "host" / "admin-pages"
    assert ensure_built(root) == root


def test_neither_sources_nor_pages_names_what_to_do(tmp_path: Path) -> None:
    package = _package(tmp_path / "site-packages", checkout=False, packaged=False)
    root = default_frontend_root(package)
    assert root == package / "host" / "admin-pages"
    with pytest.raises(HostError, match="neither the front end's sources") as raised:
        ensure_built(root)
    assert str(root) in str(raised.value)
    assert "wheel" in str(raised.value)


@pytest.mark.usefixtures("no_npm")
def test_a_checkout_to_build_without_npm_says_what_is_needed(tmp_path: Path) -> None:
    _package(tmp_path, checkout=True, packaged=False)
    with pytest.raises(HostError) as raised:
        ensure_built(tmp_path / "frontend")
    assert str(raised.value) == NPM_MISSING


def test_the_npm_message_names_what_vite_needs() -> None:
    engines = json.loads((ROOT / "frontend" / "package.json").read_text(encoding="utf-8"))
    (version,) = re.findall(r"\d+\.\d+", engines["engines"]["node"])
    assert f"Node.js {version} or newer with npm" in NPM_MISSING


def test_the_build_backend_agrees_with_the_lookup() -> None:
    backend = _backend()
    assert backend.NPM_MISSING == NPM_MISSING
    assert backend.SOURCES == web_frontend.SOURCES
    assert packaged_pages(web_frontend.package_folder()) == backend.PAGES
