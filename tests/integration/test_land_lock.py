"""A second process that finds the database held by another gets a clear message and exit 3."""

from __future__ import annotations

import subprocess
import sys

HOLDER = """
import sys, time, duckdb
con = duckdb.connect(sys.argv[1])
print("holding", flush=True)
sys.stdin.read()
"""


def test_a_locked_database_is_exit_3_with_a_message_not_a_traceback(tmp_path, tools):
    (tmp_path / "exports" / "segment").mkdir(parents=True)
    (tmp_path / "exports" / "segment" / "a.jsonl").write_text('{"type":"track"}\n')
    db = tmp_path / "warehouse.duckdb"
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(db)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "holding"
        blocked = tools.land([tmp_path / "exports"], db, tmp_path)
    finally:
        holder.communicate("", timeout=60)

    assert blocked.returncode == 3, tools.describe(blocked)
    assert "Traceback" not in blocked.stderr
    message = blocked.stderr.strip()
    assert message.startswith("chat-analytics land: the database")
    assert str(db) in message
    assert "locked by another process" in message
    assert f"PID {holder.pid}" in message
    assert "nothing was landed" in message and "run land again" in message

    # once the other process is gone, the same command lands
    again = tools.land([tmp_path / "exports"], db, tmp_path)
    assert again.returncode == 0, tools.describe(again)
    assert tools.query(db, "select count(*) as n from raw.segment_events") == [{"n": 1}]
