"""Benchmark: `chat-analytics land` against DuckDB's bare readers over the same files.

Writes about --events lines of export files, then, per source, times

* land: `chat-analytics land <folder>` into a fresh database (one transaction per file, every line
  kept: typed envelope columns, JSON objects, the original line, lineage, rejected lines), and
* bare: the DuckDB reader a user would reach for, into another fresh database:
  `create table ... as select * from read_json(files, format = 'newline_delimited',
  ignore_errors = true)` for Segment and RudderStack, and `read_csv(files, delim = '\\t',
  header = false, quote = '', escape = '', ignore_errors = true)` for Snowplow (which drop bad
  lines instead of keeping them, and keep no original line or lineage).

Each runs in its own process (with --repeat, several times, keeping the fastest). The table shows
wall time, events/s and MB/s (uncompressed bytes), the CPU seconds the process used (user +
system, a steadier number on a shared machine), and land's time as a multiple of the bare
reader's (target: at most 2x). Under each source, the machine's load average (1 minute) when
each run started and ended: wall clock is only comparable between runs on an equally busy
machine.

Files come from the synthetic generator (`chat-analytics generate`, with its default mess) or,
with --files template, from the vendors' sample events in tests/fixtures/vendor_samples repeated
with a fresh id per line (Segment track/identify/page, RudderStack track, Snowplow link_click).

    python benchmarks/bench_land.py                      # ~10M events, generator files
    python benchmarks/bench_land.py --events 1000000     # a quicker run
    python benchmarks/bench_land.py --files template --gzip
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SOURCES = ("segment", "rudderstack", "snowplow")
LINES_PER_CONVERSATION = 16.2  # measured on the generator's default world
SAMPLES = REPO / "tests" / "fixtures" / "vendor_samples"

BARE = {
    "json": (
        "create table events as select * from read_json({files}, format = 'newline_delimited',"
        " ignore_errors = true)"
    ),
    "tsv": (
        "create table events as select * from read_csv({files}, delim = '\\t', header = false,"
        " quote = '', escape = '', ignore_errors = true)"
    ),
}
BARE_SCRIPT = """
import sys, duckdb
con = duckdb.connect(sys.argv[1])
con.execute("set enable_progress_bar = false")
con.execute(sys.argv[2])
con.execute("checkpoint")
print(con.execute("select count(*) from events").fetchone()[0])
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=10_000_000, help="lines to write (about)")
    parser.add_argument("--files", choices=("generator", "template"), default="generator")
    parser.add_argument("--days", type=int, default=10, help="arrival days (files per source)")
    parser.add_argument("--gzip", action="store_true", help="gzip the export files")
    parser.add_argument(
        "--workdir",
        type=Path,
        default=Path(tempfile.gettempdir()) / "chat-analytics-bench-land",
        help="where files and databases go (default: %(default)s)",
    )
    parser.add_argument(
        "--repeat",
        type=int,
        default=1,
        help="run land and each bare reader this many times and keep the fastest (default: 1)",
    )
    parser.add_argument("--reuse", action="store_true", help="reuse files already in --workdir")
    parser.add_argument("--keep", action="store_true", help="keep the workdir afterwards")
    args = parser.parse_args()

    exports = args.workdir / "exports"
    if not (args.reuse and exports.exists()):
        shutil.rmtree(args.workdir, ignore_errors=True)
        exports.mkdir(parents=True)
        started = time.monotonic()
        if args.files == "generator":
            generate(exports, args.events, args.days, args.gzip)
        else:
            write_templates(exports, args.events, args.days, args.gzip)
        print(f"wrote files in {time.monotonic() - started:,.1f} s", file=sys.stderr)

    rows = []
    for source in SOURCES:
        files = sorted(p for p in (exports / source).iterdir() if p.is_file())
        if not files:
            continue
        lines, size = count_lines(files)
        land = fastest(run_land(args.workdir, exports / source) for _ in range(args.repeat))
        bare = fastest(run_bare(args.workdir, source, files) for _ in range(args.repeat))
        rows.append((source, len(files), lines, size, land, bare))
    print_table(rows, args)
    if not args.keep:
        shutil.rmtree(args.workdir, ignore_errors=True)
    return 0


# --- files ------------------------------------------------------------------------------------
def generate(out: Path, events: int, days: int, packed: bool) -> None:
    per_day = max(1, round(events / LINES_PER_CONVERSATION / days))
    command = [
        str(REPO / ".venv" / "bin" / "chat-analytics"),
        "generate",
        "--out",
        str(out),
        "--days",
        str(days),
        "--conversations-per-day",
        str(per_day),
        "--workers",
        str(os.cpu_count() or 1),
        *(["--gzip"] if packed else []),
    ]
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)


def write_templates(out: Path, events: int, days: int, packed: bool) -> None:
    """The vendors' sample events, each line with a fresh id, spread over the sources."""
    templates = {
        "segment": [
            line for line in (SAMPLES / "segment" / "spec_examples.jsonl").read_text().splitlines()
        ],
        "rudderstack": (SAMPLES / "rudderstack" / "event_spec_examples.jsonl")
        .read_text()
        .splitlines()[:2],  # the third is the docs' invalid sample
        "snowplow": (SAMPLES / "snowplow" / "python_sdk_full_event.tsv").read_text().splitlines(),
    }
    ids = {
        "segment": ["ajs-f8ca1e4de5024d9430b3928bd8ac6b96", "022bb90c-bbac-11e4-8dfc-aa07a5b093db"],
        "rudderstack": [
            "1578564113557-af022c68-429e-4af4-b99b-2b9174056383",
            "00651b946cef87c7af64f4f3",
        ],
        "snowplow": ["c6ef3124-b53a-4b13-a233-0088f79dcbcb"],
    }
    per_source = events // len(SOURCES)
    serial = 0
    for source in SOURCES:
        parts = []
        for template in templates[source]:
            for known in ids[source]:
                if known in template:
                    parts.append(template.split(known))
                    break
        per_file = per_source // days
        for day in range(days):
            suffix = "tsv" if source == "snowplow" else "jsonl"
            path = out / source / f"2026-03-{day + 1:02d}.{suffix}"
            path.parent.mkdir(parents=True, exist_ok=True)
            opener = gzip.open if packed else open
            name = path.with_name(path.name + ".gz") if packed else path
            with opener(name, "wt", encoding="utf-8") as handle:
                for i in range(per_file):
                    head, tail = parts[i % len(parts)]
                    handle.write(f"{head}bench-{serial:012d}{tail}\n")
                    serial += 1


def count_lines(files: list[Path]) -> tuple[int, int]:
    """Lines and uncompressed bytes of the files."""
    lines = size = 0
    for path in files:
        opener = gzip.open if path.read_bytes()[:2] == b"\x1f\x8b" else open
        with opener(path, "rb") as handle:
            last = b"\n"
            while block := handle.read(1 << 24):
                lines += block.count(b"\n")
                size += len(block)
                last = block[-1:]
            lines += last != b"\n"
    return lines, size


# --- runs -------------------------------------------------------------------------------------
def timed(command: list[str], env: dict | None = None) -> tuple[float, float, str, tuple]:
    """(wall seconds, CPU seconds of the child, its stdout, 1-minute load average at the
    start and at the end)."""
    load_before = os.getloadavg()[0]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.monotonic()
    result = subprocess.run(command, env=env, capture_output=True, text=True)
    wall = time.monotonic() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    load = (load_before, os.getloadavg()[0])
    if result.returncode != 0:
        sys.exit(f"failed: {' '.join(command)}\n{result.stdout}\n{result.stderr}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, result.stdout, load


def fastest(runs) -> dict:
    return min(runs, key=lambda run: run["wall"])


def fresh_db(workdir: Path, name: str) -> Path:
    db = workdir / f"{name}.duckdb"
    for path in (db, db.with_name(db.name + ".wal")):
        path.unlink(missing_ok=True)
    return db


def run_land(workdir: Path, folder: Path) -> dict:
    db = fresh_db(workdir, f"land_{folder.name}")
    env = dict(os.environ, CHAT_ANALYTICS_DB=str(db))
    command = [str(REPO / ".venv" / "bin" / "chat-analytics"), "land", "--quiet", str(folder)]
    wall, cpu, _, load = timed(command, env)
    import duckdb

    con = duckdb.connect(str(db), read_only=True)
    landed, rejected = con.execute(
        "select sum(landed_rows), sum(rejected_lines) from raw.loads"
    ).fetchone()
    con.close()
    return {"wall": wall, "cpu": cpu, "rows": landed, "rejected": rejected, "load": load}


def run_bare(workdir: Path, source: str, files: list[Path]) -> dict:
    db = fresh_db(workdir, f"bare_{source}")
    sql = BARE["tsv" if source == "snowplow" else "json"].format(
        files=json.dumps([str(p) for p in files]).replace('"', "'")
    )
    wall, cpu, out, load = timed([sys.executable, "-c", BARE_SCRIPT, str(db), sql])
    return {"wall": wall, "cpu": cpu, "rows": int(out.strip()), "load": load}


# --- report -----------------------------------------------------------------------------------
def print_table(rows, args) -> None:
    header = (
        f"{'source':<12} {'files':>5} {'events':>11} {'MB':>8} | "
        f"{'land s':>7} {'events/s':>9} {'MB/s':>6} {'cpu s':>6} | "
        f"{'bare s':>7} {'events/s':>9} {'MB/s':>6} {'cpu s':>6} | {'ratio':>5} {'cpu':>5}"
    )
    print(
        f"land vs bare DuckDB readers: {args.files} files"
        f"{' (gzip)' if args.gzip else ''}, DuckDB threads = {os.cpu_count()}"
    )
    print(header)
    print("-" * len(header))
    totals = [0, 0, 0, 0.0, 0.0, 0.0, 0.0]
    for source, files, lines, size, land, bare in rows:
        print(
            line(source, files, lines, size, land["wall"], land["cpu"], bare["wall"], bare["cpu"])
        )
        print(
            f"{'':<12} land: {land['rows']:,} rows + {land['rejected']:,} rejected lines;"
            f" bare: {bare['rows']:,} rows; load average land {land['load'][0]:.2f}"
            f"-{land['load'][1]:.2f}, bare {bare['load'][0]:.2f}-{bare['load'][1]:.2f}"
        )
        for i, value in enumerate(
            (files, lines, size, land["wall"], land["cpu"], bare["wall"], bare["cpu"])
        ):
            totals[i] += value
    print("-" * len(header))
    print(line("total", *totals))
    print("ratio = land time / bare reader time (wall, and CPU); MB = uncompressed input")


def line(source, files, lines, size, land_wall, land_cpu, bare_wall, bare_cpu) -> str:
    mb = size / 1e6
    return (
        f"{source:<12} {files:>5} {lines:>11,} {mb:>8,.0f} | "
        f"{land_wall:>7.1f} {lines / land_wall:>9,.0f} {mb / land_wall:>6.1f} {land_cpu:>6.1f} | "
        f"{bare_wall:>7.1f} {lines / bare_wall:>9,.0f} {mb / bare_wall:>6.1f} {bare_cpu:>6.1f} | "
        f"{land_wall / bare_wall:>5.2f} {land_cpu / bare_cpu:>5.2f}"
    )


if __name__ == "__main__":
    sys.exit(main())
