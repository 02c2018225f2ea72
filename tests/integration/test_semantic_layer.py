"""dbt's semantic layer (MetricFlow) over a small generated world, against the generator's truth.

The world is generated, landed and built once; `mf` then runs over the built warehouse. Its
semantic manifest comes from that build's target folder: `mf` reads
`<project>/target/semantic_manifest.json`, so it runs in a folder of its own that holds the
project's dbt_project.yml and a link to the build's target (nothing is written into the repository).

Expected numbers come from <out>/_truth, which the generator writes from its own world model: the
daily rates are rolled up over channels from the truth's per-channel counts (a rate of summed
counts, never an average of rates), to 1e-9.
"""

from __future__ import annotations

import csv
import itertools
import subprocess
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import pytest

# A seed whose world has resolved and rated conversations without a user message, and in-progress
# ones, so that every definition is put to the test (test_every_conversation_metric_by_day checks)
SEED = 19
DAYS = 6
CONVERSATIONS_PER_DAY = 120
SALT = "semantic-layer-salt"
TOLERANCE = 1e-9

COUNTS = (
    "conversations",
    "engaged_conversations",
    "escalated_conversations",
    "contained_conversations",
    "in_progress_conversations",
    "abandoned_conversations",
    "resolved_conversations",
    "rated_conversations",
    "satisfied_conversations",
)
# rate -> (numerator, denominator), as SPEC §5 defines them
RATIOS = {
    "engagement_rate": ("engaged_conversations", "conversations"),
    "escalation_rate": ("escalated_conversations", "engaged_conversations"),
    "containment_rate": ("contained_conversations", "engaged_conversations"),
    "abandonment_rate": ("abandoned_conversations", "engaged_conversations"),
    "resolution_rate": ("resolved_conversations", "engaged_conversations"),
    "csat_score": ("satisfied_conversations", "rated_conversations"),
    "survey_response_rate": ("rated_conversations", "engaged_conversations"),
}
QUERY_NUMBERS = itertools.count(1)


@dataclass
class World:
    out: Path  # generated export files and _truth/
    db: Path  # the built warehouse
    tmp: Path  # dbt target and logs
    project: Path  # where mf runs


@pytest.fixture(scope="module")
def world(tmp_path_factory, tools) -> World:
    tmp = tmp_path_factory.mktemp("semantic")
    out, db = tmp / "world", tmp / "warehouse.duckdb"
    generated = tools.generate(
        out, "--seed", SEED, "--days", DAYS, "--conversations-per-day", CONVERSATIONS_PER_DAY
    )
    assert generated.returncode == 0, tools.describe(generated)
    landed = tools.land([out], db, tmp)
    assert landed.returncode == 0, tools.describe(landed)
    for args in (["seed"], ["build"]):
        result = tools.run_dbt(args, db, tmp, salt=SALT)
        assert result.returncode == 0, tools.describe(result)
    project = tmp / "mf_project"
    project.mkdir()
    (project / "dbt_project.yml").symlink_to(tools.REPO / "dbt_project.yml")
    (project / "target").symlink_to(tmp / "target", target_is_directory=True)
    return World(out=out, db=db, tmp=tmp, project=project)


def run_mf(world: World, tools, *args: str) -> subprocess.CompletedProcess:
    """`mf ARGS` over the world's warehouse and semantic manifest; logs under the world's tmp."""
    env = tools.tool_env(world.db, world.tmp, SALT)
    env.update(DBT_PROJECT_DIR=str(world.project), DBT_LOG_PATH=str(world.tmp / "logs"))
    return subprocess.run(
        [str(tools.REPO / ".venv" / "bin" / "mf"), *args],
        cwd=world.project,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


def mf_query(world: World, tools, metrics: list[str], group_by: list[str]) -> list[dict]:
    """Rows of `mf query` (through --csv, at full precision): metric_time__day as a date, group-by
    values as text, metrics as floats (None when empty)."""
    out = world.tmp / f"mf_query_{next(QUERY_NUMBERS)}.csv"
    args = ["query", "--metrics", ",".join(metrics), "--csv", str(out)]
    if group_by:
        args += ["--group-by", ",".join(group_by)]
    result = run_mf(world, tools, *args)
    assert result.returncode == 0, tools.describe(result)
    with out.open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert rows, f"mf query returned no rows:\n{tools.describe(result)}"
    typed = []
    for row in rows:
        assert set(row) == {*group_by, *metrics}, row
        item = {}
        for column, text in row.items():
            if column == "metric_time__day":
                moment = datetime.fromisoformat(text)
                assert moment.time() == datetime.min.time(), text
                item[column] = moment.date()
            elif column in metrics:
                item[column] = float(text) if text != "" else None
            else:
                item[column] = text
        typed.append(item)
    return typed


def read_csv(path: Path) -> list[dict]:
    with path.open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def ratio(numerator: float, denominator: float) -> float | None:
    return numerator / denominator if denominator else None


def truth_by_day(world: World) -> dict[date, dict[str, float | None]]:
    """Every metric per conversation_date, rolled up over channels from the truth: counts summed,
    rates as ratios of the summed counts, csat_average as total rating / rated conversations (the
    rating total of a row is its csat_average × rated, an integer), avg_first_response_seconds
    from the truth's conversations."""
    sums: dict[date, Counter] = defaultdict(Counter)
    for row in read_csv(world.out / "_truth" / "conversation_metrics_daily.csv"):
        day = sums[date.fromisoformat(row["conversation_date"])]
        for column in COUNTS:
            day[column] += int(row[column])
        if row["csat_average"]:
            day["rating_total"] += round(
                float(row["csat_average"]) * int(row["rated_conversations"])
            )
    responses: dict[date, list[float]] = defaultdict(list)
    for row in read_csv(world.out / "_truth" / "fct_conversations.csv"):
        if row["first_response_seconds"]:
            day = date.fromisoformat(row["conversation_date"])
            responses[day].append(float(row["first_response_seconds"]))
    expected = {}
    for day, s in sums.items():
        values: dict[str, float | None] = {c: float(s[c]) for c in COUNTS}
        for rate, (numerator, denominator) in RATIOS.items():
            values[rate] = ratio(s[numerator], s[denominator])
        values["csat_average"] = ratio(s["rating_total"], s["rated_conversations"])
        values["avg_first_response_seconds"] = ratio(sum(responses[day]), len(responses[day]))
        expected[day] = values
    return expected


def differences(actual: dict, expected: dict, metrics: list[str]) -> list[str]:
    """Keys missing on either side and metric values further apart than TOLERANCE."""
    problems = [f"missing {k}" for k in sorted(set(expected) - set(actual), key=repr)]
    problems += [f"unexpected {k}" for k in sorted(set(actual) - set(expected), key=repr)]
    for key in sorted(set(actual) & set(expected), key=repr):
        for metric in metrics:
            a, e = actual[key][metric], expected[key][metric]
            if (a is None) != (e is None) or (a is not None and abs(a - e) > TOLERANCE):
                problems.append(f"{key} {metric}: expected {e!r}, mf gave {a!r}")
    return problems


def test_validate_configs_passes_against_the_built_warehouse(world, tools):
    result = run_mf(world, tools, "validate-configs")
    assert result.returncode == 0, tools.describe(result)
    # the warehouse checks ran (they are skipped only with --skip-dw)
    ran = "Successfully validated metrics against data warehouse"
    assert ran in result.stdout, tools.describe(result)


def test_rates_by_day_roll_up_over_channels(world, tools):
    metrics = ["escalation_rate", "containment_rate", "csat_average"]
    rows = mf_query(world, tools, metrics, ["metric_time__day"])
    actual = {r["metric_time__day"]: r for r in rows}
    assert len(actual) == len(rows), "one row per day expected"
    expected = truth_by_day(world)
    assert len(expected) >= DAYS
    problems = differences(actual, expected, metrics)
    assert not problems, "\n".join(problems)


def test_rates_by_day_and_channel(world, tools):
    metrics = ["escalation_rate", "containment_rate", "csat_average"]
    rows = mf_query(world, tools, metrics, ["metric_time__day", "conversation__channel"])
    actual = {(r["metric_time__day"], r["conversation__channel"]): r for r in rows}
    assert len(actual) == len(rows), "one row per day and channel expected"
    expected = {}
    for row in read_csv(world.out / "_truth" / "conversation_metrics_daily.csv"):
        engaged = int(row["engaged_conversations"])
        expected[(date.fromisoformat(row["conversation_date"]), row["channel"])] = {
            "escalation_rate": ratio(int(row["escalated_conversations"]), engaged),
            "containment_rate": ratio(int(row["contained_conversations"]), engaged),
            "csat_average": float(row["csat_average"]) if row["csat_average"] else None,
        }
    assert len({channel for _, channel in expected}) > 1, "the world should have several channels"
    problems = differences(actual, expected, metrics)
    assert not problems, "\n".join(problems)


def test_every_conversation_metric_by_day(world, tools):
    truth = read_csv(world.out / "_truth" / "fct_conversations.csv")
    not_engaged = [r for r in truth if r["is_engaged"] == "false"]
    assert any(r["is_resolved"] == "true" for r in not_engaged), "resolved needs is_engaged"
    assert any(r["csat_rating"] for r in not_engaged), "rated counts without engagement"
    assert any(r["outcome"] == "in_progress" for r in truth), "in_progress is an outcome"
    metrics = [*COUNTS, *RATIOS, "csat_average", "avg_first_response_seconds"]
    rows = mf_query(world, tools, metrics, ["metric_time__day"])
    actual = {r["metric_time__day"]: r for r in rows}
    problems = differences(actual, truth_by_day(world), metrics)
    assert not problems, "\n".join(problems)


def test_messages_join_their_conversations(world, tools):
    """The messages semantic model reaches the conversation's dimensions through the conversation
    entity: messages per channel and sender equal the truth's per-conversation message counts."""
    rows = mf_query(world, tools, ["messages"], ["conversation__channel", "message__sender"])
    actual = {(r["conversation__channel"], r["message__sender"]): r for r in rows}
    totals: dict[tuple[str, str], Counter] = defaultdict(Counter)
    for row in read_csv(world.out / "_truth" / "fct_conversations.csv"):
        for sender in ("user", "bot", "agent"):
            totals[(row["channel"], sender)]["messages"] += int(row[f"{sender}_messages"])
    expected = {k: {"messages": float(v["messages"])} for k, v in totals.items() if v["messages"]}
    problems = differences(actual, expected, ["messages"])
    assert not problems, "\n".join(problems)


def test_users_join_without_fanning_out(world, tools):
    """Grouping conversations by their user's is_identified neither loses nor repeats any: the
    groups add up to the truth's conversations, and those without a user_key form the null group."""
    rows = mf_query(world, tools, ["conversations"], ["user__is_identified"])
    truth = read_csv(world.out / "_truth" / "fct_conversations.csv")
    by_group = {r["user__is_identified"]: r["conversations"] for r in rows}
    assert sum(by_group.values()) == len(truth)
    without_user = sum(1 for r in truth if r["user_key"] == "")
    assert by_group.get("", 0.0) == without_user
    assert set(by_group) - {""} == {"True", "False"}
