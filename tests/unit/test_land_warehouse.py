"""The database side of landing: SQL per source, the file transaction, the lock message."""

from __future__ import annotations

import hashlib
import re

import duckdb
import pytest

from chat_analytics.land.discover import ExportFile
from chat_analytics.land.reader import Digest, read_chunks, read_lines
from chat_analytics.land.warehouse import (
    SOURCE_SQL,
    AlreadyLanded,
    LandingInconsistent,
    connect,
    land_file,
    lock_message,
)
from chat_analytics.raw_schema import EVENT_TABLES, TABLE_COLUMNS, supports_zstd_text

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
    sql = SOURCE_SQL[source]
    insert = sql.insert("land_stream", sql.lands)
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


def test_a_file_digested_while_it_lands_is_not_landed_twice(tmp_path):
    path = tmp_path / "segment" / "x.jsonl"
    path.parent.mkdir()
    data = b'{"type":"track","messageId":"m"}\n' * 3000
    path.write_bytes(data)
    con = connect(tmp_path / "w.duckdb")
    export = ExportFile(path, "segment")
    digest = Digest()
    counts = land_file(con, export, digest, 0, read_chunks(path, json_lines=True, digest=digest))
    row = con.execute("select content_hash, bytes from raw.loads").fetchone()
    assert row == (hashlib.sha256(data).hexdigest(), len(data)) and counts.landed_rows == 3000

    again = Digest()
    with pytest.raises(AlreadyLanded) as raised:
        land_file(con, export, again, 0, read_chunks(path, json_lines=True, digest=again))
    assert raised.value.load_id == counts.load_id
    assert con.execute("select count(*) from raw.segment_events").fetchone() == (3000,)
    assert con.execute("select count(*) from raw.loads").fetchone() == (1,)
    con.close()


def test_lines_set_aside_are_written_between_inserts_when_they_pile_up(tmp_path):
    path = tmp_path / "segment" / "x.jsonl"
    path.parent.mkdir()
    four = b'{"messageId":"ok"}\n' + b"\xff" * 100 + b"\n[1,2,3]\n" + b'{"other":"field"}\n'
    path.write_bytes(four * 2000)
    con = connect(tmp_path / "w.duckdb")

    def chunks():
        return read_chunks(path, json_lines=True, block_bytes=8192)

    def reread(numbers):
        return read_lines(path, numbers, block_bytes=8192)

    export = ExportFile(path, "segment")
    counts = land_file(con, export, "h", 1, chunks(), reread=reread, budget=1000)
    assert (counts.lines, counts.landed_rows, counts.rejected_lines) == (8000, 4000, 4000)
    reasons = con.execute(
        "select reason, count(*), min(line_number), max(line_number) from raw.rejected_lines"
        " group by reason order by reason"
    ).fetchall()
    assert reasons == [("invalid_utf8", 2000, 2, 7998), ("not_an_object", 2000, 3, 7999)]
    landed = con.execute(
        "select count(*), count(message_id), min(line_number), max(line_number)"
        " from raw.segment_events"
    ).fetchone()
    assert landed == (4000, 2000, 1, 8000)  # objects without envelope fields land too
    con.close()


def test_lines_left_out_need_a_way_to_read_the_file_again(tmp_path):
    path = tmp_path / "segment" / "x.jsonl"
    path.parent.mkdir()
    # Looks like an object to the reader (so it goes to the bulk INSERT), but is not JSON.
    path.write_bytes(b'{"messageId":"m" "type":"track"}\n')
    con = connect(tmp_path / "w.duckdb")
    with pytest.raises(LandingInconsistent):
        land_file(con, ExportFile(path, "segment"), "h", 1, read_chunks(path, json_lines=True))
    assert con.execute("select count(*) from raw.loads").fetchone() == (0,)
    con.close()


def test_a_new_database_stores_long_text_with_zstd(tmp_path):
    path = tmp_path / "segment" / "x.jsonl"
    path.parent.mkdir()
    path.write_text('{"type":"track","messageId":"m","properties":{"a":"b"}}\n' * 3000)
    con = connect(tmp_path / "w.duckdb")
    assert supports_zstd_text(con)
    land_file(con, ExportFile(path, "segment"), "h", 1, read_chunks(path, json_lines=True))
    con.execute("checkpoint")
    methods = dict(
        con.execute(
            "select column_name, string_agg(distinct compression, ',')"
            " from pragma_storage_info('raw.segment_events')"
            " where column_name in ('raw_line', 'properties', 'message_id') group by all"
        ).fetchall()
    )
    con.close()
    assert "ZSTD" in methods["raw_line"] and "ZSTD" in methods["properties"]
    assert "ZSTD" not in methods["message_id"]


def test_a_database_created_elsewhere_with_an_older_storage_version_still_lands(tmp_path):
    db = tmp_path / "w.duckdb"
    duckdb.connect(str(db)).close()  # DuckDB's default storage version: no zstd for text
    path = tmp_path / "segment" / "x.jsonl"
    path.parent.mkdir()
    path.write_text('{"type":"track","messageId":"m"}\n')
    con = connect(db)
    assert not supports_zstd_text(con)
    counts = land_file(con, ExportFile(path, "segment"), "h", 1, read_chunks(path, json_lines=True))
    assert counts.landed_rows == 1
    con.close()


def test_only_the_lines_left_out_are_read_again(tmp_path):
    path = tmp_path / "segment" / "x.jsonl"
    path.parent.mkdir()
    good = b'{"type":"track","messageId":"m-%d"}\n'
    broken = b'{"messageId":"m" "type":"track"}\n'  # object-shaped, not JSON: left out
    path.write_bytes(b"".join(broken if n in (700, 701) else good % n for n in range(1, 1001)))
    con = connect(tmp_path / "w.duckdb")
    asked = []

    def reread(numbers):
        asked.append(sorted(numbers))
        return read_lines(path, numbers, block_bytes=4096)

    chunks = read_chunks(path, json_lines=True, block_bytes=4096)
    counts = land_file(con, ExportFile(path, "segment"), "h", 1, chunks, reread=reread)
    assert (counts.lines, counts.landed_rows, counts.rejected_lines) == (1000, 998, 2)
    assert asked == [[700, 701]]
    rejected = con.execute(
        "select line_number, reason, raw_bytes from raw.rejected_lines order by line_number"
    ).fetchall()
    assert rejected == [(700, "invalid_json", broken[:-1]), (701, "invalid_json", broken[:-1])]
    con.close()


def test_the_database_checks_field_counts_too(tmp_path):
    """Lines with a wrong field count that reach the bulk INSERT anyway (here: read without
    the reader's field check) are left out by the database, read again and rejected."""
    path = tmp_path / "snowplow" / "x.tsv"
    path.parent.mkdir()
    line = "\t".join(["v"] * 131).encode()
    lines = [line] * 200
    lines[9] = "\t".join(["short"] * 130).encode()
    lines[10] = "\t".join(["long"] * 132).encode()
    path.write_bytes(b"\n".join(lines) + b"\n")
    con = connect(tmp_path / "w.duckdb")

    def chunks():
        return read_chunks(path)

    def reread(numbers):
        return read_lines(path, numbers)

    assert sum(chunk.unusual.num_rows for chunk in chunks()) == 0
    counts = land_file(con, ExportFile(path, "snowplow"), "h", 1, chunks(), reread=reread)
    assert (counts.lines, counts.landed_rows, counts.rejected_lines) == (200, 198, 2)
    rejected = con.execute(
        "select line_number, reason, raw_bytes from raw.rejected_lines order by line_number"
    ).fetchall()
    assert rejected == [(10, "wrong_field_count", lines[9]), (11, "wrong_field_count", lines[10])]
    con.close()
