"""Publish the marts to BI: write a new file, check it, then swap it in atomically.

`chat-analytics publish` copies every relation of schema ``marts`` from the build database
(``CHAT_ANALYTICS_DB``) into a new DuckDB file beside the published one
(``CHAT_ANALYTICS_PUBLISHED``), checkpoints and closes it, checks it, and renames it over the old
file with one ``os.replace`` — but only when the gate is open: the last ``dbt build`` (its
``run_results.json``) ran after the last landing, built everything, and every error-severity test
passed and every model, seed and snapshot succeeded. Warn-severity tests (status ``warn``) never
block. When the gate is closed the command exits 1, names what failed, and leaves the published
file byte for byte as it was.

The published file holds schema ``marts`` only (no raw, staging, intermediate or audit data, and
no column named like PII) and is written in DuckDB's v1.4.0 storage format, so DuckDB 1.4 clients
read it. A reader that holds the old file open keeps reading it: the rename gives the new file a
new inode and the old one lives until its last reader closes it. New connections see the new file.
"""

from __future__ import annotations

import argparse
import os
import struct
import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

import duckdb

from chat_analytics import config
from chat_analytics import dbt as dbt_runner
from chat_analytics.errors import (
    EXIT_GATE_FAILED,
    ChatAnalyticsError,
    DatabaseLocked,
    UsageError,
)

MARTS_SCHEMA = "marts"
STORAGE_VERSION = "v1.4.0"
"""DuckDB storage format of the published file: the newest one DuckDB 1.4 (LTS) reads."""
STORAGE_VERSION_NUMBER = 67
"""The storage version number in the header of a v1.4.0 file (DuckDB 1.4 reads 64..67)."""

PII_COLUMNS = frozenset(
    {
        "user_id",
        "anonymous_id",
        "message_body",
        "comment",
        "ip",
        "email",
        "request_ip",
        "user_ipaddress",
        "domain_userid",
        "network_userid",
        "raw_line",
        "raw_bytes",
    }
)
"""Column names that never reach the published file (SPEC §4 PII; raw payloads)."""

RUN_RESULTS_ENV = "CHAT_ANALYTICS_RUN_RESULTS"

TEST_TYPES = ("test", "unit_test")
UNIT_TEST_TYPES = {"unit_test"}
TEST_OK = {"pass", "warn"}  # warn = a warn-severity test that failed: reported, not blocking
NODE_OK = {"success", "no-op"}


class GateClosed(ChatAnalyticsError):
    """The quality gate is closed: nothing was published."""

    exit_code = EXIT_GATE_FAILED


# --------------------------------------------------------------------------------------------
# the gate: what the last dbt build says
# --------------------------------------------------------------------------------------------


@dataclass
class NodeOutcome:
    """One node of a dbt run: a test, unit test, model, seed, snapshot or hook."""

    unique_id: str
    resource_type: str
    name: str
    status: str
    severity: str | None = None  # tests: from the manifest when available
    failures: int | None = None
    message: str | None = None
    execution_time: float | None = None

    @property
    def is_test(self) -> bool:
        return self.resource_type in TEST_TYPES

    @property
    def blocks(self) -> bool:
        return self.status not in (TEST_OK if self.is_test else NODE_OK)

    def describe(self) -> str:
        detail = self.status
        if self.failures:
            detail += f", {self.failures} failing row{'s' if self.failures != 1 else ''}"
        text = f"{self.name} ({detail})"
        if self.message and self.status not in ("pass", "success"):
            text += f": {_one_line(self.message)}"
        return text


@dataclass
class Gate:
    """The verdict on one run_results.json: open (publish) or closed, and why."""

    results_path: Path
    reasons: list[str] = field(default_factory=list)
    nodes: list[NodeOutcome] = field(default_factory=list)
    invocation: str | None = None
    databases: set[str] = field(default_factory=set)  # databases the build's relations live in
    started_at: datetime | None = None  # UTC, naive
    generated_at: datetime | None = None  # UTC, naive

    @property
    def is_open(self) -> bool:
        return not self.reasons

    @property
    def tests(self) -> list[NodeOutcome]:
        return [node for node in self.nodes if node.is_test]

    @property
    def tests_passed(self) -> list[NodeOutcome]:
        return [node for node in self.tests if node.status == "pass"]

    @property
    def tests_warned(self) -> list[NodeOutcome]:
        return [node for node in self.tests if node.status == "warn"]

    @property
    def tests_failed(self) -> list[NodeOutcome]:
        """Tests that ran and did not pass (fail, error): these close the gate."""
        return [node for node in self.tests if node.blocks and node.status != "skipped"]

    @property
    def tests_skipped(self) -> list[NodeOutcome]:
        """Tests dbt skipped because something upstream failed: these close the gate too."""
        return [node for node in self.tests if node.status == "skipped"]

    @property
    def nodes_failed(self) -> list[NodeOutcome]:
        """Models, seeds, snapshots and hooks that ended in error (or partial success)."""
        return [n for n in self.nodes if not n.is_test and n.blocks and n.status != "skipped"]

    @property
    def nodes_skipped(self) -> list[NodeOutcome]:
        return [n for n in self.nodes if not n.is_test and n.status == "skipped"]

    def summary(self) -> str:
        parts = [
            f"{len(self.tests_passed)} tests passed",
            f"{len(self.tests_warned)} warned",
            f"{len(self.tests_failed)} failed",
        ]
        if self.tests_skipped:
            parts.append(f"{len(self.tests_skipped)} skipped")
        if self.nodes_failed:
            parts.append(f"{len(self.nodes_failed)} models/seeds failed")
        return ", ".join(parts)


def node_name(unique_id: str) -> str:
    """A node's short name: ``test.pkg.unique_x.1a2b3c`` -> ``unique_x``,
    ``unit_test.pkg.model.case`` -> ``model.case``, ``model.pkg.fct_x`` -> ``fct_x``."""
    parts = unique_id.split(".")
    if parts[0] == "unit_test" and len(parts) >= 4:
        return ".".join(parts[2:])
    if parts[0] == "test" and len(parts) >= 3:
        return parts[2]
    return ".".join(parts[2:]) if len(parts) > 2 else unique_id


def evaluate_run_results(
    run_results: dict,
    results_path: Path,
    *,
    manifest: dict | None = None,
    allow_partial: bool = False,
) -> Gate:
    """Judge a parsed run_results.json (pure: no file system, no database)."""
    gate = Gate(results_path=results_path)
    metadata = run_results.get("metadata") or {}
    args = run_results.get("args") or {}
    gate.invocation = args.get("invocation_command")
    gate.started_at = parse_dbt_time(metadata.get("invocation_started_at"))
    gate.generated_at = parse_dbt_time(metadata.get("generated_at"))

    which = args.get("which")
    if which != "build":
        shown = gate.invocation or (f"dbt {which}" if which else "an unknown dbt command")
        gate.reasons.append(
            f"{results_path} was written by `{shown}`, not by `dbt build`; run `dbt build` first"
        )
    if args.get("empty"):
        gate.reasons.append("the last build ran with --empty: its marts hold no rows")
    if not allow_partial:
        selection = {
            key: args.get(key)
            for key in ("select", "exclude", "selector", "resource_types", "exclude_resource_types")
            if args.get(key)
        }
        # leaving out unit tests (as the nightly does) still builds every model and runs every
        # data test: not partial
        if set(selection.get("exclude_resource_types") or []) <= UNIT_TEST_TYPES:
            selection.pop("exclude_resource_types", None)
        if selection:
            shown = ", ".join(f"{key}={value}" for key, value in selection.items())
            gate.reasons.append(
                f"the last build was partial ({shown}); publish needs a full `dbt build`"
                " (or --allow-partial-build)"
            )

    severities = _test_severities(manifest)
    for result in run_results.get("results") or []:
        unique_id = str(result.get("unique_id") or "?")
        failures = result.get("failures")
        relation = result.get("relation_name")
        if isinstance(relation, str) and relation.count(".") >= 2:
            gate.databases.add(relation.split(".", 1)[0].strip('"'))
        gate.nodes.append(
            NodeOutcome(
                unique_id=unique_id,
                resource_type=unique_id.split(".", 1)[0],
                name=node_name(unique_id),
                status=str(result.get("status") or "unknown").lower(),
                severity=severities.get(unique_id),
                failures=int(failures) if isinstance(failures, int | float) else None,
                message=result.get("message"),
                execution_time=result.get("execution_time"),
            )
        )
    if not gate.nodes:
        gate.reasons.append(f"{results_path} lists no results: the build ran nothing")
    if gate.tests_failed:
        listed = "; ".join(node.describe() for node in gate.tests_failed)
        gate.reasons.append(f"{len(gate.tests_failed)} error-severity test(s) failed: {listed}")
    if gate.nodes_failed:
        listed = "; ".join(f"{node.unique_id} {node.describe()}" for node in gate.nodes_failed)
        gate.reasons.append(f"{len(gate.nodes_failed)} node(s) failed to build: {listed}")
    skipped = gate.nodes_skipped + gate.tests_skipped
    if skipped:
        shown = ", ".join(node.name for node in skipped[:12])
        more = f" and {len(skipped) - 12} more" if len(skipped) > 12 else ""
        gate.reasons.append(
            f"{len(skipped)} node(s) skipped after an upstream failure: {shown}{more}"
        )
    return gate


def read_gate(
    results_path: str | os.PathLike,
    *,
    last_landed_at: datetime | None = None,
    allow_partial: bool = False,
) -> Gate:
    """Judge the run_results.json at ``results_path`` (closed when missing or unreadable).

    ``last_landed_at`` (UTC) is the end of the build database's latest landing: a build that
    started before it did not see that data, so it cannot open the gate.
    """
    path = Path(results_path)
    if not path.is_file():
        return Gate(
            results_path=path,
            reasons=[f"no dbt results at {path}: run `dbt build` before publishing"],
        )
    run_results = dbt_runner.read_artifact(path)
    if run_results is None or not isinstance(run_results.get("results"), list):
        return Gate(results_path=path, reasons=[f"{path} is not a dbt run_results.json"])
    manifest = dbt_runner.read_artifact(path.with_name("manifest.json"))
    gate = evaluate_run_results(run_results, path, manifest=manifest, allow_partial=allow_partial)
    return _with_landing_check(gate, last_landed_at)


def _test_severities(manifest: dict | None) -> dict[str, str]:
    if not manifest:
        return {}
    severities = {}
    for section in ("nodes", "unit_tests"):
        for unique_id, node in (manifest.get(section) or {}).items():
            if unique_id.split(".", 1)[0] in TEST_TYPES:
                severity = ((node.get("config") or {}).get("severity")) or "error"
                severities[unique_id] = str(severity).lower()
    return severities


def parse_dbt_time(value) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(UTC).replace(tzinfo=None)
    return parsed


def _one_line(text: str, limit: int = 300) -> str:
    flat = " ".join(str(text).split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


# --------------------------------------------------------------------------------------------
# publishing
# --------------------------------------------------------------------------------------------


@dataclass
class PublishResult:
    path: Path
    tables: dict[str, int]  # table name -> rows
    gate: Gate
    bytes: int
    storage_version: str = STORAGE_VERSION


def default_run_results() -> Path:
    """``CHAT_ANALYTICS_RUN_RESULTS``, else dbt's target folder of the project."""
    env = os.environ.get(RUN_RESULTS_ENV)
    if env:
        return Path(env)
    return dbt_runner.default_target_path(config.PROJECT_DIR) / dbt_runner.RUN_RESULTS


def publish(
    *,
    db: str | os.PathLike | None = None,
    published: str | os.PathLike | None = None,
    run_results: str | os.PathLike | None = None,
    allow_partial: bool = False,
    gate: Gate | None = None,
) -> PublishResult:
    """Publish the marts if the gate is open; raise :class:`GateClosed` (exit 1) if not.

    ``gate`` lets a caller that has just judged the build (nightly) pass its verdict in; the
    landing-time check is then applied to it here as well.
    """
    source = Path(db) if db else config.db_path()
    target = Path(published) if published else config.published_path()
    results_path = Path(run_results) if run_results else default_run_results()
    if not source.is_file():
        raise UsageError(f"{source}: build database not found (set CHAT_ANALYTICS_DB)")
    if target.resolve() == source.resolve():
        raise UsageError(f"{target}: the published file cannot be the build database")

    con = duckdb.connect()
    try:
        alias = _attach_source(con, source)
        landed = _last_landed_at(con, alias)
        if gate is None:
            gate = read_gate(results_path, last_landed_at=landed, allow_partial=allow_partial)
        else:
            gate = _with_landing_check(gate, landed)
        gate = _with_database_check(gate, source)
        relations = _mart_relations(con, alias)
        if gate.is_open:
            if not relations:
                gate.reasons.append(f"{source} has no relations in schema {MARTS_SCHEMA}")
            for relation, columns in sorted(relations.items()):
                pii = sorted(name for name, _, _ in columns if name.lower() in PII_COLUMNS)
                if pii:
                    gate.reasons.append(
                        f"{MARTS_SCHEMA}.{relation} has PII column(s) {', '.join(pii)}"
                    )
        if not gate.is_open:
            raise GateClosed(_closed_message(gate, target))
        target.parent.mkdir(parents=True, exist_ok=True)
        staging = target.with_name(f".{target.name}.publishing-{os.getpid()}")
        _remove(staging)
        try:
            _write_copy(con, alias, relations, staging)
        except BaseException:
            _remove(staging)
            raise
    finally:
        con.close()

    try:
        tables = _verify(staging, relations)
        size = staging.stat().st_size
        os.chmod(staging, 0o444)
        _fsync(staging)
        stale_wal = Path(f"{target}.wal")
        if stale_wal.exists():
            # A WAL beside the old file belongs to the old file; left there, the next opener
            # would replay it into the new one.
            print(f"publish: removing {stale_wal} (a writer's leftover)", file=sys.stderr)
            stale_wal.unlink()
        os.replace(staging, target)
        _fsync_dir(target.parent)
    except BaseException:
        _remove(staging)
        raise
    return PublishResult(path=target, tables=tables, gate=gate, bytes=size)


def _with_database_check(gate: Gate, source: Path) -> Gate:
    """A build of another database (another CHAT_ANALYTICS_DB) says nothing about this one."""
    others = sorted(name for name in gate.databases if name != source.stem)
    if others:
        gate.reasons.append(
            f"{gate.results_path} describes a build of database {', '.join(others)},"
            f" not of {source} (is CHAT_ANALYTICS_DB the one dbt built?)"
        )
    return gate


def _with_landing_check(gate: Gate, landed: datetime | None) -> Gate:
    build_time = gate.started_at or gate.generated_at
    if landed is not None and build_time is not None and build_time < landed:
        gate.reasons.append(
            f"the last build started at {build_time:%Y-%m-%d %H:%M:%S} UTC, before the last landing"
            f" finished at {landed:%Y-%m-%d %H:%M:%S} UTC: its marts miss that data;"
            " run `dbt build` again"
        )
    return gate


def _closed_message(gate: Gate, target: Path) -> str:
    lines = [f"gate closed, nothing published ({target} unchanged):"]
    lines += [f"  - {reason}" for reason in gate.reasons]
    return "\n".join(lines)


def _sql_string(text: str | os.PathLike) -> str:
    return "'" + str(text).replace("'", "''") + "'"


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _attach_source(con: duckdb.DuckDBPyConnection, source: Path) -> str:
    """Attach the build database read-only under its own name, so its views still resolve."""
    alias = source.stem
    if alias.lower() in {"memory", "system", "temp", "main", "publish_target"}:
        alias = "build_db"
    try:
        con.execute(f"attach {_sql_string(source)} as {_ident(alias)} (read_only)")
    except duckdb.IOException as exc:
        if "lock" in str(exc).lower():
            raise DatabaseLocked(f"{source}: in use by another process ({exc})") from exc
        raise UsageError(f"{source}: cannot open the build database ({exc})") from exc
    return alias


def _last_landed_at(con: duckdb.DuckDBPyConnection, alias: str) -> datetime | None:
    exists = con.execute(
        "select count(*) from duckdb_tables()"
        " where database_name = ? and schema_name = 'raw' and table_name = 'loads'",
        [alias],
    ).fetchone()[0]
    if not exists:
        return None
    value = con.execute(f"select max(finished_at) from {_ident(alias)}.raw.loads").fetchone()[0]
    return value if isinstance(value, datetime) else None


def _mart_relations(
    con: duckdb.DuckDBPyConnection, alias: str
) -> dict[str, list[tuple[str, bool, str | None]]]:
    """Every table and view of schema marts -> [(column, is_nullable, comment)] in order."""
    rows = con.execute(
        """
        select c.table_name, c.column_name, c.is_nullable, c.comment
        from duckdb_columns() as c
        where c.database_name = ? and c.schema_name = ?
        order by c.table_name, c.column_index
        """,
        [alias, MARTS_SCHEMA],
    ).fetchall()
    relations: dict[str, list[tuple[str, bool, str | None]]] = {}
    for table, column, nullable, comment in rows:
        relations.setdefault(table, []).append((column, bool(nullable), comment))
    return relations


def _write_copy(
    con: duckdb.DuckDBPyConnection,
    alias: str,
    relations: dict[str, list[tuple[str, bool, str | None]]],
    staging: Path,
) -> None:
    con.execute(
        f"attach {_sql_string(staging)} as publish_target"
        f" (storage_version {_sql_string(STORAGE_VERSION)})"
    )
    comments = dict(
        con.execute(
            """
            select table_name, comment from duckdb_tables()
            where database_name = ? and schema_name = ? and comment is not null
            union all
            select view_name, comment from duckdb_views()
            where database_name = ? and schema_name = ? and comment is not null
            """,
            [alias, MARTS_SCHEMA, alias, MARTS_SCHEMA],
        ).fetchall()
    )
    con.execute(f"create schema publish_target.{MARTS_SCHEMA}")
    for relation, columns in sorted(relations.items()):
        target = f"publish_target.{MARTS_SCHEMA}.{_ident(relation)}"
        con.execute(
            f"create table {target} as select * from {_ident(alias)}.{MARTS_SCHEMA}."
            f"{_ident(relation)}"
        )
        for column, nullable, comment in columns:
            if not nullable:
                con.execute(f"alter table {target} alter column {_ident(column)} set not null")
            if comment:
                con.execute(
                    f"comment on column {target}.{_ident(column)} is {_sql_string(comment)}"
                )
        if comments.get(relation):
            con.execute(f"comment on table {target} is {_sql_string(comments[relation])}")
    con.execute("checkpoint publish_target")
    con.execute("detach publish_target")


def _verify(staging: Path, relations: dict[str, list]) -> dict[str, int]:
    """Re-open the new file and check it holds exactly the marts, in the v1.4.0 format."""
    if Path(f"{staging}.wal").exists():
        raise ChatAnalyticsError(f"{staging}.wal: the new file was not fully checkpointed")
    header = storage_version_number(staging)
    if header != STORAGE_VERSION_NUMBER:
        raise ChatAnalyticsError(
            f"{staging}: storage version {header}, expected {STORAGE_VERSION_NUMBER}"
        )
    con = duckdb.connect(str(staging), read_only=True)
    try:
        found = con.execute(
            """
            select schema_name, table_name, column_name
            from duckdb_columns() where database_name = current_database()
            """
        ).fetchall()
        schemas = {schema for schema, _, _ in found}
        if schemas - {MARTS_SCHEMA}:
            raise ChatAnalyticsError(f"{staging}: unexpected schemas {sorted(schemas)}")
        pii = sorted({c for _, _, c in found if c.lower() in PII_COLUMNS})
        if pii:
            raise ChatAnalyticsError(f"{staging}: PII columns {pii}")
        tables = {}
        for relation in sorted(relations):
            tables[relation] = con.execute(
                f"select count(*) from {MARTS_SCHEMA}.{_ident(relation)}"
            ).fetchone()[0]
    finally:
        con.close()
    if Path(f"{staging}.wal").exists():
        raise ChatAnalyticsError(f"{staging}.wal: a WAL appeared while checking the new file")
    return tables


def storage_version_number(path: str | os.PathLike) -> int:
    """The storage version in a DuckDB file's header (see DuckDB's storage documentation)."""
    with open(path, "rb") as handle:
        magic, version = struct.Struct("<8x4sQ").unpack(handle.read(20))
    if magic != b"DUCK":
        raise ChatAnalyticsError(f"{path}: not a DuckDB database file")
    return version


def _fsync(path: Path) -> None:
    with open(path, "rb") as handle:
        os.fsync(handle.fileno())


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _remove(path: Path) -> None:
    for candidate in (path, Path(f"{path}.wal")):
        try:
            candidate.unlink()
        except FileNotFoundError:
            pass


# --------------------------------------------------------------------------------------------
# command line
# --------------------------------------------------------------------------------------------


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--run-results",
        metavar="PATH",
        help=f"dbt run_results.json of the last build (default: ${RUN_RESULTS_ENV}, else"
        " $DBT_TARGET_PATH/run_results.json, else <project>/target/run_results.json)",
    )
    parser.add_argument(
        "--allow-partial-build",
        action="store_true",
        help="accept a build that ran with --select/--exclude (default: a full build is required)",
    )


def run(args: argparse.Namespace, stream: TextIO | None = None) -> int:
    out = stream or sys.stdout
    result = publish(run_results=args.run_results, allow_partial=args.allow_partial_build)
    print(report_line(result), file=out)
    return 0


def report_line(result: PublishResult) -> str:
    rows = sum(result.tables.values())
    return (
        f"published {len(result.tables)} tables ({rows:,} rows) to {result.path}"
        f" [DuckDB storage {result.storage_version}]; gate: {result.gate.summary()}"
    )
