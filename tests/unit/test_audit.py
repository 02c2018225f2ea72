"""Audit history: rows in the build database and in JSON lines that outlive it."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime

import duckdb

from chat_analytics import audit


def a_run(run_id: str, started: datetime, **values) -> audit.NightlyRun:
    return audit.NightlyRun(run_id=run_id, started_at=started, finished_at=started, **values)


def a_test(run_id: str, name: str, status: str) -> audit.TestResult:
    return audit.TestResult(
        run_id=run_id,
        unique_id=f"test.chat_analytics.{name}.0a",
        name=name,
        resource_type="test",
        severity="warn" if status == "warn" else "error",
        status=status,
        failures=0 if status == "pass" else 2,
        message=None,
        execution_time=0.01,
    )


def rows(db, sql):
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def test_each_run_appends_to_the_database_and_the_json_lines(tmp_path):
    db, folder = tmp_path / "build.duckdb", tmp_path / "audit"
    first = a_run(
        "r1",
        datetime(2026, 3, 1, 2, 0),
        paths=["data/segment"],
        files_landed=2,
        rows_landed=120,
        rejected_lines=3,
        tests_passed=10,
        tests_warned=1,
        warned_tests=["rejection_rate"],
        published=True,
        exit_code=0,
    )
    tests = [a_test("r1", "unique_x", "pass"), a_test("r1", "rejection_rate", "warn")]
    assert audit.record_run(first, tests, db=db, directory=folder)
    second = a_run(
        "r2",
        datetime(2026, 3, 2, 2, 0),
        tests_failed=1,
        failed_tests=["unique_x"],
        gate_reasons=["1 error-severity test(s) did not pass: unique_x (fail)"],
        exit_code=1,
    )
    assert audit.record_run(second, [a_test("r2", "unique_x", "fail")], db=db, directory=folder)

    assert rows(
        db,
        "select run_id, files_landed, rows_landed, rejected_lines, tests_warned, tests_failed,"
        " failed_tests, published, exit_code from audit.nightly_runs order by started_at",
    ) == [
        ("r1", 2, 120, 3, 1, 0, [], True, 0),
        ("r2", 0, 0, 0, 0, 1, ["unique_x"], False, 1),
    ]
    assert rows(db, "select run_id, name, status from audit.test_results order by all") == [
        ("r1", "rejection_rate", "warn"),
        ("r1", "unique_x", "pass"),
        ("r2", "unique_x", "fail"),
    ]
    lines = (folder / audit.RUNS_FILE).read_text().splitlines()
    assert [json.loads(line)["run_id"] for line in lines] == ["r1", "r2"]
    assert len((folder / audit.TESTS_FILE).read_text().splitlines()) == 3
    history = audit.read_history(folder)
    assert [run["run_id"] for run in history] == ["r1", "r2"]
    assert history[0]["started_at"] == datetime(2026, 3, 1, 2, 0)


def test_history_survives_a_rebuilt_database(tmp_path):
    db, folder = tmp_path / "build.duckdb", tmp_path / "audit"
    audit.record_run(a_run("r1", datetime(2026, 3, 1)), [], db=db, directory=folder)
    audit.record_run(a_run("r2", datetime(2026, 3, 2)), [], db=db, directory=folder)
    db.unlink()  # the warehouse is rebuilt from scratch
    audit.record_run(
        a_run("r3", datetime(2026, 3, 3)),
        [a_test("r3", "unique_x", "pass")],
        db=db,
        directory=folder,
    )
    assert rows(db, "select run_id from audit.nightly_runs order by run_id") == [
        ("r1",),
        ("r2",),
        ("r3",),
    ]
    assert rows(db, "select run_id, name from audit.test_results") == [("r3", "unique_x")]


def test_locked_database_keeps_the_history_in_json_lines(tmp_path, capsys):
    db, folder = tmp_path / "build.duckdb", tmp_path / "audit"
    duckdb.connect(str(db)).close()
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import duckdb, sys; c = duckdb.connect(sys.argv[1]); print('locked', flush=True);"
            " sys.stdin.read()",
            str(db),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        assert not audit.record_run(a_run("r1", datetime(2026, 3, 1)), [], db=db, directory=folder)
    finally:
        holder.communicate("", timeout=30)
    assert "history kept in" in capsys.readouterr().err
    assert [run["run_id"] for run in audit.read_history(folder)] == ["r1"]
    # the next run brings the database up to date with both
    assert audit.record_run(a_run("r2", datetime(2026, 3, 2)), [], db=db, directory=folder)
    assert rows(db, "select run_id from audit.nightly_runs order by run_id") == [("r1",), ("r2",)]
