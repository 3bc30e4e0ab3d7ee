"""The package's build backend: setuptools, with the admin pages built and packaged first.

``pyproject.toml`` names this module (``backend-path = ["frontend"]``). Before a wheel or an
sdist is built, :func:`stage_pages` makes ``fortytwomin_snov/host/admin-pages/`` (git-ignored,
declared as package data) a copy of the front end built by Vite into ``frontend/dist``,
running ``npm ci`` when ``node_modules`` is missing or older than ``package-lock.json`` and
``npm run build`` when ``frontend/dist`` is missing or older than the sources. Nothing is
run when the packaged pages are already newer than every source, and nothing at all when
there are no front-end sources but packaged pages: a wheel built from the sdist (which
carries the built pages and this file) needs no Node.js. Every other hook, the editable
ones included, is setuptools' own, unchanged: an editable install builds the front end on
demand (``fortytwomin_snov/host/web_frontend.py``).

This file runs in the build's environment, where the package itself is not importable:
it uses the standard library and setuptools only.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from setuptools import build_meta as _setuptools
from setuptools.build_meta import (
    build_editable,
    get_requires_for_build_editable,
    get_requires_for_build_sdist,
    get_requires_for_build_wheel,
    prepare_metadata_for_build_editable,
    prepare_metadata_for_build_wheel,
)

__all__ = [
    "build_editable",
    "build_sdist",
    "build_wheel",
    "get_requires_for_build_editable",
    "get_requires_for_build_sdist",
    "get_requires_for_build_wheel",
    "prepare_metadata_for_build_editable",
    "prepare_metadata_for_build_wheel",
]

FRONTEND = Path(__file__).resolve().parent
PROJECT = FRONTEND.parent
PAGES = PROJECT / "fortytwomin_snov" / "host" / "admin-pages"
"""The packaged pages: package data of ``fortytwomin_snov.host``."""
SOURCES = ("package.json", "package-lock.json", "vite.config.js", "index.html", "src", "public")
"""What the Vite build reads, under ``frontend/`` (the same list as web_frontend.SOURCES)."""
NPM_MISSING = (
    "The admin pages' front end must be built, and npm is not installed: install"
    " Node.js 20.19 or newer with npm, or run `npm ci && npm run build` in frontend/"
)
"""The one message when npm is needed and missing (web_frontend says the same)."""
SDIST_MANIFEST = """\
# Written by frontend/build_backend.py for the sdist only: the front end's sources and the
# backend itself travel with the built pages.
include frontend/build_backend.py frontend/package.json frontend/package-lock.json
include frontend/vite.config.js frontend/index.html
graft frontend/src
graft fortytwomin_snov/host/admin-pages
"""


def _files(path: Path) -> Iterator[Path]:
    if path.is_file():
        yield path
    elif path.is_dir():
        yield from (child for child in path.rglob("*") if child.is_file())


def _newest_source() -> float:
    return max(
        (found.stat().st_mtime for name in SOURCES for found in _files(FRONTEND / name)),
        default=0.0,
    )


def _older_than_sources(built: Path) -> bool:
    return not built.is_file() or built.stat().st_mtime < _newest_source()


def _npm(*args: str) -> None:
    npm = shutil.which("npm")
    if npm is None:
        raise SystemExit(NPM_MISSING)
    print(f"npm {' '.join(args)} in {FRONTEND}", file=sys.stderr)
    # A fixed program and arguments, in the project's own folder; npm's output goes to the
    # build's log. Its stdout goes to stderr: a PEP 517 frontend may read this process's stdout.
    result = subprocess.run([npm, *args], cwd=FRONTEND, stdout=sys.stderr, check=False)  # noqa: S603
    if result.returncode != 0:
        raise SystemExit(f"npm {' '.join(args)} failed in {FRONTEND} (exit {result.returncode})")


def stage_pages() -> Path:
    """Build the front end if needed and copy it into the package; the packaged folder."""
    index = PAGES / "index.html"
    if not (FRONTEND / "package.json").is_file():
        if index.is_file():
            return PAGES
        raise SystemExit(
            f"Neither the front end's sources ({FRONTEND / 'package.json'}) nor built pages"
            f" ({index}) are here: build from a checkout of the repository or from its sdist"
        )
    if not _older_than_sources(index):
        return PAGES
    installed = FRONTEND / "node_modules" / ".package-lock.json"
    lock = FRONTEND / "package-lock.json"
    if not installed.is_file() or installed.stat().st_mtime < lock.stat().st_mtime:
        _npm("ci", "--no-audit", "--no-fund")
    dist = FRONTEND / "dist"
    if _older_than_sources(dist / "index.html"):
        _npm("run", "build")
    shutil.rmtree(PAGES, ignore_errors=True)
    shutil.copytree(dist, PAGES)
    # setuptools copies build/lib whole into the wheel: a previous build's assets (other
    # hashed names) must not ride along.
    shutil.rmtree(PROJECT / "build" / "lib" / "fortytwomin_snov" / "host" / "admin-pages", True)
    return PAGES


def build_wheel(
    wheel_directory: str,
    config_settings: dict[str, Any] | None = None,
    metadata_directory: str | None = None,
) -> str:
    """setuptools' wheel, with the built pages inside (see the module documentation)."""
    stage_pages()
    return _setuptools.build_wheel(wheel_directory, config_settings, metadata_directory)


def build_sdist(sdist_directory: str, config_settings: dict[str, Any] | None = None) -> str:
    """setuptools' sdist, with the built pages, the front end's sources and this backend."""
    stage_pages()
    manifest = PROJECT / "MANIFEST.in"
    if manifest.exists():
        # An unpacked sdist: its MANIFEST.in is the one written below.
        return _setuptools.build_sdist(sdist_directory, config_settings)
    manifest.write_text(SDIST_MANIFEST, encoding="utf-8")
    try:
        return _setuptools.build_sdist(sdist_directory, config_settings)
    finally:
        os.remove(manifest)
