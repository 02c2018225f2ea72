"""Landing is idempotent per file: landing a folder again lands only the files that are new."""

from __future__ import annotations

import gzip
import hashlib
import json
import shutil

import pytest

from chat_analytics.formats import SNOWPLOW_FIELDS

TABLES = ["loads", "segment_events", "rudderstack_events", "snowplow_events", "rejected_lines"]


def json_lines(prefix: str, count: int) -> bytes:
    lines = [
        json.dumps({"type": "track", "messageId": f"{prefix}-{i}", "event": "Message Sent"})
        for i in range(count)
    ]
    return ("\n".join(lines) + "\n{}\n").encode()  # one empty object: a rejected line


def tsv_lines(prefix: str, count: int) -> bytes:
    rows = [
        "\t".join(f"{prefix}-{i}" if name == "event_id" else "" for name in SNOWPLOW_FIELDS)
        for i in range(count)
    ]
    return ("\n".join(rows) + "\nshort\tline\n").encode()


@pytest.fixture
def exports(tmp_path):
    out = tmp_path / "out"
    for folder, name, data in [
        ("segment", "2026-03-01.jsonl", json_lines("s1", 40)),
        ("segment", "2026-03-02.jsonl.gz", gzip.compress(json_lines("s2", 30))),
        ("rudderstack", "2026-03-01.jsonl", json_lines("r1", 25)),
        ("snowplow", "2026-03-01.tsv.gz", gzip.compress(tsv_lines("p1", 20))),
        ("_truth", "manifest.json", b'{"seed": 1}\n'),
    ]:
        (out / folder).mkdir(parents=True, exist_ok=True)
        (out / folder / name).write_bytes(data)
    return out


def snapshot(tools, db) -> dict:
    counts = {
        table: tools.query(db, f"select count(*) as n from raw.{table}")[0]["n"] for table in TABLES
    }
    loads = tools.query(
        db,
        "select load_id, path, content_hash, lines, landed_rows, rejected_lines, finished_at"
        " from raw.loads order by load_id",
    )
    return {"counts": counts, "loads": loads}


def test_landing_the_same_folder_twice_lands_nothing_the_second_time(tmp_path, exports, tools):
    db = tmp_path / "warehouse.duckdb"
    first = tools.land([exports], db, tmp_path)
    assert first.returncode == 0, tools.describe(first)
    before = snapshot(tools, db)
    assert before["counts"] == {
        "loads": 4,
        "segment_events": 70,
        "rudderstack_events": 25,
        "snowplow_events": 20,
        "rejected_lines": 4,
    }
    for load in before["loads"]:
        assert load["lines"] == load["landed_rows"] + load["rejected_lines"]

    second = tools.land([exports], db, tmp_path)
    assert second.returncode == 0, tools.describe(second)
    assert snapshot(tools, db) == before
    assert second.stdout.count("already landed (load") == 4
    assert "0 landed, 4 already landed" in second.stdout
    assert "out/_truth/ (1 file)" in second.stderr


def test_only_new_files_land_and_a_renamed_copy_is_recognised(tmp_path, exports, tools):
    db = tmp_path / "warehouse.duckdb"
    assert tools.land([exports], db, tmp_path).returncode == 0
    before = snapshot(tools, db)

    (exports / "segment" / "2026-03-03.jsonl").write_bytes(json_lines("s3", 10))
    shutil.copy(
        exports / "rudderstack" / "2026-03-01.jsonl", exports / "rudderstack" / "copy.jsonl"
    )
    again = tools.land([exports], db, tmp_path)
    assert again.returncode == 0, tools.describe(again)
    after = snapshot(tools, db)
    assert after["loads"][:4] == before["loads"]
    (new,) = after["loads"][4:]
    assert new["path"].endswith("segment/2026-03-03.jsonl")
    assert (new["lines"], new["landed_rows"], new["rejected_lines"]) == (11, 10, 1)
    assert new["load_id"] > max(load["load_id"] for load in before["loads"])
    assert after["counts"]["segment_events"] == before["counts"]["segment_events"] + 10
    assert after["counts"]["rudderstack_events"] == before["counts"]["rudderstack_events"]
    assert "copy.jsonl" in again.stdout and "1 landed, 5 already landed" in again.stdout


def test_the_same_bytes_land_once_per_source(tmp_path, tools):
    data = json_lines("x", 5)
    for folder in ("segment", "rudderstack"):
        (tmp_path / "out" / folder).mkdir(parents=True)
        (tmp_path / "out" / folder / "export.jsonl").write_bytes(data)
    db = tmp_path / "warehouse.duckdb"
    result = tools.land([tmp_path / "out"], db, tmp_path)
    assert result.returncode == 0, tools.describe(result)
    rows = tools.query(db, "select source, landed_rows from raw.loads order by source")
    assert rows == [
        {"source": "rudderstack", "landed_rows": 5},
        {"source": "segment", "landed_rows": 5},
    ]


def test_two_copies_in_one_run_land_once_and_load_ids_follow_file_order(tmp_path, tools):
    folder = tmp_path / "out" / "segment"
    folder.mkdir(parents=True)
    for day in range(1, 7):
        (folder / f"2026-03-0{day}.jsonl").write_bytes(json_lines(f"d{day}", 50 * day))
    (folder / "2026-03-07.jsonl").write_bytes(json_lines("d3", 150))  # a copy of day 3
    db = tmp_path / "warehouse.duckdb"
    result = tools.land([tmp_path / "out"], db, tmp_path)
    assert result.returncode == 0, tools.describe(result)
    loads = tools.query(db, "select load_id, path, landed_rows from raw.loads order by load_id")
    assert [row["path"].rsplit("/", 1)[1] for row in loads] == [
        f"2026-03-0{day}.jsonl" for day in range(1, 7)
    ]
    assert [row["load_id"] for row in loads] == list(range(1, 7))
    assert [row["landed_rows"] for row in loads] == [50 * day for day in range(1, 7)]
    assert "2026-03-07.jsonl" in result.stdout and "already landed (load 3)" in result.stdout


def test_loads_record_the_hash_and_size_of_the_stored_bytes(tmp_path, exports, tools):
    # Files whose size no other file of their source has are hashed while they land; files of
    # equal size are hashed first (they could be copies): both record the same kind of hash.
    twins = [json_lines("t1", 12), json_lines("t2", 12)]
    assert len(twins[0]) == len(twins[1]) and twins[0] != twins[1]
    for number, data in enumerate(twins, start=1):
        (exports / "rudderstack" / f"2026-03-0{number + 1}.jsonl").write_bytes(data)
    db = tmp_path / "warehouse.duckdb"
    result = tools.land([exports], db, tmp_path)
    assert result.returncode == 0, tools.describe(result)
    stored = {
        str(path): path.read_bytes()
        for path in exports.rglob("*")
        if path.is_file() and path.parent.name != "_truth"
    }
    loads = tools.query(db, "select path, content_hash, bytes from raw.loads")
    assert {row["path"]: (row["content_hash"], row["bytes"]) for row in loads} == {
        path: (hashlib.sha256(data).hexdigest(), len(data)) for path, data in stored.items()
    }


def test_a_file_of_the_size_of_a_landed_file_lands_unless_it_is_a_copy(tmp_path, tools):
    folder = tmp_path / "out" / "segment"
    folder.mkdir(parents=True)
    first, other = json_lines("a1", 20), json_lines("b1", 20)
    assert len(first) == len(other) and first != other
    (folder / "2026-03-01.jsonl").write_bytes(first)
    db = tmp_path / "warehouse.duckdb"
    assert tools.land([tmp_path / "out"], db, tmp_path).returncode == 0
    (folder / "2026-03-02.jsonl").write_bytes(other)  # same size, other content: new
    (folder / "2026-03-03.jsonl").write_bytes(first)  # a copy of the landed file
    result = tools.land([tmp_path / "out"], db, tmp_path)
    assert result.returncode == 0, tools.describe(result)
    loads = tools.query(db, "select load_id, path, landed_rows from raw.loads order by load_id")
    assert [(row["load_id"], row["path"].rsplit("/", 1)[1]) for row in loads] == [
        (1, "2026-03-01.jsonl"),
        (2, "2026-03-02.jsonl"),
    ]
    assert "already landed (load 1)" in result.stdout
