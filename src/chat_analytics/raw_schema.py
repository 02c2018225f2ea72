"""The landing contract: DDL of the `raw` schema that `land` writes and dbt's sources read.

Every raw table carries lineage columns — ``load_id`` (a row of ``raw.loads``; increasing in
landing order), ``file_name``, ``line_number`` (1-based), ``landed_at`` (UTC) — and ``raw_line``,
the original line as text. Envelope scalars land as VARCHAR exactly as sent (timestamps
included: staging parses them and rejects what does not parse; a JSON number or object sent
where a string was expected lands as its JSON text), nested objects as JSON (NULL when the key
is absent or null). Snowplow's 131 fields land as VARCHAR, an empty field as NULL.
All ``*_at`` columns are UTC ``timestamp`` (without time zone); ``file_name`` and
``raw.loads.path`` are absolute paths.

Every line of a landed file is in exactly one place: a row of its source's events table or a
row of ``raw.rejected_lines``. Per file, ``raw.loads.lines = landed_rows + rejected_lines``.
"""

from __future__ import annotations

from chat_analytics.formats import (
    RUDDERSTACK_OBJECTS,
    RUDDERSTACK_SCALARS,
    SEGMENT_OBJECTS,
    SEGMENT_SCALARS,
    SNOWPLOW_FIELDS,
)

RAW_SCHEMA = "raw"
LINEAGE_COLUMNS = {
    "load_id": "bigint not null",
    "file_name": "varchar not null",
    "line_number": "bigint not null",
    "landed_at": "timestamp not null",
}
EVENT_TABLES = {
    "segment": "segment_events",
    "rudderstack": "rudderstack_events",
    "snowplow": "snowplow_events",
}


RAW_LINE = "varchar not null"


def _json_source_columns(scalars: dict[str, str], objects: dict[str, str]) -> dict[str, str]:
    columns = dict(LINEAGE_COLUMNS)
    columns.update({name: "varchar" for name in scalars})
    columns.update({name: "json" for name in objects})
    columns["raw_line"] = RAW_LINE
    return columns


def _snowplow_columns() -> dict[str, str]:
    columns = dict(LINEAGE_COLUMNS)
    # All 131 fields as text; an empty field is NULL. contexts / unstruct_event /
    # derived_contexts stay text too, so a malformed one is kept as sent, not lost.
    columns.update({name: "varchar" for name in SNOWPLOW_FIELDS})
    columns["raw_line"] = RAW_LINE
    return columns


TABLE_COLUMNS: dict[str, dict[str, str]] = {
    "segment_events": _json_source_columns(SEGMENT_SCALARS, SEGMENT_OBJECTS),
    "rudderstack_events": _json_source_columns(RUDDERSTACK_SCALARS, RUDDERSTACK_OBJECTS),
    "snowplow_events": _snowplow_columns(),
    "loads": {
        "load_id": "bigint primary key",
        "source": "varchar not null",
        "path": "varchar not null",
        "content_hash": "varchar not null",  # sha256 of the file's bytes as stored (gz: compressed)
        "bytes": "bigint not null",
        "lines": "bigint not null",
        "landed_rows": "bigint not null",
        "rejected_lines": "bigint not null",
        # 'landed': a file that cannot be read rolls back and leaves no row (it is retried).
        "status": "varchar not null",
        "started_at": "timestamp not null",
        "finished_at": "timestamp not null",
    },
    "rejected_lines": {
        "load_id": "bigint not null",
        "source": "varchar not null",
        "file_name": "varchar not null",
        "line_number": "bigint not null",
        # invalid_utf8 | invalid_json | not_an_object | empty_object | wrong_field_count
        "reason": "varchar not null",
        "raw_line": "varchar not null",  # the line as text (invalid UTF-8 bytes replaced)
        "raw_bytes": "blob not null",  # the line exactly as read, without its newline
        "landed_at": "timestamp not null",
    },
}

REJECTION_REASONS = (
    "invalid_utf8",
    "invalid_json",
    "not_an_object",
    "empty_object",
    "wrong_field_count",
)


# A database file written with this storage version (readable by DuckDB 1.2 and later) can
# compress text with zstd. `land` creates new build databases with it.
STORAGE_VERSION = "v1.2.0"

# Every process that writes the build database (landing, dbt through its profile, the audit
# history) checkpoints with DuckDB's vacuum off: a vacuum rewrites the row groups a table's
# appends and deletes left partly filled, and at any checkpoint it does so for every table of the
# file, whichever process left them. That rewrite is done by `chat-analytics compact`, on its own
# and timed, which the nightly job runs after publishing, once a week (DECISIONLOG D51).
NO_VACUUM = "set max_vacuum_tasks = 0"
_ZSTD_TEXT_SINCE = (1, 2, 0)


def create_table_sql(table: str, zstd: bool = False) -> str:
    """DDL of one raw table. With ``zstd`` the long text of the events tables (the original
    line, and the JSON objects of Segment and RudderStack) is stored with zstd: it compresses
    two to four times better than with DuckDB's default string methods, and costs less to
    write. Only for databases whose storage version has zstd for text (see
    :func:`supports_zstd_text`); an older file would store such columns uncompressed.
    """
    kinds = dict(TABLE_COLUMNS[table])
    if zstd and table in EVENT_TABLES.values():
        for name, kind in kinds.items():
            if name == "raw_line" or kind == "json":
                kinds[name] = f"{kind} using compression zstd"
    columns = ",\n    ".join(f'"{name}" {kind}' for name, kind in kinds.items())
    return f"create table if not exists {RAW_SCHEMA}.{table} (\n    {columns}\n)"


def supports_zstd_text(con) -> bool:
    """Whether the connection's database file was written with a storage version that has
    zstd compression for text (v1.2.0 or later)."""
    row = con.execute(
        "select tags['storage_version'] from duckdb_databases()"
        " where database_name = current_database()"
    ).fetchone()
    version = (row[0] if row else None) or ""
    numbers = version.lstrip("v").rstrip("+").split(".")
    try:
        return tuple(int(part) for part in numbers) >= _ZSTD_TEXT_SINCE
    except ValueError:
        return False


def ensure_raw_schema(con) -> None:
    """Create the raw schema and its tables if they do not exist (idempotent)."""
    con.execute(f"create schema if not exists {RAW_SCHEMA}")
    zstd = supports_zstd_text(con)
    for table in TABLE_COLUMNS:
        con.execute(create_table_sql(table, zstd=zstd))
