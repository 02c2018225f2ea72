"""Publishing: only the marts, atomically, readable by DuckDB 1.4, kind to open readers."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import duckdb
import pytest

from chat_analytics import cli, publish

OLD_DUCKDB = "1.4.4"


# --------------------------------------------------------------------------------------------
# fixtures: a hand-made build database and dbt results
# --------------------------------------------------------------------------------------------


def make_build_db(path: Path, conversations: int = 3, big_rows: int = 200_000) -> None:
    """A build database with every layer, so that publishing has something to leave out."""
    con = duckdb.connect(str(path))
    try:
        for schema in ("raw", "staging", "intermediate", "audit", "marts"):
            con.execute(f"create schema if not exists {schema}")
        con.execute(
            "create or replace table raw.loads as"
            " select 1::bigint as load_id, timestamp '2026-03-01 00:00:00' as finished_at"
        )
        con.execute(
            "create or replace table raw.segment_events as"
            " select 'u1' as user_id, 'a1' as anonymous_id, '{}' as raw_line"
        )
        con.execute(
            "create or replace table staging.stg_segment__events as"
            " select 'u1' as user_id, 'hello' as message_body"
        )
        con.execute("create or replace table intermediate.int_x as select 'a1' as anonymous_id")
        con.execute("create or replace table audit.nightly_runs as select 'r1' as run_id")
        con.execute(
            f"""
            create or replace table marts.fct_conversations (
                conversation_id varchar not null,
                conversation_date date,
                user_key varchar,
                outcome varchar,
                csat_rating integer
            );
            insert into marts.fct_conversations
            select 'c' || i, date '2026-03-01' + (i % 3)::int, 'k' || (i % 2), 'contained', 4
            from range({conversations}) as t(i);
            comment on table marts.fct_conversations is 'one row per conversation';
            comment on column marts.fct_conversations.conversation_id is 'the conversation';
            """
        )
        con.execute(
            f"""
            create or replace table marts.big as
            select i as x, i * 2 as y, 'v' || (i % 97) as label from range({big_rows}) as t(i)
            """
        )
        con.execute(
            f"create or replace table marts.cold as select i as v from range({big_rows}) as t(i)"
        )
        con.execute(
            "create or replace view marts.conversations_per_day as"
            " select conversation_date, count(*) as conversations"
            " from marts.fct_conversations group by all"
        )
    finally:
        con.close()


def write_run_results(path: Path, statuses: dict[str, str] | None = None) -> Path:
    statuses = statuses or {
        "model.chat_analytics.fct_conversations": "success",
        "test.chat_analytics.unique_fct_conversations_conversation_id.1a": "pass",
        "test.chat_analytics.rejection_rate.2b": "warn",
    }
    now = time.strftime("%Y-%m-%dT%H:%M:%S.000000Z", time.gmtime())
    data = {
        "metadata": {"generated_at": now, "invocation_started_at": now},
        "results": [
            {
                "unique_id": uid,
                "status": status,
                "failures": 0 if status == "pass" else 1,
                "message": None,
            }
            for uid, status in statuses.items()
        ],
        "args": {"which": "build", "invocation_command": "dbt build", "select": []},
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


@pytest.fixture
def warehouse(tmp_path, monkeypatch):
    db = tmp_path / "warehouse" / "chat_analytics.duckdb"
    db.parent.mkdir()
    make_build_db(db)
    published = tmp_path / "warehouse" / "published" / "chat_analytics.duckdb"
    results = write_run_results(tmp_path / "target" / "run_results.json")
    monkeypatch.setenv("CHAT_ANALYTICS_DB", str(db))
    monkeypatch.setenv("CHAT_ANALYTICS_PUBLISHED", str(published))
    monkeypatch.setenv("CHAT_ANALYTICS_RUN_RESULTS", str(results))
    return {"db": db, "published": published, "results": results}


def publish_cli(argv: list[str]) -> int:
    """`chat-analytics publish ...` through the real CLI, wired with this command alone."""
    commands = {"publish": cli.COMMANDS["publish"]}
    original, cli.COMMANDS = cli.COMMANDS, commands
    try:
        return cli.main(["publish", *argv])
    finally:
        cli.COMMANDS = original


def read_published(path: Path, sql: str):
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


# --------------------------------------------------------------------------------------------
# what is published
# --------------------------------------------------------------------------------------------


def test_publishes_only_the_marts(warehouse):
    result = publish.publish()
    target = warehouse["published"]
    assert result.path == target
    assert result.tables == {
        "big": 200_000,
        "cold": 200_000,
        "conversations_per_day": 3,
        "fct_conversations": 3,
    }
    schemas = read_published(
        target,
        "select distinct schema_name from duckdb_columns()"
        " where database_name = current_database()",
    )
    assert schemas == [("marts",)]
    columns = {
        name
        for (name,) in read_published(
            target, "select column_name from duckdb_columns() where schema_name = 'marts'"
        )
    }
    assert not columns & {"user_id", "anonymous_id", "message_body", "comment", "ip", "raw_line"}
    sql = "select count(*), min(conversation_id) from marts.fct_conversations"
    assert read_published(target, sql) == [(3, "c0")]
    # the view became a table holding its rows; contracts and docs came along
    assert read_published(target, "select sum(conversations) from marts.conversations_per_day") == [
        (3,)
    ]
    assert read_published(
        target,
        "select is_nullable, comment from duckdb_columns()"
        " where table_name = 'fct_conversations' and column_name = 'conversation_id'",
    ) == [(False, "the conversation")]
    assert read_published(
        target, "select comment from duckdb_tables() where table_name = 'fct_conversations'"
    ) == [("one row per conversation",)]


def test_published_file_is_checkpointed_with_no_wal_or_leftovers(warehouse):
    publish.publish()
    folder = warehouse["published"].parent
    assert sorted(p.name for p in folder.iterdir()) == ["chat_analytics.duckdb"]
    assert publish.storage_version_number(warehouse["published"]) == publish.STORAGE_VERSION_NUMBER
    assert not (warehouse["published"].stat().st_mode & 0o222), "published file is read-only"


def test_stale_wal_of_the_old_file_is_removed(warehouse):
    publish.publish()
    wal = Path(f"{warehouse['published']}.wal")
    wal.write_bytes(b"not a wal of the new file")
    publish.publish()
    assert not wal.exists()
    assert read_published(warehouse["published"], "select count(*) from marts.big") == [(200_000,)]


def test_pii_column_in_marts_blocks_publishing(warehouse):
    publish.publish()
    before = warehouse["published"].read_bytes()
    con = duckdb.connect(str(warehouse["db"]))
    con.execute("create table marts.leaky as select 'u1' as user_id, 'x' as comment")
    con.close()
    with pytest.raises(publish.GateClosed) as caught:
        publish.publish()
    assert "marts.leaky has PII column(s) comment, user_id" in str(caught.value)
    assert warehouse["published"].read_bytes() == before


def test_build_of_another_database_blocks_publishing(warehouse):
    data = json.loads(warehouse["results"].read_text())
    data["results"][0]["relation_name"] = '"other_warehouse"."marts"."fct_conversations"'
    warehouse["results"].write_text(json.dumps(data))
    with pytest.raises(publish.GateClosed) as caught:
        publish.publish()
    assert "describes a build of database other_warehouse" in str(caught.value)
    data["results"][0]["relation_name"] = '"chat_analytics"."marts"."fct_conversations"'
    warehouse["results"].write_text(json.dumps(data))
    assert publish.publish().tables["fct_conversations"] == 3


def test_landing_after_the_build_blocks_publishing(warehouse):
    con = duckdb.connect(str(warehouse["db"]))
    con.execute("insert into raw.loads values (2, now()::timestamp + interval 1 minute)")
    con.close()
    with pytest.raises(publish.GateClosed) as caught:
        publish.publish()
    assert "before the last landing" in str(caught.value)
    assert not warehouse["published"].exists()


# --------------------------------------------------------------------------------------------
# atomicity: a closed gate or a failure leaves the old file byte-identical
# --------------------------------------------------------------------------------------------


def test_closed_gate_exits_1_names_the_tests_and_keeps_the_old_file(warehouse, capsys):
    assert publish_cli([]) == 0
    before = warehouse["published"].read_bytes()
    stat_before = warehouse["published"].stat()
    write_run_results(
        warehouse["results"],
        {
            "model.chat_analytics.fct_conversations": "success",
            "test.chat_analytics.unique_fct_conversations_conversation_id.1a": "fail",
            "test.chat_analytics.accepted_values_fct_conversations_outcome.3c": "error",
            "test.chat_analytics.rejection_rate.2b": "warn",
        },
    )
    con = duckdb.connect(str(warehouse["db"]))
    con.execute("insert into marts.fct_conversations values ('c9', null, null, 'bad', 9)")
    con.close()
    capsys.readouterr()
    assert publish_cli([]) == 1
    err = capsys.readouterr().err
    assert "gate closed, nothing published" in err
    assert "unique_fct_conversations_conversation_id (fail, 1 failing row)" in err
    assert "accepted_values_fct_conversations_outcome (error" in err
    assert "rejection_rate" not in err  # a warning does not block and is not a reason
    assert warehouse["published"].read_bytes() == before
    assert warehouse["published"].stat().st_ino == stat_before.st_ino
    assert sorted(p.name for p in warehouse["published"].parent.iterdir()) == [
        "chat_analytics.duckdb"
    ]


def test_missing_run_results_exits_1(warehouse, capsys, tmp_path):
    assert publish_cli(["--run-results", str(tmp_path / "nowhere.json")]) == 1
    assert "no dbt results at" in capsys.readouterr().err
    assert not warehouse["published"].exists()


def test_missing_build_database_exits_2(warehouse, monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("CHAT_ANALYTICS_DB", str(tmp_path / "missing.duckdb"))
    assert publish_cli([]) == 2
    assert "build database not found" in capsys.readouterr().err


def test_failure_while_writing_keeps_the_old_file(warehouse, monkeypatch):
    publish.publish()
    before = warehouse["published"].read_bytes()

    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(publish, "_verify", broken)
    with pytest.raises(OSError, match="disk full"):
        publish.publish()
    assert warehouse["published"].read_bytes() == before
    assert sorted(p.name for p in warehouse["published"].parent.iterdir()) == [
        "chat_analytics.duckdb"
    ]


def test_locked_build_database_exits_3(warehouse, capsys):
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import duckdb, sys; c = duckdb.connect(sys.argv[1]); print('locked', flush=True);"
            " sys.stdin.read()",
            str(warehouse["db"]),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        assert publish_cli([]) == 3
        assert "in use by another process" in capsys.readouterr().err
    finally:
        holder.communicate("", timeout=30)
    assert not warehouse["published"].exists()


# --------------------------------------------------------------------------------------------
# readers of the old file keep working; new readers see the new file
# --------------------------------------------------------------------------------------------

READER = textwrap.dedent(
    """
    import os, sys, duckdb
    path, stop = sys.argv[1], sys.argv[2]
    con = duckdb.connect(path, read_only=True)
    first = con.execute("select count(*), sum(x), sum(y) from marts.big").fetchone()
    print("ready", first[0], flush=True)
    loops = 0
    while not os.path.exists(stop):
        again = con.execute("select count(*), sum(x), sum(y) from marts.big").fetchone()
        assert again == first, (again, first)
        loops += 1
    # a table this connection never read before: its blocks come from the old inode now
    cold = con.execute("select count(*), sum(v) from marts.cold").fetchone()
    print("cold", cold[0], cold[1], flush=True)
    print("loops", loops, flush=True)
    """
)


def test_reader_of_the_old_file_keeps_reading_during_and_after_publish(warehouse, tmp_path):
    publish.publish()
    stop = tmp_path / "stop"
    reader = subprocess.Popen(
        [sys.executable, "-c", READER, str(warehouse["published"]), str(stop)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert reader.stdout.readline().split() == ["ready", "200000"]
        old_inode = warehouse["published"].stat().st_ino
        # new data in the build database: fewer, different rows
        make_build_db(warehouse["db"], conversations=5, big_rows=1000)
        write_run_results(warehouse["results"])
        publish.publish()
        assert warehouse["published"].stat().st_ino != old_inode
        time.sleep(0.5)  # let the reader query the replaced file for a while
        stop.write_text("")
        out, err = reader.communicate(timeout=60)
    finally:
        if reader.poll() is None:
            reader.kill()
    assert reader.returncode == 0, err
    lines = dict(line.split(" ", 1) for line in out.strip().splitlines())
    assert lines["cold"] == f"200000 {sum(range(200_000))}"
    assert int(lines["loops"]) > 0
    # a new connection sees the new file
    assert read_published(warehouse["published"], "select count(*) from marts.cold") == [(1000,)]
    assert read_published(
        warehouse["published"], "select count(*) from marts.fct_conversations"
    ) == [(5,)]


# --------------------------------------------------------------------------------------------
# DuckDB 1.4 clients read the published file
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def duckdb_14_python(tmp_path_factory) -> Path:
    """A Python with duckdb==1.4.4, in its own venv (created once per test session)."""
    venv = tmp_path_factory.mktemp("duckdb-1.4-venv")
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = venv / "bin" / "python"
    install = subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", f"duckdb=={OLD_DUCKDB}"],
        capture_output=True,
        text=True,
        env={**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"},
    )
    # PyPI is one of the registries the project installs from; a failed install is a failure.
    assert install.returncode == 0, f"cannot install duckdb=={OLD_DUCKDB}: {install.stderr[-500:]}"
    return python


def test_published_file_opens_with_duckdb_1_4(warehouse, duckdb_14_python):
    publish.publish()
    script = textwrap.dedent(
        """
        import sys, duckdb
        con = duckdb.connect(sys.argv[1], read_only=True)
        print(duckdb.__version__)
        sql = "select count(*), min(conversation_id) from marts.fct_conversations"
        print(con.execute(sql).fetchone())
        print(con.execute("select count(*), sum(x) from marts.big").fetchone())
        print(con.execute("select sum(conversations) from marts.conversations_per_day").fetchone())
        """
    )
    read = subprocess.run(
        [str(duckdb_14_python), "-c", script, str(warehouse["published"])],
        capture_output=True,
        text=True,
    )
    assert read.returncode == 0, read.stderr
    assert read.stdout.split("\n")[:4] == [
        OLD_DUCKDB,
        "(3, 'c0')",
        f"(200000, {sum(range(200_000))})",
        "(3,)",
    ]
    assert not Path(f"{warehouse['published']}.wal").exists()


def test_default_duckdb_format_would_be_checked(tmp_path, duckdb_14_python):
    """Guard of the guard: DuckDB 1.4 refuses a file in the newest format, so the check bites."""
    path = tmp_path / "newest.duckdb"
    con = duckdb.connect()
    con.execute(f"attach '{path}' as newest (storage_version 'v1.5.0')")
    con.execute("create table newest.t as select 1 as x")
    con.execute("detach newest")
    con.close()
    read = subprocess.run(
        [str(duckdb_14_python), "-c", "import duckdb, sys; duckdb.connect(sys.argv[1])", str(path)],
        capture_output=True,
        text=True,
    )
    assert read.returncode != 0
    assert "version" in read.stderr.lower()
