"""A messy generated world, landed and built, against the generator's own ground truth.

The generator writes SDK export files and, from its world model (not from the files), the marts
it expects in <out>/_truth/*.csv. This test lands the files, runs `dbt seed` + `dbt build` once
per session, and compares the marts with the truth row by row: counts exactly, rates and seconds
within 1e-9, timestamps exactly.
"""

from __future__ import annotations

import csv
import gzip
import json
import os
import subprocess
import time
from collections import Counter
from datetime import date, datetime
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

SEED = 20260301
DAYS = 10
CONVERSATIONS_PER_DAY = 400
MIN_EVENTS = 50_000
SALT = "ground-truth-salt"
SOURCES = ("segment", "rudderstack", "snowplow")

KEYS = {
    "fct_conversations": ["conversation_id"],
    "conversation_metrics_daily": ["conversation_date", "channel"],
    "conversation_funnel_daily": ["conversation_date", "channel", "step_number"],
    "intent_metrics_daily": ["conversation_date", "intent"],
    "event_quality_daily": ["source", "received_date"],
}

INT_COLUMNS = {
    "conversations",
    "step_number",
    "id_collisions",
    "user_messages",
    "bot_messages",
    "agent_messages",
    "intents_detected",
    "fallback_intents",
    "csat_rating",
}
FLOAT_COLUMNS = {"csat_average", "csat_score"}


def parse(column: str, text: str):
    """A truth CSV field typed by the column-naming conventions (STYLE habit 3)."""
    if text == "":
        return None
    if column in ("conversation_date", "received_date"):
        return date.fromisoformat(text)
    if column.endswith("_at"):
        return datetime.fromisoformat(text)
    if column.startswith(("is_", "has_")):
        assert text in ("true", "false"), f"{column}: {text!r} is not a boolean"
        return text == "true"
    if column in INT_COLUMNS or column.endswith(("_conversations", "_rows")):
        return int(text)
    if column in FLOAT_COLUMNS or column.endswith("_rate") or "seconds" in column:
        return float(text)
    if column.startswith("conversion_"):
        return float(text)
    return text


def read_truth(path: Path) -> tuple[list[str], list[dict]]:
    with path.open(newline="", encoding="utf-8") as f:
        reader = csv.reader(f)
        header = next(reader)
        rows = [{c: parse(c, v) for c, v in zip(header, values, strict=True)} for values in reader]
    return header, rows


class Run:
    def __init__(self, out: Path, db: Path, tmp: Path):
        self.out, self.db, self.tmp = out, db, tmp
        self.steps: dict[str, subprocess.CompletedProcess] = {}
        self.seconds: dict[str, float] = {}

    def ok(self, *steps: str) -> bool:
        return all(s in self.steps and self.steps[s].returncode == 0 for s in steps)


@pytest.fixture(scope="session")
def generated(tmp_path_factory, tools) -> Run:
    tmp = tmp_path_factory.mktemp("e2e")
    run = Run(tmp / "exports", tmp / "warehouse.duckdb", tmp)

    def step(name, fn):
        started = time.monotonic()
        run.steps[name] = fn()
        run.seconds[name] = time.monotonic() - started
        return run.steps[name].returncode == 0

    env = _generate_env(tools, run)
    ok = step(
        "generate",
        lambda: subprocess.run(
            [
                str(tools.REPO / ".venv" / "bin" / "chat-analytics"),
                "generate",
                "--out",
                str(run.out),
                "--seed",
                str(SEED),
                "--days",
                str(DAYS),
                "--conversations-per-day",
                str(CONVERSATIONS_PER_DAY),
                "--gzip",  # SPEC §2: exports are plain or gzip; the hand fixture covers plain
            ],
            cwd=tools.REPO,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        ),
    )
    if ok:
        ok = step("land", lambda: tools.land([run.out / s for s in SOURCES], run.db, tmp))
    if ok:
        step("seed", lambda: tools.run_dbt(["seed"], run.db, tmp, salt=SALT))
        step("build", lambda: tools.run_dbt(["build"], run.db, tmp, salt=SALT, timeout=1200))
    print("e2e step seconds:", {k: round(v, 1) for k, v in run.seconds.items()})
    return run


def _generate_env(tools, run: Run) -> dict[str, str]:
    env = dict(os.environ)
    env["CHAT_ANALYTICS_PII_SALT"] = SALT
    env["CHAT_ANALYTICS_DB"] = str(run.db)
    return env


def require(run: Run, tools, *steps: str) -> None:
    for s in steps:
        if s not in run.steps:
            pytest.fail(f"step {s} did not run (an earlier step failed)")
        if run.steps[s].returncode != 0:
            pytest.fail(f"step {s} failed:\n{tools.describe(run.steps[s])}")


def test_generation_is_messy_and_big_enough(generated, tools):
    require(generated, tools, "generate")
    lines = sum(_lines_per_file(generated.out).values())
    assert lines >= MIN_EVENTS, f"only {lines} lines generated"
    mess = json.loads((generated.out / "_truth" / "mess.json").read_text())
    injected = {k: v.get("injected", 0) if isinstance(v, dict) else v for k, v in mess.items()}
    assert sum(1 for v in injected.values() if v) >= 5, f"not messy: {injected}"


def test_pipeline_runs(generated, tools):
    require(generated, tools, "generate", "land", "seed", "build")


def test_every_line_is_accounted_for(generated, tools):
    """Per file: lines written (generator manifest) = rows landed + lines rejected; per source:
    landed rows = chat + identity + unmapped + duplicate + rejected (event_quality_daily)."""
    require(generated, tools, "land")
    loads = tools.query(generated.db, "select * from raw.loads")
    for r in loads:
        assert r["lines"] == r["landed_rows"] + r["rejected_lines"], r
    written = _lines_per_file(generated.out)
    manifest = json.loads((generated.out / "_truth" / "manifest.json").read_text())
    declared = {name: f["lines"] for name, f in manifest["files"].items()}
    assert {k: v for k, v in declared.items() if v} == {k: v for k, v in written.items() if v}
    landed = {f"{r['source']}/{Path(r['path']).name}": r["lines"] for r in loads}
    nonempty = {k: v for k, v in written.items() if v}
    assert {k: landed.get(k) for k in nonempty} == nonempty
    if generated.ok("build"):
        for source in SOURCES:
            raw_rows = tools.query(generated.db, f"select count(*) as n from raw.{source}_events")
            q = tools.query(
                generated.db,
                "select sum(landed_rows) as landed, sum(chat_rows + identity_rows + unmapped_rows"
                " + duplicate_rows + rejected_rows) as classified from marts.event_quality_daily"
                " where source = ?",
                [source],
            )[0]
            assert q["landed"] == raw_rows[0]["n"] == q["classified"], source


def _lines_per_file(out: Path) -> dict[str, int]:
    """Lines of each export file, counted from the files themselves (gzip decompressed)."""
    counts = {}
    for source in SOURCES:
        for p in sorted((out / source).glob("*")):
            data = gzip.decompress(p.read_bytes()) if p.name.endswith(".gz") else p.read_bytes()
            counts[f"{source}/{p.name}"] = data.count(b"\n") + (
                1 if data and not data.endswith(b"\n") else 0
            )
    return counts


@pytest.mark.parametrize("mart", list(KEYS))
def test_mart_equals_ground_truth(generated, tools, mart):
    require(generated, tools, "generate")
    truth_file = generated.out / "_truth" / f"{mart}.csv"
    # The generator writes a truth file for every mart compared here; a missing one is a failure.
    assert truth_file.exists(), f"the generator wrote no {truth_file.name}"
    require(generated, tools, "land", "build")
    header, expected = read_truth(truth_file)
    columns = tools.columns_of(generated.db, "marts", mart)
    assert columns, f"marts.{mart} was not built"
    assert header == columns, f"truth header vs mart columns:\n{header}\n{columns}"
    actual = tools.query(generated.db, f"select * from marts.{mart}")
    problems = tools.diff_rows(actual, expected, KEYS[mart], columns, limit=40)
    if problems:
        per_column = _mismatches_per_column(actual, expected, KEYS[mart], columns, tools)
        pytest.fail(
            f"marts.{mart}: {len(actual)} rows, truth {len(expected)} rows; mismatching values "
            f"per column: {dict(per_column)}\nfirst differences:\n  " + "\n  ".join(problems)
        )


def _mismatches_per_column(actual, expected, key, columns, tools) -> Counter:
    got = {tuple(r[c] for c in key): r for r in actual}
    counter: Counter = Counter()
    for row in expected:
        other = got.get(tuple(row[c] for c in key))
        if other is None:
            counter["<missing row>"] += 1
            continue
        for c in columns:
            if not tools.values_equal(other[c], row[c]):
                counter[c] += 1
    return counter
