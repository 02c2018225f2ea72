"""Land SDK export files into the raw schema of the build database.

Each file (plain or gzip) lands in one transaction into raw.segment_events,
raw.rudderstack_events or raw.snowplow_events: one row per line, with the envelope as typed
columns, nested objects as JSON, the original line and its lineage (load id, file, line number,
landed-at). Lines that cannot be landed go to raw.rejected_lines with a reason code; every file
gets a row in raw.loads. A file whose content (SHA-256) was already landed as the same source is
skipped, so landing a folder again lands only its new files. The database is CHAT_ANALYTICS_DB
(default warehouse/chat_analytics.duckdb); DuckDB's memory while landing is
CHAT_ANALYTICS_MEMORY_LIMIT (default 2GB: landing streams, any file size fits).

Exit codes: 0 landed (or nothing new), 1 some files could not be read (the others landed),
2 usage error, 3 the database is locked by another process.
"""

from __future__ import annotations

import argparse
import gzip
import sys
import time
import zlib
from pathlib import Path
from typing import TextIO

from chat_analytics import config
from chat_analytics.errors import EXIT_GATE_FAILED, EXIT_OK
from chat_analytics.formats import SOURCES
from chat_analytics.land.discover import ExportFile, discover
from chat_analytics.land.reader import DEFAULT_BLOCK_BYTES, file_digest, prefetched, read_chunks
from chat_analytics.land.report import (
    ALREADY_LANDED,
    FAILED,
    LANDED,
    FileResult,
    LandingResult,
    Progress,
    summary_table,
)
from chat_analytics.land.warehouse import connect, land_file, landed_load

__all__ = ["FileResult", "LandingResult", "add_arguments", "land_paths", "run"]

# What reading a damaged file raises (a truncated or corrupt gzip, a vanished file).
UNREADABLE = (OSError, EOFError, zlib.error, gzip.BadGzipFile)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "paths",
        nargs="+",
        metavar="PATH",
        help="export files, folders (searched recursively) or globs",
    )
    parser.add_argument(
        "--source",
        choices=SOURCES,
        help="the format of every file given (default: the name of each file's folder)",
    )
    parser.add_argument(
        "-q", "--quiet", action="store_true", help="no progress and no summary table"
    )
    parser.add_argument(
        "--progress-interval",
        type=float,
        default=5.0,
        metavar="SECONDS",
        help="how often to report progress on stderr (default: %(default)s)",
    )
    parser.add_argument(
        "--block-bytes", type=int, default=DEFAULT_BLOCK_BYTES, help=argparse.SUPPRESS
    )


def run(args: argparse.Namespace) -> int:
    result = land_paths(
        args.paths,
        source=args.source,
        quiet=args.quiet,
        block_bytes=args.block_bytes,
        progress_interval=args.progress_interval,
    )
    if result.failed:
        print(
            f"land: {len(result.failed)} file(s) could not be read and were not landed"
            " (the next run tries them again):",
            file=sys.stderr,
        )
        for item in result.failed:
            print(f"  {item.path}: {item.error}", file=sys.stderr)
        return EXIT_GATE_FAILED
    return EXIT_OK


def land_paths(
    paths: list[str],
    source: str | None = None,
    *,
    db: Path | None = None,
    quiet: bool = False,
    out: TextIO | None = None,
    err: TextIO | None = None,
    block_bytes: int = DEFAULT_BLOCK_BYTES,
    progress_interval: float = 5.0,
) -> LandingResult:
    """Land the files under ``paths`` (see :func:`discover`) into ``db``.

    Raises :class:`~chat_analytics.errors.UsageError` before landing anything when a path is
    wrong, and :class:`~chat_analytics.errors.DatabaseLocked` when another process holds the
    database. A file that cannot be read is reported as ``failed`` and the others still land.
    """
    out = out or sys.stdout
    err = err or sys.stderr
    found = discover(paths, source)
    for note in found.notes:
        print(f"land: note: {note}", file=err)
    database = db or config.db_path()
    started = time.monotonic()
    result = LandingResult(files=[], notes=found.notes)
    con = connect(database)
    progress = Progress(len(found.files), None if quiet else err, progress_interval)
    try:
        for export in found.files:
            progress.start_file(export.path)
            result.files.append(_land_one(con, export, progress, block_bytes))
            progress.file_done()
        con.execute("checkpoint")
    finally:
        progress.close()
        con.close()
    result.seconds = time.monotonic() - started
    if not quiet:
        print(summary_table(result), file=out)
    return result


def _land_one(con, export: ExportFile, progress: Progress, block_bytes: int) -> FileResult:
    started = time.monotonic()
    try:
        content_hash, size = file_digest(export.path)
        prior = landed_load(con, export.source, content_hash)
        if prior is not None:
            return FileResult(export.path, export.source, ALREADY_LANDED, load_id=prior)
        chunks = read_chunks(
            export.path, json_lines=export.source != "snowplow", block_bytes=block_bytes
        )
        counts = land_file(
            con,
            export,
            content_hash,
            size,
            prefetched(chunks),
            lambda chunk: progress.advance(chunk.line_count, chunk.bytes_read),
        )
    except UNREADABLE as exc:
        return FileResult(export.path, export.source, FAILED, error=_describe(exc))
    return FileResult(
        export.path,
        export.source,
        LANDED,
        load_id=counts.load_id,
        lines=counts.lines,
        landed_rows=counts.landed_rows,
        rejected_lines=counts.rejected_lines,
        bytes_read=counts.bytes_read,
        seconds=time.monotonic() - started,
    )


def _describe(exc: BaseException) -> str:
    if isinstance(exc, EOFError | gzip.BadGzipFile | zlib.error):
        return f"not a readable gzip file ({exc})"
    return getattr(exc, "strerror", None) or str(exc)
