"""Shared helpers for the integration and end-to-end tests.

Every test gets its own warehouse, dbt target and log folder under pytest's tmp dirs; nothing is
written into the repository. The CLI and dbt run as subprocesses, the way users run them.
"""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace

import duckdb
import pytest

REPO = Path(__file__).resolve().parents[1]
BIN = REPO / ".venv" / "bin"
CHAT_ANALYTICS = BIN / "chat-analytics"
DBT = BIN / "dbt"
HAND_FIXTURE = REPO / "tests" / "fixtures" / "hand"
HAND_SALT = "hand-fixture-salt"


def tool_env(db: Path, tmp: Path, salt: str = HAND_SALT) -> dict[str, str]:
    """Environment for the CLI and dbt: own warehouse, own DuckDB spill dir, fixed PII salt."""
    spill = tmp / "duckdb_tmp"
    spill.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    env.update(
        CHAT_ANALYTICS_DB=str(db),
        CHAT_ANALYTICS_TEMP_DIR=str(spill),
        CHAT_ANALYTICS_PII_SALT=salt,
        DBT_PROFILES_DIR=str(REPO),
        DBT_SEND_ANONYMOUS_USAGE_STATS="false",
    )
    return env


def run_dbt(
    args: list[str], db: Path, tmp: Path, salt: str = HAND_SALT, timeout: int = 900
) -> subprocess.CompletedProcess:
    """`dbt <args>` in the project, with target and logs under tmp."""
    command = [
        str(DBT),
        *args,
        "--target-path",
        str(tmp / "target"),
        "--log-path",
        str(tmp / "logs"),
    ]
    return subprocess.run(
        command,
        cwd=REPO,
        env=tool_env(db, tmp, salt),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def land(
    paths: list[Path], db: Path, tmp: Path, extra: list[str] | None = None
) -> subprocess.CompletedProcess:
    """`chat-analytics land PATH...` into db."""
    return subprocess.run(
        [str(CHAT_ANALYTICS), "land", *(extra or []), *map(str, paths)],
        cwd=REPO,
        env=tool_env(db, tmp),
        capture_output=True,
        text=True,
        timeout=900,
    )


def generate(out: Path, *options: str | int | float) -> subprocess.CompletedProcess:
    """`chat-analytics generate --out out OPTIONS...` (e.g. "--seed", 7, "--days", 5)."""
    return subprocess.run(
        [str(CHAT_ANALYTICS), "generate", "--out", str(out), *map(str, options)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
    )


def files_by_day(out: Path) -> dict[str, list[Path]]:
    """The export files a generate run wrote, by arrival day (YYYY-MM-DD), in day order."""
    by_day: dict[str, list[Path]] = {}
    for path in sorted(out.glob("*/*.*")):
        if path.parent.name != "_truth":
            by_day.setdefault(path.name.split(".")[0], []).append(path)
    return dict(sorted(by_day.items()))


def query(db: Path, sql: str, params: list | None = None) -> list[dict]:
    """Rows of sql as dicts, from a read-only connection that is closed afterwards."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        cursor = con.execute(sql, params or [])
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    finally:
        con.close()


def columns_of(db: Path, schema: str, table: str) -> list[str]:
    rows = query(
        db,
        "select column_name from information_schema.columns "
        "where table_schema = ? and table_name = ? order by ordinal_position",
        [schema, table],
    )
    return [r["column_name"] for r in rows]


def describe(result: subprocess.CompletedProcess, limit: int = 6000) -> str:
    """The tail of a subprocess's output, for assertion messages."""
    out = (result.stdout or "") + "\n" + (result.stderr or "")
    return f"exit {result.returncode}: {' '.join(map(str, result.args))}\n{out[-limit:]}"


@pytest.fixture(scope="session")
def tools() -> SimpleNamespace:
    """The helpers of this file, for test modules (conftest modules are not imported directly)."""
    return SimpleNamespace(
        REPO=REPO,
        CHAT_ANALYTICS=CHAT_ANALYTICS,
        HAND_FIXTURE=HAND_FIXTURE,
        HAND_SALT=HAND_SALT,
        tool_env=tool_env,
        run_dbt=run_dbt,
        land=land,
        generate=generate,
        files_by_day=files_by_day,
        query=query,
        columns_of=columns_of,
        describe=describe,
        values_equal=values_equal,
        diff_rows=diff_rows,
    )


@dataclass
class Warehouse:
    db: Path
    tmp: Path
    land: subprocess.CompletedProcess
    seed: subprocess.CompletedProcess | None
    build: subprocess.CompletedProcess | None


@pytest.fixture(scope="session")
def hand_warehouse(tmp_path_factory) -> Warehouse:
    """The hand fixture landed and built once: land → dbt seed → dbt build.

    Failures are recorded, not raised, so that each test reports what it can still check.
    """
    tmp = tmp_path_factory.mktemp("hand")
    db = tmp / "warehouse.duckdb"
    landed = land([HAND_FIXTURE / s for s in ("segment", "rudderstack", "snowplow")], db, tmp)
    seed = build = None
    if landed.returncode == 0:
        seed = run_dbt(["seed"], db, tmp)
        build = run_dbt(["build"], db, tmp)
    return Warehouse(db=db, tmp=tmp, land=landed, seed=seed, build=build)


# ------------------------------------------------------------------------------------------------
# Row comparison shared by the hand-fixture and ground-truth tests
# ------------------------------------------------------------------------------------------------
FLOAT_TOLERANCE = 1e-9


def values_equal(actual, expected) -> bool:
    """Exact for text, dates, timestamps and booleans; numbers within FLOAT_TOLERANCE."""
    if expected is None or actual is None:
        return expected is None and actual is None
    if isinstance(expected, bool) or isinstance(actual, bool):
        return isinstance(expected, bool) and isinstance(actual, bool) and actual == expected
    numbers = (int, float, Decimal)
    if isinstance(expected, numbers) and isinstance(actual, numbers):
        return abs(float(actual) - float(expected)) <= FLOAT_TOLERANCE
    # datetime is a subclass of date: a timestamp where a date is expected must not pass
    if type(actual) is not type(expected) and {type(actual), type(expected)} <= {date, datetime}:
        return False
    return actual == expected


def diff_rows(
    actual: list[dict], expected: list[dict], key: list[str], columns: list[str], limit: int = 25
) -> list[str]:
    """Readable differences between two tables keyed by key (empty when they agree)."""

    def keyed(rows, side):
        out, dupes = {}, []
        for row in rows:
            k = tuple(row[c] for c in key)
            if k in out:
                dupes.append(f"{side}: duplicate key {dict(zip(key, k, strict=True))}")
            out[k] = row
        return out, dupes

    got, problems = keyed(actual, "actual")
    want, more = keyed(expected, "expected")
    problems += more
    for k in sorted(set(want) - set(got), key=repr):
        problems.append(f"missing row {dict(zip(key, k, strict=True))}")
    for k in sorted(set(got) - set(want), key=repr):
        problems.append(f"unexpected row {dict(zip(key, k, strict=True))}: {got[k]}")
    for k in sorted(set(got) & set(want), key=repr):
        bad = [
            f"{c}: expected {want[k][c]!r}, actual {got[k].get(c)!r}"
            for c in columns
            if not values_equal(got[k].get(c), want[k][c])
        ]
        if bad:
            problems.append(f"row {dict(zip(key, k, strict=True))}: " + "; ".join(bad))
    if len(problems) > limit:
        problems = problems[:limit] + [f"... and {len(problems) - limit} more"]
    return problems


# ------------------------------------------------------------------------------------------------
# A small generated world, published by `chat-analytics nightly`, for the dashboard and report
# ------------------------------------------------------------------------------------------------
SAMPLE_SEED = 20260310
SAMPLE_DAYS = 4
SAMPLE_CONVERSATIONS_PER_DAY = 100
SAMPLE_SALT = "serving-sample-salt"


@dataclass
class PublishedSample:
    """Generated exports, their ground truth, and the nightly run that published them."""

    tmp: Path
    out: Path
    db: Path
    published: Path
    audit_dir: Path
    steps: dict

    @property
    def truth(self) -> Path:
        return self.out / "_truth"

    def env(self) -> dict[str, str]:
        env = tool_env(self.db, self.tmp, SAMPLE_SALT)
        env.update(
            CHAT_ANALYTICS_PUBLISHED=str(self.published),
            CHAT_ANALYTICS_AUDIT_DIR=str(self.audit_dir),
            CHAT_ANALYTICS_REPORTS_DIR=str(self.tmp / "reports"),
        )
        for name in ("CHAT_ANALYTICS_RUN_RESULTS", "DBT_TARGET_PATH", "DBT_LOG_PATH"):
            env.pop(name, None)
        return env

    def require(self) -> None:
        """Fail (never skip) the calling test when generating or publishing the sample failed."""
        for name in ("generate", "nightly"):
            result = self.steps.get(name)
            if result is None:
                pytest.fail(f"sample step {name} did not run (an earlier step failed)")
            if result.returncode != 0:
                pytest.fail(f"sample step {name} failed:\n{describe(result)}")
        if not self.published.is_file():
            pytest.fail(f"the nightly run published nothing at {self.published}")


@pytest.fixture(scope="session")
def published_sample(tmp_path_factory) -> PublishedSample:
    """`chat-analytics generate` (4 days x ~100 conversations, the default mess) and
    `chat-analytics nightly` over it, once per session, into tmp folders."""
    tmp = tmp_path_factory.mktemp("published_sample")
    sample = PublishedSample(
        tmp=tmp,
        out=tmp / "exports",
        db=tmp / "warehouse" / "chat_analytics.duckdb",
        published=tmp / "warehouse" / "published" / "chat_analytics.duckdb",
        audit_dir=tmp / "warehouse" / "audit",
        steps={},
    )
    steps = {
        "generate": [
            "generate",
            "--out",
            str(sample.out),
            "--seed",
            str(SAMPLE_SEED),
            "--days",
            str(SAMPLE_DAYS),
            "--conversations-per-day",
            str(SAMPLE_CONVERSATIONS_PER_DAY),
        ],
        "nightly": [
            "nightly",
            str(sample.out),
            "--target-path",
            str(tmp / "target"),
            "--log-path",
            str(tmp / "logs"),
        ],
    }
    for name, argv in steps.items():
        result = subprocess.run(
            [str(CHAT_ANALYTICS), *argv],
            cwd=REPO,
            env=sample.env(),
            capture_output=True,
            text=True,
            timeout=900,
        )
        sample.steps[name] = result
        if result.returncode != 0:
            break
    return sample


class SampleTruth:
    """The dashboard's and report's numbers worked out from the generator's ground truth
    (<out>/_truth/*.csv, written from its world model), with plain Python arithmetic."""

    def __init__(self, truth: Path):
        self.conversations = self._read(truth / "fct_conversations.csv")
        self.funnel_rows = self._read(truth / "conversation_funnel_daily.csv")
        self.quality_rows = self._read(truth / "event_quality_daily.csv")

    @staticmethod
    def _read(path: Path) -> list[dict]:
        import csv

        if not path.is_file():
            pytest.fail(f"{path}: ground truth missing")
        with path.open(newline="", encoding="utf-8") as handle:
            return list(csv.DictReader(handle))

    def days(self) -> list[date]:
        return sorted({date.fromisoformat(r["conversation_date"]) for r in self.conversations})

    def channels(self) -> list[str]:
        return sorted({r["channel"] for r in self.conversations})

    def _selected(self, start: date, end: date, channels=()) -> list[dict]:
        return [
            r
            for r in self.conversations
            if start <= date.fromisoformat(r["conversation_date"]) <= end
            and (not channels or r["channel"] in channels)
        ]

    @staticmethod
    def _measures(rows: list[dict]) -> dict:
        def ratio(a, b):
            return a / b if b else None

        engaged = [r for r in rows if r["is_engaged"] == "true"]
        rated = [int(r["csat_rating"]) for r in rows if r["csat_rating"]]
        responses = [
            float(r["first_response_seconds"]) for r in rows if r["first_response_seconds"]
        ]
        outcome = {
            name: sum(r["outcome"] == name for r in rows)
            for name in ("escalated", "contained", "abandoned")
        }
        return {
            "conversations": len(rows),
            "engaged": len(engaged),
            "escalation_rate": ratio(outcome["escalated"], len(engaged)),
            "containment_rate": ratio(outcome["contained"], len(engaged)),
            "abandonment_rate": ratio(outcome["abandoned"], len(engaged)),
            "resolution_rate": ratio(
                sum(r["is_resolved"] == "true" for r in engaged), len(engaged)
            ),
            "csat_average": ratio(sum(rated), len(rated)),
            "csat_score": ratio(sum(r >= 4 for r in rated), len(rated)),
            "avg_first_response_seconds": ratio(sum(responses), len(responses)),
        }

    def kpis(self, start: date, end: date, channels=()) -> dict:
        return self._measures(self._selected(start, end, channels))

    def breakdown(self, dimension: str, start: date, end: date, channels=()) -> dict:
        """value of the dimension -> measures (intent: the first intent, '(none)' without)."""
        column = {"channel": "channel", "bot_version": "bot_version", "intent": "first_intent"}
        groups: dict[str, list[dict]] = {}
        for row in self._selected(start, end, channels):
            groups.setdefault(row[column[dimension]] or "(none)", []).append(row)
        return {value: self._measures(rows) for value, rows in groups.items()}

    def csat(self, start: date, end: date, channels=()) -> dict[int, int]:
        counts = dict.fromkeys(range(1, 6), 0)
        for row in self._selected(start, end, channels):
            if row["csat_rating"]:
                counts[int(row["csat_rating"])] += 1
        return counts

    def funnel(self, start: date, end: date, channels=()) -> list[tuple[int, str, int]]:
        steps: dict[tuple[int, str], int] = {}
        for row in self.funnel_rows:
            day = date.fromisoformat(row["conversation_date"])
            if start <= day <= end and (not channels or row["channel"] in channels):
                key = (int(row["step_number"]), row["step_name"])
                steps[key] = steps.get(key, 0) + int(row["conversations"])
        return [(number, name, count) for (number, name), count in sorted(steps.items())]

    def health(self, start: date, end: date) -> dict[str, dict[str, int]]:
        """source -> summed landed/chat/duplicate/rejected rows over received days."""
        out: dict[str, dict[str, int]] = {}
        for row in self.quality_rows:
            if start <= date.fromisoformat(row["received_date"]) <= end:
                totals = out.setdefault(row["source"], {})
                for column in ("landed_rows", "chat_rows", "duplicate_rows", "rejected_rows"):
                    totals[column] = totals.get(column, 0) + int(row[column])
        return out


@pytest.fixture(scope="session")
def sample_truth(published_sample) -> SampleTruth:
    published_sample.require()
    return SampleTruth(published_sample.truth)
