"""`chat-analytics nightly` end to end over a tiny dbt project and hand-written Segment exports.

The dbt project here is made for the test: a source on ``raw.segment_events`` with freshness, two
marts, error-severity tests (one that a bad batch breaks) and a warn-severity test that always
warns. Landing, dbt, the gate, publishing, the audit history and the report are the real ones.
"""

from __future__ import annotations

import json
import re
import textwrap
from pathlib import Path

import duckdb
import pytest

from chat_analytics import audit, cli

BAD_EVENT = "Test Event Do Not Ship"

PROJECT_FILES = {
    "dbt_project.yml": """
        name: nightly_fixture
        version: "1.0.0"
        config-version: 2
        profile: chat_analytics
        model-paths: ["models"]
        macro-paths: ["macros"]
        seed-paths: ["seeds"]
        test-paths: ["tests"]
        flags:
          send_anonymous_usage_stats: false
        models:
          nightly_fixture:
            marts:
              +schema: marts
              +materialized: table
            staging:
              +schema: staging
              +materialized: view
        seeds:
          nightly_fixture:
            +schema: staging
    """,
    "macros/generate_schema_name.sql": """
        {% macro generate_schema_name(custom_schema_name, node) -%}
            {%- if custom_schema_name is none -%}{{ target.schema }}
            {%- else -%}{{ custom_schema_name | trim }}{%- endif -%}
        {%- endmacro %}
    """,
    "seeds/event_aliases.csv": """
        normalised_name,canonical_event
        message_sent,message_sent
    """,
    "models/staging/_sources.yml": """
        sources:
          - name: raw
            schema: raw
            config:
              loaded_at_field: landed_at
              freshness:
                warn_after: {count: 12, period: hour}
            tables:
              - name: segment_events
              - name: loads
                config:
                  freshness: null
    """,
    "models/staging/stg_segment__events.sql": """
        select
            message_id as event_id,
            event,
            json_extract_string(properties, '$.conversationId') as conversation_id,
            user_id,
            cast(landed_at as date) as received_date
        from {{ source('raw', 'segment_events') }}
    """,
    "models/marts/fct_conversations.sql": """
        select conversation_id, count(*) as events
        from {{ ref('stg_segment__events') }}
        where conversation_id is not null
        group by conversation_id
    """,
    "models/marts/event_quality_daily.sql": """
        select
            'segment' as source,
            received_date,
            count(*) as landed_rows,
            count(*) as chat_rows,
            0 as identity_rows,
            0 as unmapped_rows,
            count(*) - count(distinct event_id) as duplicate_rows,
            0 as rejected_rows,
            0 as id_collisions,
            cast(null as double) as median_lateness_seconds,
            cast(null as double) as p95_lateness_seconds
        from {{ ref('stg_segment__events') }}
        group by received_date
    """,
    "models/marts/_marts.yml": """
        models:
          - name: fct_conversations
            columns:
              - name: conversation_id
                data_tests: [unique, not_null]
    """,
    "tests/assert_no_test_events.sql": f"""
        select * from {{{{ source('raw', 'segment_events') }}}} where event = '{BAD_EVENT}'
    """,
    "tests/warn_no_identify_calls.sql": """
        {{ config(severity='warn') }}
        select 'no identify calls landed' as problem
        where not exists (
            select 1 from {{ source('raw', 'segment_events') }} where type = 'identify'
        )
    """,
}


def write_project(root: Path) -> Path:
    for name, text in PROJECT_FILES.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    return root


def segment_line(n: int, conversation: str, event: str = "Message Sent") -> str:
    return json.dumps(
        {
            "type": "track",
            "messageId": f"m-{conversation}-{n}",
            "anonymousId": f"anon-{conversation}",
            "event": event,
            "properties": {"conversationId": conversation, "sender": "user"},
            "timestamp": f"2026-03-01T10:00:{n:02d}.000Z",
            "sentAt": f"2026-03-01T10:00:{n:02d}.100Z",
            "receivedAt": f"2026-03-01T10:00:{n:02d}.200Z",
            "originalTimestamp": f"2026-03-01T10:00:{n:02d}.000Z",
        }
    )


def write_export(folder: Path, day: str, lines: list[str]) -> Path:
    path = folder / "segment" / f"{day}.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def env(tmp_path, monkeypatch):
    warehouse = tmp_path / "warehouse"
    monkeypatch.setenv("CHAT_ANALYTICS_DB", str(warehouse / "chat_analytics.duckdb"))
    monkeypatch.setenv("CHAT_ANALYTICS_PUBLISHED", str(warehouse / "published" / "p.duckdb"))
    monkeypatch.setenv("CHAT_ANALYTICS_TEMP_DIR", str(tmp_path / "spill"))
    for name in ("CHAT_ANALYTICS_RUN_RESULTS", "CHAT_ANALYTICS_REPORTS_DIR", "DBT_TARGET_PATH"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("CHAT_ANALYTICS_AUDIT_DIR", raising=False)
    return {
        "tmp": tmp_path,
        "warehouse": warehouse,
        "db": warehouse / "chat_analytics.duckdb",
        "published": warehouse / "published" / "p.duckdb",
        "project": write_project(tmp_path / "project"),
        "exports": tmp_path / "exports",
    }


def nightly(env, *paths: Path | str, extra: tuple[str, ...] = ()) -> int:
    """`chat-analytics nightly ...` through the real CLI, wired with this command alone."""
    original = cli.COMMANDS
    cli.COMMANDS = {"nightly": original["nightly"]}
    try:
        return cli.main(
            [
                "nightly",
                *map(str, paths),
                "--project-dir",
                str(env["project"]),
                "--target-path",
                str(env["tmp"] / "target"),
                "--log-path",
                str(env["tmp"] / "logs"),
                *extra,
            ]
        )
    finally:
        cli.COMMANDS = original


def published_rows(path: Path, sql: str):
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def assert_self_contained(html: str) -> None:
    assert not re.search(r"<script[^>]*\bsrc\s*=", html, re.I)
    assert not re.search(r"<link\b", html, re.I)
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html, re.I)
    assert "@import" not in html and "url(" not in html
    assert "://" not in html  # no address of anything to fetch, not even a namespace URI


def test_good_then_bad_batch(env, capsys):
    # night 1: a good batch -> published, exit 0
    write_export(env["exports"], "2026-03-01", [segment_line(n, f"c{n % 3}") for n in range(9)])
    assert nightly(env, env["exports"]) == 0
    out = capsys.readouterr().out
    assert "nightly: PUBLISHED" in out
    # compacted last, after publishing (the report line comes before it)
    assert out.index("nightly: report") < out.index("nightly: compacted in")
    assert published_rows(
        env["published"], "select count(*), sum(events) from marts.fct_conversations"
    ) == [(3, 9)]
    assert published_rows(
        env["published"],
        "select distinct schema_name from duckdb_columns()"
        " where database_name = current_database()",
    ) == [("marts",)]
    first_bytes = env["published"].read_bytes()

    report = env["warehouse"] / "reports" / "quality-latest.html"
    html = report.read_text(encoding="utf-8")
    assert_self_contained(html)
    assert 'id="verdict"' in html and "PUBLISHED" in html and "NOT PUBLISHED" not in html
    assert "warn_no_identify_calls" in html  # the warning is shown, and did not block
    assert "<svg" in html

    # night 2: the same files again land nothing (content hash) and the marts publish again;
    # the compaction of night 1 is less than the default seven days old
    assert nightly(env, env["exports"]) == 0
    out = capsys.readouterr().out
    assert "nightly: PUBLISHED" in out
    assert "nightly: not compacting (last compaction" in out and "every 7 days)" in out
    assert "nightly: compacted in" not in out
    first_bytes = env["published"].read_bytes()

    # night 3: a bad batch (an event that must never ship, and an unreadable line) -> exit 1
    write_export(
        env["exports"],
        "2026-03-02",
        [segment_line(1, "c7"), segment_line(2, "c8", BAD_EVENT), "{not json"],
    )
    assert nightly(env, env["exports"]) == 1
    captured = capsys.readouterr()
    assert "nightly: NOT PUBLISHED (gate closed)" in captured.out
    assert "assert_no_test_events (fail, 1 failing row)" in captured.out
    assert env["published"].read_bytes() == first_bytes
    html = report.read_text(encoding="utf-8")
    assert_self_contained(html)
    assert "NOT PUBLISHED" in html and "assert_no_test_events" in html

    # the audit history has both nights, in the database and in the JSON lines
    runs = audit.read_history(env["warehouse"] / "audit")
    assert [(r["files_landed"], r["rows_landed"], r["rejected_lines"]) for r in runs] == [
        (1, 9, 0),
        (0, 0, 0),
        (1, 2, 1),
    ]
    assert [r["files_skipped"] for r in runs] == [0, 1, 1]
    assert [(r["published"], r["exit_code"]) for r in runs] == [(True, 0), (True, 0), (False, 1)]
    assert runs[2]["failed_tests"] == ["assert_no_test_events"]
    assert [r["warned_tests"] for r in runs] == [["warn_no_identify_calls"]] * 3
    con = duckdb.connect(str(env["db"]), read_only=True)
    try:
        assert con.execute(
            "select exit_code, published, tests_failed from audit.nightly_runs order by started_at"
        ).fetchall() == [(0, True, 0), (0, True, 0), (1, False, 1)]
        assert con.execute(
            "select count(*) from audit.test_results where status = 'fail'"
        ).fetchall() == [(1,)]
    finally:
        con.close()
    # the dated report is there beside the stable one
    assert len(list((env["warehouse"] / "reports").glob("quality-2*.html"))) == 1


def test_usage_errors_exit_2_and_publish_nothing(env, capsys):
    assert nightly(env, env["tmp"] / "no-such-folder") == 2
    assert "no such file or folder" in capsys.readouterr().err
    env["exports"].mkdir()
    original = env["project"]
    env["project"] = env["tmp"] / "not-a-project"
    env["project"].mkdir()
    assert nightly(env, env["exports"]) == 2
    assert "not a dbt project" in capsys.readouterr().err
    env["project"] = original
    assert nightly(env, env["exports"], extra=("--compact-every", "-1")) == 2
    assert "--compact-every must be 0 or more days, not -1" in capsys.readouterr().err
    assert not env["published"].exists()


def test_dbt_that_writes_no_results_closes_the_gate_without_reusing_old_ones(env, capsys):
    write_export(env["exports"], "2026-03-01", [segment_line(n, "c1") for n in range(3)])
    assert nightly(env, env["exports"]) == 0
    published = env["published"].read_bytes()
    old_results = (env["tmp"] / "target" / "run_results.json").read_bytes()
    # a project dbt cannot even parse: dbt exits 2 and writes no new run_results.json
    (env["project"] / "models" / "marts" / "_marts.yml").write_text("models: [:\n")
    write_export(env["exports"], "2026-03-02", [segment_line(n, "c2") for n in range(3)])
    assert nightly(env, env["exports"]) == 1
    out = capsys.readouterr().out
    assert "dbt build wrote no run_results.json (exit 2)" in out
    assert (env["tmp"] / "target" / "run_results.json").read_bytes() == old_results
    assert env["published"].read_bytes() == published
    runs = audit.read_history(env["warehouse"] / "audit")
    assert [(r["exit_code"], r["build_exit_code"], r["published"]) for r in runs] == [
        (0, 0, True),
        (1, 2, False),
    ]
    assert runs[1]["freshness_status"] == "not run (dbt exit 2)"


def test_unreadable_file_is_reported_and_the_rest_publishes(env, capsys):
    write_export(env["exports"], "2026-03-01", [segment_line(n, "c1") for n in range(3)])
    broken = env["exports"] / "segment" / "2026-03-02.jsonl.gz"
    broken.write_bytes(b"\x1f\x8b\x08\x00 truncated")
    assert nightly(env, env["exports"]) == 0
    out = capsys.readouterr().out
    assert "nightly: PUBLISHED" in out
    assert "1 file(s) could not be read and did not land" in out
    assert "2026-03-02.jsonl.gz" in out
    run = audit.read_history(env["warehouse"] / "audit")[-1]
    assert run["files_landed"] == 1 and len(run["files_failed"]) == 1
    html = (env["warehouse"] / "reports" / "quality-latest.html").read_text(encoding="utf-8")
    assert "Files that could not be read" in html and "2026-03-02.jsonl.gz" in html
