"""The dashboard: a Streamlit script over the published file (`chat-analytics dashboard`).

Every view comes from :mod:`chat_analytics.serving.queries`, which opens the published file
read-only for each query, so a file `publish` swapped in is shown on the next interaction. Pages:
overview (KPIs with their change against the previous period), daily trends, funnel, escalation
and containment by channel, bot version and intent, CSAT, and event health (landed, rejected and
late rows per source, and the last nightly verdict from the audit history). The sidebar filters
by period and channel; ``?page=<name>`` in the address opens a page directly.
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import streamlit as st

from chat_analytics import audit
from chat_analytics.errors import ChatAnalyticsError
from chat_analytics.serving import charts, queries

PAGES = {
    "overview": "Overview",
    "trends": "Daily trends",
    "funnel": "Funnel",
    "breakdowns": "Escalation & containment",
    "satisfaction": "Satisfaction (CSAT)",
    "health": "Event health",
}
BREAKDOWN_TITLES = {"channel": "Channel", "bot_version": "Bot version", "intent": "First intent"}
RATE_COLUMNS = {
    "escalation_rate": st.column_config.NumberColumn("escalation", format="percent"),
    "containment_rate": st.column_config.NumberColumn("containment", format="percent"),
    "abandonment_rate": st.column_config.NumberColumn("abandonment", format="percent"),
    "resolution_rate": st.column_config.NumberColumn("resolution", format="percent"),
    "engagement_rate": st.column_config.NumberColumn("engagement", format="percent"),
    "csat_score": st.column_config.NumberColumn("CSAT score", format="percent"),
    "csat_average": st.column_config.NumberColumn("CSAT average", format="%.2f"),
    "rejection_rate": st.column_config.NumberColumn("rejection rate", format="percent"),
}


def chart(figure) -> None:
    st.plotly_chart(figure, config={"displaylogo": False})


def table(frame: pd.DataFrame) -> None:
    st.dataframe(frame, hide_index=True, column_config=RATE_COLUMNS)


def period_text(filters: queries.Filters) -> str:
    return f"{filters.start:%Y-%m-%d} – {filters.end:%Y-%m-%d} ({filters.days} days)"


# --------------------------------------------------------------------------------------------
# pages
# --------------------------------------------------------------------------------------------


def overview(published: queries.Published, filters, bounds) -> None:
    comparison = published.kpi_comparison(filters, bounds)
    previous = filters.previous()
    if bounds.covers(previous):
        st.caption(f"Change against the {previous.days} days before: {period_text(previous)}.")
    else:
        st.caption(
            f"No change shown: the {previous.days} days before the period start before the"
            f" first published day ({bounds.first_day:%Y-%m-%d})."
        )
    rows = list(comparison.itertuples(index=False))
    for start in range(0, len(rows), 5):
        columns = st.columns(5)
        for column, kpi in zip(columns, rows[start : start + 5], strict=False):
            column.metric(
                kpi.label,
                charts.format_value(kpi.kind, kpi.value),
                delta=charts.format_change(kpi.kind, kpi.change),
                delta_color="normal" if kpi.higher_is_better else "inverse",
                border=True,
            )
    with st.expander("The numbers behind the cards"):
        st.dataframe(
            comparison[["kpi", "label", "value", "previous", "change"]],
            hide_index=True,
        )
    chart(charts.conversations_trend(published.trends_by_channel(filters)))
    chart(charts.funnel(published.funnel(filters)))


def trends(published: queries.Published, filters, bounds) -> None:
    chart(charts.conversations_trend(published.trends_by_channel(filters)))
    daily = published.trends(filters)
    chart(charts.rates_trend(daily))
    table(daily)


def funnel(published: queries.Published, filters, bounds) -> None:
    steps = published.funnel(filters)
    chart(charts.funnel(steps))
    st.dataframe(
        steps,
        hide_index=True,
        column_config={
            "conversion_from_previous": st.column_config.NumberColumn(
                "conversion from previous", format="percent"
            ),
            "conversion_from_start": st.column_config.NumberColumn(
                "conversion from start", format="percent"
            ),
        },
    )
    st.caption(
        "A conversation reaches a step when it reached the previous one and the step's"
        " milestone happened within the funnel window after it started."
    )


def breakdowns(published: queries.Published, filters, bounds) -> None:
    for dimension, title in BREAKDOWN_TITLES.items():
        frame = published.breakdown(filters, dimension)
        st.subheader(f"By {title.lower()}")
        chart(charts.breakdown_rates(frame, dimension, f"Escalation and containment by {title}"))
        table(frame)


def satisfaction(published: queries.Published, filters, bounds) -> None:
    kpis = published.kpis(filters)
    left, right = st.columns(2)
    left.metric("CSAT average", charts.format_value("rating", kpis["csat_average"]))
    right.metric("CSAT score (rated 4 or 5)", charts.format_value("rate", kpis["csat_score"]))
    distribution = published.csat_distribution(filters)
    chart(charts.csat_distribution(distribution))
    table(distribution)


def health(published: queries.Published, filters, bounds) -> None:
    nightly_verdict(published)
    st.caption(
        f"Event rows by the day they were received, {period_text(filters)}; the channel filter"
        " does not apply here (events are counted before they belong to a conversation)."
    )
    sources = published.health_sources(filters)
    table(sources)
    daily = published.health_daily(filters)
    chart(charts.landed_by_source(daily))
    chart(charts.rejected_by_source(daily))
    chart(charts.lateness_by_source(daily))
    st.subheader("Rejected events by reason")
    table(published.rejections(filters))


def nightly_verdict(published: queries.Published) -> None:
    directory = os.environ.get("CHAT_ANALYTICS_AUDIT_DIR") or audit.audit_dir()
    status = queries.nightly_status(directory)
    st.subheader("Last nightly run")
    last = status.last
    if last is None:
        st.info(
            f"No nightly history in {Path(status.directory) / audit.RUNS_FILE}. Start the"
            " dashboard with --audit-dir (or CHAT_ANALYTICS_AUDIT_DIR) set to the audit folder"
            " of the nightly job."
        )
        return
    started = f"{last['started_at']:%Y-%m-%d %H:%M} UTC" if last.get("started_at") else "?"
    text = f"{started}: {last.get('verdict') or ''} (exit {last.get('exit_code')})"
    if last.get("published"):
        st.success(f"PUBLISHED — {text}")
    else:
        st.error(f"NOT PUBLISHED — {text}")
        for reason in last.get("gate_reasons") or []:
            st.markdown(f"- {reason}")
    cells = st.columns(6)
    for cell, (label, key) in zip(
        cells,
        [
            ("rows landed", "rows_landed"),
            ("rejected lines", "rejected_lines"),
            ("tests passed", "tests_passed"),
            ("tests warned", "tests_warned"),
            ("tests failed", "tests_failed"),
            ("source freshness", "freshness_status"),
        ],
        strict=True,
    ):
        value = last.get(key)
        cell.metric(label, f"{value:,}" if isinstance(value, int) else str(value or "n/a"))
    if last.get("warned_tests"):
        st.warning("Warning tests: " + ", ".join(last["warned_tests"]))
    shown = status.last_published
    when = f"{shown['started_at']:%Y-%m-%d %H:%M} UTC" if shown else "an unrecorded run"
    st.caption(
        f"The numbers shown were published by the nightly run of {when}; the file was written"
        f" {published.modified_at():%Y-%m-%d %H:%M} UTC. History: {status.runs} run(s) in"
        f" {status.directory}."
    )


PAGE_VIEWS = {
    "overview": overview,
    "trends": trends,
    "funnel": funnel,
    "breakdowns": breakdowns,
    "satisfaction": satisfaction,
    "health": health,
}


# --------------------------------------------------------------------------------------------
# the app
# --------------------------------------------------------------------------------------------


def main() -> None:
    st.set_page_config(page_title="chat-analytics", page_icon="💬", layout="wide")
    published = queries.Published()
    try:
        bounds = published.bounds()
    except ChatAnalyticsError as exc:
        st.title("chat-analytics")
        st.error(str(exc))
        return

    requested = st.query_params.get("page")
    pages = list(PAGES)
    page = st.sidebar.radio(
        "Page",
        pages,
        index=pages.index(requested) if requested in PAGES else 0,
        format_func=PAGES.get,
        key="page",
    )
    st.query_params["page"] = page

    default = bounds.default_filters()
    chosen = st.sidebar.date_input(
        "Period (UTC days)",
        value=(default.start, default.end),
        min_value=bounds.first_day,
        max_value=bounds.last_day,
    )
    chosen = tuple(chosen) if isinstance(chosen, list | tuple) else (chosen,)
    start = chosen[0] if chosen else default.start
    end = chosen[1] if len(chosen) > 1 else start
    channels = st.sidebar.multiselect("Channels", bounds.channels, placeholder="All channels")
    filters = queries.Filters(start=start, end=end, channels=tuple(channels))
    st.sidebar.caption(
        f"Published data {bounds.first_day:%Y-%m-%d} – {bounds.last_day:%Y-%m-%d}, read from"
        f" {published.path} (written {published.modified_at():%Y-%m-%d %H:%M} UTC)."
    )

    st.title(PAGES[page])
    scope = ", ".join(filters.channels) if filters.channels else "all channels"
    st.caption(f"{period_text(filters)}, {scope}")
    try:
        PAGE_VIEWS[page](published, filters, bounds)
    except ChatAnalyticsError as exc:
        st.error(str(exc))


main()
