"""A file lands in one transaction: killed mid-file (kill -9), nothing of it is visible, and the
next run lands it again, completely. Files landing together in one transaction (a group) are
all visible or none."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time

import duckdb

LINES = 200_000  # more than one DuckDB row group (122,880 rows), so some reach the disk early
GROUP_LINES = 150_000  # per file of a group of two
PROGRESS = re.compile(r"land: \d+/\d+ files, ([\d,]+) lines")


def write_big_export(path, lines: int = LINES, tag: str = "m") -> None:
    template = {
        "type": "track",
        "event": "Message Sent",
        "anonymousId": "a-0",
        "properties": {"conversationId": "c-0", "sender": "user", "messageLength": 42},
        "context": {"library": {"name": "analytics.js", "version": "2.11.1"}},
        "receivedAt": "2026-03-01T10:00:00.000Z",
    }
    head, tail = json.dumps(template).rsplit("}", 1)
    with open(path, "w") as handle:
        for i in range(lines):
            handle.write(f'{head}, "messageId": "{tag}-{i:09d}"}}{tail}\n')
        handle.write("[]\n")  # and one rejected line


def counts(db, big) -> dict:
    con = duckdb.connect(str(db))  # read-write: replays what the killed process left behind
    try:
        return {
            "loads": con.execute("select count(*) from raw.loads").fetchone()[0],
            "big_loads": con.execute(
                "select count(*) from raw.loads where path = ?", [str(big)]
            ).fetchone()[0],
            "big_rows": con.execute(
                "select count(*) from raw.segment_events where file_name = ?", [str(big)]
            ).fetchone()[0],
            "big_rejected": con.execute(
                "select count(*) from raw.rejected_lines where file_name = ?", [str(big)]
            ).fetchone()[0],
            "small_rows": con.execute(
                "select count(*) from raw.segment_events where file_name <> ?", [str(big)]
            ).fetchone()[0],
        }
    finally:
        con.close()


def test_kill_9_mid_file_leaves_nothing_and_the_next_run_lands_it(tmp_path, tools):
    folder = tmp_path / "exports" / "segment"
    folder.mkdir(parents=True)
    small = folder / "a_small.jsonl"
    small.write_text('{"type":"track","messageId":"s-1"}\n{"type":"track","messageId":"s-2"}\n')
    big = folder / "b_big.jsonl"
    write_big_export(big)
    db = tmp_path / "warehouse.duckdb"
    seen = land_and_kill(
        tools, tmp_path, db, [], lambda line: "b_big" in line, lambda seen: seen >= 0.6 * LINES
    )
    assert 0.6 * LINES <= seen < LINES

    after_kill = counts(db, big)
    assert after_kill == {
        "loads": 1,
        "big_loads": 0,
        "big_rows": 0,
        "big_rejected": 0,
        "small_rows": 2,
    }

    rerun = tools.land([tmp_path / "exports"], db, tmp_path)
    assert rerun.returncode == 0, tools.describe(rerun)
    assert "already landed (load 1)" in rerun.stdout
    assert counts(db, big) == {
        "loads": 2,
        "big_loads": 1,
        "big_rows": LINES,
        "big_rejected": 1,
        "small_rows": 2,
    }
    (load,) = tools.query(db, "select * from raw.loads where path = ?", [str(big)])
    assert (load["lines"], load["landed_rows"], load["rejected_lines"]) == (LINES + 1, LINES, 1)
    (numbers,) = tools.query(
        db,
        "select count(distinct line_number) as n, min(line_number) as lo, max(line_number) as hi"
        " from raw.segment_events where file_name = ?",
        [str(big)],
    )
    assert (numbers["n"], numbers["lo"], numbers["hi"]) == (LINES, 1, LINES)


def test_kill_9_during_a_group_leaves_none_of_its_files_and_the_next_run_lands_them(
    tmp_path, tools
):
    # One worker, one group for both files: the first file has landed completely (its rows
    # and its raw.loads row are in the transaction) when the second is killed.
    folder = tmp_path / "exports" / "segment"
    folder.mkdir(parents=True)
    first, second = folder / "a_first.jsonl", folder / "b_second.jsonl"
    write_big_export(first, GROUP_LINES + 1, "a")  # the bigger one lands first
    write_big_export(second, GROUP_LINES, "b")
    db = tmp_path / "warehouse.duckdb"
    options = ["--workers", "1", "--group-rows", str(10**9)]

    seen = land_and_kill(
        tools,
        tmp_path,
        db,
        options,
        lambda line: "1/2 files" in line and "b_second" in line,
        lambda seen: seen >= GROUP_LINES + 2 + 0.5 * GROUP_LINES,
    )
    assert GROUP_LINES + 2 + 0.5 * GROUP_LINES <= seen < 2 * GROUP_LINES + 3

    con = duckdb.connect(str(db))  # read-write: replays what the killed process left behind
    try:
        left = con.execute(
            "select (select count(*) from raw.loads), (select count(*) from raw.segment_events),"
            " (select count(*) from raw.rejected_lines)"
        ).fetchone()
    finally:
        con.close()
    assert left == (0, 0, 0)

    rerun = tools.land([tmp_path / "exports"], db, tmp_path, extra=options)
    assert rerun.returncode == 0, tools.describe(rerun)
    loads = tools.query(
        db, "select path, lines, landed_rows, rejected_lines from raw.loads order by load_id"
    )
    assert loads == [
        {"path": str(first), "lines": GROUP_LINES + 2, "landed_rows": GROUP_LINES + 1,
         "rejected_lines": 1},
        {"path": str(second), "lines": GROUP_LINES + 1, "landed_rows": GROUP_LINES,
         "rejected_lines": 1},
    ]  # fmt: skip
    rows = tools.query(
        db,
        "select file_name, count(*) as n, count(distinct line_number) as lines"
        " from raw.segment_events group by file_name order by file_name",
    )
    assert rows == [
        {"file_name": str(first), "n": GROUP_LINES + 1, "lines": GROUP_LINES + 1},
        {"file_name": str(second), "n": GROUP_LINES, "lines": GROUP_LINES},
    ]


def land_and_kill(tools, tmp, db, options, about, far_enough) -> int:
    """Start `chat-analytics land` on tmp/exports with progress on every block, and kill -9 it
    once a progress line that ``about`` accepts reports lines that are ``far_enough``; the
    lines it reported then."""
    process = subprocess.Popen(
        [
            str(tools.REPO / ".venv" / "bin" / "chat-analytics"),
            "land",
            *options,
            "--progress-interval",
            "0",
            "--block-bytes",
            str(1 << 20),
            str(tmp / "exports"),
        ],
        env=tools_env(tools, db, tmp),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    seen = 0
    deadline = time.monotonic() + 600
    try:
        for line in process.stderr:
            match = PROGRESS.search(line)
            if match and about(line):
                seen = int(match.group(1).replace(",", ""))
                if far_enough(seen):
                    break
            assert time.monotonic() < deadline, "no progress from land"
        assert process.poll() is None, "land finished before it could be killed"
        os.kill(process.pid, signal.SIGKILL)
    finally:
        process.kill()
        process.communicate()
    assert process.returncode == -signal.SIGKILL
    return seen


def tools_env(tools, db, tmp) -> dict:
    """The environment the shared `land` helper uses, for a process we start ourselves."""
    env = dict(os.environ)
    env["CHAT_ANALYTICS_DB"] = str(db)
    spill = tmp / "duckdb_tmp"
    spill.mkdir(exist_ok=True)
    env["CHAT_ANALYTICS_TEMP_DIR"] = str(spill)
    return env
