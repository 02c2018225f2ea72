"""The `chat-analytics land` command line: usage errors, notes, unreadable files, progress,
summary, and where the database goes."""

from __future__ import annotations

import gzip
import os
import subprocess
import sys

GOOD = b'{"type":"track","messageId":"m-1"}\n{"type":"track","messageId":"m-2"}\n'


def make(path, data: bytes = GOOD):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def test_an_explicit_file_without_a_source_is_usage_error_2(tmp_path, tools):
    loose = make(tmp_path / "loose" / "export.jsonl")
    db = tmp_path / "db" / "warehouse.duckdb"
    result = tools.land([loose], db, tmp_path)
    assert result.returncode == 2, tools.describe(result)
    assert str(loose) in result.stderr and "cannot tell its source" in result.stderr
    assert "Traceback" not in result.stderr
    assert not db.exists()  # nothing is touched before every path is understood

    with_flag = tools.land([loose], db, tmp_path, extra=["--source", "rudderstack"])
    assert with_flag.returncode == 0, tools.describe(with_flag)
    assert tools.query(db, "select source, landed_rows from raw.loads") == [
        {"source": "rudderstack", "landed_rows": 2}
    ]


def test_missing_paths_and_empty_globs_are_usage_errors(tmp_path, tools):
    db = tmp_path / "warehouse.duckdb"
    missing = tools.land([tmp_path / "nope"], db, tmp_path)
    assert missing.returncode == 2 and "no such file or folder" in missing.stderr
    empty = tools.land([tmp_path / "*.jsonl"], db, tmp_path)
    assert empty.returncode == 2 and "no file matches" in empty.stderr


def test_files_outside_source_folders_are_skipped_with_a_note(tmp_path, tools):
    make(tmp_path / "out" / "segment" / "2026-03-01.jsonl")
    make(tmp_path / "out" / "_truth" / "fct_conversations.csv", b"conversation_id\nc-1\n")
    make(tmp_path / "out" / "notes.txt", b"hello\n")
    db = tmp_path / "warehouse.duckdb"
    result = tools.land([tmp_path / "out"], db, tmp_path)
    assert result.returncode == 0, tools.describe(result)
    assert "note: skipped" in result.stderr and "_truth/ (1 file)" in result.stderr
    assert "notes.txt" not in result.stdout and "1 file in" in result.stderr
    assert tools.query(db, "select count(*) as n from raw.loads") == [{"n": 1}]


def test_an_unreadable_file_is_exit_1_and_the_others_land(tmp_path, tools):
    good = make(tmp_path / "out" / "segment" / "a.jsonl")
    broken = make(tmp_path / "out" / "segment" / "b.jsonl.gz", gzip.compress(GOOD * 5000)[:-40])
    db = tmp_path / "warehouse.duckdb"
    result = tools.land([tmp_path / "out"], db, tmp_path)
    assert result.returncode == 1, tools.describe(result)
    assert str(broken) in result.stderr and "not a readable gzip file" in result.stderr
    assert "Traceback" not in result.stderr
    assert "failed: not a readable gzip file" in result.stdout
    loads = tools.query(db, "select path, landed_rows from raw.loads")
    assert loads == [{"path": str(good), "landed_rows": 2}]
    assert tools.query(
        db, "select count(*) as n from raw.segment_events where file_name = ?", [str(broken)]
    ) == [{"n": 0}]

    broken.write_bytes(gzip.compress(GOOD * 5000))  # the export is written again, whole
    again = tools.land([tmp_path / "out"], db, tmp_path)
    assert again.returncode == 0, tools.describe(again)
    assert tools.query(
        db, "select lines, landed_rows from raw.loads where path = ?", [str(broken)]
    ) == [{"lines": 10000, "landed_rows": 10000}]


def test_progress_goes_to_stderr_and_the_summary_to_stdout(tmp_path, tools):
    make(tmp_path / "out" / "segment" / "a.jsonl", GOOD * 2000)
    make(tmp_path / "out" / "rudderstack" / "b.jsonl.gz", gzip.compress(GOOD * 10))
    db = tmp_path / "warehouse.duckdb"
    result = tools.land(
        [tmp_path / "out"],
        db,
        tmp_path,
        extra=["--progress-interval", "0", "--block-bytes", "4096"],
    )
    assert result.returncode == 0, tools.describe(result)
    progress = [line for line in result.stderr.splitlines() if line.startswith("land: ")]
    assert progress and all("lines/s" in line and "MB/s" in line for line in progress)
    assert progress[-1].startswith("land: 2/2 files, 4,020 lines")
    table = result.stdout.splitlines()
    assert table[0].split() == ["file", "source", "lines", "landed", "rejected", "status"]
    assert any("a.jsonl" in line and "4,000" in line and "landed (load" in line for line in table)
    assert table[-1].startswith("2 files: 2 landed, 0 already landed, 0 failed; 4,020 lines")

    quiet = tools.land([tmp_path / "out"], db, tmp_path, extra=["--quiet"])
    assert quiet.returncode == 0 and quiet.stdout == "" and quiet.stderr == ""


def test_the_database_defaults_to_the_warehouse_folder_which_is_created(tmp_path, tools):
    make(tmp_path / "out" / "snowplow" / "a.tsv", b"\t" * 130 + b"\n")
    env = {k: v for k, v in os.environ.items() if k != "CHAT_ANALYTICS_DB"}
    result = subprocess.run(
        [str(tools.REPO / ".venv" / "bin" / "chat-analytics"), "land", "out"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, tools.describe(result)
    db = tmp_path / "warehouse" / "chat_analytics.duckdb"
    assert tools.query(db, "select count(*) as n from raw.snowplow_events") == [{"n": 1}]

    nested = tmp_path / "a" / "b" / "c" / "w.duckdb"
    result = tools.land([tmp_path / "out"], nested, tmp_path)
    assert result.returncode == 0, tools.describe(result)
    assert nested.exists()


def test_land_loads_only_its_own_stage(tmp_path):
    script = (
        "import sys\n"
        "from chat_analytics import cli\n"
        "try:\n"
        "    cli.main(['land', '--help'])\n"
        "except SystemExit:\n"
        "    pass\n"
        "print(sorted(name.split('.')[1] for name in sys.modules"
        " if name.startswith('chat_analytics.') and name.count('.') == 1))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    loaded = set(result.stdout.strip().splitlines()[-1].strip("[]").replace("'", "").split(", "))
    assert "land" in loaded
    assert not loaded & {"generate", "publish", "nightly", "report", "dashboard", "demo"}
