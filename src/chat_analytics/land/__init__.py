"""Land SDK export files into the raw schema of the build database.

Each file (plain or gzip) lands whole in one transaction (several whole files may share one)
into raw.segment_events, raw.rudderstack_events or raw.snowplow_events: one row per line, with
the envelope as typed columns, nested objects as JSON, the original line and its lineage (load
id, file, line number, landed-at). Lines that cannot be landed go to raw.rejected_lines with a
reason code; every file gets a row in raw.loads. A file whose content (SHA-256) was already
landed as the same source is skipped, so landing a folder again lands only its new files. The
database is CHAT_ANALYTICS_DB (default warehouse/chat_analytics.duckdb); DuckDB's memory while
landing is CHAT_ANALYTICS_MEMORY_LIMIT (default 2GB: landing streams, any file size fits).

Exit codes: 0 landed (or nothing new), 1 some files could not be read (the others landed),
2 usage error, 3 the database is locked by another process.
"""

from __future__ import annotations

import argparse
import gzip
import sys
import threading
import time
import zlib
from collections import Counter, deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from chat_analytics import config
from chat_analytics.errors import EXIT_GATE_FAILED, EXIT_OK
from chat_analytics.formats import SNOWPLOW_FIELD_COUNT, SOURCES
from chat_analytics.land.discover import ExportFile, discover
from chat_analytics.land.reader import (
    DEFAULT_BLOCK_BYTES,
    Digest,
    file_digest,
    prefetched,
    read_chunks,
    read_lines,
)
from chat_analytics.land.report import (
    ALREADY_LANDED,
    FAILED,
    LANDED,
    FileResult,
    LandingResult,
    Progress,
    summary_table,
)
from chat_analytics.land.warehouse import (
    CHECKPOINT_AT_COMMIT,
    AlreadyLanded,
    add_file,
    connect,
    land_file,
    landed_load,
    landed_sizes,
    next_load_id,
    rollback,
)

__all__ = ["FileResult", "LandingResult", "add_arguments", "land_paths", "run"]

# What reading a damaged file raises (a truncated or corrupt gzip, a vanished file).
UNREADABLE = (OSError, EOFError, zlib.error, gzip.BadGzipFile)
# DuckDB stores a table in row groups of this many rows. Whole files land together in one
# transaction until it holds GROUP_ROWS rows, so that each transaction's last, partly filled
# row group has at least three full ones after it (DECISIONLOG D36).
ROW_GROUP_ROWS = 122_880
GROUP_ROWS = 3 * ROW_GROUP_ROWS


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
    parser.add_argument("--workers", type=int, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--group-rows", type=int, default=GROUP_ROWS, help=argparse.SUPPRESS)


def run(args: argparse.Namespace) -> int:
    result = land_paths(
        args.paths,
        source=args.source,
        quiet=args.quiet,
        block_bytes=args.block_bytes,
        progress_interval=args.progress_interval,
        workers=args.workers,
        group_rows=args.group_rows,
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
    workers: int | None = None,
    group_rows: int = GROUP_ROWS,
) -> LandingResult:
    """Land the files under ``paths`` (see :func:`discover`) into ``db``.

    Raises :class:`~chat_analytics.errors.UsageError` before landing anything when a path is
    wrong, and :class:`~chat_analytics.errors.DatabaseLocked` when another process holds the
    database. A file that cannot be read is reported as ``failed`` and the others still land.

    Up to ``workers`` files (default: DuckDB's threads, one per core) land at the same time,
    each worker on its own connection, and DuckDB runs each file's INSERT on one thread: the
    INSERT reads one stream of lines, and a second thread on it only waits for the first (and
    costs CPU doing so), so files side by side are what put a machine's cores to work. A
    worker lands whole files one after another in one transaction until it holds
    ``group_rows`` rows, then commits (see :func:`_land_files`). A file is read once: its
    SHA-256 is taken while it lands, unless a landed file of its source, or another file of
    this run, has the same size, when it is hashed first (side by side with the others) to
    tell whether it is new. Load ids follow the order of the files; the database is locked for
    the whole run, so nothing reads it before every file has committed.
    """
    out = out or sys.stdout
    err = err or sys.stderr
    found = discover(paths, source)
    for note in found.notes:
        print(f"land: note: {note}", file=err)
    database = db or config.db_path()
    started = time.monotonic()
    con = connect(database)
    progress = Progress(len(found.files), None if quiet else err, progress_interval)
    results: dict[int, FileResult] = {}
    try:
        threads = int(con.execute("select current_setting('threads')").fetchone()[0])
        workers = max(1, workers or threads)
        plan = _plan(con, found.files, results, workers)
        con.execute("set threads = 1")
        try:
            _land_all(con, plan, results, progress, block_bytes, workers, group_rows)
        finally:
            con.execute(f"set threads = {threads}")
        # what is still in the log: a last commit made while another worker's transaction was
        # open cannot checkpoint (nothing, when the last commit could)
        con.execute("checkpoint")
    finally:
        progress.close()
        con.close()
    result = LandingResult(
        files=[results[index] for index in range(len(found.files))],
        notes=found.notes,
        seconds=time.monotonic() - started,
    )
    if not quiet:
        print(summary_table(result), file=out)
    return result


@dataclass
class _Planned:
    index: int
    export: ExportFile
    content_hash: str | None  # None: a size no other file has; hashed while it lands
    size: int
    load_id: int = 0
    same_as: int | None = None  # index of an earlier file of this run with the same content


def _digest(export: ExportFile) -> tuple[str, int] | BaseException:
    try:
        return file_digest(export.path)
    except UNREADABLE as exc:
        return exc


def _plan(
    con, files: list[ExportFile], results: dict[int, FileResult], workers: int
) -> list[_Planned]:
    """Settle the files already landed or unreadable and number the rest.

    Equal content means equal size, so only a file that shares its (source, size) with a landed
    file or with another file of this run can be a copy: those are hashed here (``workers`` at
    a time: hashing releases the GIL); any other file is new, and is hashed while it lands.
    """
    plan: list[_Planned] = []
    first_of: dict[tuple[str, str], int] = {}
    next_id = next_load_id(con)
    sizes: dict[int, int] = {}
    for index, export in enumerate(files):
        try:
            sizes[index] = export.path.stat().st_size
        except OSError as exc:
            results[index] = FileResult(export.path, export.source, FAILED, error=_describe(exc))
    landed = landed_sizes(con)
    in_run = Counter((files[index].source, size) for index, size in sizes.items())
    suspects = [
        index
        for index, size in sizes.items()
        if (files[index].source, size) in landed or in_run[files[index].source, size] > 1
    ]
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="land-hash") as pool:
        digests = dict(zip(suspects, pool.map(_digest, [files[i] for i in suspects]), strict=True))
    for index, export in enumerate(files):
        if index in results:
            continue
        if index not in digests:
            item = _Planned(index, export, None, sizes[index], load_id=next_id)
            next_id += 1
            plan.append(item)
            continue
        digest = digests[index]
        if isinstance(digest, BaseException):
            results[index] = FileResult(export.path, export.source, FAILED, error=_describe(digest))
            continue
        content_hash, size = digest
        prior = landed_load(con, export.source, content_hash)
        if prior is not None:
            results[index] = FileResult(export.path, export.source, ALREADY_LANDED, load_id=prior)
            continue
        item = _Planned(index, export, content_hash, size)
        key = (export.source, content_hash)
        if key in first_of:
            item.same_as = first_of[key]
        else:
            first_of[key] = index
            item.load_id, next_id = next_id, next_id + 1
        plan.append(item)
    return plan


def _land_all(
    con,
    plan: list[_Planned],
    results: dict[int, FileResult],
    progress: Progress,
    block_bytes: int,
    workers: int,
    group_rows: int,
) -> None:
    cursors = _Cursors(con)
    # Biggest files first, so that the run does not end with one big file landing alone while
    # the other cores idle (load ids were given in file order already).
    first = sorted((item for item in plan if item.same_as is None), key=lambda item: -item.size)
    queue = _Queue(first)
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="land") as pool:
        started = min(workers, len(first))
        tail_rows = started * group_rows
        futures = [
            pool.submit(_land_files, cursors, queue, progress, block_bytes, group_rows, tail_rows)
            for _ in range(started)
        ]
        try:
            for future in futures:
                results.update(future.result())
        except BaseException:  # stop the other workers too: their open transactions roll back
            queue.close()
            cursors.interrupt_all()
            raise
    # A second copy of a file in this run: already landed, unless the first copy failed.
    for item in plan:
        if item.same_as is None:
            continue
        head = results[item.same_as]
        if head.status == LANDED:
            results[item.index] = FileResult(
                item.export.path, item.export.source, ALREADY_LANDED, load_id=head.load_id
            )
        else:
            item.load_id = next_load_id(con)
            cursor = cursors.open()
            try:
                results[item.index] = _land_one(cursor, item, progress, block_bytes, alone=True)
            finally:
                cursors.close(cursor)


class _Queue:
    """The files waiting to land, taken one at a time by the workers, and how many rows they
    hold, estimated from the rows per stored byte of the files landed so far."""

    def __init__(self, items: list[_Planned]) -> None:
        self.items = deque(items)
        self.lock = threading.Lock()
        self.closed = False
        self.waiting_bytes = sum(item.size for item in items)
        self.landed_bytes = 0
        self.landed_rows = 0

    def take(self) -> _Planned | None:
        with self.lock:
            if self.closed or not self.items:
                return None
            item = self.items.popleft()
            self.waiting_bytes -= item.size
            return item

    def landed(self, item: _Planned, rows: int) -> None:
        with self.lock:
            self.landed_bytes += item.size
            self.landed_rows += rows

    def few_rows_left(self, limit: int) -> bool:
        """Whether some files are still waiting but hold fewer than ``limit`` rows."""
        with self.lock:
            if self.closed or not self.items or not self.landed_bytes:
                return False
            return self.waiting_bytes * self.landed_rows < limit * self.landed_bytes

    def drained(self) -> bool:
        """Whether every file has been taken."""
        with self.lock:
            return not self.items

    def close(self) -> None:
        with self.lock:
            self.closed = True


def _land_files(
    cursors: _Cursors,
    queue: _Queue,
    progress: Progress,
    block_bytes: int,
    group_rows: int,
    tail_rows: int,
) -> dict[int, FileResult]:
    """Land files from ``queue`` on one connection until none is left, several whole files to
    a transaction: a group of files commits once it holds ``group_rows`` landed rows, or when
    the queue is empty. A group that has its rows but sees fewer than ``tail_rows`` rows left
    in the queue (a group's worth per worker) stays open for them, so that the run does not end
    with small transactions: DuckDB compresses and writes a transaction of fewer rows than a
    row group only at the final checkpoint (a worker's last commit, or the one after every
    file has landed), on one thread, and a last transaction of fewer than three row groups may
    be merged there with the partial row group before it.

    Within a transaction, DuckDB appends a file's rows to the row group the previous file
    left partly filled, so only a group's last row group is partial, not every file's, and
    the final checkpoint has no partial row groups to merge and rewrite (DECISIONLOG D36).
    A group lands completely or not at all: killed during a group, nothing of its files is
    visible, and the next run lands them all. A file that cannot be read (or turns out to be
    a copy of a landed file) leaves part of itself in the transaction, so the group is rolled
    back and its other files land again, each in a transaction of its own; the file is
    reported as it would be alone. Any other error rolls back the open group, stops the other
    workers and is raised.
    """
    done: dict[int, FileResult] = {}
    group: list[tuple[_Planned, FileResult]] = []
    rows = 0
    con = cursors.open()
    try:
        while (item := queue.take()) is not None:
            if not group:
                con.begin()
            result = _land_one(con, item, progress, block_bytes, alone=False)
            if result.status != LANDED:
                rollback(con)
                done[item.index] = result
                for member, landed in group:
                    progress.forget(landed.lines, landed.bytes_read)
                    done[member.index] = _land_one(con, member, progress, block_bytes, alone=True)
                group, rows = [], 0
                continue
            group.append((item, result))
            rows += result.landed_rows
            queue.landed(item, result.landed_rows)
            if rows >= group_rows and not queue.few_rows_left(tail_rows):
                _commit(con, queue)
                done.update((member.index, landed) for member, landed in group)
                group, rows = [], 0
        if group:
            _commit(con, queue)
            done.update((member.index, landed) for member, landed in group)
    except BaseException:
        rollback(con)
        queue.close()
        raise
    finally:
        cursors.close(con)
    return done


def _commit(con, queue: _Queue) -> None:
    """Commit a worker's group; its last one (nothing left to take) with CHECKPOINT_AT_COMMIT."""
    if queue.drained():
        con.execute(CHECKPOINT_AT_COMMIT)
    con.commit()


class _Cursors:
    """One DuckDB connection per worker (a connection is not shared by threads)."""

    def __init__(self, con) -> None:
        self.con = con
        self.lock = threading.Lock()
        self.active: set = set()

    def open(self):
        with self.lock:
            cursor = self.con.cursor()
            self.active.add(cursor)
            return cursor

    def close(self, cursor) -> None:
        with self.lock:
            self.active.discard(cursor)
        cursor.close()

    def interrupt_all(self) -> None:
        with self.lock:
            for cursor in self.active:
                cursor.interrupt()


def _land_one(
    con, item: _Planned, progress: Progress, block_bytes: int, *, alone: bool
) -> FileResult:
    """Land one file: ``alone`` in a transaction of its own, else in the connection's open
    transaction (which then holds part of the file when the result is not ``landed``)."""
    export = item.export
    started = time.monotonic()
    progress.start_file(export.path)
    json_lines = export.source != "snowplow"
    field_count = None if json_lines else SNOWPLOW_FIELD_COUNT
    digest = Digest() if item.content_hash is None else None
    chunks = read_chunks(
        export.path,
        json_lines=json_lines,
        field_count=field_count,
        block_bytes=block_bytes,
        digest=digest,
    )
    try:
        counts = (land_file if alone else add_file)(
            con,
            export,
            item.content_hash or digest,
            item.size,
            prefetched(chunks),
            lambda chunk: progress.advance(chunk.line_count, chunk.bytes_read),
            reread=lambda numbers: read_lines(export.path, numbers, block_bytes=block_bytes),
            load_id=item.load_id,
        )
    except UNREADABLE as exc:
        result = FileResult(export.path, export.source, FAILED, error=_describe(exc))
    except AlreadyLanded as exc:  # changed since it was planned, into a copy of a landed file
        result = FileResult(export.path, export.source, ALREADY_LANDED, load_id=exc.load_id)
    else:
        result = FileResult(
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
    finally:
        progress.file_done(export.path)
    return result


def _describe(exc: BaseException) -> str:
    if isinstance(exc, EOFError | gzip.BadGzipFile | zlib.error):
        return f"not a readable gzip file ({exc})"
    return getattr(exc, "strerror", None) or str(exc)
