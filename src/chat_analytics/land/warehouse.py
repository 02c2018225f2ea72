"""The database side of landing: one connection, one transaction per file, SQL per source.

DuckDB does the per-line work, streaming the reader's Arrow batches through one INSERT per file:
``json_transform`` parses each JSON line once into the envelope's typed columns, ``string_split``
cuts each Snowplow line into its 131 fields. Only the few rows that may not land are looked at
again (see :class:`_SourceSql`). Every file lands inside one transaction together with its
``raw.loads`` row, so a crash leaves nothing of it behind and the next run lands it again.
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
from chat_analytics.land.reader import CHUNK_SCHEMA, Chunk, Rejected
from chat_analytics.raw_schema import EVENT_TABLES, LINEAGE_COLUMNS, RAW_SCHEMA, ensure_raw_schema

LOADED = "landed"
_LOCK_HOLDER = re.compile(r"Conflicting lock is held in (?P<holder>.*?) \(PID (?P<pid>\d+)\)")


class LandingInconsistent(ChatAnalyticsError):
    """A file's line accounting did not add up; its transaction was rolled back."""

    exit_code = 1


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
        con = duckdb.connect(str(db))
    except duckdb.IOException as exc:
        if "lock" in str(exc).lower():
            raise DatabaseLocked(lock_message(db, str(exc))) from None
        raise UsageError(f"cannot open the database {db}: {exc}") from None
    except duckdb.Error as exc:
        raise UsageError(f"cannot open the database {db}: {exc}") from None
    # Rows carry their own line numbers, so DuckDB may insert in parallel, in any order.
    con.execute("set preserve_insertion_order = false")
    con.execute("set enable_progress_bar = false")
    # Checkpoint once, when landing is done, rather than after every file whose commit grows the
    # write-ahead log past the default 16 MB: committed files are safe in the log either way,
    # and one checkpoint of many files costs a fraction of one per file.
    con.execute("set checkpoint_threshold = '1TB'")
    # Landing streams: DuckDB writes full row groups of the open transaction to the file as it
    # goes, so a small buffer pool is enough for any file size (and leaves the rest of the
    # machine alone).
    con.execute(f"set memory_limit = '{os.environ.get('CHAT_ANALYTICS_MEMORY_LIMIT') or '2GB'}'")
    if os.environ.get("CHAT_ANALYTICS_TEMP_DIR"):
        con.execute(f"set temp_directory = '{os.environ['CHAT_ANALYTICS_TEMP_DIR']}'")
    ensure_raw_schema(con)
    return con


@dataclass(frozen=True)
class _SourceSql:
    """How one source's lines become rows of its raw table.

    One INSERT takes every line of the stream ``land_stream`` into the raw table, parsing or
    splitting it once. A line that may not land (for JSON: not an object with an envelope field;
    for Snowplow: not 131 fields) is inserted with its line number negated; such rows are found
    through the zone maps of ``line_number`` after the INSERT, and either moved to
    ``raw.rejected_lines`` or given their number back. Negative numbers never outlive the
    file's transaction.
    """

    insert: str
    classify: str  # create temp table land_held(line_number, line, reason) of the held rows


_LINEAGE = ", ".join(_quote(name) for name in LINEAGE_COLUMNS)


def _insert(table: str, columns: list[str], values: str, lands: str, relation: str) -> str:
    target = f"{RAW_SCHEMA}.{table} ({_LINEAGE}, {', '.join(map(_quote, columns))}, raw_line)"
    number = f"case when {lands} then line_number else -line_number end"
    return (
        f"insert into {target} select $load_id, $file_name, {number}, $landed_at, {values}, line"
        f" from {relation}"
    )


def _held(table: str) -> str:
    return f"{RAW_SCHEMA}.{table} where load_id = $load_id and line_number < 0"


def _json_sql(table: str, scalars: dict[str, str], objects: dict[str, str]) -> _SourceSql:
    shape = {key: "VARCHAR" for key in scalars.values()} | {key: "JSON" for key in objects.values()}
    keys = [*scalars.values(), *objects.values()]
    parsed = f"try(json_transform(line, '{json.dumps(shape)}'))"
    # An object with any envelope field lands at once. Anything else (not JSON, not an object,
    # an empty object, an object without envelope fields) is held and classified.
    has_field = " or ".join(f"parsed.{_quote(key)} is not null" for key in keys)
    return _SourceSql(
        insert=_insert(
            table,
            [*scalars, *objects],
            ", ".join(f"parsed.{_quote(key)}" for key in keys),
            f"parsed is not null and ({has_field})",
            f"(select line_number, line, {parsed} as parsed from land_stream) as lines",
        ),
        classify=(
            "create or replace temp table land_held as"
            " select line_number, line, case"
            " when kind is null then 'invalid_json'"
            " when kind <> 'OBJECT' then 'not_an_object'"
            " when len(try(json_keys(line))) = 0 then 'empty_object'"
            " end as reason"
            " from (select -line_number as line_number, raw_line as line,"
            f" try(json_type(raw_line)) as kind from {_held(table)}) as held"
        ),
    )


def _snowplow_sql() -> _SourceSql:
    table = EVENT_TABLES["snowplow"]
    values = ", ".join(
        f"nullif(fields[{index}], '')" for index in range(1, SNOWPLOW_FIELD_COUNT + 1)
    )
    return _SourceSql(
        insert=_insert(
            table,
            list(SNOWPLOW_FIELDS),
            values,
            f"len(fields) = {SNOWPLOW_FIELD_COUNT}",
            "(select line_number, line, string_split(line, chr(9)) as fields"
            " from land_stream) as lines",
        ),
        classify=(
            "create or replace temp table land_held as"
            " select -line_number as line_number, raw_line as line,"
            f" 'wrong_field_count' as reason from {_held(table)}"
        ),
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


class _Feed:
    """The file's chunks as a stream of Arrow record batches for one INSERT at a time.

    A stream ends at the end of the file, or early when the lines the reader set aside exceed
    ``rejected_budget`` bytes: they are written between two INSERTs, so memory stays bounded
    even for a file of nothing but bad lines.
    """

    def __init__(self, chunks: Iterable[Chunk], on_chunk: Callable[[Chunk], None]) -> None:
        self.chunks = iter(chunks)
        self.on_chunk = on_chunk
        self.exhausted = False
        self.error: BaseException | None = None
        self.lines = 0
        self.bytes_read = 0
        self.rejected: list[Rejected] = []
        self.rejected_bytes = 0

    def batches(self, rejected_budget: int) -> Iterator[pa.RecordBatch]:
        try:
            for chunk in self.chunks:
                self.lines += chunk.line_count
                self.bytes_read += chunk.bytes_read
                self.rejected.extend(chunk.rejected)
                self.rejected_bytes += sum(len(item.raw_bytes) for item in chunk.rejected)
                yield from chunk.lines.to_batches()
                self.on_chunk(chunk)
                if self.rejected_bytes > rejected_budget:
                    return
            self.exhausted = True
        except BaseException as exc:  # DuckDB would only pass on its text
            self.error = exc
            raise

    def take_rejected(self) -> list[Rejected]:
        taken, self.rejected, self.rejected_bytes = self.rejected, [], 0
        return taken


def land_file(
    con: duckdb.DuckDBPyConnection,
    export: ExportFile,
    content_hash: str,
    size: int,
    chunks: Iterable[Chunk],
    on_chunk: Callable[[Chunk], None] = lambda chunk: None,
    rejected_budget: int = 64 << 20,
) -> LoadCounts:
    """Land every line of one file in one transaction, with its ``raw.loads`` row."""
    sql = SOURCE_SQL[export.source]
    started_at = utc_now()
    con.begin()
    try:
        load_id = con.execute(
            f"select coalesce(max(load_id), 0) + 1 from {RAW_SCHEMA}.loads"
        ).fetchone()[0]
        counts = LoadCounts(load_id=load_id)
        params = {"load_id": load_id, "file_name": str(export.path), "landed_at": started_at}
        feed = _Feed(chunks, on_chunk)
        while not feed.exhausted:
            stream = pa.RecordBatchReader.from_batches(CHUNK_SCHEMA, feed.batches(rejected_budget))
            con.register("land_stream", stream)
            try:
                counts.landed_rows += _count(con.execute(sql.insert, params))
            except duckdb.Error:
                if feed.error is not None:
                    raise feed.error from None
                raise
            finally:
                con.unregister("land_stream")
            counts.rejected_lines += _insert_rejected(con, feed.take_rejected(), params, export)
        _settle_held(con, export, sql, params, counts)
        counts.lines = feed.lines
        counts.bytes_read = feed.bytes_read
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
        con.commit()
    except BaseException:
        con.rollback()
        raise
    return counts


def _settle_held(
    con: duckdb.DuckDBPyConnection,
    export: ExportFile,
    sql: _SourceSql,
    params: dict,
    counts: LoadCounts,
) -> None:
    """Move the held rows with a reason to ``raw.rejected_lines``; give the others back their
    line number."""
    table = EVENT_TABLES[export.source]
    held = {"load_id": params["load_id"]}
    con.execute(sql.classify, held)
    moved = _count(con.execute(_INSERT_HELD_REJECTS, params | {"source": export.source}))
    deleted = _count(
        con.execute(
            f"delete from {_held(table)} and -line_number in"
            " (select line_number from land_held where reason is not null)",
            held,
        )
    )
    con.execute(
        f"update {RAW_SCHEMA}.{table} set line_number = -line_number where "
        "load_id = $load_id and line_number < 0",
        held,
    )
    con.execute("drop table land_held")
    if moved != deleted:
        raise LandingInconsistent(
            f"{export.path}: {moved} lines classified as rejected but {deleted} rows removed;"
            " nothing landed"
        )
    counts.landed_rows -= deleted
    counts.rejected_lines += moved


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
