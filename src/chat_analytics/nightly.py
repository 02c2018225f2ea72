"""The nightly job: land → source freshness → dbt build → publish if green → quality report
→ compact.

`chat-analytics nightly PATH...` lands the new export files under PATH (files, folders or globs;
files already landed are skipped by their content hash), checks source freshness, runs
`dbt build` (seeds, models, snapshots, data and unit tests in DAG order), publishes the marts when
every error-severity test passed, records the run in the audit history and writes the quality
report (``quality-<date>.html`` and ``quality-latest.html`` in ``CHAT_ANALYTICS_REPORTS_DIR``,
default ``<database folder>/reports``). Last, after the marts are published, it compacts the
build database (`chat-analytics compact`, DECISIONLOG D51) when the last compaction is
--compact-every days old or more (default 7; 0 every night; --no-compact never); a compaction
that cannot run is a warning and does not change the exit code.

Exit codes: 0 published; 1 a gate failed (a test, a model, a freshness error with
--strict-freshness): nothing was published and the previous published file is untouched;
2 usage or configuration error (a missing path, no dbt project, no dbt); 3 the database is locked.
Source freshness is reported, and blocks publishing only with --strict-freshness: stale sources
are an event-health warning, not wrong numbers. A file that cannot be read (a corrupt gzip) does
not land, is named in the verdict and the report, and is tried again by the next run; the files
that could be read still land and publish.
"""

from __future__ import annotations

import argparse
import glob
import sys
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TextIO

import duckdb

from chat_analytics import audit, compact, config, land, quality_report
from chat_analytics import dbt as dbt_runner
from chat_analytics import publish as publisher
from chat_analytics.errors import (
    EXIT_GATE_FAILED,
    EXIT_LOCKED,
    EXIT_OK,
    ChatAnalyticsError,
    DatabaseLocked,
    UsageError,
)
from chat_analytics.formats import SOURCES

FRESHNESS_RANK = {"pass": 0, "warn": 1, "error": 2, "runtime error": 3}
# Compacting once a week merges a week of nights' row groups at once: over seven nights of the
# 6,000 conversations/day benchmark, 16 s once against 28 s night by night (DECISIONLOG D51).
COMPACT_EVERY_DAYS = 7
# dbt's error when an incremental model's columns differ from its table's (on_schema_change: fail)
SCHEMA_OUT_OF_SYNC = "schemas on this incremental model are out of sync"


@dataclass
class NightlyOutcome:
    """What one nightly run did (the audit row plus what the report needs)."""

    run: audit.NightlyRun
    tests: list[audit.TestResult] = field(default_factory=list)
    freshness: list[dict] = field(default_factory=list)
    load_ids: list[int] = field(default_factory=list)
    published: publisher.PublishResult | None = None


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("paths", nargs="+", metavar="PATH", help="export files, folders or globs")
    parser.add_argument(
        "--source",
        choices=SOURCES,
        help="source of every file (default: from each file's folder name)",
    )
    parser.add_argument(
        "--project-dir",
        metavar="DIR",
        help="dbt project directory (default: the repository root)",
    )
    parser.add_argument(
        "--target-path",
        metavar="DIR",
        help="dbt target path (default: $DBT_TARGET_PATH, else <project>/target)",
    )
    parser.add_argument(
        "--log-path",
        metavar="DIR",
        help="dbt log path (default: $DBT_LOG_PATH, else <project>/logs)",
    )
    parser.add_argument(
        "--reports-dir",
        metavar="DIR",
        help="where the quality report goes (default: $CHAT_ANALYTICS_REPORTS_DIR, else"
        " reports/ beside the database)",
    )
    parser.add_argument(
        "--audit-dir",
        metavar="DIR",
        help="where the audit history's JSON lines go (default: $CHAT_ANALYTICS_AUDIT_DIR, else"
        " audit/ beside the database)",
    )
    parser.add_argument(
        "--full-refresh", action="store_true", help="rebuild incremental models from scratch"
    )
    parser.add_argument(
        "--strict-freshness",
        action="store_true",
        help="do not publish when a source's freshness is at error level",
    )
    parser.add_argument(
        "--compact-every",
        type=int,
        default=COMPACT_EVERY_DAYS,
        metavar="DAYS",
        help="compact the build database at the end when the last compaction is this many days"
        " old or more (default: %(default)s; 0: every night; see `chat-analytics compact`)",
    )
    parser.add_argument(
        "--no-compact", action="store_true", help="do not compact the build database at the end"
    )


def run(args: argparse.Namespace, stream: TextIO | None = None) -> int:
    out = stream or sys.stdout
    project = dbt_runner.project_dir(args.project_dir)
    dbt_runner.dbt_command()
    _check_paths(args.paths)
    if args.compact_every < 0:
        raise UsageError(f"--compact-every must be 0 or more days, not {args.compact_every}")
    target_path = Path(args.target_path).resolve() if args.target_path else None
    target = target_path or dbt_runner.default_target_path(project)
    log_path = Path(args.log_path).resolve() if args.log_path else None
    reports = Path(args.reports_dir) if args.reports_dir else quality_report.reports_dir()
    history_dir = Path(args.audit_dir) if args.audit_dir else audit.audit_dir()
    db = config.db_path()

    started = _utcnow()
    outcome = NightlyOutcome(
        run=audit.NightlyRun(
            run_id=f"{started:%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:8]}",
            started_at=started,
            paths=[str(path) for path in args.paths],
        )
    )
    record = outcome.run
    crash: BaseException | None = None
    try:
        exit_code = _pipeline(args, outcome, project, target, log_path, db, out)
    except ChatAnalyticsError as exc:
        exit_code = exc.exit_code
        record.verdict = f"not published: {exc}"
        record.gate_reasons = record.gate_reasons or [str(exc)]
    except Exception as exc:  # recorded and reported, then raised again
        crash, exit_code = exc, EXIT_GATE_FAILED
        record.verdict = f"not published: nightly stopped on {type(exc).__name__}: {exc}"
        record.gate_reasons = record.gate_reasons or [record.verdict]
    record.exit_code = exit_code
    record.finished_at = _utcnow()
    record.report_path = str(reports / f"quality-{started:%Y-%m-%d}.html")

    audit.record_run(record, outcome.tests, db=db, directory=history_dir)
    try:
        quality_report.write_report(
            record,
            outcome.tests,
            db=db,
            directory=reports,
            history=audit.read_history(history_dir),
            freshness=outcome.freshness,
            run_load_ids=outcome.load_ids,
        )
    except (OSError, duckdb.Error) as exc:
        print(f"nightly: the quality report was not written ({exc})", file=sys.stderr)
        record.report_path = None
    print(_verdict_line(outcome), file=out)
    if record.report_path:
        print(f"nightly: report {record.report_path}", file=out)
    if not args.no_compact and crash is None and exit_code != EXIT_LOCKED:
        _compact(db, args.compact_every, started.date(), out)
    if crash is not None:
        raise crash
    return exit_code


def _compact(db: Path, every_days: int, today: date, out: TextIO) -> None:
    """Compact the build database after the night's work is published, when it is due (a
    warning on failure: the next run tries again)."""
    if not db.is_file():
        return
    try:
        last = compact.last_compacted(db)
        if not compact.is_due(last, every_days, today):
            print(
                f"nightly: not compacting (last compaction {last:%Y-%m-%d},"
                f" every {every_days} days)",
                file=out,
            )
            return
        print(f"nightly: compacting {db}", file=out, flush=True)
        result = compact.compact(db)
    except (ChatAnalyticsError, duckdb.Error) as exc:
        print(f"nightly: warning: not compacted ({exc}); the next run tries again", file=out)
        return
    print(f"nightly: compacted in {result.summary()}", file=out)


def _pipeline(
    args: argparse.Namespace,
    outcome: NightlyOutcome,
    project: Path,
    target: Path,
    log_path: Path | None,
    db: Path,
    out: TextIO,
) -> int:
    record = outcome.run

    # 1. land -------------------------------------------------------------------------------
    print(f"nightly: landing {', '.join(record.paths)} into {db}", file=out)
    before = _max_load_id(db)
    landed = _land(args.paths, args.source, db, out)
    loads = _loads_after(db, before)
    outcome.load_ids = [load["load_id"] for load in loads]
    record.files_landed = len(loads)
    record.rows_landed = sum(load["landed_rows"] for load in loads)
    record.rejected_lines = sum(load["rejected_lines"] for load in loads)
    record.files_skipped = landed.skipped
    record.files_failed = [f"{item.path}: {item.error}" for item in landed.failed]
    print(
        f"nightly: landed {record.files_landed} new file(s), {record.rows_landed:,} rows,"
        f" {record.rejected_lines:,} rejected lines; {record.files_skipped} already landed",
        file=out,
    )
    for failure in record.files_failed:
        print(f"nightly: warning: not landed (retried next run): {failure}", file=out)

    # 2. source freshness ---------------------------------------------------------------------
    print("nightly: dbt source freshness", file=out)
    fresh = dbt_runner.run_dbt(
        ["source", "freshness"], project=project, target_path=target, log_path=log_path, stream=out
    )
    outcome.freshness = _freshness_rows(fresh.artifact)
    statuses = [row["status"] for row in outcome.freshness]
    if fresh.artifact is None and fresh.returncode != 0:
        record.freshness_status = f"not run (dbt exit {fresh.returncode})"
    elif not statuses:
        record.freshness_status = "none declared"
    else:
        record.freshness_status = max(statuses, key=lambda s: FRESHNESS_RANK.get(s, 3))
    record.stale_sources = [
        f"{row['source']} ({row['status']})" for row in outcome.freshness if row["status"] != "pass"
    ]

    # 3. dbt build ----------------------------------------------------------------------------
    # unit tests check the models' logic on fixtures, not the night's data: `make test` runs them
    # (DECISIONLOG D28)
    command = [
        "build",
        "--exclude-resource-type",
        "unit_test",
        *(["--full-refresh"] if args.full_refresh else []),
    ]
    print(f"nightly: dbt {' '.join(command)}", file=out)
    build = dbt_runner.run_dbt(
        command, project=project, target_path=target, log_path=log_path, stream=out
    )
    record.build_exit_code = build.returncode
    if build.artifact is None:
        tail = " | ".join(line for line in build.output_tail[-5:] if line.strip())
        gate = publisher.Gate(
            results_path=build.artifact_path,
            reasons=[f"dbt build wrote no run_results.json (exit {build.returncode}): {tail}"],
        )
    else:
        gate = publisher.evaluate_run_results(
            build.artifact,
            build.artifact_path,
            manifest=dbt_runner.read_artifact(build.artifact_path.with_name("manifest.json")),
        )
        stale = [n.name for n in gate.nodes_failed if SCHEMA_OUT_OF_SYNC in (n.message or "")]
        if stale:
            gate.reasons.append(
                f"{', '.join(stale)}: the table in the build database does not have the model's"
                " columns (built by an earlier version of the project); run `chat-analytics"
                " nightly --full-refresh` once to rebuild every model from the landed data"
            )
    if args.strict_freshness:
        for row in outcome.freshness:
            if FRESHNESS_RANK.get(row["status"], 3) >= FRESHNESS_RANK["error"]:
                gate.reasons.append(f"source {row['source']} freshness: {row['status']}")
    outcome.tests = [
        audit.TestResult(
            run_id=record.run_id,
            unique_id=node.unique_id,
            name=node.name,
            resource_type=node.resource_type,
            severity=node.severity,
            status=node.status,
            failures=node.failures,
            message=node.message,
            execution_time=node.execution_time,
        )
        for node in gate.tests
    ]
    record.tests_passed = len(gate.tests_passed)
    record.tests_warned = len(gate.tests_warned)
    record.tests_failed = len(gate.tests_failed)
    record.tests_skipped = len(gate.tests_skipped)
    record.nodes_failed = len(gate.nodes_failed)
    record.failed_tests = [node.name for node in gate.tests_failed]
    record.warned_tests = [node.name for node in gate.tests_warned]

    # 4. publish if green ---------------------------------------------------------------------
    published = config.published_path()
    try:
        result = publisher.publish(
            db=db, published=published, run_results=build.artifact_path, gate=gate
        )
    except publisher.GateClosed:
        record.gate_reasons = list(gate.reasons)
        record.verdict = f"the gate is closed ({gate.summary()}); {published} unchanged"
        return EXIT_GATE_FAILED
    outcome.published = result
    record.published = True
    record.published_path = str(result.path)
    record.published_rows = sum(result.tables.values())
    record.verdict = (
        f"published {len(result.tables)} tables ({record.published_rows:,} rows) to {result.path}"
        f"; {gate.summary()}"
    )
    return EXIT_OK


def _check_paths(paths: list[str]) -> None:
    for path in paths:
        if glob.has_magic(path):
            if not glob.glob(path, recursive=True):
                raise UsageError(f"{path}: no file matches")
        elif not Path(path).exists():
            raise UsageError(f"{path}: no such file or folder")


def _land(paths: list[str], source: str | None, db: Path, out: TextIO) -> land.LandingResult:
    """Land the files with the landing stage's public entry point."""
    return land.land_paths(paths, source=source, db=db, out=out)


def _connect_read_only(db: Path) -> duckdb.DuckDBPyConnection:
    try:
        return duckdb.connect(str(db), read_only=True)
    except duckdb.IOException as exc:
        if "lock" in str(exc).lower():
            raise DatabaseLocked(f"{db}: in use by another process ({exc})") from exc
        raise UsageError(f"{db}: cannot open the build database ({exc})") from exc


def _max_load_id(db: Path) -> int:
    if not db.is_file():
        return 0
    con = _connect_read_only(db)
    try:
        if not _has_loads(con):
            return 0
        return int(con.execute("select coalesce(max(load_id), 0) from raw.loads").fetchone()[0])
    finally:
        con.close()


def _loads_after(db: Path, load_id: int) -> list[dict]:
    if not db.is_file():
        return []
    con = _connect_read_only(db)
    try:
        if not _has_loads(con):
            return []
        cursor = con.execute(
            "select load_id, source, path, lines, landed_rows, rejected_lines from raw.loads"
            " where load_id > ? order by load_id",
            [load_id],
        )
        names = [column[0] for column in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    finally:
        con.close()


def _has_loads(con: duckdb.DuckDBPyConnection) -> bool:
    return bool(
        con.execute(
            "select count(*) from duckdb_tables()"
            " where schema_name = 'raw' and table_name = 'loads'"
        ).fetchone()[0]
    )


def _freshness_rows(artifact: dict | None) -> list[dict]:
    rows = []
    for result in (artifact or {}).get("results") or []:
        unique_id = str(result.get("unique_id") or "?")
        parts = unique_id.split(".")
        age = result.get("max_loaded_at_time_ago_in_s")
        loaded = publisher.parse_dbt_time(result.get("max_loaded_at"))
        rows.append(
            {
                "source": ".".join(parts[2:]) if len(parts) > 2 else unique_id,
                "status": str(result.get("status") or "unknown").lower(),
                "max_loaded_at": loaded if loaded and loaded.year > 1 else None,
                "age_hours": round(age / 3600, 1)
                if isinstance(age, int | float) and age < 1e9
                else None,
            }
        )
    return sorted(rows, key=lambda row: row["source"])


def _verdict_line(outcome: NightlyOutcome) -> str:
    record = outcome.run
    if record.published:
        head = "PUBLISHED"
    elif record.exit_code == EXIT_GATE_FAILED:
        head = "NOT PUBLISHED (gate closed)"
    else:
        head = f"NOT PUBLISHED (error, exit {record.exit_code})"
    lines = [f"nightly: {head} — {record.verdict}"]
    if not record.published:
        lines += [f"  - {reason}" for reason in record.gate_reasons]
    if record.stale_sources:
        lines.append(f"  freshness: {', '.join(record.stale_sources)}")
    if record.files_failed:
        lines.append(f"  {len(record.files_failed)} file(s) could not be read and did not land:")
        lines += [f"    {failure}" for failure in record.files_failed]
    return "\n".join(lines)


def _utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)
