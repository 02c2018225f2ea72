"""SPEC §6: after any sequence of land + build cycles, every mart equals a full refresh.

A generated multi-week world (late arrivals, duplicates and id collisions across files, anonymous
users who identify later) is landed one arrival day at a time, with an incremental build after
each day. At the end a copy of the warehouse is rebuilt with `--full-refresh` from the same landed
data, and every mart of both is compared row for row (floats within 1e-9). A further build with
nothing new must change nothing.

The test also checks that the run exercised what makes incremental builds hard — a row landed
earlier that a later load turned into a duplicate, and conversations judged in_progress by one
build and abandoned by a later one — so that it cannot pass by never meeting them.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections import defaultdict
from datetime import datetime, timedelta
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

SEED = 20261126
DAYS = 14
CONVERSATIONS_PER_DAY = 40
SALT = "incremental-test-salt"
# (mart, key) for every mart of SPEC §5
MARTS = {
    "fct_conversations": ["conversation_id"],
    "fct_messages": ["message_key"],
    "dim_users": ["user_key"],
    "conversation_metrics_daily": ["conversation_date", "channel"],
    "conversation_funnel_daily": ["conversation_date", "channel", "step_number"],
    "intent_metrics_daily": ["conversation_date", "intent"],
    "event_quality_daily": ["source", "received_date"],
    "event_rejections": ["source", "load_id", "line_number"],
}


def _marts(tools, db: Path) -> dict[str, list[dict]]:
    """Every mart's rows, in key order."""
    return {
        mart: tools.query(db, f"select * from marts.{mart} order by {', '.join(key)}")
        for mart, key in MARTS.items()
    }


def _re_export(files: list[Path], folder: Path) -> Path:
    """Copies of the first 60 track calls of a Segment file, each received 1 s earlier than the
    original; every third one names another conversation (same messageId, other payload)."""
    (original,) = [f for f in files if f.parent.name == "segment"]
    copies = []
    for line in original.read_text().splitlines():
        try:
            message = json.loads(line)
        except ValueError:
            continue  # a malformed line of the original
        if not isinstance(message, dict) or message.get("type") != "track":
            continue
        if not message.get("messageId") or "receivedAt" not in message:
            continue
        received = datetime.fromisoformat(message["receivedAt"]) - timedelta(seconds=1)
        message["receivedAt"] = received.isoformat(timespec="milliseconds").replace("+00:00", "Z")
        properties = message.get("properties") or {}
        if len(copies) % 3 == 2 and "conversationId" in properties:
            properties["conversationId"] = "re-export-" + str(properties["conversationId"])
        copies.append(json.dumps(message))
        if len(copies) == 60:
            break
    folder.mkdir(parents=True)
    path = folder / "re-export.jsonl"
    path.write_text("\n".join(copies) + "\n")
    return path


def _check(result: subprocess.CompletedProcess, tools) -> None:
    assert result.returncode == 0, tools.describe(result)


@pytest.fixture(scope="module")
def day_by_day(tmp_path_factory, tools):
    """Generate, then land and build one arrival day at a time; the states seen after each build."""
    tmp = tmp_path_factory.mktemp("incremental")
    out, db = tmp / "exports", tmp / "warehouse.duckdb"
    generated = tools.generate(
        out,
        "--seed",
        SEED,
        "--days",
        DAYS,
        "--conversations-per-day",
        CONVERSATIONS_PER_DAY,
        # more of the mess that crosses files than the default, so every day has some
        "--late-rate",
        0.05,
        "--duplicate-rate",
        0.05,
        "--id-collision-rate",
        0.01,
    )
    _check(generated, tools)
    by_day = tools.files_by_day(out)
    assert len(by_day) == DAYS, sorted(by_day)

    # A re-export of day 2's Segment file arrives with day 10's: copies received earlier than the
    # rows landed on day 2, some carrying another conversation id (id collisions).
    days = sorted(by_day)
    backfill = _re_export(by_day[days[1]], tmp / "backfill" / "segment")
    by_day[days[9]].append(backfill)

    _check(tools.run_dbt(["seed"], db, tmp, salt=SALT), tools)
    outcomes_seen: dict[str, list[str]] = defaultdict(list)
    # the keys of the daily marts and dim_users each conversation had after each build
    keys_seen: dict[str, set[tuple]] = defaultdict(set)
    for day in days:
        _check(tools.land(by_day[day], db, tmp), tools)
        _check(tools.run_dbt(["run"], db, tmp, salt=SALT), tools)
        for row in tools.query(
            db,
            "select conversation_id, outcome, conversation_date, channel, first_intent, user_key"
            " from marts.fct_conversations",
        ):
            outcomes_seen[row["conversation_id"]].append(row["outcome"])
            keys_seen[row["conversation_id"]].add(
                (row["conversation_date"], row["channel"], row["first_intent"], row["user_key"])
            )
    # the last cycle also runs every data test, incrementally built
    _check(tools.run_dbt(["build"], db, tmp, salt=SALT), tools)
    return tmp, db, outcomes_seen, keys_seen


def test_the_run_exercises_reclassification_and_reevaluation(day_by_day, tools):
    _, db, outcomes_seen, keys_seen = day_by_day
    reclassified = tools.query(
        db,
        """
        select count(*) as n
        from intermediate.int_events_unioned as copy
        join intermediate.int_events_unioned as first_copy
            on copy.source = first_copy.source
            and copy.event_id = first_copy.event_id
            and first_copy.event_class <> 'duplicate'
        where copy.event_class = 'duplicate' and copy.load_id < first_copy.load_id
        """,
    )[0]["n"]
    assert reclassified > 0, "no row landed earlier became a duplicate of a later load's copy"
    reopened = [
        cid
        for cid, seen in outcomes_seen.items()
        if "in_progress" in seen and seen[-1] in ("abandoned", "contained", "escalated")
    ]
    assert reopened, "no conversation judged in_progress was judged again later"
    late = tools.query(
        db,
        "select count(*) as n from intermediate.int_events_unioned "
        "where event_class = 'chat' and received_at > event_at + interval 1 day",
    )[0]["n"]
    assert late > 0, "no late chat event was landed"
    # a conversation that left a key of the daily marts or dim_users (DECISIONLOG D38)
    moved = [cid for cid, keys in keys_seen.items() if len(keys) > 1]
    assert moved, "no conversation changed its day, channel, first intent or user between builds"


def _assert_marts_equal_a_full_refresh(tools, db: Path, tmp: Path) -> None:
    """Rebuild a copy of db with --full-refresh and compare every mart row for row."""
    incremental = _marts(tools, db)
    full_db = tmp / "full_refresh.duckdb"
    shutil.copy2(db, full_db)
    _check(tools.run_dbt(["run", "--full-refresh"], full_db, tmp, salt=SALT), tools)
    full = _marts(tools, full_db)
    problems = []
    for mart, key in MARTS.items():
        assert full[mart], f"{mart} is empty after the full refresh"
        columns = list(full[mart][0])
        problems += [
            f"{mart}: {p}"
            for p in tools.diff_rows(incremental[mart], full[mart], key=key, columns=columns)
        ]
    # the events and the conversation summaries too, bookkeeping aside: an event is rewritten when
    # staging classifies its envelope id again (D50), and a relinked conversation takes its new
    # user in place (D49)
    for model, key, bookkeeping in (
        ("int_conversation_events", ["source", "event_id"], "classified_at, reassembled_at"),
        ("int_conversations_assembled", ["conversation_id"], "reassembled_at"),
    ):
        rows = f"select * exclude ({bookkeeping}) from intermediate.{model} order by all"
        kept, rebuilt = tools.query(db, rows), tools.query(full_db, rows)
        assert rebuilt, f"{model} is empty after the full refresh"
        problems += [
            f"{model}: {p}"
            for p in tools.diff_rows(kept, rebuilt, key=key, columns=list(rebuilt[0]))
        ]
    # each event keeps the build that classified its staging row: it was written from that row
    mismatched = tools.query(
        db,
        "select kept.source, kept.event_id, kept.classified_at, staged.classified_at"
        " from intermediate.int_conversation_events as kept"
        " left join intermediate.int_events_unioned as staged"
        " on kept.source = staged.source and kept.event_id = staged.event_id"
        " and staged.event_class = 'chat'"
        " where staged.classified_at is distinct from kept.classified_at",
    )
    problems += [f"event classified_at differs from staging: {row}" for row in mismatched]
    # and no event is earlier than its conversation's recorded first event, from which the models
    # after the events model read (D50)
    earlier = tools.query(
        db,
        "select events.conversation_id, events.event_at, starts.first_event_at"
        " from intermediate.int_conversation_events as events"
        " left join (select conversation_id, min(first_event_at) as first_event_at"
        " from intermediate.conversation_first_events group by conversation_id) as starts"
        " on events.conversation_id = starts.conversation_id"
        " where starts.first_event_at is null or events.event_at < starts.first_event_at",
    )
    problems += [f"event earlier than its recorded first event: {row}" for row in earlier]
    assert not problems, "\n".join(problems[:40])


def test_incremental_marts_equal_a_full_refresh(day_by_day, tools):
    tmp, db, *_ = day_by_day
    _assert_marts_equal_a_full_refresh(tools, db, tmp)


def test_a_build_with_nothing_new_changes_nothing(day_by_day, tools):
    tmp, db, *_ = day_by_day
    before = _marts(tools, db)
    classified_before = tools.query(
        db,
        "select count(*) as n, max(classified_at) as latest from intermediate.int_events_unioned",
    )
    _check(tools.run_dbt(["run"], db, tmp, salt=SALT), tools)
    assert _marts(tools, db) == before
    classified_after = tools.query(
        db,
        "select count(*) as n, max(classified_at) as latest from intermediate.int_events_unioned",
    )
    assert classified_after == classified_before


def _log_rows(tools, db: Path) -> list[dict]:
    return tools.query(
        db,
        "select changed_at, count(*) as conversations from intermediate.int_conversations_changed"
        " group by changed_at order by changed_at",
    )


def test_a_model_left_out_of_a_build_catches_up_and_the_log_is_pruned(tmp_path, tools):
    """A reader of int_conversations_changed that misses a build (here left out, as after a
    failure) keeps its watermark, and the log keeps the rows it has not absorbed (DECISIONLOG
    D41): the next build reassembles them, and the marts equal a full refresh. Rows every reader
    has absorbed are deleted."""
    out, db = tmp_path / "exports", tmp_path / "warehouse.duckdb"
    _check(tools.generate(out, "--seed", 7, "--days", 4, "--conversations-per-day", 40), tools)
    days = list(tools.files_by_day(out).values())
    _check(tools.run_dbt(["seed"], db, tmp_path, salt=SALT), tools)

    _check(tools.land(days[0], db, tmp_path), tools)
    _check(tools.run_dbt(["run"], db, tmp_path, salt=SALT), tools)
    (first_build,) = _log_rows(tools, db)

    _check(tools.land(days[1], db, tmp_path), tools)
    left_out = ["--exclude", "int_conversation_events+"]
    _check(tools.run_dbt(["run", *left_out], db, tmp_path, salt=SALT), tools)
    (second_build,) = _log_rows(tools, db)
    # every reader had absorbed the first build's rows; the events model and the models after it
    # have not absorbed the second's
    assert second_build["changed_at"] > first_build["changed_at"]

    _check(tools.land(days[2] + days[3], db, tmp_path), tools)
    _check(tools.run_dbt(["run"], db, tmp_path, salt=SALT), tools)
    after = _log_rows(tools, db)
    assert [row["changed_at"] for row in after][:1] == [second_build["changed_at"]], after
    assert len(after) == 2, after
    # the events model caught up on the staging rows of the build it missed
    (caught_up,) = tools.query(
        db,
        "select count(*) as n from intermediate.int_conversation_events"
        f" where classified_at = '{second_build['changed_at']}'",
    )
    assert caught_up["n"] > 0, "the events of the missed build were not absorbed"
    # the conversation summaries read the events of the conversations logged since they last
    # built from the earliest event among them on (D50)
    (earliest,) = tools.query(
        db,
        "select min(event_at) as event_at from intermediate.int_conversation_events"
        " where conversation_id in"
        " (select conversation_id from intermediate.int_conversations_changed)",
    )
    assert _events_read_from(tmp_path) == earliest["event_at"]

    _assert_marts_equal_a_full_refresh(tools, db, tmp_path)

    _check(tools.run_dbt(["run"], db, tmp_path, salt=SALT), tools)
    assert _log_rows(tools, db) == [], "rows that every reader absorbed are still logged"


def _events_read_from(tmp: Path) -> datetime:
    """The lower bound on event_at in the last build's SQL of int_conversations_assembled (the
    literal drops trailing zeros of the fraction, so it is compared as a time)."""
    (compiled,) = (tmp / "target" / "compiled").rglob("int_conversations_assembled.sql")
    text = compiled.read_text()
    marker = "event_at >= cast('"
    assert marker in text, text
    return datetime.fromisoformat(text.split(marker, 1)[1].split("'", 1)[0])
