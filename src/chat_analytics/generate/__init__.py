"""Write a synthetic, deliberately messy world of Segment, RudderStack and Snowplow export files.

Files go to <out>/<source>/<YYYY-MM-DD>.<jsonl|tsv>[.gz], one per source and arrival day, and the
ground truth the marts must reproduce to <out>/_truth/. The same --seed gives byte-identical files.
Every kind of mess has a rate (probability per opportunity); --no-mess sets them all to 0 (rates
given explicitly still apply).
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys

from chat_analytics.errors import UsageError
from chat_analytics.generate.config import (
    DEFAULT_CONVERSATIONS_PER_DAY,
    DEFAULT_START,
    MESS_KINDS,
    GeneratorConfig,
)
from chat_analytics.generate.runner import RunResult, generate

__all__ = ["GeneratorConfig", "RunResult", "add_arguments", "generate", "run"]


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None


def _rate(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"a rate is a probability in [0, 1], got {text}")
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", required=True, help="output folder")
    parser.add_argument("--seed", type=int, default=7, help="random seed (default 7)")
    parser.add_argument("--days", type=int, default=30, help="number of arrival days (default 30)")
    parser.add_argument(
        "--start-date",
        type=_date,
        default=DEFAULT_START,
        help=f"first day (UTC), YYYY-MM-DD (default {DEFAULT_START})",
    )
    parser.add_argument(
        "--conversations-per-day",
        type=int,
        default=DEFAULT_CONVERSATIONS_PER_DAY,
        help="average conversations per day, more on weekdays, fewer on weekends "
        f"(default {DEFAULT_CONVERSATIONS_PER_DAY})",
    )
    parser.add_argument("--gzip", action="store_true", help="write .gz files")
    parser.add_argument("--no-mess", action="store_true", help="set every rate of mess to 0")
    parser.add_argument(
        "--workers", type=int, default=0, help="processes (0: one per core, up to 2)"
    )
    parser.add_argument(
        "--progress", action="store_true", help="show a progress bar even when not on a TTY"
    )
    group = parser.add_argument_group("rates of mess (probability per opportunity)")
    for kind in MESS_KINDS:
        group.add_argument(
            f"--{kind.name.replace('_', '-')}-rate",
            dest=f"rate_{kind.name}",
            type=_rate,
            default=None,
            metavar="R",
            help=f"{kind.help}; per {kind.unit} (default {kind.default})",
        )


def config_from_args(args: argparse.Namespace) -> GeneratorConfig:
    rates = {}
    for kind in MESS_KINDS:
        value = getattr(args, f"rate_{kind.name}", None)
        rates[kind.name] = value if value is not None else (0.0 if args.no_mess else kind.default)
    try:
        return GeneratorConfig(
            out=args.out,
            seed=args.seed,
            days=args.days,
            start_date=args.start_date,
            conversations_per_day=args.conversations_per_day,
            gzip=args.gzip,
            rates=rates,
            workers=max(0, args.workers),
            progress=args.progress or sys.stderr.isatty(),
        )
    except ValueError as exc:
        raise UsageError(str(exc)) from None


def summary(result: RunResult) -> str:
    """The table printed at the end of a run: files, lines and bytes per source."""
    rows = [("source", "files", "lines", "bytes")]
    for src, s in result.sources.items():
        rows.append((src, f"{s['files']:,}", f"{s['lines']:,}", f"{s['bytes']:,}"))
    total = {k: sum(s[k] for s in result.sources.values()) for k in ("files", "lines", "bytes")}
    rows.append(("total", f"{total['files']:,}", f"{total['lines']:,}", f"{total['bytes']:,}"))
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    lines = []
    for i, row in enumerate(rows):
        cells = [row[0].ljust(widths[0])] + [
            c.rjust(w) for c, w in zip(row[1:], widths[1:], strict=True)
        ]
        lines.append("  ".join(cells))
        if i == 0 or i == len(rows) - 2:
            lines.append("  ".join("-" * w for w in widths))
    rate = result.lines / result.seconds if result.seconds else 0.0
    lines.append(
        f"{result.conversations:,} conversations, {result.lines:,} lines in "
        f"{result.seconds:.2f} s ({rate:,.0f} lines/s); ground truth in "
        f"{result.out / '_truth'}"
    )
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    cfg = config_from_args(args)
    try:
        result = generate(cfg)
    except OSError as exc:
        raise UsageError(f"cannot write to {cfg.out}: {exc}") from None
    print(summary(result))
    return 0
