"""Benchmark: a week of nights, compacting after every night or once after the seventh.

    python benchmarks/bench_compaction.py                          # 90 days x 1,000 conversations
    python benchmarks/bench_compaction.py --conversations-per-day 6000

Generates --days of export files, lands and builds every arrival day but the last --nights, and
compacts (a warehouse after a backfill). Then, on a copy of that warehouse per policy, lands and
builds the last --nights days one night at a time as `chat-analytics nightly` does, compacting
after every night (`--compact-every 0`) or once, after the last night (`--compact-every 7`, the
default). It prints a table of seconds per night (land, dbt build, compact) and the totals per
policy, with the size of the file at the end (DECISIONLOG D51).
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

from bench_incremental import BIN, BUILD, COMPACT, DBT, export_files, generate, step


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--nights", type=int, default=7)
    parser.add_argument("--conversations-per-day", type=int, default=1_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--workdir",
        type=Path,
        default=Path(tempfile.gettempdir()) / "chat-analytics-bench-compaction",
        help="where files, databases and dbt output go (default: %(default)s; removed after)",
    )
    args = parser.parse_args()
    work = args.workdir
    shutil.rmtree(work, ignore_errors=True)
    exports, base = work / "exports", work / "backfill.duckdb"
    exports.mkdir(parents=True)
    nights = generate(exports, args, work, base)[-args.nights :]
    earlier = export_files(exports, before=nights[0])
    step("land the backfill", [BIN / "chat-analytics", "land", *earlier], work, base)
    step("dbt seed", [*DBT, "seed"], work, base)
    step("dbt build (backfill)", BUILD, work, base)
    step("compact (backfill)", COMPACT, work, base)

    rows, totals = [], {}
    for policy in ("every night", "once a week"):
        db = work / f"{policy.replace(' ', '_')}.duckdb"
        shutil.copy2(base, db)
        shutil.rmtree(work / f"target-{db.stem}", ignore_errors=True)
        shutil.copytree(work / f"target-{base.stem}", work / f"target-{db.stem}")
        step(f"{policy}: dbt parse", [*DBT, "parse"], work, db)
        total = 0.0
        for number, night in enumerate(nights, start=1):
            files = export_files(exports, on=night)
            landed = step(
                f"{policy}, {night}: land", [BIN / "chat-analytics", "land", *files], work, db
            )[0]
            built = step(f"{policy}, {night}: dbt build", BUILD, work, db)[0]
            compacted = 0.0
            if policy == "every night" or number == len(nights):
                compacted = step(f"{policy}, {night}: compact", COMPACT, work, db)[0]
            total += landed + built + compacted
            rows.append((policy, night, landed, built, compacted))
        totals[policy] = (total, db.stat().st_size)
        db.unlink()

    print()
    print(
        f"{args.days} days x {args.conversations_per_day:,} conversations/day (seed {args.seed}),"
        f" the last {args.nights} built night by night after a compacted backfill"
    )
    print(f"{'policy':<12} {'night':<10} {'land s':>7} {'build s':>8} {'compact s':>10}")
    for policy, night, landed, built, compacted in rows:
        print(f"{policy:<12} {night:<10} {landed:7.1f} {built:8.1f} {compacted:10.1f}")
    for policy, (total, size) in totals.items():
        print(f"{policy:<12} total {total:.1f} s; file {size / 1e9:.2f} GB at the end")
    shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
