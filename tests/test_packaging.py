"""The distributions carry what a host needs: the schemas, the entry point, py.typed, and the
admin pages built.

One build per session (the ``built`` fixture), the way a PEP 517 front end such as
``python -m build`` does it: the sdist from this checkout through the project's own backend
(``frontend/build_backend.py``, which builds the front end with npm if needed), then the
wheel from the unpacked sdist with ``pip wheel --no-build-isolation --no-deps`` (nothing
downloaded) and no npm on PATH: the sdist carries the built pages, so the wheel needs no
Node.js.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tarfile
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import pytest

import fortytwomin_snov

ROOT = Path(__file__).resolve().parents[1]
PAGES = "fortytwomin_snov/host/admin-pages"
NO_NPM = "/nonexistent"
"""PATH for the steps that must not need npm (the interpreter is called by its full path)."""


@dataclass(frozen=True)
class Built:
    sdist: Path
    wheel: Path


def _no_npm_env() -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    env["PATH"] = NO_NPM
    return env


@pytest.fixture(scope="session")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    out = tmp_path_factory.mktemp("dist")
    # What a PEP 517 front end does: the backend imported from backend-path, in the project.
    subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; sys.path.insert(0, 'frontend'); import build_backend;"
            " build_backend.build_sdist(sys.argv[1])",
            str(out),
        ],
        check=True,
        cwd=ROOT,
    )
    (sdist,) = out.glob("fortytwomin_snov-*.tar.gz")
    unpacked = tmp_path_factory.mktemp("sdist")
    with tarfile.open(sdist) as archive:
        archive.extractall(unpacked, filter="data")
    (source,) = unpacked.iterdir()
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(out),
            str(source),
        ],
        check=True,
        cwd=out,
        env=_no_npm_env(),
    )
    (wheel,) = out.glob("fortytwomin_snov-*.whl")
    return Built(sdist=sdist, wheel=wheel)


def test_wheel_ships_schemas_entry_point_and_types(built: Built) -> None:
    with zipfile.ZipFile(built.wheel) as archive:
        names = set(archive.namelist())
        schemas = {Path(name).name for name in names if name.startswith("fortytwomin_snov/schema/")}
        source_schemas = {path.name for path in (ROOT / "schema").glob("*.json")}
        assert source_schemas, "schema/ holds no schema files"
        assert source_schemas <= schemas
        assert "fortytwomin_snov/py.typed" in names
        dist_info = f"fortytwomin_snov-{fortytwomin_snov.__version__}.dist-info"
        entry_points = archive.read(f"{dist_info}/entry_points.txt").decode()
    assert "[fortytwomin]\nsnov = fortytwomin_snov.hooks" in entry_points
    assert "fortytwomin-snov = fortytwomin_snov.host.cli:main" in entry_points


def test_wheel_carries_the_built_admin_pages(built: Built) -> None:
    with zipfile.ZipFile(built.wheel) as archive:
        pages = {
            str(PurePosixPath(name).relative_to(PAGES))
            for name in archive.namelist()
            if name.startswith(f"{PAGES}/")
        }
        index = archive.read(f"{PAGES}/index.html").decode()
    assets = pages - {"index.html"}
    assert any(re.fullmatch(r"assets/[^/]+\.js", name) for name in assets), pages
    assert any(re.fullmatch(r"assets/[^/]+\.css", name) for name in assets), pages
    # Exactly this build's bundle: what index.html loads, and no earlier build's files.
    assert set(re.findall(r'(?:src|href)="/?(assets/[^"]+)"', index)) == assets


def test_sdist_carries_the_built_pages_the_front_end_sources_and_the_backend(
    built: Built,
) -> None:
    with tarfile.open(built.sdist) as archive:
        names = {str(PurePosixPath(*PurePosixPath(name).parts[1:])) for name in archive.getnames()}
    assert f"{PAGES}/index.html" in names
    assert any(name.startswith(f"{PAGES}/assets/") for name in names)
    assert {
        "frontend/build_backend.py",
        "frontend/package.json",
        "frontend/package-lock.json",
        "frontend/vite.config.js",
        "frontend/index.html",
        "frontend/src/main.jsx",
    } <= names
    assert not [name for name in names if name.startswith(("frontend/dist", "frontend/node_"))]


def test_an_unpacked_wheel_serves_its_packaged_pages_without_npm(
    built: Built, tmp_path: Path
) -> None:
    site = tmp_path / "site-packages"
    with zipfile.ZipFile(built.wheel) as archive:
        archive.extractall(site)  # noqa: S202 (the wheel this session built)
    # A fresh interpreter importing the package from the unpacked wheel, no checkout beside
    # it and no npm on PATH.
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "import json, fortytwomin_snov\n"
            "from fortytwomin_snov.host.web_frontend import default_frontend_root, ensure_built\n"
            "print(json.dumps([fortytwomin_snov.__file__,"
            " str(ensure_built(default_frontend_root()))]))",
        ],
        check=True,
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={**_no_npm_env(), "PYTHONPATH": str(site)},
    )
    package_file, served = json.loads(result.stdout)
    assert Path(package_file).is_relative_to(site)
    assert Path(served) == site / PAGES
    assert (Path(served) / "index.html").is_file()
