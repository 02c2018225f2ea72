"""Benchmark `chat-analytics generate`: events, seconds, events/s and MB written, per source.

    .venv/bin/python benchmarks/bench_generate.py [--days 30] [--conversations-per-day 300]
        [--workers 0] [--gzip] [--repeat 3]

Each repeat generates the same world (same seed) into a temporary folder; the table shows the
fastest repeat. Wall-clock time includes everything the command does: planning, all processes,
writing the files and the ground truth. CPU seconds (this process and its workers) and the load
average are printed too, since a busy machine slows the wall clock down.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

from chat_analytics.generate import GeneratorConfig, generate


def _cpu_seconds() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--conversations-per-day", type=int, default=300)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--workers", type=int, default=0, help="0: one per core (up to 2)")
    parser.add_argument("--gzip", action="store_true")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)

    best = None
    walls = []
    scratch = Path(tempfile.mkdtemp(prefix="bench-generate-"))
    try:
        for _ in range(max(1, args.repeat)):
            out = scratch / "run"
            shutil.rmtree(out, ignore_errors=True)
            cpu = _cpu_seconds()
            started = time.perf_counter()
            result = generate(
                GeneratorConfig(
                    out=str(out),
                    seed=args.seed,
                    days=args.days,
                    conversations_per_day=args.conversations_per_day,
                    gzip=args.gzip,
                    workers=args.workers,
                )
            )
            wall = time.perf_counter() - started
            cpu = _cpu_seconds() - cpu
            walls.append(wall)
            if best is None or wall < best[0]:
                best = (wall, cpu, result)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)

    wall, cpu, result = best
    rows = [("source", "events", "seconds", "events/s", "MB written")]
    for src, s in result.sources.items():
        rows.append(
            (src, f"{s['lines']:,}", f"{wall:.2f}", f"{s['lines'] / wall:,.0f}",
             f"{s['bytes'] / 1e6:.1f}")
        )  # fmt: skip
    lines = sum(s["lines"] for s in result.sources.values())
    size = sum(s["bytes"] for s in result.sources.values())
    rows.append(("total", f"{lines:,}", f"{wall:.2f}", f"{lines / wall:,.0f}", f"{size / 1e6:.1f}"))
    widths = [max(len(r[i]) for r in rows) for i in range(5)]
    for i, row in enumerate(rows):
        cells = [c.rjust(w) for c, w in zip(row[1:], widths[1:], strict=True)]
        print("  ".join([row[0].ljust(widths[0]), *cells]))
        if i == 0 or i == len(rows) - 2:
            print("  ".join("-" * w for w in widths))
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(
        f"{result.conversations:,} conversations, {args.days} days,"
        f" workers={args.workers or 'auto'}, gzip={args.gzip}; best of {args.repeat}:"
        f" {wall:.2f} s wall, {cpu:.2f} s CPU ({lines / cpu:,.0f} events per CPU-second);"
        f" {os.cpu_count()} cores,"
        f" load average {load:.2f}"
    )
    if len(walls) > 1:
        rates = sorted(lines / w for w in walls)
        print(
            f"events/s over the {len(walls)} repeats: median {statistics.median(rates):,.0f},"
            f" slowest {rates[0]:,.0f}, fastest {rates[-1]:,.0f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
