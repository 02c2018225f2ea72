"""`chat-analytics compact`: merge the row groups that landing and builds left partly filled.

Landing, dbt and the audit history write the build database with DuckDB's vacuum off
(DECISIONLOG D51): a checkpoint with the vacuum on rewrites, in every table of the file, the row
groups that appends left partly filled and deletes left with holes, and a nightly build spent
seconds on that at each of its checkpoints. This command does that rewrite on its own: it makes
one checkpoint with the vacuum on (DuckDB merges adjacent row groups whose rows fit in fewer,
dropping the deleted rows) and prints how long it took and the storage in use before and after.
Each compaction is a row of ``audit.compactions`` (started at, seconds, bytes in use before and
after); that row is also the change DuckDB needs before it checkpoints at all. The nightly job
compacts after publishing once the last compaction is a week old (``--compact-every``); run it by
hand after a backfill, or after builds run outside the nightly job.

Exit codes: 0 compacted; 2 no database; 3 the database is locked by another process.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import TextIO

import duckdb

from chat_analytics import config
from chat_analytics.errors import EXIT_OK, DatabaseLocked, UsageError
from chat_analytics.land.warehouse import utc_now

LOG = "audit.compactions"
_LOG_DDL = (
    f"create schema if not exists audit; create table if not exists {LOG} ("
    " started_at timestamp not null, seconds double, bytes_before bigint not null,"
    " bytes_after bigint)"
)


@dataclass(frozen=True)
class Compaction:
    """What one compaction did: seconds taken and the storage in use before and after."""

    seconds: float
    bytes_before: int
    bytes_after: int

    def summary(self) -> str:
        return (
            f"{self.seconds:.1f} s; storage in use {self.bytes_before / 1e6:,.0f} MB"
            f" -> {self.bytes_after / 1e6:,.0f} MB"
        )


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--db",
        metavar="PATH",
        help="the build database (default: $CHAT_ANALYTICS_DB, else"
        " warehouse/chat_analytics.duckdb)",
    )


def run(args: argparse.Namespace, stream: TextIO | None = None) -> int:
    out = stream or sys.stdout
    db = Path(args.db) if args.db else config.db_path()
    print(f"compact: compacting {db} ...", file=out, flush=True)
    result = compact(db)
    print(f"compact: done in {result.summary()}", file=out)
    return EXIT_OK


def compact(db: Path) -> Compaction:
    """One checkpoint of ``db`` with DuckDB's vacuum on (its default)."""
    if not db.is_file():
        raise UsageError(f"{db}: build database not found (set CHAT_ANALYTICS_DB)")
    started = time.perf_counter()
    try:
        con = duckdb.connect(str(db))
    except duckdb.IOException as exc:
        if "lock" in str(exc).lower():
            raise DatabaseLocked(
                f"the database {db} is locked by another process ({exc}); nothing was"
                " compacted. Run compact again when that process has finished."
            ) from None
        raise UsageError(f"cannot open the database {db}: {exc}") from None
    try:
        memory = os.environ.get("CHAT_ANALYTICS_MEMORY_LIMIT") or "8GB"  # as dbt's profile
        con.execute(f"set memory_limit = '{memory}'")
        if os.environ.get("CHAT_ANALYTICS_TEMP_DIR"):
            con.execute(f"set temp_directory = '{os.environ['CHAT_ANALYTICS_TEMP_DIR']}'")
        con.execute(_LOG_DDL)
        before = _bytes_in_use(con)
        # DuckDB skips a checkpoint when nothing changed since the last one: the log row is the
        # change, and the checkpoint after it visits every table
        con.execute(
            f"insert into {LOG} (started_at, bytes_before) values (?, ?)", [utc_now(), before]
        )
        con.execute("checkpoint")
        after = _bytes_in_use(con)
        result = Compaction(time.perf_counter() - started, before, after)
        con.execute(
            f"update {LOG} set seconds = ?, bytes_after = ? where started_at = (select"
            f" max(started_at) from {LOG})",
            [result.seconds, after],
        )
    finally:
        con.close()
    return result


def last_compacted(db: Path) -> datetime | None:
    """When the last compaction of ``db`` started (UTC), None if it was never compacted."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        exists = con.execute(
            "select count(*) from duckdb_tables() where database_name = current_database()"
            " and schema_name = 'audit' and table_name = 'compactions'"
        ).fetchone()[0]
        if not exists:
            return None
        return con.execute(f"select max(started_at) from {LOG}").fetchone()[0]
    finally:
        con.close()


def is_due(last: datetime | None, every_days: int, today: date) -> bool:
    """Whether the nightly job compacts today, the last compaction having started at ``last``:
    never compacted, or ``every_days`` calendar days or more since (0: every night)."""
    return last is None or (today - last.date()).days >= every_days


def _bytes_in_use(con: duckdb.DuckDBPyConnection) -> int:
    block_size, used = con.execute(
        "select block_size, used_blocks from pragma_database_size()"
        " where database_name = current_database()"
    ).fetchone()
    return int(block_size) * int(used)
