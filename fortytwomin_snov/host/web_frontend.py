"""The admin pages' front end: where its sources are, and building it with npm when needed.

The front end (``frontend/`` in the repository: React and react-jsonschema-form, built by
Vite) is never committed built. :func:`ensure_built` installs its npm packages
(``npm ci``) when ``node_modules`` is missing or older than ``package-lock.json``, and
builds it (``npm run build``) into ``frontend/dist`` when that is missing or older than
any source, so that ``fortytwomin-snov serve`` and the browser tests work on a fresh
clone once Node.js and npm are installed.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

from fortytwomin_snov.host.errors import HostError

SOURCES = ("package.json", "package-lock.json", "vite.config.js", "index.html", "src", "public")
"""What the build reads, under the front end's folder."""
BUILD_TIMEOUT = 600.0
"""Seconds ``npm ci`` or ``npm run build`` may take (a fresh ``npm ci`` downloads)."""


def default_frontend_root() -> Path:
    """``frontend/`` of the checkout this package runs from (an editable install)."""
    return Path(__file__).resolve().parents[2] / "frontend"


def dist_folder(root: Path) -> Path:
    """Where the build goes (git-ignored) and what the web app serves."""
    return root / "dist"


def _files(path: Path) -> Iterator[Path]:
    if path.is_file():
        yield path
    elif path.is_dir():
        yield from (child for child in path.rglob("*") if child.is_file())


def _newest_source(root: Path) -> float:
    return max(
        (found.stat().st_mtime for name in SOURCES for found in _files(root / name)),
        default=0.0,
    )


def needs_install(root: Path) -> bool:
    """Whether ``node_modules`` is missing or older than the lock file."""
    installed = root / "node_modules" / ".package-lock.json"
    lock = root / "package-lock.json"
    return not installed.is_file() or installed.stat().st_mtime < lock.stat().st_mtime


def needs_build(root: Path) -> bool:
    """Whether ``dist/index.html`` is missing or older than any source."""
    built = dist_folder(root) / "index.html"
    return not built.is_file() or built.stat().st_mtime < _newest_source(root)


def ensure_built(root: Path, *, echo: Callable[[str], None] | None = None) -> Path:
    """Install and build the front end if needed; the folder to serve.

    HostError when the sources are missing (an install without the repository), npm is not
    installed, or npm fails (its output ends the message).
    """
    if not (root / "package.json").is_file():
        raise HostError(
            f"The admin pages' front end is not at {root}: run the web app from a checkout of"
            " the repository (its frontend/ folder)"
        )
    if needs_install(root):
        _npm(
            root, ["ci", "--no-audit", "--no-fund"], "Installing the front end's npm packages", echo
        )
    if needs_build(root):
        _npm(root, ["run", "build"], "Building the admin pages' front end", echo)
    return dist_folder(root)


def _npm(root: Path, args: list[str], doing: str, echo: Callable[[str], None] | None) -> None:
    npm = shutil.which("npm")
    if npm is None:
        raise HostError(
            "The admin pages' front end must be built, and npm is not installed: install"
            " Node.js 20 or newer with npm, or run `npm ci && npm run build` in frontend/"
        )
    if echo is not None:
        echo(f"{doing} (npm {' '.join(args)} in {root})...")
    try:
        # A fixed program and arguments, in the repository's own folder.
        result = subprocess.run(  # noqa: S603
            [npm, *args],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=BUILD_TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise HostError(f"npm {' '.join(args)} took longer than {BUILD_TIMEOUT:.0f} s") from None
    if result.returncode != 0:
        output = (result.stderr or result.stdout).strip().splitlines()[-15:]
        raise HostError(f"npm {' '.join(args)} failed in {root}: " + " | ".join(output))
