"""The wheel carries what the app serves from package data: the playground's page and assets."""

from __future__ import annotations

import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest

from fastwrap.entrypoints.http.routes.playground import assets

ROOT = Path(__file__).resolve().parents[2]


def test_the_wheel_ships_every_static_asset(tmp_path: Path) -> None:
    uv = shutil.which("uv")
    if uv is None:
        pytest.skip("uv is not on PATH")
    subprocess.run(
        [uv, "build", "--wheel", "--out-dir", str(tmp_path), "-q"],
        cwd=ROOT,
        check=True,
        timeout=300,
    )
    (wheel,) = tmp_path.glob("fastwrap-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    shipped = {
        n.rsplit("/", 1)[1] for n in names if n.startswith("fastwrap/entrypoints/http/static/")
    }
    assert {"playground.html", "playground.js", "playground.css"} <= shipped
    assert set(assets()) <= shipped  # whatever the app would serve is in the wheel
