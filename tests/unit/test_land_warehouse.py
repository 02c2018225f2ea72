"""The database side of landing: SQL per source, the file transaction, the lock message."""

from __future__ import annotations

import re

import pytest

from chat_analytics.land.discover import ExportFile
from chat_analytics.land.reader import read_chunks
from chat_analytics.land.warehouse import SOURCE_SQL, connect, land_file, lock_message
from chat_analytics.raw_schema import EVENT_TABLES, TABLE_COLUMNS

DUCKDB_LOCK_ERROR = (
    'IO Error: Could not set lock on file "/data/w.duckdb": Conflicting lock is held in'
    " /usr/bin/python3.11 (PID 4242) by user ana. See also"
    " https://duckdb.org/docs/stable/connect/concurrency"
)


def test_lock_message_names_the_file_the_holder_and_what_to_do(tmp_path):
    message = lock_message(tmp_path / "w.duckdb", DUCKDB_LOCK_ERROR)
    assert str(tmp_path / "w.duckdb") in message
    assert "(/usr/bin/python3.11, PID 4242)" in message
    assert "nothing was landed" in message and "run land again" in message
    assert "locked by another process;" in lock_message(tmp_path / "w.duckdb", "lock held")


@pytest.mark.parametrize("source", list(EVENT_TABLES))
def test_every_raw_column_is_written(source):
    insert = SOURCE_SQL[source].insert
    target = re.match(r"insert into raw\.(\w+) \((.*?)\) select", insert)
    assert target and target.group(1) == EVENT_TABLES[source]
    columns = [name.strip().strip('"') for name in target.group(2).split(",")]
    assert sorted(columns) == sorted(TABLE_COLUMNS[EVENT_TABLES[source]])


def test_a_failure_mid_file_rolls_the_whole_file_back(tmp_path):
    path = tmp_path / "segment" / "x.jsonl"
    path.parent.mkdir()
    path.write_text('{"type":"track","messageId":"m"}\n' * 5000)
    con = connect(tmp_path / "w.duckdb")

    def failing_after_two_chunks():
        for number, chunk in enumerate(read_chunks(path, json_lines=True, block_bytes=4096)):
            if number == 2:
                raise EOFError("the file ended early")
            yield chunk

    export = ExportFile(path, "segment")
    with pytest.raises(EOFError, match="ended early"):  # the reader's own error, not DuckDB's
        land_file(con, export, "hash", 1, failing_after_two_chunks())
    assert con.execute("select count(*) from raw.segment_events").fetchone() == (0,)
    assert con.execute("select count(*) from raw.loads").fetchone() == (0,)

    counts = land_file(con, export, "hash", 1, read_chunks(path, json_lines=True))
    assert (counts.load_id, counts.lines, counts.landed_rows) == (1, 5000, 5000)
    con.close()


def test_rejected_lines_are_written_between_inserts_when_they_pile_up(tmp_path):
    path = tmp_path / "segment" / "x.jsonl"
    path.parent.mkdir()
    path.write_bytes((b'{"messageId":"ok"}\n' + b"\xff" * 100 + b"\n") * 2000)
    con = connect(tmp_path / "w.duckdb")
    chunks = read_chunks(path, json_lines=True, block_bytes=8192)
    counts = land_file(con, ExportFile(path, "segment"), "h", 1, chunks, rejected_budget=1000)
    assert (counts.lines, counts.landed_rows, counts.rejected_lines) == (4000, 2000, 2000)
    reasons = con.execute(
        "select reason, count(*), min(line_number), max(line_number) from raw.rejected_lines"
        " group by reason"
    ).fetchall()
    assert reasons == [("invalid_utf8", 2000, 2, 4000)]
    con.close()
