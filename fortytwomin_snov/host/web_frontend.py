"""The admin pages' front end: where the built pages come from, building them with npm when needed.

The front end (``frontend/`` in the repository: React and react-jsonschema-form, built by
Vite) is never committed built. Where the pages come from, in this order
(:func:`default_frontend_root`):

1. A checkout (an editable install): ``frontend/`` beside the package. :func:`ensure_built`
   installs its npm packages (``npm ci``) when ``node_modules`` is missing or older than
   ``package-lock.json``, and builds it (``npm run build``) into ``frontend/dist`` when that
   is missing or older than any source, so that a developer's edits are what is served.
2. An installed wheel: the built pages it carries, ``fortytwomin_snov/host/admin-pages/``
   (put there by the build backend, ``frontend/build_backend.py``), served as they are:
   no npm.
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


PAGES_FOLDER = "admin-pages"
"""The built pages inside ``fortytwomin_snov/host/`` of a wheel (the build backend's copy)."""
NPM_MISSING = (
    "The admin pages' front end must be built, and npm is not installed: install"
    " Node.js 20.19 or newer with npm, or run `npm ci && npm run build` in frontend/"
)
"""What Vite 8 needs (its ``engines``: ^20.19.0 || >=22.12.0); the build backend says the same."""


def package_folder() -> Path:
    """The ``fortytwomin_snov`` package this module runs from."""
    return Path(__file__).resolve().parents[1]


def checkout_frontend(package: Path) -> Path:
    """``frontend/`` beside ``package``: the front end's sources in a checkout."""
    return package.parent / "frontend"


def packaged_pages(package: Path) -> Path:
    """The built pages a wheel carries inside ``package``."""
    return package / "host" / PAGES_FOLDER


def default_frontend_root(package: Path | None = None) -> Path:
    """Where the pages come from unless told: the module documentation's order.

    ``package``: the ``fortytwomin_snov`` folder (default: the one running). A checkout's
    ``frontend/`` (its ``package.json``) comes first, then the wheel's packaged pages (its
    ``index.html``); with neither, the packaged pages' folder, which :func:`ensure_built`
    reports as missing.
    """
    package = package or package_folder()
    checkout = checkout_frontend(package)
    if (checkout / "package.json").is_file():
        return checkout
    return packaged_pages(package)


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
    """The folder to serve from ``root``: a front end's sources, installed and built if
    needed, or a folder of built pages (``index.html``, as a wheel carries), as it is.

    HostError when ``root`` holds neither, npm is not installed, or npm fails (its output
    ends the message).
    """
    if not (root / "package.json").is_file():
        if (root / "index.html").is_file():
            return root
        raise HostError(
            f"The admin pages are not at {root}: it holds neither the front end's sources"
            " (package.json) nor built pages (index.html). Install fortytwomin-snov from a"
            " wheel (it carries the built pages) or run from a checkout of the repository"
            " (its frontend/ folder)"
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
        raise HostError(NPM_MISSING)
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
