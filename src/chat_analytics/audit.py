"""Audit history of nightly runs: what landed, what the tests said, whether BI got it.

Every `nightly` run appends one row to ``audit.nightly_runs`` and one row per test to
``audit.test_results`` in the build database, and the same rows as JSON lines to
``nightly_runs.jsonl`` and ``test_results.jsonl`` in the audit folder (``CHAT_ANALYTICS_AUDIT_DIR``,
default ``<database folder>/audit``). The JSON lines are the record that survives a rebuilt
database: when the audit tables are missing they are re-created from them, so the history in the
database is always the whole history.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import asdict, dataclass, field, fields
from datetime import datetime
from pathlib import Path

import duckdb

from chat_analytics import config
from chat_analytics.raw_schema import NO_VACUUM

AUDIT_SCHEMA = "audit"
RUNS_FILE = "nightly_runs.jsonl"
TESTS_FILE = "test_results.jsonl"


@dataclass
class NightlyRun:
    """One row of ``audit.nightly_runs``."""

    run_id: str
    started_at: datetime  # UTC, naive
    finished_at: datetime | None = None
    paths: list[str] = field(default_factory=list)
    files_landed: int = 0
    files_skipped: int = 0  # already landed (same content hash): a no-op
    files_failed: list[str] = field(default_factory=list)  # unreadable: "path: error"
    rows_landed: int = 0
    rejected_lines: int = 0
    freshness_status: str | None = None  # pass | warn | error | runtime error | not run
    stale_sources: list[str] = field(default_factory=list)
    build_exit_code: int | None = None
    tests_passed: int = 0
    tests_warned: int = 0
    tests_failed: int = 0
    tests_skipped: int = 0  # skipped after an upstream failure
    nodes_failed: int = 0
    failed_tests: list[str] = field(default_factory=list)
    warned_tests: list[str] = field(default_factory=list)
    gate_reasons: list[str] = field(default_factory=list)
    published: bool = False
    published_path: str | None = None
    published_rows: int | None = None
    exit_code: int | None = None
    verdict: str | None = None
    report_path: str | None = None


@dataclass
class TestResult:
    """One row of ``audit.test_results``: a test (or unit test) of one run's build."""

    run_id: str
    unique_id: str
    name: str
    resource_type: str
    severity: str | None
    status: str
    failures: int | None
    message: str | None
    execution_time: float | None


RUN_COLUMNS = {
    "run_id": "varchar primary key",
    "started_at": "timestamp not null",
    "finished_at": "timestamp",
    "paths": "varchar[]",
    "files_landed": "bigint",
    "files_skipped": "bigint",
    "files_failed": "varchar[]",
    "rows_landed": "bigint",
    "rejected_lines": "bigint",
    "freshness_status": "varchar",
    "stale_sources": "varchar[]",
    "build_exit_code": "integer",
    "tests_passed": "integer",
    "tests_warned": "integer",
    "tests_failed": "integer",
    "tests_skipped": "integer",
    "nodes_failed": "integer",
    "failed_tests": "varchar[]",
    "warned_tests": "varchar[]",
    "gate_reasons": "varchar[]",
    "published": "boolean",
    "published_path": "varchar",
    "published_rows": "bigint",
    "exit_code": "integer",
    "verdict": "varchar",
    "report_path": "varchar",
}
TEST_COLUMNS = {
    "run_id": "varchar not null",
    "unique_id": "varchar not null",
    "name": "varchar",
    "resource_type": "varchar",
    "severity": "varchar",
    "status": "varchar",
    "failures": "bigint",
    "message": "varchar",
    "execution_time": "double",
}
assert list(RUN_COLUMNS) == [f.name for f in fields(NightlyRun)]
assert list(TEST_COLUMNS) == [f.name for f in fields(TestResult)]


def audit_dir() -> Path:
    """``CHAT_ANALYTICS_AUDIT_DIR``, else ``audit/`` beside the build database."""
    env = os.environ.get("CHAT_ANALYTICS_AUDIT_DIR")
    return Path(env) if env else config.db_path().parent / "audit"


def _to_json(row: dict) -> str:
    return json.dumps(
        {
            key: value.isoformat() if isinstance(value, datetime) else value
            for key, value in row.items()
        },
        ensure_ascii=False,
        sort_keys=False,
    )


def _append_lines(path: Path, rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as handle:
        for row in rows:
            handle.write(_to_json(row) + "\n")
        handle.flush()
        os.fsync(handle.fileno())


def _read_lines(path: Path) -> list[dict]:
    rows = []
    try:
        with path.open(encoding="utf-8") as handle:
            for number, line in enumerate(handle, start=1):
                if not line.strip():
                    continue
                try:
                    rows.append(json.loads(line))
                except json.JSONDecodeError:
                    print(f"audit: {path}:{number}: not JSON, skipped", file=sys.stderr)
    except FileNotFoundError:
        pass
    return rows


def read_history(directory: str | os.PathLike | None = None) -> list[dict]:
    """Every recorded run (as dicts, times as datetimes), oldest first."""
    rows = _read_lines(Path(directory or audit_dir()) / RUNS_FILE)
    for row in rows:
        for key in ("started_at", "finished_at"):
            if row.get(key):
                row[key] = datetime.fromisoformat(row[key])
    rows.sort(key=lambda row: (row.get("started_at") or datetime.min, row.get("run_id") or ""))
    return rows


def read_test_history(directory: str | os.PathLike | None = None) -> list[dict]:
    """Every recorded test result, in the order recorded."""
    return _read_lines(Path(directory or audit_dir()) / TESTS_FILE)


def record_run(
    run: NightlyRun,
    tests: list[TestResult],
    *,
    db: str | os.PathLike | None = None,
    directory: str | os.PathLike | None = None,
) -> bool:
    """Append the run to the JSON lines, then bring the database's audit tables up to date.

    Returns False (after a warning on stderr) when the database could not be written; the JSON
    lines are written first and are then the only copy until the next run syncs them.
    """
    folder = Path(directory or audit_dir())
    _append_lines(folder / RUNS_FILE, [asdict(run)])
    _append_lines(folder / TESTS_FILE, [asdict(test) for test in tests])
    database = Path(db) if db else config.db_path()
    try:
        con = duckdb.connect(str(database))
    except duckdb.Error as exc:
        print(f"audit: {database}: not written ({exc}); history kept in {folder}", file=sys.stderr)
        return False
    try:
        con.execute(NO_VACUUM)
        sync_database(con, folder)
    except duckdb.Error as exc:
        print(f"audit: {database}: not written ({exc}); history kept in {folder}", file=sys.stderr)
        return False
    finally:
        con.close()
    return True


def sync_database(con: duckdb.DuckDBPyConnection, directory: str | os.PathLike) -> None:
    """Create the audit tables if needed and insert every recorded run they do not hold yet."""
    folder = Path(directory)
    con.execute(f"create schema if not exists {AUDIT_SCHEMA}")
    for table, columns in (("nightly_runs", RUN_COLUMNS), ("test_results", TEST_COLUMNS)):
        ddl = ", ".join(f'"{name}" {kind}' for name, kind in columns.items())
        con.execute(f"create table if not exists {AUDIT_SCHEMA}.{table} ({ddl})")
    known = {
        row[0] for row in con.execute(f"select run_id from {AUDIT_SCHEMA}.nightly_runs").fetchall()
    }
    runs = [row for row in read_history(folder) if row.get("run_id") not in known]
    if not runs:
        return
    new_ids = {row["run_id"] for row in runs}
    tests = [row for row in read_test_history(folder) if row.get("run_id") in new_ids]
    con.execute("begin transaction")
    try:
        _insert(con, "nightly_runs", RUN_COLUMNS, runs)
        _insert(con, "test_results", TEST_COLUMNS, tests)
        con.execute("commit")
    except BaseException:
        con.execute("rollback")
        raise


def _insert(con, table: str, columns: dict[str, str], rows: list[dict]) -> None:
    if not rows:
        return
    names = list(columns)
    placeholders = ", ".join("?" for _ in names)
    con.executemany(
        f"insert into {AUDIT_SCHEMA}.{table} ({', '.join(names)}) values ({placeholders})",
        [[row.get(name) for name in names] for row in rows],
    )
