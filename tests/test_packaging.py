"""The wheel carries what a host needs: the schemas, the entry point, py.typed."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import fortytwomin_snov

ROOT = Path(__file__).resolve().parents[1]


def test_wheel_ships_schemas_entry_point_and_types(tmp_path: Path) -> None:
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
            str(tmp_path),
            str(ROOT),
        ],
        check=True,
        cwd=tmp_path,
    )
    (wheel,) = tmp_path.glob("fortytwomin_snov-*.whl")
    with zipfile.ZipFile(wheel) as archive:
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
