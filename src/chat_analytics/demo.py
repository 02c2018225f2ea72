"""Run the whole pipeline once on a generated sample and print the headline metrics.

generate a sample (default 30 days into data/sample) → nightly (land → source freshness →
dbt build → publish if every error-severity test passed → quality report) → headline metrics
read from the published file, the shareable HTML report (`chat-analytics report`), and where every
output is, with how to start the dashboard. Running it again regenerates the same
sample (same seed) and lands nothing new. The build is a full refresh (the sample builds in
seconds), so that a demo warehouse left by an earlier version of the project, whose tables may
lack columns the models have now, builds again.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

import duckdb

from chat_analytics import config, report

HEADLINE_SQL = """
select
    count(*) as conversations,
    count(*) filter (where is_engaged) as engaged,
    count(*) filter (where outcome = 'escalated') / nullif(count(*) filter (where is_engaged), 0)
        as escalation_rate,
    count(*) filter (where outcome = 'contained') / nullif(count(*) filter (where is_engaged), 0)
        as containment_rate,
    count(*) filter (where outcome = 'abandoned') / nullif(count(*) filter (where is_engaged), 0)
        as abandonment_rate,
    count(*) filter (where is_engaged and is_resolved)
        / nullif(count(*) filter (where is_engaged), 0) as resolution_rate,
    avg(csat_rating) as csat_average,
    count(*) filter (where is_satisfied) / nullif(count(csat_rating), 0) as csat_score,
    avg(first_response_seconds) as avg_first_response_seconds,
    min(conversation_date) as first_day,
    max(conversation_date) as last_day
from marts.fct_conversations
"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", default="data/sample", help="sample folder (default data/sample)")
    parser.add_argument("--days", type=int, default=30, help="days of data (default 30)")
    parser.add_argument("--seed", type=int, default=7, help="generator seed (default 7)")


def run(args: argparse.Namespace) -> int:
    from chat_analytics.cli import main as cli

    out = Path(args.out)
    if out.exists():
        shutil.rmtree(out)
    print(f"demo: generating {args.days} days of sample exports into {out}/", flush=True)
    code = cli(["generate", "--out", str(out), "--days", str(args.days), "--seed", str(args.seed)])
    if code:
        return code
    print(
        "demo: nightly run: land → freshness → dbt build --full-refresh → publish → quality report",
        flush=True,
    )
    code = cli(["nightly", "--full-refresh", str(out)])
    if code:
        print(f"demo: the nightly run did not publish (exit {code}); see its report above")
        return code
    print_headline(config.published_path())
    path, filters = report.write_report()
    print(f"  HTML report      {path}  ({filters.start} – {filters.end}; self-contained, share it)")
    print("  dashboard        run `chat-analytics dashboard`, then open http://127.0.0.1:8501")
    return 0


def print_headline(published: Path, stream=None) -> None:
    stream = stream or sys.stdout
    con = duckdb.connect(str(published), read_only=True)
    try:
        row = con.execute(HEADLINE_SQL).fetchone()
        names = [column[0] for column in con.description]
    finally:
        con.close()
    values = dict(zip(names, row, strict=True))
    rates = ("escalation_rate", "containment_rate", "abandonment_rate", "resolution_rate")
    lines = [
        f"Headline metrics, {values['first_day']} to {values['last_day']}",
        f"  conversations              {values['conversations']:>10,}",
        f"  engaged                    {values['engaged']:>10,}",
        *(f"  {name:<26} {_percent(values[name]):>10}" for name in rates),
        f"  csat_average               {_number(values['csat_average'], '.2f'):>10}",
        f"  csat_score                 {_percent(values['csat_score']):>10}",
        f"  avg_first_response_seconds {_number(values['avg_first_response_seconds'], '.1f'):>10}",
        "",
        "Outputs",
        f"  build database   {config.db_path()}",
        f"  published marts  {published}  (read-only; point BI tools here)",
    ]
    print("\n".join(lines), file=stream)


def _percent(value) -> str:
    return "n/a" if value is None else f"{100 * value:.1f}%"


def _number(value, spec: str) -> str:
    return "n/a" if value is None else format(value, spec)
