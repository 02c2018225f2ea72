"""The database side of landing: a connection, the transaction of a file, SQL per source.

DuckDB does the per-line work, streaming the reader's Arrow batches through one bulk INSERT per
file: ``json_transform`` parses each JSON line once into the envelope's typed columns,
``string_split`` cuts each Snowplow line into its 131 fields, and only lines that land go in (no
row is ever deleted or updated, which would make DuckDB rewrite every row group it touched). The
few other lines are classified one by one (see :func:`add_file`). Every file lands inside one
transaction together with its ``raw.loads`` row (a transaction of its own with
:func:`land_file`, or one it shares with other whole files), so a crash leaves nothing of it
behind and the next run lands it again.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pyarrow as pa

from chat_analytics.errors import ChatAnalyticsError, DatabaseLocked, UsageError
from chat_analytics.formats import (
    RUDDERSTACK_OBJECTS,
    RUDDERSTACK_SCALARS,
    SEGMENT_OBJECTS,
    SEGMENT_SCALARS,
    SNOWPLOW_FIELD_COUNT,
    SNOWPLOW_FIELDS,
)
from chat_analytics.land.discover import ExportFile
from chat_analytics.land.reader import CHUNK_SCHEMA, Chunk, Digest, Rejected
from chat_analytics.raw_schema import (
    EVENT_TABLES,
    NO_VACUUM,
    RAW_SCHEMA,
    STORAGE_VERSION,
    TABLE_COLUMNS,
    ensure_raw_schema,
)

LOADED = "landed"
# Landing commits files to the write-ahead log and checkpoints once, at the end (see connect).
# A worker's last commit lowers the threshold (a database-wide setting) to nothing instead:
# committed alone, it writes its rows, and those in the log, straight into the database file
# (DuckDB's automatic checkpoint), where a commit to the log would write them twice (D52).
CHECKPOINT_AT_COMMIT = "set checkpoint_threshold = '0b'"
_LOCK_HOLDER = re.compile(r"Conflicting lock is held in (?P<holder>.*?) \(PID (?P<pid>\d+)\)")


class LandingInconsistent(ChatAnalyticsError):
    """A file's line accounting did not add up; its transaction was rolled back."""

    exit_code = 1


class AlreadyLanded(Exception):
    """A file digested while it landed turned out to have the content of an earlier load; its
    transaction was rolled back."""

    def __init__(self, load_id: int) -> None:
        super().__init__(f"already landed as load {load_id}")
        self.load_id = load_id


def utc_now() -> datetime:
    """The current UTC time as a naive timestamp (the project's ``*_at`` convention)."""
    return datetime.now(UTC).replace(tzinfo=None)


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def lock_message(db: Path, error: str) -> str:
    match = _LOCK_HOLDER.search(error)
    holder = f" ({match['holder']}, PID {match['pid']})" if match else ""
    return (
        f"the database {db} is locked by another process{holder}; nothing was landed."
        " Wait for that process to finish (or stop it) and run land again."
    )


def connect(db: Path) -> duckdb.DuckDBPyConnection:
    """Open the build database for writing, creating it and the raw schema if needed."""
    db.parent.mkdir(parents=True, exist_ok=True)
    try:
        # A new file gets a storage version with zstd for text (an existing file keeps its own).
        con = duckdb.connect(str(db), config={"storage_compatibility_version": STORAGE_VERSION})
    except duckdb.IOException as exc:
        if "lock" in str(exc).lower():
            raise DatabaseLocked(lock_message(db, str(exc))) from None
        raise UsageError(f"cannot open the database {db}: {exc}") from None
    except duckdb.Error as exc:
        raise UsageError(f"cannot open the database {db}: {exc}") from None
    con.execute("set enable_progress_bar = false")
    # Checkpoint once, when landing is done, rather than after every file whose commit grows the
    # write-ahead log past the default 16 MB: committed files are safe in the log either way,
    # and one checkpoint of many files costs a fraction of one per file.
    con.execute("set checkpoint_threshold = '1TB'")
    # The files' last, partly filled row groups stay as they are until `chat-analytics compact`.
    con.execute(NO_VACUUM)
    # Landing streams: DuckDB writes full row groups of the open transaction to the file as it
    # goes, so a small buffer pool is enough for any file size (and leaves the rest of the
    # machine alone).
    con.execute(f"set memory_limit = '{os.environ.get('CHAT_ANALYTICS_MEMORY_LIMIT') or '2GB'}'")
    # Compress and write each row group of a file as soon as it is full, not five at a time:
    # less memory, and less left to do at commit, which holds DuckDB's write-ahead-log lock
    # (so files committing at the same time wait for each other).
    con.execute("set write_buffer_row_group_count = 1")
    if os.environ.get("CHAT_ANALYTICS_TEMP_DIR"):
        con.execute(f"set temp_directory = '{os.environ['CHAT_ANALYTICS_TEMP_DIR']}'")
    ensure_raw_schema(con)
    return con


@dataclass(frozen=True)
class _SourceSql:
    """How one source's lines become rows of its raw table.

    ``insert(relation, where)`` inserts the rows of ``relation`` (line_number, line) that satisfy
    ``where``, parsing or splitting each line once; ``lands`` is the condition under which a
    line of the bulk INSERT lands without a second look (for JSON: it parsed, and it has a key —
    the reader sends only lines that start with ``{`` and end with ``}``, so a line that parses
    is an object, and an object has a key exactly when its text has a quote; for Snowplow: it has
    131 fields); ``reason`` is the rejection reason of a line, NULL when it lands after all.
    """

    table: str
    select: str  # select list over the relation `parsed`, after the lineage columns
    # From-clause expression: relation -> (line_number, line, parsed | fields). The parse is
    # wrapped in unnest([...]) on purpose: DuckDB does not push a filter through an UNNEST,
    # so `lands` reads the parsed value instead of inlining (and re-running) the parse once
    # per field it tests.
    parse: str
    lands: str
    reason: str

    def insert(self, relation: str, where: str) -> str:
        target = ", ".join(_quote(name) for name in TABLE_COLUMNS[self.table])
        return (
            f"insert into {RAW_SCHEMA}.{self.table} ({target})"
            f" select $load_id, $file_name, line_number, $landed_at, {self.select}, line"
            f" from {self.parse.replace('{relation}', relation)} where {where}"
        )


def _json_sql(table: str, scalars: dict[str, str], objects: dict[str, str]) -> _SourceSql:
    shape = {key: "VARCHAR" for key in scalars.values()} | {key: "JSON" for key in objects.values()}
    keys = [*scalars.values(), *objects.values()]
    assert list(TABLE_COLUMNS[table])[4:-1] == [*scalars, *objects]
    document = "try_cast(line as json)"
    return _SourceSql(
        table=table,
        select=", ".join(f"parsed.{_quote(key)}" for key in keys),
        # try() gives NULL for a line that is not JSON. It re-runs a vector row by row when
        # one of its lines fails, but such lines are rare, and parsing every line once (not a
        # cast to JSON first, then the transform) takes a third less time.
        parse=(
            f"(select *, unnest([try(json_transform(line, '{json.dumps(shape)}'))])"
            " as parsed from {relation}) as lines"
        ),
        lands="parsed is not null and contains(line, '\"')",
        reason=(
            f"case when {document} is null then 'invalid_json'"
            f" when json_type({document}) <> 'OBJECT' then 'not_an_object'"
            f" when len(json_keys({document})) = 0 then 'empty_object' end"
        ),
    )


def _snowplow_sql() -> _SourceSql:
    table = EVENT_TABLES["snowplow"]
    assert list(TABLE_COLUMNS[table])[4:-1] == list(SNOWPLOW_FIELDS)
    count = SNOWPLOW_FIELD_COUNT
    return _SourceSql(
        table=table,
        select=", ".join(f"nullif(fields[{index}], '')" for index in range(1, count + 1)),
        parse="(select *, unnest([string_split(line, chr(9))]) as fields from {relation}) as lines",
        lands=f"len(fields) = {count}",
        reason=f"case when len(string_split(line, chr(9))) <> {count} then 'wrong_field_count' end",
    )


SOURCE_SQL: dict[str, _SourceSql] = {
    "segment": _json_sql(EVENT_TABLES["segment"], SEGMENT_SCALARS, SEGMENT_OBJECTS),
    "rudderstack": _json_sql(EVENT_TABLES["rudderstack"], RUDDERSTACK_SCALARS, RUDDERSTACK_OBJECTS),
    "snowplow": _snowplow_sql(),
}

_REJECTED_TARGET = (
    f"{RAW_SCHEMA}.rejected_lines"
    " (load_id, source, file_name, line_number, reason, raw_line, raw_bytes, landed_at)"
)
_INSERT_HELD_REJECTS = (
    f"insert into {_REJECTED_TARGET} select $load_id, $source, $file_name, line_number, reason,"
    " line, encode(line), $landed_at from land_held where reason is not null"
)
_INSERT_PYTHON_REJECTS = (
    f"insert into {_REJECTED_TARGET} select $load_id, $source, $file_name, line_number, reason,"
    " raw_line, raw_bytes, $landed_at from land_rejected"
)
_REJECTED_SCHEMA = pa.schema(
    [
        ("line_number", pa.int64()),
        ("reason", pa.string()),
        ("raw_line", pa.string()),
        ("raw_bytes", pa.binary()),
    ]
)


@dataclass
class LoadCounts:
    load_id: int
    lines: int = 0
    landed_rows: int = 0
    rejected_lines: int = 0
    bytes_read: int = 0


def landed_load(con: duckdb.DuckDBPyConnection, source: str, content_hash: str) -> int | None:
    """The load that already landed a file with this content as this source, if any."""
    row = con.execute(
        f"select min(load_id) from {RAW_SCHEMA}.loads"
        " where source = ? and content_hash = ? and status = ?",
        [source, content_hash, LOADED],
    ).fetchone()
    return None if row is None or row[0] is None else int(row[0])


def landed_sizes(con: duckdb.DuckDBPyConnection) -> set[tuple[str, int]]:
    """The (source, stored size) of every landed file: a file whose pair is not among them
    cannot have the content of one of them."""
    rows = con.execute(
        f"select distinct source, bytes from {RAW_SCHEMA}.loads where status = ?", [LOADED]
    ).fetchall()
    return {(source, int(size)) for source, size in rows}


def next_load_id(con: duckdb.DuckDBPyConnection) -> int:
    return int(
        con.execute(f"select coalesce(max(load_id), 0) + 1 from {RAW_SCHEMA}.loads").fetchone()[0]
    )


class _Feed:
    """The file's chunks as a stream of Arrow record batches for one bulk INSERT at a time.

    Lines the reader rejected and unusual lines are kept aside and written between two INSERTs.
    A stream ends at the end of the file, or early when what is kept aside exceeds ``budget``
    bytes, so memory stays bounded even for a file of nothing but bad lines.
    """

    def __init__(self, chunks: Iterable[Chunk], on_chunk: Callable[[Chunk], None]) -> None:
        self.chunks = iter(chunks)
        self.on_chunk = on_chunk
        self.exhausted = False
        self.error: BaseException | None = None
        self.lines = 0  # lines read
        self.streamed = 0  # lines handed to the bulk INSERT
        self.bytes_read = 0
        self.rejected: list[Rejected] = []
        self.unusual: list[pa.Table] = []
        self.aside_bytes = 0

    def batches(self, budget: int) -> Iterator[pa.RecordBatch]:
        """The chunks' record batches as they come (a NULL line is one set aside).

        Batch sizes do not matter to the INSERT when DuckDB runs it on one thread, as
        :func:`~chat_analytics.land.land_paths` does: its rows are appended in order and each
        full row group is compressed and written once.
        """
        try:
            for chunk in self.chunks:
                self.lines += chunk.line_count
                self.streamed += chunk.lines.num_rows - chunk.lines.column("line").null_count
                self.bytes_read += chunk.bytes_read
                if chunk.rejected:
                    self.rejected.extend(chunk.rejected)
                    self.aside_bytes += sum(len(item.raw_bytes) for item in chunk.rejected)
                if chunk.unusual.num_rows:
                    self.unusual.append(chunk.unusual)
                    self.aside_bytes += chunk.unusual.nbytes
                yield from chunk.lines.to_batches()
                self.on_chunk(chunk)
                if self.aside_bytes > budget:
                    break
            else:
                self.exhausted = True
        except BaseException as exc:  # DuckDB would only pass on its text
            self.error = exc
            raise

    def take_aside(self) -> tuple[list[Rejected], list[pa.Table]]:
        taken = self.rejected, self.unusual
        self.rejected, self.unusual, self.aside_bytes = [], [], 0
        return taken


def land_file(
    con: duckdb.DuckDBPyConnection,
    export: ExportFile,
    content_hash: str | Digest,
    size: int,
    chunks: Iterable[Chunk],
    on_chunk: Callable[[Chunk], None] = lambda chunk: None,
    reread: Callable[[list[int]], Iterable[tuple[int, bytes]]] | None = None,
    budget: int = 64 << 20,
    load_id: int | None = None,
) -> LoadCounts:
    """Land every line of one file in a transaction of its own, with its ``raw.loads`` row:
    :func:`add_file` between a begin and a commit (a rollback when anything fails)."""
    con.begin()
    try:
        counts = add_file(
            con, export, content_hash, size, chunks, on_chunk, reread, budget, load_id
        )
        con.commit()
    except BaseException:
        rollback(con)
        raise
    return counts


def rollback(con: duckdb.DuckDBPyConnection) -> None:
    """Roll back the open transaction, if any (a failed commit has ended it already)."""
    try:
        con.rollback()
    except duckdb.TransactionException:
        pass


def add_file(
    con: duckdb.DuckDBPyConnection,
    export: ExportFile,
    content_hash: str | Digest,
    size: int,
    chunks: Iterable[Chunk],
    on_chunk: Callable[[Chunk], None] = lambda chunk: None,
    reread: Callable[[list[int]], Iterable[tuple[int, bytes]]] | None = None,
    budget: int = 64 << 20,
    load_id: int | None = None,
) -> LoadCounts:
    """Land every line of one file, with its ``raw.loads`` row, in the connection's open
    transaction. When it raises, the transaction holds part of the file and must be rolled
    back.

    The lines stream through one bulk INSERT that keeps only the lines that land without a
    second look. The few others are classified one by one: the unusual lines the reader kept
    aside at once, and any line the INSERT left out, read again with ``reread(numbers)`` (the
    ``(number, bytes)`` of those lines, as :func:`~chat_analytics.land.reader.read_lines` gives
    them; needed only when the INSERT left lines out, which the reader's screening makes rare).
    ``load_id`` defaults to one more than the largest in ``raw.loads``.

    ``content_hash`` is the file's SHA-256, or a :class:`~chat_analytics.land.reader.Digest`
    that ``chunks`` fill while they read the file (its size then replaces ``size``); a file
    whose digest matches a landed load of its source is not landed after all:
    :class:`AlreadyLanded` is raised and nothing of it is kept.
    """
    sql = SOURCE_SQL[export.source]
    started_at = utc_now()
    if load_id is None:
        load_id = next_load_id(con)
    counts = LoadCounts(load_id=load_id)
    params = {"load_id": load_id, "file_name": str(export.path), "landed_at": started_at}
    feed = _Feed(chunks, on_chunk)
    bulk = 0
    while not feed.exhausted:
        stream = pa.RecordBatchReader.from_batches(CHUNK_SCHEMA, feed.batches(budget))
        con.register("land_stream", stream)
        try:
            bulk += _count(con.execute(sql.insert("land_stream", sql.lands), params))
        except duckdb.Error:
            if feed.error is not None:
                raise feed.error from None
            raise
        finally:
            con.unregister("land_stream")
        rejected, unusual = feed.take_aside()
        counts.rejected_lines += _insert_rejected(con, rejected, params, export)
        if unusual:  # all of them at once: a statement per chunk costs more than its lines
            _land_one_by_one(con, sql, pa.concat_tables(unusual), params, export, counts)
    counts.landed_rows += bulk
    if bulk < feed.streamed:
        if reread is None:
            raise LandingInconsistent(f"{export.path}: lines left out and no way to re-read")
        _land_left_out(con, sql, reread, params, export, counts, feed.lines)
    counts.lines = feed.lines
    counts.bytes_read = feed.bytes_read
    if isinstance(content_hash, Digest):
        content_hash, size = content_hash.hexdigest(), content_hash.size
        prior = landed_load(con, export.source, content_hash)
        if prior is not None:
            raise AlreadyLanded(prior)
    if counts.landed_rows + counts.rejected_lines != counts.lines:
        raise LandingInconsistent(
            f"{export.path}: {counts.lines} lines read but {counts.landed_rows} rows landed"
            f" and {counts.rejected_lines} lines rejected; nothing landed"
        )
    con.execute(
        f"insert into {RAW_SCHEMA}.loads (load_id, source, path, content_hash, bytes, lines,"
        " landed_rows, rejected_lines, status, started_at, finished_at)"
        " values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            load_id,
            export.source,
            str(export.path),
            content_hash,
            size,
            counts.lines,
            counts.landed_rows,
            counts.rejected_lines,
            LOADED,
            started_at,
            utc_now(),
        ],
    )
    return counts


def _land_one_by_one(
    con: duckdb.DuckDBPyConnection,
    sql: _SourceSql,
    lines: pa.Table,
    params: dict,
    export: ExportFile,
    counts: LoadCounts,
) -> None:
    """Classify ``lines`` (line_number, line): land those without a reason, reject the rest."""
    con.register("land_candidates", lines)
    try:
        con.execute(
            "create or replace temp table land_held as"
            f" select line_number, line, {sql.reason} as reason from land_candidates"
        )
    finally:
        con.unregister("land_candidates")
    counts.landed_rows += _count(con.execute(sql.insert("land_held", "reason is null"), params))
    counts.rejected_lines += _count(
        con.execute(_INSERT_HELD_REJECTS, params | {"source": export.source})
    )
    con.execute("drop table land_held")


def _land_left_out(
    con: duckdb.DuckDBPyConnection,
    sql: _SourceSql,
    reread: Callable[[list[int]], Iterable[tuple[int, bytes]]],
    params: dict,
    export: ExportFile,
    counts: LoadCounts,
    lines: int,
    batch: int = 50_000,
) -> None:
    """Read again the lines the bulk INSERT left out (those of its ``lines`` line numbers that
    are neither landed nor rejected yet) and land them one by one, ``batch`` at a time."""
    held = {"load_id": params["load_id"], "lines": lines}
    left_out = con.execute(
        "select number from range(1, $lines + 1) as numbers(number)"
        f" anti join (select line_number from {RAW_SCHEMA}.{sql.table}"
        " where load_id = $load_id) as landed on number = landed.line_number"
        f" anti join (select line_number from {RAW_SCHEMA}.rejected_lines"
        " where load_id = $load_id) as rejected on number = rejected.line_number",
        held,
    ).to_arrow_table()["number"]
    if not len(left_out):
        return
    numbers: list[int] = []
    texts: list[str] = []
    for number, raw in reread(left_out.to_pylist()):
        try:
            texts.append(raw.decode("utf-8"))  # it was valid UTF-8 when first read
        except UnicodeDecodeError:
            raise LandingInconsistent(
                f"{export.path}: line {number} changed while the file was landed"
            ) from None
        numbers.append(number)
        if len(numbers) == batch:
            _land_one_by_one(con, sql, _lines_table(numbers, texts), params, export, counts)
            numbers, texts = [], []
    if numbers:
        _land_one_by_one(con, sql, _lines_table(numbers, texts), params, export, counts)


def _lines_table(numbers: list[int], texts: list[str]) -> pa.Table:
    return pa.Table.from_arrays(
        [pa.array(numbers, pa.int64()), pa.array(texts, pa.string())], schema=CHUNK_SCHEMA
    )


def _insert_rejected(
    con: duckdb.DuckDBPyConnection, rejected: list[Rejected], params: dict, export: ExportFile
) -> int:
    if not rejected:
        return 0
    table = pa.Table.from_pylist(
        [
            {
                "line_number": item.line_number,
                "reason": item.reason,
                "raw_line": item.raw_bytes.decode("utf-8", errors="replace"),
                "raw_bytes": item.raw_bytes,
            }
            for item in rejected
        ],
        schema=_REJECTED_SCHEMA,
    )
    con.register("land_rejected", table)
    try:
        return _count(con.execute(_INSERT_PYTHON_REJECTS, params | {"source": export.source}))
    finally:
        con.unregister("land_rejected")


def _count(cursor: duckdb.DuckDBPyConnection) -> int:
    row = cursor.fetchone()
    return int(row[0]) if row else 0
