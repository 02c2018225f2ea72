"""Shared helpers for the integration and end-to-end tests.

Every test gets its own warehouse, dbt target and log folder under pytest's tmp dirs; nothing is
written into the repository. The CLI and dbt run as subprocesses, the way users run them.
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace

import duckdb
import pytest

REPO = Path(__file__).resolve().parents[1]
BIN = REPO / ".venv" / "bin"
CHAT_ANALYTICS = BIN / "chat-analytics"
DBT = BIN / "dbt"
HAND_FIXTURE = REPO / "tests" / "fixtures" / "hand"
HAND_SALT = "hand-fixture-salt"


def tool_env(db: Path, tmp: Path, salt: str = HAND_SALT) -> dict[str, str]:
    """Environment for the CLI and dbt: own warehouse, own DuckDB spill dir, fixed PII salt."""
    spill = tmp / "duckdb_tmp"
    spill.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    env.update(
        CHAT_ANALYTICS_DB=str(db),
        CHAT_ANALYTICS_TEMP_DIR=str(spill),
        CHAT_ANALYTICS_PII_SALT=salt,
        DBT_PROFILES_DIR=str(REPO),
        DBT_SEND_ANONYMOUS_USAGE_STATS="false",
    )
    return env


def run_dbt(
    args: list[str], db: Path, tmp: Path, salt: str = HAND_SALT, timeout: int = 900
) -> subprocess.CompletedProcess:
    """`dbt <args>` in the project, with target and logs under tmp."""
    command = [
        str(DBT),
        *args,
        "--target-path",
        str(tmp / "target"),
        "--log-path",
        str(tmp / "logs"),
    ]
    return subprocess.run(
        command,
        cwd=REPO,
        env=tool_env(db, tmp, salt),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def land(
    paths: list[Path], db: Path, tmp: Path, extra: list[str] | None = None
) -> subprocess.CompletedProcess:
    """`chat-analytics land PATH...` into db."""
    return subprocess.run(
        [str(CHAT_ANALYTICS), "land", *(extra or []), *map(str, paths)],
        cwd=REPO,
        env=tool_env(db, tmp),
        capture_output=True,
        text=True,
        timeout=900,
    )


def query(db: Path, sql: str, params: list | None = None) -> list[dict]:
    """Rows of sql as dicts, from a read-only connection that is closed afterwards."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        cursor = con.execute(sql, params or [])
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    finally:
        con.close()


def columns_of(db: Path, schema: str, table: str) -> list[str]:
    rows = query(
        db,
        "select column_name from information_schema.columns "
        "where table_schema = ? and table_name = ? order by ordinal_position",
        [schema, table],
    )
    return [r["column_name"] for r in rows]


def describe(result: subprocess.CompletedProcess, limit: int = 6000) -> str:
    """The tail of a subprocess's output, for assertion messages."""
    out = (result.stdout or "") + "\n" + (result.stderr or "")
    return f"exit {result.returncode}: {' '.join(map(str, result.args))}\n{out[-limit:]}"


@pytest.fixture(scope="session")
def tools() -> SimpleNamespace:
    """The helpers of this file, for test modules (conftest modules are not imported directly)."""
    return SimpleNamespace(
        REPO=REPO,
        HAND_FIXTURE=HAND_FIXTURE,
        HAND_SALT=HAND_SALT,
        tool_env=tool_env,
        run_dbt=run_dbt,
        land=land,
        query=query,
        columns_of=columns_of,
        describe=describe,
        values_equal=values_equal,
        diff_rows=diff_rows,
    )


@dataclass
class Warehouse:
    db: Path
    tmp: Path
    land: subprocess.CompletedProcess
    seed: subprocess.CompletedProcess | None
    build: subprocess.CompletedProcess | None


@pytest.fixture(scope="session")
def hand_warehouse(tmp_path_factory) -> Warehouse:
    """The hand fixture landed and built once: land → dbt seed → dbt build.

    Failures are recorded, not raised, so that each test reports what it can still check.
    """
    tmp = tmp_path_factory.mktemp("hand")
    db = tmp / "warehouse.duckdb"
    landed = land([HAND_FIXTURE / s for s in ("segment", "rudderstack", "snowplow")], db, tmp)
    seed = build = None
    if landed.returncode == 0:
        seed = run_dbt(["seed"], db, tmp)
        build = run_dbt(["build"], db, tmp)
    return Warehouse(db=db, tmp=tmp, land=landed, seed=seed, build=build)


# ------------------------------------------------------------------------------------------------
# Row comparison shared by the hand-fixture and ground-truth tests
# ------------------------------------------------------------------------------------------------
FLOAT_TOLERANCE = 1e-9


def values_equal(actual, expected) -> bool:
    """Exact for text, dates, timestamps and booleans; numbers within FLOAT_TOLERANCE."""
    if expected is None or actual is None:
        return expected is None and actual is None
    if isinstance(expected, bool) or isinstance(actual, bool):
        return isinstance(expected, bool) and isinstance(actual, bool) and actual == expected
    numbers = (int, float, Decimal)
    if isinstance(expected, numbers) and isinstance(actual, numbers):
        return abs(float(actual) - float(expected)) <= FLOAT_TOLERANCE
    # datetime is a subclass of date: a timestamp where a date is expected must not pass
    if type(actual) is not type(expected) and {type(actual), type(expected)} <= {date, datetime}:
        return False
    return actual == expected


def diff_rows(
    actual: list[dict], expected: list[dict], key: list[str], columns: list[str], limit: int = 25
) -> list[str]:
    """Readable differences between two tables keyed by key (empty when they agree)."""

    def keyed(rows, side):
        out, dupes = {}, []
        for row in rows:
            k = tuple(row[c] for c in key)
            if k in out:
                dupes.append(f"{side}: duplicate key {dict(zip(key, k, strict=True))}")
            out[k] = row
        return out, dupes

    got, problems = keyed(actual, "actual")
    want, more = keyed(expected, "expected")
    problems += more
    for k in sorted(set(want) - set(got), key=repr):
        problems.append(f"missing row {dict(zip(key, k, strict=True))}")
    for k in sorted(set(got) - set(want), key=repr):
        problems.append(f"unexpected row {dict(zip(key, k, strict=True))}: {got[k]}")
    for k in sorted(set(got) & set(want), key=repr):
        bad = [
            f"{c}: expected {want[k][c]!r}, actual {got[k].get(c)!r}"
            for c in columns
            if not values_equal(got[k].get(c), want[k][c])
        ]
        if bad:
            problems.append(f"row {dict(zip(key, k, strict=True))}: " + "; ".join(bad))
    if len(problems) > limit:
        problems = problems[:limit] + [f"... and {len(problems) - limit} more"]
    return problems
