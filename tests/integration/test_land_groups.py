"""Whole files land together in one transaction per worker (DECISIONLOG D36): the table's row
groups stay full across file boundaries, and a file that fails inside a group costs the other
files of the group nothing."""

from __future__ import annotations

import gzip
import hashlib

import duckdb

import chat_analytics.land as land
from chat_analytics.land import land_paths

ROWS = land.ROW_GROUP_ROWS


def write_lines(path, count: int, tag: str) -> bytes:
    path.parent.mkdir(parents=True, exist_ok=True)
    data = "".join(f'{{"type":"track","messageId":"{tag}-{i:07d}"}}\n' for i in range(count))
    path.write_bytes(data.encode())
    return data.encode()


def spy_row_groups(monkeypatch, table: str) -> list[int]:
    """The row counts of ``raw.<table>``'s row groups when every file has landed, before the
    final checkpoint (which may merge and rewrite partly filled ones)."""
    seen: list[int] = []
    original = land._land_all

    def landing_then_looking(con, *args):
        original(con, *args)
        seen.extend(row_group_counts(con, table))

    monkeypatch.setattr(land, "_land_all", landing_then_looking)
    return seen


def row_group_counts(con, table: str) -> list[int]:
    rows = con.execute(
        "select row_group_id, max(count) from pragma_storage_info(?)"
        " where column_id = 0 group by row_group_id order by row_group_id",
        [f"raw.{table}"],
    ).fetchall()
    return [count for _, count in rows]


def test_files_of_one_group_fill_each_others_row_groups(tmp_path, monkeypatch):
    # Three files of a bit more than one row group each, and different sizes (landed biggest
    # first): together 387,000 rows, three full row groups and 18,360 rows.
    counts = [ROWS + 7_120, ROWS + 6_120, ROWS + 5_120]
    for name, count in zip("abc", counts, strict=True):
        write_lines(tmp_path / "exports" / "segment" / f"{name}.jsonl", count, name)

    grouped = spy_row_groups(monkeypatch, "segment_events")
    db = tmp_path / "grouped.duckdb"
    result = land_paths([str(tmp_path / "exports")], db=db, quiet=True, workers=1)
    assert [item.status for item in result.files] == ["landed"] * 3
    assert grouped == [ROWS, ROWS, ROWS, 18_360]
    with duckdb.connect(str(db), read_only=True) as con:
        assert row_group_counts(con, "segment_events") == [ROWS, ROWS, ROWS, 18_360]
        assert con.execute("select count(*) from raw.segment_events").fetchone() == (387_000,)

    monkeypatch.undo()
    alone = spy_row_groups(monkeypatch, "segment_events")
    exports = [str(tmp_path / "exports")]
    land_paths(exports, db=tmp_path / "alone.duckdb", quiet=True, workers=1, group_rows=1)
    # A transaction per file: each ends with a partly filled row group of its own.
    assert alone == [ROWS, 7_120, ROWS, 6_120, ROWS, 5_120]


def test_a_group_with_its_rows_stays_open_for_the_last_few_files(tmp_path, monkeypatch):
    # After a and b the group has its three row groups (383,640 rows), but only c is left,
    # fewer rows than a row group: c joins the group instead of committing on its own, which
    # DuckDB would write only at the final checkpoint, on one thread.
    counts = [2 * ROWS + 10_000, ROWS + 5_000, 60_000]
    for name, count in zip("abc", counts, strict=True):
        write_lines(tmp_path / "exports" / "segment" / f"{name}.jsonl", count, name)
    seen = spy_row_groups(monkeypatch, "segment_events")
    result = land_paths(
        [str(tmp_path / "exports")], db=tmp_path / "w.duckdb", quiet=True, workers=1
    )
    assert [item.status for item in result.files] == ["landed"] * 3
    assert seen == [ROWS, ROWS, ROWS, 75_000]


def test_an_unreadable_file_in_a_group_costs_the_others_nothing(tmp_path):
    folder = tmp_path / "exports" / "segment"
    write_lines(folder / "a.jsonl", 3_000, "a")  # the biggest: lands first
    broken = folder / "b.jsonl.gz"  # fails at its end, after some of its rows were inserted
    broken.write_bytes(gzip.compress(b'{"type":"track","messageId":"b"}\n' * 20_000)[:-40])
    write_lines(folder / "c.jsonl", 100, "c")
    assert folder.joinpath("a.jsonl").stat().st_size > broken.stat().st_size

    db = tmp_path / "w.duckdb"
    exports = [str(tmp_path / "exports")]
    result = land_paths(exports, db=db, quiet=True, workers=1, group_rows=10**9, block_bytes=4096)
    by_name = {item.path.name: item for item in result.files}
    assert by_name["a.jsonl"].status == "landed" and by_name["c.jsonl"].status == "landed"
    assert by_name["b.jsonl.gz"].status == "failed"
    assert "not a readable gzip file" in by_name["b.jsonl.gz"].error
    with duckdb.connect(str(db), read_only=True) as con:
        loads = con.execute(
            "select load_id, path, lines, landed_rows, rejected_lines, status from raw.loads"
            " order by load_id"
        ).fetchall()
        assert loads == [
            (1, str(folder / "a.jsonl"), 3_000, 3_000, 0, "landed"),
            (3, str(folder / "c.jsonl"), 100, 100, 0, "landed"),
        ]
        landed = con.execute(
            "select file_name, count(*), count(distinct line_number), max(line_number)"
            " from raw.segment_events group by file_name order by file_name"
        ).fetchall()
        assert landed == [
            (str(folder / "a.jsonl"), 3_000, 3_000, 3_000),
            (str(folder / "c.jsonl"), 100, 100, 100),
        ]


def test_a_file_found_to_be_a_copy_while_in_a_group_costs_the_others_nothing(tmp_path, monkeypatch):
    folder = tmp_path / "exports" / "segment"
    first = write_lines(tmp_path / "first" / "segment" / "x.jsonl", 500, "x")
    db = tmp_path / "w.duckdb"
    land_paths([str(tmp_path / "first")], db=db, quiet=True)

    write_lines(folder / "y.jsonl", 3_000, "y")
    changing = folder / "z.jsonl"
    write_lines(changing, 200, "z")  # a size no landed file has: hashed while it lands
    original = land._plan

    def plan_then_change(*args):
        planned = original(*args)
        changing.write_bytes(first)  # rewritten since it was planned, into a landed file
        return planned

    monkeypatch.setattr(land, "_plan", plan_then_change)
    result = land_paths([str(tmp_path / "exports")], db=db, quiet=True, workers=1, group_rows=10**9)
    by_name = {item.path.name: item for item in result.files}
    assert (by_name["y.jsonl"].status, by_name["y.jsonl"].landed_rows) == ("landed", 3_000)
    assert (by_name["z.jsonl"].status, by_name["z.jsonl"].load_id) == ("already_landed", 1)
    with duckdb.connect(str(db), read_only=True) as con:
        loads = con.execute(
            "select path, content_hash, landed_rows from raw.loads order by load_id"
        ).fetchall()
        x_path, y_path = tmp_path / "first" / "segment" / "x.jsonl", folder / "y.jsonl"
        assert loads == [
            (str(x_path), hashlib.sha256(first).hexdigest(), 500),
            (str(y_path), hashlib.sha256(y_path.read_bytes()).hexdigest(), 3_000),
        ]
        assert con.execute(
            "select count(*), count(distinct file_name) from raw.segment_events"
        ).fetchone() == (3_500, 2)


def test_the_last_commit_writes_into_the_database_file_not_the_log(tmp_path, monkeypatch):
    # Two groups on one worker: the first commits to the write-ahead log, the last (the queue
    # is empty) lowers the checkpoint threshold and is written, with the first, into the file.
    for name in "ab":
        write_lines(tmp_path / "exports" / "segment" / f"{name}.jsonl", 50_000, name)
    db = tmp_path / "w.duckdb"
    wal_bytes: list[int] = []
    original = land._land_all

    def landing_then_looking(con, *args):
        original(con, *args)
        wal = db.with_name(db.name + ".wal")
        wal_bytes.append(wal.stat().st_size if wal.exists() else 0)

    monkeypatch.setattr(land, "_land_all", landing_then_looking)
    exports = [str(tmp_path / "exports")]
    result = land_paths(exports, db=db, quiet=True, workers=1, group_rows=50_000)
    assert [item.status for item in result.files] == ["landed"] * 2
    assert wal_bytes == [0]
    with duckdb.connect(str(db), read_only=True) as con:
        assert con.execute("select count(*) from raw.segment_events").fetchone() == (100_000,)
        # the first group's rows were still in memory: the second filled its row group
        assert row_group_counts(con, "segment_events") == [100_000]
