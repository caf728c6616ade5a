"""The built wheel, installed into a fresh virtualenv, runs a cycle in an empty directory.

What a user of `pip install dgas-pipeline` meets: no checkout beside the code, so the instance
template and every other data file must come from the package itself. The dependencies are
the lock file's (exported, installed from uv's cache where it has them), so the test checks
our packaging, not today's releases on the registry.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from dgas_pipeline.store import tables

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


@functools.cache
def uv() -> list[str]:
    """uv as the README and CI install it (`python3 -m pip install uv`), else the one on PATH."""
    module = ["python3", "-m", "uv"]
    if subprocess.run([*module, "--version"], capture_output=True, check=False).returncode == 0:
        return module
    found = shutil.which("uv")
    assert found, "no uv: python3 -m pip install uv (as the README says)"
    return [found]


def run(*argv: str, cwd: Path, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(
        argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=600, check=False
    )
    assert done.returncode == 0, f"{' '.join(argv)}\n{done.stdout}\n{done.stderr}"
    return done.stdout


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A virtualenv holding the wheel built from this checkout and the locked dependencies."""
    root = tmp_path_factory.mktemp("wheel")
    run(*uv(), "build", "--wheel", "--quiet", "--out-dir", str(root / "dist"), cwd=REPO)
    (wheel,) = (root / "dist").glob("dgas_pipeline-*.whl")
    requirements = root / "requirements.txt"
    run(
        *uv(),
        "export",
        "--frozen",
        "--no-dev",
        "--no-hashes",
        "--no-emit-project",
        "--quiet",
        "--output-file",
        str(requirements),
        cwd=REPO,
    )
    venv = root / "venv"
    run(*uv(), "venv", "--quiet", "--python", sys.executable, str(venv), cwd=root)
    run(
        *uv(),
        "pip",
        "install",
        "--quiet",
        "--python",
        str(venv / "bin" / "python"),
        "-r",
        str(requirements),
        str(wheel),
        cwd=root,
    )
    return venv


def test_the_wheel_ships_the_instance_template_and_data_files(installed: Path) -> None:
    """Every non-Python file of the package is in the installed wheel, byte for byte."""
    site = next((installed / "lib").glob("python*/site-packages"))
    shipped = {
        path.relative_to(REPO)
        for path in (REPO / "dgas_pipeline").rglob("*")
        if path.is_file() and path.suffix not in {".py", ".pyc"}
    }
    assert Path("dgas_pipeline/dagster.yaml") in shipped
    for path in shipped:
        assert (site / path).read_bytes() == (REPO / path).read_bytes(), path
    # Nothing of the checkout is on the installed package's path.
    code = "import dgas_pipeline, pathlib; print(pathlib.Path(dgas_pipeline.__file__).parent)"
    where = run(str(installed / "bin" / "python"), "-c", code, cwd=site)
    assert Path(where.strip()) == site / "dgas_pipeline"


def test_run_once_in_an_empty_directory(installed: Path, tmp_path: Path) -> None:
    """`dgas run-once` from the wheel: the home is seeded from the package's dagster.yaml,
    the cycle succeeds on the embedded defaults and lands in our tables."""
    work = tmp_path / "empty"
    work.mkdir()
    home = work / "home"
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DGAS_", "DAGSTER_", "PYTHON", "VIRTUAL_ENV"))
    }
    env["DAGSTER_HOME"] = str(home)
    out = run(
        str(installed / "bin" / "dgas"),
        "run-once",
        "--json",
        "--at",
        "2026-12-04T15:05:00-05:00",
        "--symbols",
        "AAPL,MSFT",
        cwd=work,
        env=env,
    )
    result = json.loads(out)
    assert (result["status"], result["partition_key"]) == ("SUCCESS", "2026-12-04-14:30")
    assert (result["symbols_requested"], result["symbols_processed"]) == (2, 2)

    instance = yaml.safe_load((home / "dagster.yaml").read_text())
    packaged = yaml.safe_load((REPO / "dgas_pipeline" / "dagster.yaml").read_text())
    assert instance == packaged
    assert instance["run_coordinator"]["class"] == "PipelineRunCoordinator"

    with sqlite3.connect(home / "dgas.db") as conn:
        names = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
        assert set(tables.metadata.tables) <= names
        runs = conn.execute(
            "SELECT partition_key, status, launched_by, dagster_run_id FROM prediction_runs"
        ).fetchall()
    assert runs == [("2026-12-04-14:30", "SUCCESS", "cli", result["run_id"])]
    assert sorted(p.name for p in work.iterdir()) == ["home"]  # nothing outside the home
