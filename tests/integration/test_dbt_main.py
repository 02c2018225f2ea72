"""`python -m chat_analytics.dbt_main`, the way the nightly starts dbt: dbt's exit codes, a
database closed as dbt closes it (checkpointed, no write-ahead log left beside it, no semaphore
left for multiprocessing's tracker to warn about), and the compiled templates kept between
commands."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import duckdb
import pytest

from chat_analytics import dbt as dbt_runner
from chat_analytics.dbt_main import exit_code

DBT_MAIN = [sys.executable, "-m", "chat_analytics.dbt_main"]

PROJECT = {
    "dbt_project.yml": """
        name: dbt_main_fixture
        version: "1.0.0"
        config-version: 2
        profile: dbt_main_fixture
        flags:
          send_anonymous_usage_stats: false
        models:
          dbt_main_fixture:
            +materialized: table
    """,
    "profiles.yml": """
        dbt_main_fixture:
          target: dev
          outputs:
            dev:
              type: duckdb
              path: "{{ env_var('FIXTURE_DB') }}"
              threads: 2
    """,
    "models/answers.sql": "select 42 as answer",
    "models/broken.sql": "select * from {{ ref('answers') }} where",
}


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    for name, text in PROJECT.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip())
    return root


def run(
    args: list[str], project: Path, db: Path, templates: Path | None = None
) -> subprocess.CompletedProcess:
    env = {
        "FIXTURE_DB": str(db),
        "DBT_PROFILES_DIR": str(project),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        "PATH": "/usr/bin:/bin",
        "CHAT_ANALYTICS_TEMPLATE_CACHE": str(templates) if templates else "",
    }
    return subprocess.run(
        [*DBT_MAIN, *args, "--target-path", str(project / "target")],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_exit_code_is_pythons() -> None:
    assert exit_code(SystemExit()) == 0
    assert exit_code(SystemExit(0)) == 0
    assert exit_code(SystemExit(2)) == 2
    assert exit_code(SystemExit("a message")) == 1


def test_nightly_starts_dbt_through_it() -> None:
    assert dbt_runner.dbt_command() == DBT_MAIN


def test_build_leaves_the_database_closed(project: Path, tmp_path: Path) -> None:
    db = tmp_path / "fixture.duckdb"
    result = run(["run", "--select", "answers"], project, db)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "leaked semaphore" not in output
    # dbt-duckdb's exit handler closed the database: the table is in the file, not in a log
    assert not Path(f"{db}.wal").exists()
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute("select answer from main.answers").fetchall() == [(42,)]


def test_exit_codes_are_dbts(project: Path, tmp_path: Path) -> None:
    db = tmp_path / "fixture.duckdb"
    failed = run(["run"], project, db)  # `broken` does not compile into valid SQL
    assert failed.returncode == 1, failed.stdout + failed.stderr
    assert "broken" in failed.stdout
    usage = run(["no-such-command"], project, db)
    assert usage.returncode == 2
    assert "No such command" in usage.stdout + usage.stderr


def test_a_command_reads_the_templates_an_earlier_one_compiled(
    project: Path, tmp_path: Path
) -> None:
    templates = tmp_path / "templates"
    compiled = project / "target" / "run" / "dbt_main_fixture" / "models" / "answers.sql"
    db = tmp_path / "fixture.duckdb"
    for _ in range(2):  # a full parse, then a run on the parsed project (what a nightly does)
        earlier = run(["run", "--select", "answers"], project, db, templates)
        assert earlier.returncode == 0, earlier.stdout + earlier.stderr
    written = {path.name for path in templates.glob("*.code")}
    sql = compiled.read_text()
    for path in templates.glob("*.code"):
        os.utime(path, ns=(1, 1))
    again = run(["run", "--select", "answers"], project, db, templates)
    assert again.returncode == 0, again.stdout + again.stderr
    after = {path.name: path.stat().st_mtime_ns for path in templates.glob("*.code")}
    assert after.keys() == written  # nothing compiled that was not compiled before
    # read: marked as used (dbt's materialization and adapter macros, the model)
    assert sum(1 for mtime in after.values() if mtime > 1) > 20
    assert compiled.read_text() == sql
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute("select answer from main.answers").fetchall() == [(42,)]
