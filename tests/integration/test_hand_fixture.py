"""The hand fixture, landed and built, against numbers worked out by hand (hand_expected.py).

Lands tests/fixtures/hand with `chat-analytics land`, runs `dbt seed` and `dbt build`, and compares
every column of every row of the marts with the expectations, plus the landing contract and the
accounting identity counted from the fixture's own lines.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest


def _load_expected():
    path = Path(__file__).with_name("hand_expected.py")
    spec = importlib.util.spec_from_file_location("hand_expected", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


X = _load_expected()
HAND_FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "hand"
SOURCES = ("segment", "rudderstack", "snowplow")
MARTS = list(X.COLUMNS)


def fixture_lines(path: Path) -> int:
    """Lines as SPEC counts them: runs of bytes ending in a newline, a last unterminated one too."""
    data = path.read_bytes()
    return data.count(b"\n") + (1 if data and not data.endswith(b"\n") else 0)


def short_name(source: str, file_name: str) -> str:
    return f"{source}/{Path(file_name).name}"


def require_built(wh, tools, *marts: str) -> None:
    if wh.land.returncode != 0:
        pytest.fail("landing failed:\n" + tools.describe(wh.land))
    for mart in marts:
        if not tools.columns_of(wh.db, "marts", mart):
            detail = tools.describe(wh.build) if wh.build is not None else "dbt build did not run"
            pytest.fail(f"marts.{mart} was not built.\n{detail}")


def assert_no_diff(problems: list[str], what: str) -> None:
    assert not problems, f"{what} differs from the hand expectation:\n  " + "\n  ".join(problems)


def test_expectations_use_the_test_salt(tools):
    assert X.SALT == tools.HAND_SALT


def test_fixture_line_counts_match_the_expectation():
    """Guards the fixture itself: files and line counts are what hand_expected.py describes."""
    actual = {
        f"{p.parent.name}/{p.name}": fixture_lines(p)
        for source in SOURCES
        for p in sorted((HAND_FIXTURE / source).iterdir())
    }
    assert actual == {name: spec[1] for name, spec in X.FILES.items()}


# ---------------------------------------------------------------------------------------------
# Landing
# ---------------------------------------------------------------------------------------------
def test_land_succeeds(hand_warehouse, tools):
    assert hand_warehouse.land.returncode == 0, tools.describe(hand_warehouse.land)


def test_raw_loads_account_for_every_line(hand_warehouse, tools):
    require_built(hand_warehouse, tools)
    rows = tools.query(hand_warehouse.db, "select * from raw.loads")
    actual = {
        short_name(r["source"], r["path"]): (
            r["source"],
            r["lines"],
            r["landed_rows"],
            r["rejected_lines"],
        )
        for r in rows
    }
    assert actual == X.FILES
    for r in rows:
        assert r["lines"] == r["landed_rows"] + r["rejected_lines"], r


def test_raw_tables_hold_the_landed_rows(hand_warehouse, tools):
    require_built(hand_warehouse, tools)
    for source in SOURCES:
        rows = tools.query(
            hand_warehouse.db,
            f"select file_name, count(*) as n from raw.{source}_events group by file_name",
        )
        actual = {short_name(source, r["file_name"]): r["n"] for r in rows}
        expected = {name: spec[2] for name, spec in X.FILES.items() if spec[0] == source}
        assert actual == expected, source


def test_rejected_lines(hand_warehouse, tools):
    require_built(hand_warehouse, tools)
    rows = tools.query(hand_warehouse.db, "select * from raw.rejected_lines")
    actual = sorted(
        (short_name(r["source"], r["file_name"]), r["line_number"], r["reason"]) for r in rows
    )
    assert actual == sorted(X.REJECTED_LINES)
    # the line is kept exactly as read (without its newline), invalid UTF-8 byte included
    for r in rows:
        name = short_name(r["source"], r["file_name"])
        original = (HAND_FIXTURE / name).read_bytes().split(b"\n")[r["line_number"] - 1]
        assert bytes(r["raw_bytes"]) == original, (name, r["line_number"])


# ---------------------------------------------------------------------------------------------
# dbt
# ---------------------------------------------------------------------------------------------
def test_dbt_seed_succeeds(hand_warehouse, tools):
    require_built(hand_warehouse, tools)
    assert hand_warehouse.seed.returncode == 0, tools.describe(hand_warehouse.seed)


def test_dbt_build_succeeds(hand_warehouse, tools):
    """Every model builds and every error-severity data test passes on the hand fixture."""
    require_built(hand_warehouse, tools)
    assert hand_warehouse.build.returncode == 0, tools.describe(hand_warehouse.build)


@pytest.mark.parametrize("mart", MARTS)
def test_mart_columns_and_order(hand_warehouse, tools, mart):
    require_built(hand_warehouse, tools, mart)
    assert tools.columns_of(hand_warehouse.db, "marts", mart) == X.COLUMNS[mart]


def mart_rows(wh, tools, mart: str) -> list[dict]:
    require_built(wh, tools, mart)
    return tools.query(wh.db, f"select * from marts.{mart}")


def simple_mart_problems(wh, tools, mart: str, expected: list[dict]) -> list[str]:
    actual = mart_rows(wh, tools, mart)
    return tools.diff_rows(actual, expected, X.KEYS[mart], X.COLUMNS[mart])


def fct_messages_problems(wh, tools) -> list[str]:
    actual = mart_rows(wh, tools, "fct_messages")
    keys = [r["message_key"] for r in actual]
    problems = []
    if None in keys:
        problems.append("message_key is null")
    if len(set(keys)) != len(keys):
        problems.append("message_key is not unique")
    fields = X.COLUMNS["fct_messages"][1:]
    rows = [{c: r[c] for c in fields} for r in actual]
    expected = [dict(zip(fields, m, strict=True)) for m in X.FCT_MESSAGES]
    # one row per (conversation_id, message_id, sent_at): unique in the expectation
    key = ["conversation_id", "message_id", "sent_at"]
    return problems + tools.diff_rows(rows, expected, key, fields)


def event_quality_problems(wh, tools) -> list[str]:
    actual = mart_rows(wh, tools, "event_quality_daily")
    landing_dates = tools.query(
        wh.db,
        "select distinct cast(landed_at as date) as d from raw.rudderstack_events "
        "where received_at is null",
    )
    assert len(landing_dates) == 1, landing_dates
    landing_date = landing_dates[0]["d"]
    assert landing_date not in (X.D1, X.D2)
    expected = [dict(r) for r in X.EVENT_QUALITY_DAILY]
    for r in expected:
        if r["received_date"] is X.LANDING_DATE:
            r["received_date"] = landing_date
    return tools.diff_rows(
        actual, expected, X.KEYS["event_quality_daily"], X.COLUMNS["event_quality_daily"]
    )


def event_rejections_problems(wh, tools) -> list[str]:
    actual = mart_rows(wh, tools, "event_rejections")
    rows = [
        {
            "file": short_name(r["source"], r["file_name"]),
            "line_number": r["line_number"],
            "event_id": r["event_id"],
            "reason": r["reason"],
            "received_at": r["received_at"],
        }
        for r in actual
    ]
    fields = ["file", "line_number", "event_id", "reason", "received_at"]
    expected = [dict(zip(fields, e, strict=True)) for e in X.EVENT_REJECTIONS]
    problems = tools.diff_rows(rows, expected, ["file", "line_number"], fields)
    # lineage: (source, load_id, file_name, line_number) points at the landed raw row
    orphans = tools.query(
        wh.db,
        "select r.* from marts.event_rejections r where not exists ("
        + " union all ".join(
            f"select 1 from raw.{source}_events e where r.source = '{source}'"
            " and e.load_id = r.load_id and e.file_name = r.file_name"
            " and e.line_number = r.line_number"
            for source in SOURCES
        )
        + ")",
    )
    problems += [f"event_rejections row has no raw row: {r}" for r in orphans]
    return problems


SIMPLE = {
    "fct_conversations": X.FCT_CONVERSATIONS,
    "conversation_metrics_daily": X.CONVERSATION_METRICS_DAILY,
    "conversation_funnel_daily": X.CONVERSATION_FUNNEL_DAILY,
    "intent_metrics_daily": X.INTENT_METRICS_DAILY,
    "dim_users": X.DIM_USERS,
}


def mart_problems(wh, tools, mart: str) -> list[str]:
    if mart in SIMPLE:
        return simple_mart_problems(wh, tools, mart, SIMPLE[mart])
    return {
        "fct_messages": fct_messages_problems,
        "event_quality_daily": event_quality_problems,
        "event_rejections": event_rejections_problems,
    }[mart](wh, tools)


@pytest.mark.parametrize("mart", MARTS)
def test_mart_rows(hand_warehouse, tools, mart):
    """Every column of every row of each mart equals the hand expectation."""
    assert_no_diff(mart_problems(hand_warehouse, tools, mart), mart)


class Staged:
    def __init__(self, db, steps, land, build):
        self.db, self.steps, self.land, self.build = db, steps, land, build


@pytest.fixture(scope="module")
def hand_warehouse_in_two_landings(tmp_path_factory, tools):
    """SPEC §6: land the first arrival day, build, land the second, build again."""
    tmp = tmp_path_factory.mktemp("hand_incremental")
    db = tmp / "warehouse.duckdb"
    day1 = [
        HAND_FIXTURE / s / f
        for s, f in (
            ("segment", "2026-03-01.jsonl"),
            ("rudderstack", "2026-03-01.jsonl"),
            ("snowplow", "2026-03-01.tsv"),
        )
    ]
    day2 = [
        HAND_FIXTURE / s / f
        for s, f in (
            ("segment", "2026-03-02.jsonl"),
            ("rudderstack", "2026-03-02.jsonl"),
            ("snowplow", "2026-03-02.tsv"),
        )
    ]
    steps = []
    for command in (
        lambda: tools.land(day1, db, tmp),
        # the first cycle only needs the models: skip its data tests to keep the test quick
        lambda: tools.run_dbt(
            ["build", "--exclude-resource-type", "test", "--exclude-resource-type", "unit_test"],
            db,
            tmp,
        ),
        lambda: tools.land(day2, db, tmp),
        lambda: tools.run_dbt(["build"], db, tmp),
    ):
        steps.append(command())
        if steps[-1].returncode != 0:
            break
    return Staged(db=db, steps=steps, land=steps[0], build=steps[-1])


@pytest.mark.parametrize("mart", MARTS)
def test_mart_rows_after_two_landings(hand_warehouse_in_two_landings, tools, mart):
    """After land + build cycles the marts equal a build over everything (SPEC §6)."""
    wh = hand_warehouse_in_two_landings
    for step in wh.steps:
        assert step.returncode == 0, tools.describe(step)
    assert len(wh.steps) == 4
    assert_no_diff(mart_problems(wh, tools, mart), f"{mart} (two landings)")


def test_accounting_identity_per_source(hand_warehouse, tools):
    """lines in the fixture − landing rejects = landed rows = chat + identity + unmapped +
    duplicate + rejected, per source (SPEC §2.4 and §4)."""
    require_built(hand_warehouse, tools, "event_quality_daily")
    db = hand_warehouse.db
    for source in SOURCES:
        lines = sum(fixture_lines(p) for p in (HAND_FIXTURE / source).iterdir())
        rejected_lines = tools.query(
            db, "select count(*) as n from raw.rejected_lines where source = ?", [source]
        )[0]["n"]
        raw_rows = tools.query(db, f"select count(*) as n from raw.{source}_events")[0]["n"]
        q = tools.query(
            db,
            "select sum(landed_rows) as landed, sum(chat_rows + identity_rows + unmapped_rows"
            " + duplicate_rows + rejected_rows) as classified from marts.event_quality_daily"
            " where source = ?",
            [source],
        )[0]
        assert lines == raw_rows + rejected_lines, source
        assert q["landed"] == raw_rows, source
        assert q["classified"] == raw_rows, source


def test_no_pii_in_marts(hand_warehouse, tools):
    """Raw ids, emails, IPs and message bodies never reach the marts."""
    require_built(hand_warehouse, tools)
    secrets = [
        "anon-",
        "u-1",
        "u-2",
        "u-3",
        "u-5",
        "u-7",
        "u-9",
        "@example.com",
        "198.51.100.23",
        "203.0.113.9",
        "want a refund",
        "How can I help",
        "charged twice",
        "cancel my order",
        "where is it",
    ]
    text_columns = tools.query(
        hand_warehouse.db,
        "select table_name, column_name from information_schema.columns "
        "where table_schema = 'marts' and data_type = 'VARCHAR'",
    )
    leaks = []
    for col in text_columns:
        values = tools.query(
            hand_warehouse.db,
            f'select distinct "{col["column_name"]}" as v from marts."{col["table_name"]}"',
        )
        for row in values:
            for secret in secrets:
                if row["v"] is not None and secret in row["v"]:
                    leaks.append(f"{col['table_name']}.{col['column_name']} = {row['v']!r}")
    assert not leaks, leaks
