"""`chat-analytics nightly` with the project's own dbt models, over a small generated sample.

The good night runs the repository's dbt project as it is over a sample written by
`chat-analytics generate`. The bad night runs a copy of the project with
one more error-severity data test (no conversation of the internal load-test bot may reach the
marts), then lands a batch that holds such a conversation: the gate closes and the published file
stays as it was.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import duckdb
import pytest
import yaml

from chat_analytics import audit, cli, config

pytestmark = pytest.mark.slow

MARTS = {
    "conversation_funnel_daily",
    "conversation_metrics_daily",
    "dim_users",
    "event_quality_daily",
    "event_rejections",
    "fct_conversations",
    "fct_messages",
    "intent_metrics_daily",
}
PII = {"user_id", "anonymous_id", "message_body", "comment", "ip"}
GUARD_TEST = """
-- error severity: conversations of the internal load-test bot never reach BI
select conversation_id from {{ ref('fct_conversations') }} where conversation_id like 'loadtest-%'
"""


def copy_project(destination: Path) -> Path:
    """A copy of the repository's dbt project (only what dbt reads)."""
    settings = yaml.safe_load((config.PROJECT_DIR / "dbt_project.yml").read_text())
    destination.mkdir(parents=True)
    shutil.copy2(config.PROJECT_DIR / "dbt_project.yml", destination)
    folders = set()
    for key in ("model-paths", "macro-paths", "seed-paths", "test-paths", "analysis-paths"):
        folders.update(settings.get(key) or [])
    folders.update(settings.get("snapshot-paths") or ["snapshots"])
    for folder in sorted(folders):
        if (config.PROJECT_DIR / folder).is_dir():
            shutil.copytree(config.PROJECT_DIR / folder, destination / folder)
    return destination


def loadtest_batch(folder: Path) -> Path:
    """A Segment file with one conversation of the load-test bot: valid events, wrong origin."""
    lines = []
    for n, (event, properties) in enumerate(
        [
            ("Conversation Started", {"channel": "web"}),
            ("Message Sent", {"sender": "user", "messageId": "lt-m1"}),
            ("Message Sent", {"sender": "bot", "messageId": "lt-m2"}),
        ]
    ):
        lines.append(
            json.dumps(
                {
                    "type": "track",
                    "messageId": f"loadtest-event-{n}",
                    "anonymousId": "loadtest-anon",
                    "event": event,
                    "properties": {"conversationId": "loadtest-1", **properties},
                    "timestamp": f"2026-03-03T09:00:0{n}.000Z",
                    "originalTimestamp": f"2026-03-03T09:00:0{n}.000Z",
                    "sentAt": f"2026-03-03T09:00:0{n}.100Z",
                    "receivedAt": f"2026-03-03T09:00:0{n}.300Z",
                }
            )
        )
    path = folder / "segment" / "2026-03-03.jsonl"
    path.parent.mkdir(parents=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def env(tmp_path, monkeypatch):
    warehouse = tmp_path / "warehouse"
    monkeypatch.setenv("CHAT_ANALYTICS_DB", str(warehouse / "chat_analytics.duckdb"))
    monkeypatch.setenv("CHAT_ANALYTICS_PUBLISHED", str(warehouse / "published" / "ca.duckdb"))
    monkeypatch.setenv("CHAT_ANALYTICS_TEMP_DIR", str(tmp_path / "spill"))
    for name in (
        "CHAT_ANALYTICS_RUN_RESULTS",
        "CHAT_ANALYTICS_REPORTS_DIR",
        "CHAT_ANALYTICS_AUDIT_DIR",
        "DBT_TARGET_PATH",
    ):
        monkeypatch.delenv(name, raising=False)
    return {
        "tmp": tmp_path,
        "warehouse": warehouse,
        "db": warehouse / "chat_analytics.duckdb",
        "published": warehouse / "published" / "ca.duckdb",
    }


def command(name: str, *argv: str) -> int:
    """`chat-analytics <name> ...` through the real CLI, wired with that command alone."""
    original = cli.COMMANDS
    cli.COMMANDS = {name: original[name]}
    try:
        return cli.main([name, *argv])
    finally:
        cli.COMMANDS = original


def nightly(env, *argv: str) -> int:
    target = ["--target-path", str(env["tmp"] / "target"), "--log-path", str(env["tmp"] / "logs")]
    return command("nightly", *argv, *target)


def generated_sample(folder: Path) -> Path:
    argv = ["--out", str(folder), "--seed", "11", "--days", "2", "--conversations-per-day", "30"]
    assert command("generate", *argv) == 0
    return folder


def test_real_project_good_night_then_bad_batch(env, capsys):
    project = copy_project(env["tmp"] / "project")
    guard = project / "tests" / "data_tests" / "assert_no_loadtest_conversations.sql"
    guard.parent.mkdir(parents=True, exist_ok=True)

    sample = generated_sample(env["tmp"] / "sample")
    sample_files = sorted(p for p in sample.rglob("*.*") if "_truth" not in p.parts)

    # night 1: the project as it is, over the sample -> published
    assert nightly(env, str(sample), "--project-dir", str(config.PROJECT_DIR)) == 0, (
        capsys.readouterr().out[-3000:]
    )
    out = capsys.readouterr().out
    assert "nightly: PUBLISHED" in out
    con = duckdb.connect(str(env["published"]), read_only=True)
    try:
        tables = con.execute(
            "select schema_name, table_name from duckdb_tables() where database_name = ?",
            [env["published"].stem],
        ).fetchall()
        columns = {
            name
            for (name,) in con.execute(
                "select column_name from duckdb_columns() where database_name = ?",
                [env["published"].stem],
            ).fetchall()
        }
        published_rows = con.execute(
            "select * from marts.fct_conversations order by conversation_id"
        ).fetchall()
    finally:
        con.close()
    con = duckdb.connect(str(env["db"]), read_only=True)
    try:
        built_rows = con.execute(
            "select * from marts.fct_conversations order by conversation_id"
        ).fetchall()
    finally:
        con.close()
    assert {schema for schema, _ in tables} == {"marts"}
    assert MARTS <= {table for _, table in tables}
    assert not columns & PII
    assert published_rows == built_rows and len(built_rows) > 0
    published_bytes = env["published"].read_bytes()

    # night 2: the guarded copy of the project and a batch that breaks the guard -> exit 1
    guard.write_text(GUARD_TEST, encoding="utf-8")
    batch = loadtest_batch(env["tmp"] / "exports")
    assert nightly(env, str(batch.parent.parent), "--project-dir", str(project)) == 1
    out = capsys.readouterr().out
    assert "NOT PUBLISHED (gate closed)" in out
    assert "assert_no_loadtest_conversations (fail, 1 failing row)" in out
    assert env["published"].read_bytes() == published_bytes

    runs = audit.read_history(env["warehouse"] / "audit")
    assert [(run["published"], run["exit_code"]) for run in runs] == [(True, 0), (False, 1)]
    assert runs[0]["files_landed"] == len(sample_files) and runs[1]["files_landed"] == 1
    assert runs[1]["rows_landed"] == 3
    assert runs[1]["failed_tests"] == ["assert_no_loadtest_conversations"]

    html = (env["warehouse"] / "reports" / "quality-latest.html").read_text(encoding="utf-8")
    assert not re.search(r"<script[^>]*\bsrc\s*=|<link\b", html, re.I)
    assert "NOT PUBLISHED" in html and "assert_no_loadtest_conversations" in html
    assert "event quality per source and day received" in html.lower()


def as_an_earlier_version_built_it(db: Path) -> None:
    """The build database as a version of the project before `int_conversation_events` had
    `event_id_hash` left it (DECISIONLOG D57): the table lacks a column the model has now."""
    con = duckdb.connect(str(db))
    try:
        con.execute("alter table intermediate.int_conversation_events drop column event_id_hash")
    finally:
        con.close()


def test_demo_builds_over_a_warehouse_of_an_earlier_version(env, monkeypatch, capsys):
    """`chat-analytics demo` twice, the second time over a build database whose events table
    lacks a column the model has now (as one built by an earlier version of the project): the
    demo's full refresh builds it again and publishes, where an incremental build stops."""
    monkeypatch.setenv("DBT_TARGET_PATH", str(env["tmp"] / "target"))
    monkeypatch.setenv("DBT_LOG_PATH", str(env["tmp"] / "logs"))
    sample = ["--out", str(env["tmp"] / "sample"), "--days", "2"]
    assert cli.main(["demo", *sample]) == 0
    as_an_earlier_version_built_it(env["db"])
    capsys.readouterr()
    assert cli.main(["demo", *sample]) == 0
    out = capsys.readouterr().out
    assert "nightly: PUBLISHED" in out and "Headline metrics" in out
    con = duckdb.connect(str(env["db"]), read_only=True)
    try:
        columns = {
            row[0]
            for row in con.execute(
                "select column_name from duckdb_columns()"
                " where schema_name = 'intermediate' and table_name = 'int_conversation_events'"
            ).fetchall()
        }
    finally:
        con.close()
    assert "event_id_hash" in columns


def test_nightly_names_the_full_refresh_a_table_of_an_earlier_version_needs(env, capsys):
    """A build database whose events table lacks a column the model has now (as one built by an
    earlier version of the project): the nightly stops with exit 1 and says to run it once with
    --full-refresh, which then publishes."""
    sample = generated_sample(env["tmp"] / "exports")
    assert nightly(env, str(sample)) == 0
    as_an_earlier_version_built_it(env["db"])
    capsys.readouterr()
    assert nightly(env, str(sample)) == 1
    out = capsys.readouterr().out
    assert "NOT PUBLISHED" in out
    assert (
        "int_conversation_events: the table in the build database does not have the model's"
        " columns" in out
    )
    assert "run `chat-analytics nightly --full-refresh` once" in out
    assert nightly(env, str(sample), "--full-refresh") == 0
    assert "nightly: PUBLISHED" in capsys.readouterr().out
