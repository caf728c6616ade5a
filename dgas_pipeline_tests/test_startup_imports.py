"""What a light path imports: heavy libraries only where their work is done.

A command or a run worker pays for every module it imports, each time it starts. matplotlib
is for drawing a chart, jsonschema for checking a rule file, Dagster for the code location,
httpx for the Polygon provider, SQLAlchemy for a database: a path that does none of these
must not import them. Each case runs in a fresh interpreter (this test process has imported
everything already) and reads the modules it loaded; nothing is timed here (the figures are
in `bench/startup.py`).
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

DGAS = Path(sys.executable).parent / "dgas"
DRAWING, RULE_CHECK, ORCHESTRATION = "matplotlib", "jsonschema", "dagster"
HTTP, DATABASE, MIGRATIONS = "httpx", "sqlalchemy", "alembic"
TABLES = ("pandas", "numpy", "exchange_calendars")
HEAVY = (DRAWING, RULE_CHECK, ORCHESTRATION, HTTP, DATABASE, MIGRATIONS, *TABLES)

RULES = """\
alerts:
  - name: spy-breakout
    symbols: [SPY]
    timeframe: 30min
    when: {field: close, op: crosses_above, ref: {indicator: {type: envelope, output: upper}}}
    channels: [console]
"""

# What a command that needs no exchange clock reads: the config, defaults or a file.
CONFIG_ONLY = """
from dgas_pipeline.config import load_config, validate_config

load_config()
validate_config({"symbols": ["SPY"], "interval": "15min", "executor": {"kind": "in_process"}})
"""
# What `dgas plan`, `dgas calendar` and `dgas config validate` do, below the command line.
CLOCK_PATH = """
from datetime import date
from dgas_pipeline.config import load_config
from dgas_pipeline.config_check import check_config
from dgas_pipeline.location import market_for
from dgas_pipeline.market import plan_launches

config = load_config()
market = market_for(config)
plan_launches(market, date(2025, 1, 1), date(2026, 12, 31), config.plan_settings)
market.session(date(2026, 3, 9))
check_config(config)
"""
RULE_CHECK_PATH = """
from pathlib import Path
from dgas_pipeline.alerts.validation import load_rule_file

load_rule_file(Path("rules.yaml"))
"""
# What `dagster dev`, the code server and every run worker do when they load the location.
CODE_LOCATION = """
import dgas_pipeline.definitions as location

location.defs().get_repository_def()
"""
PRINT_MODULES = "\nimport sys\nprint(' '.join(sorted({m.split('.')[0] for m in sys.modules})))\n"


@pytest.fixture
def site(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    """An empty directory with a rule file, a fresh DAGSTER_HOME and no DGAS_CONFIG."""
    (tmp_path / "home").mkdir()
    (tmp_path / "rules.yaml").write_text(RULES, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if k not in ("DGAS_CONFIG", "PYTHONPATH")}
    env.update(DAGSTER_HOME=str(tmp_path / "home"), PYTHONWARNINGS="ignore")
    return tmp_path, env


def modules_after(code: str, site: tuple[Path, dict[str, str]]) -> set[str]:
    """The top-level packages a fresh interpreter holds after running `code`."""
    cwd, env = site
    done = subprocess.run(
        [sys.executable, "-c", code + PRINT_MODULES], cwd=cwd, env=env, capture_output=True
    )
    assert done.returncode == 0, done.stderr.decode()[-3000:]
    return set(done.stdout.decode().split())


def modules_of_command(argv: list[str], site: tuple[Path, dict[str, str]]) -> set[str]:
    """The top-level packages the installed `dgas` imports running `argv`, read from the
    interpreter's own import log (`-X importtime`), so the entry point runs unchanged."""
    cwd, env = site
    done = subprocess.run(
        [str(DGAS), *argv],
        cwd=cwd,
        env={**env, "PYTHONPROFILEIMPORTTIME": "1"},
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return {
        line.rsplit("|", 1)[-1].strip().split(".")[0]
        for line in done.stderr.splitlines()
        if line.startswith("import time:")
    }


@pytest.mark.parametrize(
    ("code", "absent"),
    [
        pytest.param(CONFIG_ONLY, HEAVY, id="config"),
        pytest.param(
            CLOCK_PATH,
            (DRAWING, RULE_CHECK, ORCHESTRATION, HTTP, DATABASE, MIGRATIONS),
            id="plan-calendar-config",
        ),
        pytest.param(
            RULE_CHECK_PATH, (DRAWING, ORCHESTRATION, HTTP, DATABASE, MIGRATIONS), id="rules"
        ),
        pytest.param(CODE_LOCATION, (DRAWING, RULE_CHECK, HTTP, MIGRATIONS), id="code-location"),
    ],
)
def test_a_path_imports_no_library_it_does_not_use(
    code: str, absent: tuple[str, ...], site: tuple[Path, dict[str, str]]
) -> None:
    imported = modules_after(code, site)
    assert sorted(imported & set(absent)) == []


def test_the_modules_listed_here_are_the_ones_installed() -> None:
    """A renamed library would make every case above pass vacuously."""
    missing = [name for name in HEAVY if importlib.util.find_spec(name) is None]
    assert not missing


def _cli_is_one_module() -> bool:
    spec = importlib.util.find_spec("dgas_pipeline.cli")
    return spec is not None and spec.submodule_search_locations is None


# `dgas_pipeline/cli.py` imports every command's module when it starts; the cli package that
# replaces it imports a command's module only to run that command.
ONE_MODULE_CLI = pytest.mark.skipif(
    _cli_is_one_module(),
    reason="the command line is still one module (cli.py) that imports every command's "
    "module at start-up; passes once the cli package imports them on demand",
)


NO_CHART_RULES_DAGSTER_HTTP = (DRAWING, RULE_CHECK, ORCHESTRATION, HTTP)
PLAN = ["plan", "--start", "2025-01-01", "--end", "2026-12-31", "--json"]
CALENDAR = ["calendar", "2026-03-09", "--json"]
CONFIG_VALIDATE = ["config", "validate", "--json"]
ALERTS_VALIDATE = ["alerts", "validate", "rules.yaml"]


@pytest.mark.parametrize(
    ("argv", "absent"),
    [
        pytest.param(PLAN, NO_CHART_RULES_DAGSTER_HTTP, id="plan"),
        pytest.param(CALENDAR, NO_CHART_RULES_DAGSTER_HTTP, id="calendar"),
        pytest.param(CONFIG_VALIDATE, NO_CHART_RULES_DAGSTER_HTTP, id="config-validate"),
        pytest.param(ALERTS_VALIDATE, (DRAWING, ORCHESTRATION, HTTP), id="alerts-validate"),
        pytest.param(["watchlist", "list", "--json"], NO_CHART_RULES_DAGSTER_HTTP, id="watchlist"),
    ],
)
def test_a_command_imports_no_library_it_does_not_use(
    argv: list[str], absent: tuple[str, ...], site: tuple[Path, dict[str, str]]
) -> None:
    imported = modules_of_command(argv, site)
    assert sorted(imported & set(absent)) == []


def test_listing_the_watchlists_of_a_current_database_builds_no_clock_and_no_migration(
    site: tuple[Path, dict[str, str]],
) -> None:
    """`dgas watchlist list` reads a table: the exchange clock (pandas, exchange_calendars) is
    for checking an `HH:MM` schedule, Alembic for a database that is behind."""
    assert MIGRATIONS in modules_of_command(["db", "upgrade", "--json"], site)
    imported = modules_of_command(["watchlist", "list", "--json"], site)
    assert DATABASE in imported  # the case ran its query
    assert sorted(imported & {MIGRATIONS, *TABLES}) == []


@ONE_MODULE_CLI
@pytest.mark.parametrize(
    ("argv", "absent"),
    [
        pytest.param(["--help"], HEAVY, id="help"),
        pytest.param(["plan", "--help"], HEAVY, id="plan-help"),
        pytest.param(["alerts", "validate", "--help"], HEAVY, id="alerts-validate-help"),
        pytest.param(["watchlist", "list", "--help"], HEAVY, id="watchlist-list-help"),
        pytest.param(PLAN, (DATABASE, MIGRATIONS), id="plan"),
        pytest.param(CALENDAR, (DATABASE, MIGRATIONS), id="calendar"),
        pytest.param(CONFIG_VALIDATE, (DATABASE, MIGRATIONS), id="config-validate"),
        pytest.param(ALERTS_VALIDATE, (DATABASE, MIGRATIONS), id="alerts-validate"),
    ],
)
def test_a_command_imports_no_other_command_s_libraries(
    argv: list[str], absent: tuple[str, ...], site: tuple[Path, dict[str, str]]
) -> None:
    """Help and argument errors import nothing heavy; a command without a database imports
    no SQLAlchemy or Alembic (which only the database commands need)."""
    imported = modules_of_command(argv, site)
    assert sorted(imported & set(absent)) == []
