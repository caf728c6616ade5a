"""`dgas api`: a token is required beyond loopback, and the API process stays Dagster-free."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import uvicorn

from dgas_pipeline.api.auth import api_token, is_loopback
from dgas_pipeline.cli.main import main
from dgas_pipeline.errors import InvalidInput

GOOD_TOKEN = "s3cret-" + "x" * 20


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.0.0.2", True),
        ("::1", True),
        ("[::1]", True),
        ("localhost", True),
        ("LOCALHOST", True),
        ("0.0.0.0", False),  # noqa: S104  (the value under test)
        ("::", False),
        ("192.168.1.20", False),
        ("api.example.com", False),
    ],
)
def test_loopback_hosts(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


def test_beyond_loopback_a_token_is_required() -> None:
    with pytest.raises(InvalidInput, match=r"^DGAS_API_TOKEN: '<not set>' is required to serve"):
        api_token("0.0.0.0", {})  # noqa: S104
    with pytest.raises(InvalidInput, match=r"^DGAS_API_TOKEN: '<not set>' is required"):
        api_token("10.0.0.5", {"DGAS_API_TOKEN": "   "})
    with pytest.raises(InvalidInput, match="is shorter than 16 characters"):
        api_token("10.0.0.5", {"DGAS_API_TOKEN": "short"})
    assert api_token("10.0.0.5", {"DGAS_API_TOKEN": GOOD_TOKEN}) == GOOD_TOKEN


def test_on_loopback_the_token_is_optional_but_used_when_set() -> None:
    assert api_token("127.0.0.1", {}) is None
    assert api_token("localhost", {"DGAS_API_TOKEN": "short"}) == "short"


def test_dgas_api_refuses_to_start_beyond_loopback_without_a_token(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    sqlite_url: str,
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("DGAS_API_TOKEN", raising=False)
    monkeypatch.delenv("DGAS_CONFIG", raising=False)
    monkeypatch.setenv("DGAS_DATABASE_URL", sqlite_url)

    def must_not_serve(*args: object, **kwargs: object) -> None:
        raise AssertionError("uvicorn.run called without a token")

    monkeypatch.setattr(uvicorn, "run", must_not_serve)
    code = main(["api", "--host", "0.0.0.0", "--port", "8001"])  # noqa: S104
    assert code == 2
    err = capsys.readouterr().err
    assert err.startswith("dgas: DGAS_API_TOKEN: '<not set>' is required to serve on 0.0.0.0")
    assert len(err.splitlines()) == 1


def test_dgas_api_serves_with_the_token_and_logs_only_to_stderr(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, sqlite_url: str
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("DGAS_CONFIG", raising=False)
    monkeypatch.setenv("DGAS_DATABASE_URL", sqlite_url)
    monkeypatch.setenv("DGAS_API_TOKEN", GOOD_TOKEN)
    served: dict[str, object] = {}

    def fake_run(app: object, **kwargs: object) -> None:
        served.update(kwargs, app=app)

    monkeypatch.setattr(uvicorn, "run", fake_run)
    assert main(["api", "--host", "0.0.0.0", "--port", "8123", "--json"]) == 0  # noqa: S104
    assert (served["host"], served["port"]) == ("0.0.0.0", 8123)  # noqa: S104
    log_config = served["log_config"]
    assert isinstance(log_config, dict)
    streams = {h.get("stream") for h in log_config["handlers"].values()}
    assert streams == {"ext://sys.stderr"}


def test_the_api_process_does_not_import_dagster(tmp_path: Path) -> None:
    code = (
        "import sys\n"
        "from dgas_pipeline.cli.api import cmd_api\n"
        "from dgas_pipeline.cli.parser import build_parser\n"
        "from dgas_pipeline.api import create_app\n"
        "from dgas_pipeline.api.server import serve\n"
        f"create_app('sqlite:///{tmp_path / 'dgas.db'}', None)\n"
        "assert not [m for m in sys.modules if m.split('.')[0] == 'dagster'], 'dagster loaded'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=tmp_path, timeout=60)
