"""Every number the dashboard and the HTML report show: one SQL statement per view.

The views read the published file (``CHAT_ANALYTICS_PUBLISHED``) and nothing else, except the
last nightly verdict, which comes from the audit history's JSON lines (the published file holds
marts only). Each call opens the file read-only, runs one statement and closes it again, so a
file that ``publish`` swapped in meanwhile is what the next call reads.

Rates over a period are recomputed from summed counts (escalated / engaged over every day and
channel of the period), never averaged from daily rates; ``csat_average`` is the rating mean
weighted by rated conversations; ``avg_first_response_seconds`` is the mean over the period's
conversations that have one, from ``fct_conversations`` (the daily mart does not carry its
denominator). The change shown beside a KPI compares the period with the period of the same
length just before it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import duckdb
import pandas as pd

from chat_analytics import audit, config
from chat_analytics.errors import DatabaseLocked, UsageError

DEFAULT_DAYS = 7
"""Length of the default period: the last seven days that have data."""

NEEDED_TABLES = (
    "conversation_metrics_daily",
    "conversation_funnel_daily",
    "fct_conversations",
    "event_quality_daily",
    "event_rejections",
)


@dataclass(frozen=True)
class Kpi:
    """One headline number: its column, label, kind (count, rate, rating, seconds) and whether
    a rise is good news (for the colour of its change)."""

    name: str
    label: str
    kind: str
    higher_is_better: bool = True


KPIS = (
    Kpi("conversations", "Conversations", "count"),
    Kpi("engaged", "Engaged", "count"),
    Kpi("escalation_rate", "Escalation rate", "rate", higher_is_better=False),
    Kpi("containment_rate", "Containment rate", "rate"),
    Kpi("abandonment_rate", "Abandonment rate", "rate", higher_is_better=False),
    Kpi("resolution_rate", "Resolution rate", "rate"),
    Kpi("csat_average", "CSAT average", "rating"),
    Kpi("csat_score", "CSAT score", "rate"),
    Kpi(
        "avg_first_response_seconds",
        "Avg first response",
        "seconds",
        higher_is_better=False,
    ),
)

BREAKDOWNS = {
    "channel": "channel",
    "bot_version": "bot_version",
    "intent": "coalesce(first_intent, '(none)')",
}
"""Dimensions of the escalation/containment breakdown -> their expression on fct_conversations."""


@dataclass(frozen=True)
class Filters:
    """The period (inclusive UTC dates) and the channels (empty: every channel)."""

    start: date
    end: date
    channels: tuple[str, ...] = field(default_factory=tuple)

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def previous(self) -> Filters:
        """The period of the same length that ends the day before this one starts."""
        return replace(
            self,
            start=self.start - timedelta(days=self.days),
            end=self.start - timedelta(days=1),
        )

    def params(self) -> dict:
        return {"start": self.start, "end": self.end, "channels": list(self.channels)}


@dataclass(frozen=True)
class Bounds:
    """What the published file covers: first and last conversation date, and the channels."""

    first_day: date
    last_day: date
    channels: tuple[str, ...]

    def default_filters(self, days: int = DEFAULT_DAYS) -> Filters:
        start = max(self.first_day, self.last_day - timedelta(days=days - 1))
        return Filters(start=start, end=self.last_day)

    def covers(self, filters: Filters) -> bool:
        return self.first_day <= filters.start and filters.end <= self.last_day


# --------------------------------------------------------------------------------------------
# the SQL (one statement per view; parameters $start, $end, $channels)
# --------------------------------------------------------------------------------------------

CHANNEL_FILTER = "(len($channels::varchar[]) = 0 or list_contains($channels::varchar[], channel))"

RATES = """
    escalated / nullif(engaged, 0) as escalation_rate,
    contained / nullif(engaged, 0) as containment_rate,
    abandoned / nullif(engaged, 0) as abandonment_rate,
    resolved / nullif(engaged, 0) as resolution_rate,
    rating_sum / nullif(rated, 0) as csat_average,
    satisfied / nullif(rated, 0) as csat_score"""
"""Rates from summed counts; every CTE it follows has the count columns it names."""

DAILY_COUNTS = """
    cast(sum(conversations) as bigint) as conversations,
    cast(sum(engaged_conversations) as bigint) as engaged,
    cast(sum(escalated_conversations) as bigint) as escalated,
    cast(sum(contained_conversations) as bigint) as contained,
    cast(sum(abandoned_conversations) as bigint) as abandoned,
    cast(sum(resolved_conversations) as bigint) as resolved,
    cast(sum(rated_conversations) as bigint) as rated,
    cast(sum(satisfied_conversations) as bigint) as satisfied,
    sum(csat_average * rated_conversations) as rating_sum"""
"""Counts summed over rows of conversation_metrics_daily (csat_average weighted back to a sum)."""

KPI_SQL = f"""
with daily as (
    select * from marts.conversation_metrics_daily
    where conversation_date between $start and $end and {CHANNEL_FILTER}
),
summed as (
    select {DAILY_COUNTS} from daily
),
first_response as (
    select avg(first_response_seconds) as avg_first_response_seconds
    from marts.fct_conversations
    where conversation_date between $start and $end and {CHANNEL_FILTER}
)
select
    coalesce(summed.conversations, 0) as conversations,
    coalesce(summed.engaged, 0) as engaged,
    {RATES},
    first_response.avg_first_response_seconds
from summed cross join first_response
"""

TRENDS_SQL = f"""
with daily as (
    select
        conversation_date,
        {DAILY_COUNTS}
    from marts.conversation_metrics_daily
    where conversation_date between $start and $end and {CHANNEL_FILTER}
    group by conversation_date
)
select
    conversation_date, conversations, engaged,
    engaged / nullif(conversations, 0) as engagement_rate,
    {RATES}
from daily
order by conversation_date
"""

TRENDS_BY_CHANNEL_SQL = f"""
select conversation_date, channel, cast(sum(conversations) as bigint) as conversations
from marts.conversation_metrics_daily
where conversation_date between $start and $end and {CHANNEL_FILTER}
group by conversation_date, channel
order by conversation_date, channel
"""

FUNNEL_SQL = f"""
with steps as (
    select step_number, step_name, cast(sum(conversations) as bigint) as conversations
    from marts.conversation_funnel_daily
    where conversation_date between $start and $end and {CHANNEL_FILTER}
    group by step_number, step_name
)
select
    step_number,
    step_name,
    conversations,
    case
        when step_number = 1 then 1.0
        else conversations / nullif(lag(conversations) over (order by step_number), 0)
    end as conversion_from_previous,
    conversations / nullif(first_value(conversations) over (order by step_number), 0)
        as conversion_from_start
from steps
order by step_number
"""

BREAKDOWN_SQL = """
with conversations as (
    select {expression} as value, *
    from marts.fct_conversations
    where conversation_date between $start and $end and {channel_filter}
),
summed as (
    select
        value,
        count(*) as conversations,
        count(*) filter (where is_engaged) as engaged,
        count(*) filter (where outcome = 'escalated') as escalated,
        count(*) filter (where outcome = 'contained') as contained,
        count(*) filter (where outcome = 'abandoned') as abandoned,
        count(*) filter (where is_engaged and is_resolved) as resolved,
        count(csat_rating) as rated,
        count(*) filter (where is_satisfied) as satisfied,
        sum(csat_rating) as rating_sum
    from conversations
    group by value
)
select value as {dimension}, conversations, engaged, {rates}
from summed
order by conversations desc, {dimension}
"""

CSAT_SQL = f"""
with ratings as (
    select unnest([1, 2, 3, 4, 5]) as csat_rating
),
rated as (
    select csat_rating
    from marts.fct_conversations
    where conversation_date between $start and $end and {CHANNEL_FILTER}
        and csat_rating is not null
)
select ratings.csat_rating, count(rated.csat_rating) as conversations
from ratings left join rated on ratings.csat_rating = rated.csat_rating
group by ratings.csat_rating
order by ratings.csat_rating
"""

HEALTH_DAILY_SQL = """
select
    source, received_date, landed_rows, chat_rows, identity_rows, unmapped_rows,
    duplicate_rows, rejected_rows, id_collisions,
    median_lateness_seconds, p95_lateness_seconds
from marts.event_quality_daily
where received_date between $start and $end
order by received_date, source
"""

HEALTH_SOURCES_SQL = """
with summed as (
    select
        source,
        cast(sum(landed_rows) as bigint) as landed_rows,
        cast(sum(chat_rows) as bigint) as chat_rows,
        cast(sum(identity_rows) as bigint) as identity_rows,
        cast(sum(unmapped_rows) as bigint) as unmapped_rows,
        cast(sum(duplicate_rows) as bigint) as duplicate_rows,
        cast(sum(rejected_rows) as bigint) as rejected_rows,
        cast(sum(id_collisions) as bigint) as id_collisions,
        max(p95_lateness_seconds) as max_daily_p95_lateness_seconds
    from marts.event_quality_daily
    where received_date between $start and $end
    group by source
)
select
    source, landed_rows, chat_rows, identity_rows, unmapped_rows, duplicate_rows,
    rejected_rows, rejected_rows / nullif(landed_rows, 0) as rejection_rate, id_collisions,
    max_daily_p95_lateness_seconds
from summed
order by source
"""

REJECTIONS_SQL = """
select source, reason, count(*) as rejected_rows
from marts.event_rejections
where received_at is null or cast(received_at as date) between $start and $end
group by source, reason
order by rejected_rows desc, source, reason
"""

BOUNDS_SQL = """
select min(conversation_date), max(conversation_date), list(distinct channel order by channel)
from marts.conversation_metrics_daily
"""


# --------------------------------------------------------------------------------------------
# the published file
# --------------------------------------------------------------------------------------------


def missing_message(path: Path) -> str:
    return (
        f"{path}: no published file here. Run `chat-analytics nightly PATH...` (or `dbt build`"
        " then `chat-analytics publish`) first, or point CHAT_ANALYTICS_PUBLISHED at the"
        " published file"
    )


class Published:
    """The published file, opened read-only afresh for every query."""

    def __init__(self, path: str | os.PathLike | None = None):
        self.path = Path(path) if path else config.published_path()

    def connect(self) -> duckdb.DuckDBPyConnection:
        if not self.path.is_file():
            raise UsageError(missing_message(self.path))
        try:
            return duckdb.connect(str(self.path), read_only=True)
        except duckdb.IOException as exc:
            if "lock" in str(exc).lower():
                raise DatabaseLocked(
                    f"{self.path}: held by a writer ({exc}); the published file is only ever"
                    " replaced by `chat-analytics publish`, never written in place: close the"
                    " process that opened it read-write"
                ) from exc
            raise UsageError(f"{self.path}: cannot be opened as DuckDB ({exc})") from exc
        except duckdb.Error as exc:
            raise UsageError(f"{self.path}: cannot be opened as DuckDB ({exc})") from exc

    def frame(self, sql: str, params: dict | None = None) -> pd.DataFrame:
        con = self.connect()
        try:
            return con.execute(sql, params or {}).df()
        finally:
            con.close()

    def check(self) -> None:
        """Raise a UsageError naming the file when it lacks a mart the views read."""
        con = self.connect()
        try:
            present = {
                name
                for (name,) in con.execute(
                    "select table_name from duckdb_tables() where schema_name = 'marts'"
                ).fetchall()
            }
        finally:
            con.close()
        missing = [name for name in NEEDED_TABLES if name not in present]
        if missing:
            raise UsageError(
                f"{self.path}: no marts.{', marts.'.join(missing)}; is this a file written by"
                " `chat-analytics publish`? Run `chat-analytics nightly PATH...` to publish one"
            )

    def modified_at(self) -> datetime:
        """When the current file was published (its modification time, UTC)."""
        stamp = self.path.stat().st_mtime
        return datetime.fromtimestamp(stamp, UTC).replace(tzinfo=None)

    # views ------------------------------------------------------------------------------

    def bounds(self) -> Bounds:
        self.check()
        con = self.connect()
        try:
            first, last, channels = con.execute(BOUNDS_SQL).fetchone()
        finally:
            con.close()
        if first is None:
            raise UsageError(
                f"{self.path}: marts.conversation_metrics_daily has no rows; land and build"
                " some exports, then publish again"
            )
        return Bounds(first_day=first, last_day=last, channels=tuple(channels))

    def kpis(self, filters: Filters) -> dict:
        """The KPIs of a period (None for a rate whose denominator is 0)."""
        con = self.connect()
        try:
            cursor = con.execute(KPI_SQL, filters.params())
            names = [column[0] for column in cursor.description]
            row = dict(zip(names, cursor.fetchone(), strict=True))
        finally:
            con.close()
        return {kpi.name: row[kpi.name] for kpi in KPIS}

    def kpi_comparison(self, filters: Filters, bounds: Bounds) -> pd.DataFrame:
        """One row per KPI: value, previous period's value and the change (when the previous
        period lies wholly inside the published data; else previous and change are empty)."""
        current = self.kpis(filters)
        previous_filters = filters.previous()
        previous = self.kpis(previous_filters) if bounds.covers(previous_filters) else {}
        rows = []
        for kpi in KPIS:
            value, before = current[kpi.name], previous.get(kpi.name)
            change = None if value is None or before is None else value - before
            rows.append(
                {
                    "kpi": kpi.name,
                    "label": kpi.label,
                    "kind": kpi.kind,
                    "higher_is_better": kpi.higher_is_better,
                    "value": value,
                    "previous": before,
                    "change": change,
                }
            )
        return pd.DataFrame(rows, dtype=object)  # counts stay integers beside the rates

    def trends(self, filters: Filters) -> pd.DataFrame:
        return self.frame(TRENDS_SQL, filters.params())

    def trends_by_channel(self, filters: Filters) -> pd.DataFrame:
        return self.frame(TRENDS_BY_CHANNEL_SQL, filters.params())

    def funnel(self, filters: Filters) -> pd.DataFrame:
        return self.frame(FUNNEL_SQL, filters.params())

    def breakdown(self, filters: Filters, dimension: str) -> pd.DataFrame:
        """Conversations, engaged and rates by channel, bot_version or intent (first intent)."""
        sql = BREAKDOWN_SQL.format(
            expression=BREAKDOWNS[dimension],
            channel_filter=CHANNEL_FILTER,
            dimension=dimension,
            rates=RATES,
        )
        return self.frame(sql, filters.params())

    def csat_distribution(self, filters: Filters) -> pd.DataFrame:
        return self.frame(CSAT_SQL, filters.params())

    def health_daily(self, filters: Filters) -> pd.DataFrame:
        """event_quality_daily for the received days of the period (channels do not apply)."""
        return self.frame(HEALTH_DAILY_SQL, {"start": filters.start, "end": filters.end})

    def health_sources(self, filters: Filters) -> pd.DataFrame:
        return self.frame(HEALTH_SOURCES_SQL, {"start": filters.start, "end": filters.end})

    def rejections(self, filters: Filters) -> pd.DataFrame:
        return self.frame(REJECTIONS_SQL, {"start": filters.start, "end": filters.end})


# --------------------------------------------------------------------------------------------
# the last nightly verdict (audit history)
# --------------------------------------------------------------------------------------------


@dataclass
class NightlyStatus:
    """The latest nightly run and the latest one that published, from the audit JSON lines."""

    directory: Path
    last: dict | None
    last_published: dict | None
    runs: int


def nightly_status(directory: str | os.PathLike | None = None) -> NightlyStatus:
    """Read ``nightly_runs.jsonl`` in the audit folder (``CHAT_ANALYTICS_AUDIT_DIR``, else
    ``audit/`` beside the build database); an absent file gives an empty status."""
    folder = Path(directory) if directory else audit.audit_dir()
    history = audit.read_history(folder)
    published = [run for run in history if run.get("published")]
    return NightlyStatus(
        directory=folder,
        last=history[-1] if history else None,
        last_published=published[-1] if published else None,
        runs=len(history),
    )
