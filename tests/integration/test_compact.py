"""`chat-analytics compact`: landing leaves the row groups it appended as they are, and compact
merges them without changing a row and logs what it did; when the nightly job compacts; usage and
lock errors."""

from __future__ import annotations

import subprocess

import duckdb

ROWS_PER_FILE = 1_000


def segment_file(path, first: int):
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = (
        f'{{"type":"track","messageId":"m-{n}","event":"Message Sent"}}\n'
        for n in range(first, first + ROWS_PER_FILE)
    )
    path.write_text("".join(lines))
    return path


def row_groups(db, table: str) -> int:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(
            f"select count(distinct row_group_id) from pragma_storage_info('{table}')"
        ).fetchone()[0]
    finally:
        con.close()


def compact(db, tmp, tools) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(tools.CHAT_ANALYTICS), "compact"],
        cwd=tools.REPO,
        env=tools.tool_env(db, tmp),
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_each_landing_keeps_its_row_group_until_compact_merges_them(tmp_path, tools):
    db = tmp_path / "warehouse.duckdb"
    for night in range(3):  # three landings, each a process of its own that checkpoints
        path = segment_file(tmp_path / "out" / "segment" / f"2026-03-0{night + 1}.jsonl", night)
        result = tools.land([path], db, tmp_path)
        assert result.returncode == 0, tools.describe(result)
    # each landing appended after the last checkpoint, so into a row group of its own, and none
    # of them merged the earlier ones (3,000 rows fit in one row group of 122,880)
    assert row_groups(db, "raw.segment_events") == 3
    table = "select * exclude (landed_at) from raw.segment_events order by load_id, line_number"
    before = tools.query(db, table)
    assert len(before) == 3 * ROWS_PER_FILE

    result = compact(db, tmp_path, tools)
    assert result.returncode == 0, tools.describe(result)
    assert "compact: done in" in result.stdout and "storage in use" in result.stdout
    assert row_groups(db, "raw.segment_events") == 1
    assert tools.query(db, table) == before

    again = compact(db, tmp_path, tools)  # nothing left to merge: the same single row group
    assert again.returncode == 0, tools.describe(again)
    assert row_groups(db, "raw.segment_events") == 1
    # each compaction is logged, with its time and the storage in use before and after
    log = tools.query(db, "select * from audit.compactions order by started_at")
    assert len(log) == 2
    assert all(
        row["seconds"] > 0 and row["bytes_before"] > 0 and row["bytes_after"] > 0 for row in log
    )
    assert log[1]["bytes_before"] == log[0]["bytes_after"]  # nothing was written in between


def test_a_missing_database_is_usage_error_2(tmp_path, tools):
    result = compact(tmp_path / "nope.duckdb", tmp_path, tools)
    assert result.returncode == 2, tools.describe(result)
    assert "nope.duckdb: build database not found" in result.stderr
    assert not (tmp_path / "nope.duckdb").exists()


def test_a_locked_database_is_exit_3_and_names_the_database(tmp_path, tools):
    db = tmp_path / "warehouse.duckdb"
    path = segment_file(tmp_path / "out" / "segment" / "2026-03-01.jsonl", 0)
    assert tools.land([path], db, tmp_path).returncode == 0
    holder = duckdb.connect(str(db))  # another process's writer: this test's own
    try:
        result = compact(db, tmp_path, tools)
    finally:
        holder.close()
    assert result.returncode == 3, tools.describe(result)
    assert f"the database {db} is locked" in result.stderr
    assert "nothing was compacted" in result.stderr


def test_the_nightly_compacts_when_the_last_compaction_is_old_enough(tmp_path):
    from datetime import date, datetime

    from chat_analytics.compact import is_due, last_compacted

    db = tmp_path / "warehouse.duckdb"
    duckdb.connect(str(db)).close()
    assert last_compacted(db) is None
    assert is_due(None, 7, date(2026, 3, 1))  # never compacted
    con = duckdb.connect(str(db))
    con.execute(
        "create schema audit; create table audit.compactions (started_at timestamp not null,"
        " seconds double, bytes_before bigint not null, bytes_after bigint)"
    )
    con.executemany(
        "insert into audit.compactions values (?, 1.0, 10, 9)",
        [[datetime(2026, 2, 20, 3, 0)], [datetime(2026, 3, 1, 23, 59)]],
    )
    con.close()
    last = last_compacted(db)
    assert last == datetime(2026, 3, 1, 23, 59)  # the latest of the log
    assert not is_due(last, 7, date(2026, 3, 7))  # six calendar days later
    assert is_due(last, 7, date(2026, 3, 8))  # seven
    assert not is_due(last, 1, date(2026, 3, 1)) and is_due(last, 1, date(2026, 3, 2))
    assert is_due(last, 0, date(2026, 3, 1))  # 0: every night
