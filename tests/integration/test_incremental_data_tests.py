"""Data tests on incremental models check the rows written since they last passed (D35).

A small generated world is built once (every data test passes and is recorded in
`intermediate.test_watermarks`), then one more arrival day is landed and its models built. The
tests below break rows on purpose with SQL and check that the scoped data tests

* record the start of the invocation they passed in (the same instant the build stamped on the
  rows it wrote as `classified_at`),
* catch a broken row written since they last passed, and keep catching it in later builds that
  bring nothing new, until it is fixed (a failure is never forgotten),
* catch a duplicate key between a row written since the last pass and an older row,
* record, for a test on a model that keeps a build watermark, that watermark when it is
  earlier than the invocation's start (a mart's primary key scoped by its upstream rows), and
* put the watermark into the compiled SQL as a literal,

and that a conversation whose outcome is judged again in place, as as_of moves, is stamped
like a rewritten row.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import duckdb
import pytest

pytestmark = pytest.mark.slow

SALT = "scoped-tests-salt"
DATA_TESTS = ["--exclude-resource-type", "unit_test"]


def _check(result: subprocess.CompletedProcess, tools) -> None:
    assert result.returncode == 0, tools.describe(result)


def _results(tmp: Path) -> dict[str, str]:
    """Status of every test of the last dbt command, by test name (its alias)."""
    run = json.loads((tmp / "target" / "run_results.json").read_text())
    manifest = json.loads((tmp / "target" / "manifest.json").read_text())
    statuses = {}
    for result in run["results"]:
        node = manifest["nodes"].get(result["unique_id"])
        if node and node["resource_type"] == "test":
            statuses[node["alias"]] = result["status"]
    return statuses


def _failures(tmp: Path) -> dict[str, int]:
    """Failing rows of every data test of the last dbt command that found any, by alias."""
    run = json.loads((tmp / "target" / "run_results.json").read_text())
    manifest = json.loads((tmp / "target" / "manifest.json").read_text())
    return {
        manifest["nodes"][r["unique_id"]]["alias"]: r["failures"]
        for r in run["results"]
        if r["failures"]
    }


def _alias(tmp: Path, model: str, test: str, text: str = "") -> str:
    """The alias of the one data test `test` on `model` whose compiled SQL contains `text`."""
    manifest = json.loads((tmp / "target" / "manifest.json").read_text())
    found = []
    for node in manifest["nodes"].values():
        metadata = node.get("test_metadata") or {}
        if node["resource_type"] != "test" or metadata.get("name") != test:
            continue
        if not any(d.endswith(f".{model}") for d in node["depends_on"]["nodes"]):
            continue
        if text in json.dumps(metadata.get("kwargs", {})):
            found.append(node["alias"])
    assert len(found) == 1, (model, test, text, found)
    return found[0]


def _text(tools, db: Path, instant) -> str:
    """A timestamp as DuckDB writes it as text (as the macro reads the watermark)."""
    return tools.query(db, "select cast(? as varchar) as t", [instant])[0]["t"]


def _execute(db: Path, sql: str) -> None:
    con = duckdb.connect(str(db))
    try:
        con.execute(sql)
    finally:
        con.close()


@pytest.fixture(scope="module")
def built(tmp_path_factory, tools):
    """Four arrival days landed and built with every data test; the fifth landed and run. The
    tests that break a row repair it before they end."""
    tmp_path = tmp_path_factory.mktemp("scoped-tests")
    out, db = tmp_path / "exports", tmp_path / "warehouse.duckdb"
    generated = tools.generate(out, "--seed", 11, "--days", 5, "--conversations-per-day", 30)
    _check(generated, tools)
    by_day = tools.files_by_day(out)
    days = sorted(by_day)
    _check(tools.land([p for d in days[:-1] for p in by_day[d]], db, tmp_path), tools)
    _check(tools.run_dbt(["seed"], db, tmp_path, salt=SALT), tools)
    _check(tools.run_dbt(["build", *DATA_TESTS], db, tmp_path, salt=SALT), tools)
    first = tools.query(
        db,
        "select max(classified_at) as built_at from intermediate.int_events_unioned",
    )[0]["built_at"]
    passed = {
        r["test_name"]: r["passed_at"]
        for r in tools.query(db, "select * from intermediate.test_watermarks")
    }
    statuses = _results(tmp_path)
    _check(tools.land(by_day[days[-1]], db, tmp_path), tools)
    _check(tools.run_dbt(["run"], db, tmp_path, salt=SALT), tools)
    return tmp_path, db, first, passed, statuses


def test_every_passing_test_records_the_start_of_its_build(built):
    _, _, first_build, passed, statuses = built
    assert statuses and all(s == "pass" for s in statuses.values()), statuses
    # every data test of the build passed, and each one's watermark is the build's start: the
    # instant stamped on the rows the build classified
    assert set(passed) == set(statuses)
    assert set(passed.values()) == {first_build}


def test_the_watermark_is_a_literal_in_the_compiled_sql(built, tools):
    tmp, db, first_build, *_ = built
    # compiled for execution (the watermarks are read), not run: nothing passes, nothing moves
    _check(
        tools.run_dbt(
            ["compile", "--select", "int_events_unioned,resource_type:test"], db, tmp, salt=SALT
        ),
        tools,
    )
    alias = _alias(tmp, "int_events_unioned", "unique_combination_of_columns", "line_number")
    (compiled,) = [p for p in (tmp / "target" / "compiled").rglob(f"{alias}.sql")]
    literal = f"cast('{_text(tools, db, first_build)}' as timestamp)"
    assert f"classified_at > {literal}" in compiled.read_text()


def test_an_outcome_judged_again_is_stamped(built, tools):
    tmp, db, first_build, *_ = built
    # an abandoned conversation set back to in_progress, as a build with an earlier as_of judged
    # it; the next build judges it again in place (abandoned) and must stamp it
    (kept,) = tools.query(
        db,
        "select conversation_id, reassembled_at from intermediate.int_conversations_assembled"
        " where outcome = 'abandoned' and reassembled_at <= ?"
        " order by conversation_id limit 1",
        [first_build],
    )
    _execute(
        db,
        "update intermediate.int_conversations_assembled set outcome = 'in_progress'"
        f" where conversation_id = '{kept['conversation_id']}'",
    )
    _check(tools.run_dbt(["run", "-s", "int_conversations_assembled"], db, tmp, salt=SALT), tools)
    (after,) = tools.query(
        db,
        "select outcome, reassembled_at from intermediate.int_conversations_assembled"
        " where conversation_id = ?",
        [kept["conversation_id"]],
    )
    assert after["outcome"] == "abandoned"
    assert after["reassembled_at"] > first_build
    # conversations whose outcome did not change keep their stamp
    (unchanged,) = tools.query(
        db,
        "select count(*) as n from intermediate.int_conversations_assembled"
        " where outcome = 'abandoned' and reassembled_at <= ?",
        [first_build],
    )
    assert unchanged["n"] > 0


def test_a_broken_row_fails_until_it_is_fixed(built, tools):
    tmp, db, first_build, *_ = built
    # a chat row classified by the last run (after the tests last passed), given a rejection
    # reason: int_events_unioned's "(event_class = 'rejected') = (rejection_reason is not null)"
    broken = tools.query(
        db,
        "select load_id, line_number from staging.stg_segment__events "
        "where event_class = 'chat' and classified_at > ? order by load_id, line_number limit 1",
        [first_build],
    )[0]
    _execute(
        db,
        "update staging.stg_segment__events set rejection_reason = 'missing_event_id' "
        f"where load_id = {broken['load_id']} and line_number = {broken['line_number']}",
    )
    alias = _alias(tmp, "int_events_unioned", "row_checks", "rejection_reason is not null")
    for command in (["test", *DATA_TESTS], ["build", *DATA_TESTS], ["build", *DATA_TESTS]):
        result = tools.run_dbt(command, db, tmp, salt=SALT)
        assert result.returncode != 0, tools.describe(result)
        assert _results(tmp)[alias] == "fail", command
        # the failing test keeps the watermark of its last pass
        kept = tools.query(
            db, "select passed_at from intermediate.test_watermarks where test_name = ?", [alias]
        )
        assert kept == [{"passed_at": first_build}]
    _execute(
        db,
        "update staging.stg_segment__events set rejection_reason = null "
        f"where load_id = {broken['load_id']} and line_number = {broken['line_number']}",
    )
    _check(tools.run_dbt(["test", *DATA_TESTS], db, tmp, salt=SALT), tools)
    moved = tools.query(
        db, "select passed_at from intermediate.test_watermarks where test_name = ?", [alias]
    )[0]["passed_at"]
    assert moved > first_build


def test_a_new_row_that_repeats_an_old_key_fails(built, tools):
    tmp, db, first_build, *_ = built
    # a copy of a row classified before the tests last passed, written after: the key
    # (source, load_id, line_number) occurs twice, once in an old row and once in a new one
    old = tools.query(
        db,
        "select load_id, line_number from staging.stg_rudderstack__events "
        "where classified_at <= ? order by load_id, line_number limit 1",
        [first_build],
    )[0]
    _execute(
        db,
        "insert into staging.stg_rudderstack__events "
        "select * replace (current_timestamp::timestamp as classified_at) "
        "from staging.stg_rudderstack__events "
        f"where load_id = {old['load_id']} and line_number = {old['line_number']}",
    )
    result = tools.run_dbt(["test", *DATA_TESTS], db, tmp, salt=SALT)
    assert result.returncode != 0, tools.describe(result)
    statuses = _results(tmp)
    expected = {
        _alias(tmp, model, "unique_combination_of_columns", "line_number")
        for model in ("stg_rudderstack__events", "int_events_unioned")
    }
    # the row count no longer adds up to the landed rows either
    expected.add("assert_accounting_identity")
    assert {a for a, s in statuses.items() if s != "pass"} == expected
    _execute(
        db,
        "delete from staging.stg_rudderstack__events "
        f"where load_id = {old['load_id']} and line_number = {old['line_number']}"
        f" and classified_at > cast('{_text(tools, db, first_build)}' as timestamp)",
    )
    _check(tools.run_dbt(["test", *DATA_TESTS], db, tmp, salt=SALT), tools)


def _fails_on_one_row_until_repaired(tools, db: Path, tmp: Path, alias: str, repair: str) -> None:
    """The data test `alias`, run alone, fails on exactly one row; `repair` (SQL, run whatever the
    outcome) puts the row back, and the test passes again."""
    select = ["--select", alias, *DATA_TESTS]
    try:
        result = tools.run_dbt(["test", *select], db, tmp, salt=SALT)
        assert result.returncode != 0, tools.describe(result)
        assert _failures(tmp) == {alias: 1}
    finally:
        _execute(db, repair)
    _check(tools.run_dbt(["test", *select], db, tmp, salt=SALT), tools)


def _literal(value) -> str:
    return str(value) if isinstance(value, int) else "'" + str(value).replace("'", "''") + "'"


@pytest.mark.parametrize(
    "table, key, stamp, alias",
    [
        (
            "raw.snowplow_events",
            ["load_id", "line_number"],
            "landed_at",
            "source_snowplow_events_primary_key",
        ),
        (
            "intermediate.int_conversation_events",
            ["source", "event_id"],
            "reassembled_at",
            "int_conversation_events_primary_key",
        ),
    ],
)
def test_a_key_test_of_the_new_keys_catches_a_new_copy_of_an_old_row(
    built, tools, table, key, stamp, alias
):
    """The primary-key tests that select the keys written since they last passed (the loads
    landed since, the ids by their hash, D57) still compare those keys with every older row."""
    tmp, db, first_build, *_ = built
    columns = ", ".join(key)
    (row,) = tools.query(
        db,
        f"select {columns} from {table} where {stamp} <= ? order by {columns} limit 1",
        [first_build],
    )
    same_key = " and ".join(f"{column} = {_literal(row[column])}" for column in key)
    # a copy of a row written before the test last passed, stamped as written after it
    _execute(
        db,
        f"insert into {table} select * replace (current_timestamp::timestamp as {stamp})"
        f" from {table} where {same_key}",
    )
    _fails_on_one_row_until_repaired(
        tools,
        db,
        tmp,
        alias,
        f"delete from {table} where {same_key}"
        f" and {stamp} > cast('{_text(tools, db, first_build)}' as timestamp)",
    )


@pytest.mark.parametrize(
    "mart, key, upstream",
    [
        ("fct_conversations", "conversation_id", "int_conversations_assembled"),
        ("fct_messages", "message_key", "int_messages_deduplicated"),
    ],
)
def test_a_mart_key_test_records_its_marts_watermark(built, tools, mart, key, upstream):
    tmp, db, *_ = built
    alias = f"{mart}_primary_key"
    # a row rewritten upstream after the mart's last build: the mart lags its upstream (it has
    # not absorbed the row yet) when the primary-key test runs alone and passes
    (row,) = tools.query(db, f"select {key} as k from marts.{mart} order by {key} limit 1")
    _execute(
        db,
        f"update intermediate.{upstream} set reassembled_at = current_timestamp::timestamp"
        f" where {key} = '{row['k']}'",
    )
    select = ["--select", alias, *DATA_TESTS]
    _check(tools.run_dbt(["test", *select], db, tmp, salt=SALT), tools)
    (mark,) = tools.query(
        db,
        "select classified_through from intermediate.build_watermarks where model_name = ?",
        [mart],
    )
    (passed,) = tools.query(
        db, "select passed_at from intermediate.test_watermarks where test_name = ?", [alias]
    )
    # recorded: the mart's own watermark, not the start of the `dbt test` invocation
    assert passed["passed_at"] == mark["classified_through"]
    # so the row stays in the test's scope: a duplicate of it is caught by the next run
    _execute(
        db,
        f"create table main.kept_row as select * from marts.{mart} where {key} = '{row['k']}';"
        f" insert into marts.{mart} select * from main.kept_row",
    )
    _fails_on_one_row_until_repaired(
        tools,
        db,
        tmp,
        alias,
        f"delete from marts.{mart} where {key} = '{row['k']}';"
        f" insert into marts.{mart} select * from main.kept_row; drop table main.kept_row",
    )


def test_a_message_whose_conversation_is_gone_fails_until_it_is_back(built, tools):
    tmp, db, first_build, *_ = built
    alias = "fct_messages_conversations_exist"
    # the test last passed in the first build (as the fixture left it; earlier tests here may
    # have run it since); a conversation the last run logged as changed and wrote to both marts,
    # and that no build will rewrite (not stamped after fct_conversations' watermark), then loses
    # its fct_conversations row, as a faulty build could remove it
    _execute(
        db,
        "update intermediate.test_watermarks"
        f" set passed_at = cast('{_text(tools, db, first_build)}' as timestamp)"
        f" where test_name = '{alias}'",
    )
    (row,) = tools.query(
        db,
        "select logged.conversation_id as c from intermediate.int_conversations_changed as logged"
        " where logged.changed_at > ? and logged.conversation_id in"
        " (select conversation_id from marts.fct_messages)"
        " and logged.conversation_id in (select conversation_id"
        " from intermediate.int_conversations_assembled where reassembled_at <= (select"
        " classified_through from intermediate.build_watermarks"
        " where model_name = 'fct_conversations'))"
        " order by logged.conversation_id limit 1",
        [first_build],
    )
    conversation = row["c"]
    _execute(
        db,
        "create table main.kept_conversation as select * from marts.fct_conversations"
        f" where conversation_id = '{conversation}';"
        f" delete from marts.fct_conversations where conversation_id = '{conversation}'",
    )
    try:
        select = ["--select", alias, *DATA_TESTS]
        result = tools.run_dbt(["test", *select], db, tmp, salt=SALT)
        assert result.returncode != 0, tools.describe(result)
        (count,) = tools.query(
            db,
            "select count(*) as n from marts.fct_messages where conversation_id = ?",
            [conversation],
        )
        assert _failures(tmp) == {alias: count["n"]}
        # a build with nothing new prunes the log of the changes every model has absorbed, but
        # not of those this failing test has not passed over: it still fails
        result = tools.run_dbt(["build", *DATA_TESTS], db, tmp, salt=SALT)
        assert result.returncode != 0, tools.describe(result)
        assert _results(tmp)[alias] == "fail"
        assert tools.query(
            db,
            "select count(*) as n from intermediate.int_conversations_changed"
            " where conversation_id = ?",
            [conversation],
        ) == [{"n": 1}]
    finally:
        _execute(
            db,
            "insert into marts.fct_conversations select * from main.kept_conversation;"
            " drop table main.kept_conversation",
        )
    _check(tools.run_dbt(["test", *select], db, tmp, salt=SALT), tools)


def test_a_raw_row_without_a_required_value_or_its_load_fails(built, tools):
    tmp, db, *_ = built
    # landing creates the raw tables with NOT NULL columns; a table made by another loader may
    # lack them, and then one test checks the required columns of the newly landed rows and that
    # each names a load of raw.loads
    rows = tools.query(
        db,
        "select load_id, line_number, file_name, cast(landed_at as varchar) as landed_at"
        " from raw.segment_events order by load_id desc, line_number limit 2",
    )
    where = [f"where load_id = {r['load_id']} and line_number = {r['line_number']}" for r in rows]
    alias = "source_segment_events_row_checks"
    select = ["--select", "source:raw.segment_events", *DATA_TESTS]
    _execute(
        db,
        "alter table raw.segment_events alter column file_name drop not null;"
        " update raw.segment_events"
        f" set file_name = null, landed_at = current_timestamp::timestamp {where[0]};"
        " update raw.segment_events"
        f" set load_id = -1, landed_at = current_timestamp::timestamp {where[1]}",
    )
    try:
        result = tools.run_dbt(["test", *select], db, tmp, salt=SALT)
        assert result.returncode != 0, tools.describe(result)
        assert _failures(tmp) == {alias: 2}
        compiled = next((tmp / "target" / "compiled").rglob(f"{alias}.sql"))
        failed = {
            (r["load_id"], r["line_number"]): r["failed_checks"]
            for r in tools.query(db, compiled.read_text())
        }
        assert failed[(rows[0]["load_id"], rows[0]["line_number"])] == "file_name is not null"
        assert failed[(-1, rows[1]["line_number"])].startswith("load_id in (select loads.load_id")
    finally:
        _execute(
            db,
            f"update raw.segment_events set file_name = '{rows[0]['file_name']}',"
            f" landed_at = cast('{rows[0]['landed_at']}' as timestamp) {where[0]};"
            f" update raw.segment_events set load_id = {rows[1]['load_id']},"
            f" landed_at = cast('{rows[1]['landed_at']}' as timestamp)"
            f" where load_id = -1 and line_number = {rows[1]['line_number']};"
            " alter table raw.segment_events alter column file_name set not null",
        )
    _check(tools.run_dbt(["test", *select], db, tmp, salt=SALT), tools)


def _comments(tools, db: Path, schema: str, relation: str) -> dict[str | None, str | None]:
    """The stored comments of a relation: None -> its own, column name -> the column's."""
    rows = tools.query(
        db,
        "select null as name, comment from duckdb_tables()"
        " where schema_name = ? and table_name = ?"
        " union all select null, comment from duckdb_views()"
        " where schema_name = ? and view_name = ?"
        " union all select column_name, comment from duckdb_columns()"
        " where schema_name = ? and table_name = ?",
        [schema, relation] * 3,
    )
    return {row["name"]: row["comment"] for row in rows}


def test_descriptions_are_comments_and_a_build_writes_only_those_that_differ(built, tools):
    tmp, db, *_ = built
    manifest = json.loads((tmp / "target" / "manifest.json").read_text())
    models = [
        node
        for node in manifest["nodes"].values()
        if node["resource_type"] == "model" and node["package_name"] == "chat_analytics"
    ]
    assert len(models) > 10
    for node in models:
        stored = _comments(tools, db, node["schema"], node["alias"])
        expected = {None: node["description"]}
        expected.update({name: c["description"] for name, c in node["columns"].items()})
        assert {k: stored.get(k) for k in expected} == expected, node["name"]

    # an edited description: the stored comments differ from the docs until the next build
    _execute(
        db,
        "comment on table marts.fct_conversations is 'old';"
        " comment on column marts.fct_conversations.channel is 'old'",
    )
    log = tmp / "logs" / "dbt.log"
    log.unlink(missing_ok=True)
    run = ["run", "--select", "fct_conversations", "--log-level-file", "debug"]
    _check(tools.run_dbt(run, db, tmp, salt=SALT), tools)
    node = manifest["nodes"]["model.chat_analytics.fct_conversations"]
    stored = _comments(tools, db, "marts", "fct_conversations")
    assert stored[None] == node["description"]
    assert stored["channel"] == node["columns"]["channel"]["description"]
    written = re.findall(r"comment on (?:table|column) \S+", log.read_text())
    assert sorted(written) == [
        'comment on column "warehouse"."marts"."fct_conversations".channel',
        'comment on table "warehouse"."marts"."fct_conversations"',
    ]


def test_row_checks_name_every_check_a_row_breaks(built, tools):
    tmp, db, *_ = built
    # fct_messages_row_checks: sender in (user, bot, agent) and reporting_events >= 1
    keys = [
        r["message_key"]
        for r in tools.query(
            db, "select message_key from marts.fct_messages order by message_key limit 4"
        )
    ]
    kept = tools.query(
        db,
        "select message_key, sender, reporting_events from marts.fct_messages"
        " where message_key in (?, ?, ?, ?)",
        keys,
    )
    _execute(
        db,
        f"update marts.fct_messages set sender = 'robot' where message_key = '{keys[0]}';"
        f" update marts.fct_messages set reporting_events = 0 where message_key = '{keys[1]}';"
        " update marts.fct_messages set sender = 'robot', reporting_events = -1"
        f" where message_key = '{keys[2]}';"
        # a NULL passes every check
        f" update marts.fct_messages set reporting_events = null where message_key = '{keys[3]}'",
    )
    try:
        select = ["--select", "fct_messages_row_checks"]
        result = tools.run_dbt(["test", *select, *DATA_TESTS], db, tmp, salt=SALT)
        assert result.returncode != 0, tools.describe(result)
        assert _failures(tmp) == {"fct_messages_row_checks": 3}
        compiled = next((tmp / "target" / "compiled").rglob("fct_messages_row_checks.sql"))
        rows = tools.query(db, compiled.read_text())
        failed = {r["message_key"]: r["failed_checks"] for r in rows}
        assert failed == {
            keys[0]: "sender in ('user', 'bot', 'agent')",
            keys[1]: "reporting_events >= 1",
            keys[2]: "sender in ('user', 'bot', 'agent'); reporting_events >= 1",
        }
    finally:
        for row in kept:
            _execute(
                db,
                f"update marts.fct_messages set sender = '{row['sender']}',"
                f" reporting_events = {row['reporting_events']}"
                f" where message_key = '{row['message_key']}'",
            )
    _check(tools.run_dbt(["test", *select, *DATA_TESTS], db, tmp, salt=SALT), tools)


def test_watermarks_of_tests_the_project_no_longer_has_are_deleted(built, tools):
    tmp, db, _, passed, _ = built
    _execute(
        db,
        "insert into intermediate.test_watermarks values"
        " ('not_null_a_test_that_was_removed', current_timestamp::timestamp)",
    )
    before = {
        r["test_name"]: r["passed_at"]
        for r in tools.query(db, "select * from intermediate.test_watermarks")
    }
    # a test of a model without a build watermark: it records the invocation's start
    select = ["--select", "int_events_unioned_row_checks"]
    _check(tools.run_dbt(["test", *select, *DATA_TESTS], db, tmp, salt=SALT), tools)
    after = {
        r["test_name"]: r["passed_at"]
        for r in tools.query(db, "select * from intermediate.test_watermarks")
    }
    assert set(after) == set(passed) == set(before) - {"not_null_a_test_that_was_removed"}
    # the tests that did not run keep their watermarks; the one that passed moves on
    moved = {name for name in after if after[name] != before[name]}
    assert moved == {"int_events_unioned_row_checks"}
