"""The warn-severity event-health tests over a hand-made `event_quality_daily`.

Five weeks of one source, Monday 2026-03-02 to Sunday 2026-04-05: 1,000 landed rows on weekdays,
300 on weekends (weekday seasonality), a tenth of them unmapped, none rejected — and, worked out by
hand against each test's rule (DECISIONLOG D21):

* volume (same weekday of the 4 weeks before, robust z = 0.6745 (x - median) / max(MAD, 0.1 x
  median), flagged beyond 3.5 with >= 3 weeks known):
  - Mon 03-30: 1,700 -> z = 0.6745 x 700 / 100 = 4.72 -> flagged;
  - Wed 04-01: 400 -> z = -4.05 -> flagged;
  - Thu 04-02: no row at all -> 0 rows -> z = -6.75 -> flagged;
  - Fri 04-03: 1,400 -> z = 2.70 -> not flagged;
  - Sat 04-04: 300, a normal Saturday (a plain trailing average of all days, ~800, would flag it);
  - Tue 03-10: 5,000, but only one earlier Tuesday is known -> not judged; as history of Tue
    03-31 (1,000) it is outvoted by the median (1,000; MAD 0) -> 03-31 not flagged;
* rejection rate above 5%: Mon 03-16 with 80 of 1,000 rejected (8%) -> flagged; Tue 03-17 with
  40 (4%) -> not flagged;
* unmapped share above 2x the trailing 28 days' share (10%): Wed 03-25 with 300 of 1,000 (30%) ->
  flagged.
"""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pytest

START = date(2026, 3, 2)  # a Monday
VOLUME_OVERRIDES = {
    date(2026, 3, 10): 5_000,
    date(2026, 3, 30): 1_700,
    date(2026, 4, 1): 400,
    date(2026, 4, 3): 1_400,
}
MISSING = {date(2026, 4, 2)}
REJECTED = {date(2026, 3, 16): 80, date(2026, 3, 17): 40}
UNMAPPED_SPIKE = {date(2026, 3, 25): 300}
TESTS = {
    "assert_event_volume_within_weekday_norm": {
        date(2026, 3, 30),
        date(2026, 4, 1),
        date(2026, 4, 2),
    },
    "assert_rejection_rate_below_threshold": {date(2026, 3, 16)},
    "assert_no_unmapped_share_spike": {date(2026, 3, 25)},
}


def _quality_rows() -> list[tuple]:
    rows = []
    for offset in range(35):
        day = START + timedelta(days=offset)
        if day in MISSING:
            continue
        landed = VOLUME_OVERRIDES.get(day, 1_000 if day.weekday() < 5 else 300)
        rejected = REJECTED.get(day, 0)
        unmapped = UNMAPPED_SPIKE.get(day, landed // 10)
        chat = landed - rejected - unmapped
        rows.append(("segment", day, landed, chat, 0, unmapped, 0, rejected, 0, 1.0, 2.0))
    return rows


@pytest.fixture(scope="module")
def health(tmp_path_factory, tools):
    tmp = tmp_path_factory.mktemp("health")
    db = tmp / "health.duckdb"
    con = duckdb.connect(str(db))
    con.execute("create schema marts")
    con.execute(
        "create table marts.event_quality_daily (source varchar, received_date date,"
        " landed_rows bigint, chat_rows bigint, identity_rows bigint, unmapped_rows bigint,"
        " duplicate_rows bigint, rejected_rows bigint, id_collisions bigint,"
        " median_lateness_seconds double, p95_lateness_seconds double)"
    )
    con.executemany(
        "insert into marts.event_quality_daily values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        _quality_rows(),
    )
    con.execute("create schema semantic")
    con.execute(
        "create table semantic.metricflow_time_spine as select cast(range as date) as date_day"
        " from range(date '2026-01-01', date '2026-06-01', interval 1 day)"
    )
    con.close()
    result = tools.run_dbt(["test", "--select", *TESTS], db, tmp)
    return tmp, db, result


def _flagged(tmp: Path, db: Path, test: str) -> set[date]:
    (compiled,) = (tmp / "target" / "compiled").rglob(f"{test}.sql")
    con = duckdb.connect(str(db), read_only=True)
    try:
        return {
            row[0]
            for row in con.execute(f"select received_date from ({compiled.read_text()})").fetchall()
        }
    finally:
        con.close()


@pytest.mark.parametrize("test", list(TESTS))
def test_event_health_test_flags_exactly_the_hand_worked_days(health, tools, test):
    tmp, db, result = health
    assert result.returncode == 0, tools.describe(result)  # warnings never fail the build
    statuses = {
        r["unique_id"].split(".")[2]: (r["status"], r["failures"])
        for r in json.loads((tmp / "target" / "run_results.json").read_text())["results"]
    }
    assert statuses[test] == ("warn", len(TESTS[test]))
    assert _flagged(tmp, db, test) == TESTS[test]
