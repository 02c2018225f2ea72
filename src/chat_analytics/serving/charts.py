"""The figures and number formats the dashboard and the HTML report share.

Every function takes a DataFrame from :mod:`chat_analytics.serving.queries` and returns a Plotly
figure (or a string), so both outputs draw the same view the same way.
"""

from __future__ import annotations

import math

import pandas as pd
import plotly.graph_objects as go

RATE_COLORS = {
    "escalation_rate": "#e15759",
    "containment_rate": "#59a14f",
    "abandonment_rate": "#f28e2b",
    "resolution_rate": "#4e79a7",
    "csat_score": "#b07aa1",
    "engagement_rate": "#76b7b2",
}
RATE_LABELS = {
    "escalation_rate": "escalation",
    "containment_rate": "containment",
    "abandonment_rate": "abandonment",
    "resolution_rate": "resolution",
    "csat_score": "CSAT score",
    "engagement_rate": "engagement",
}
SOURCE_COLORS = {"segment": "#4e79a7", "rudderstack": "#f28e2b", "snowplow": "#59a14f"}
PALETTE = ("#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1")
CSAT_COLORS = ("#e15759", "#f28e2b", "#edc948", "#8cd17d", "#59a14f")
FONT = "Source Sans Pro, -apple-system, Segoe UI, Helvetica, Arial, sans-serif"


# --------------------------------------------------------------------------------------------
# numbers
# --------------------------------------------------------------------------------------------


def missing(value) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value))


def format_value(kind: str, value) -> str:
    """A KPI value as shown: counts with separators, rates in percent (one decimal), ratings
    with two decimals, seconds with one."""
    if missing(value):
        return "n/a"
    if kind == "count":
        return f"{int(value):,}"
    if kind == "rate":
        return f"{100 * value:.1f}%"
    if kind == "rating":
        return f"{value:.2f}"
    if kind == "seconds":
        return f"{value:.1f} s"
    return str(value)


def format_change(kind: str, change) -> str | None:
    """The change against the previous period: counts and seconds as differences, rates in
    percentage points; None when there is nothing to compare with."""
    if missing(change):
        return None
    if kind == "count":
        return f"{int(change):+,}"
    if kind == "rate":
        return f"{100 * change:+.1f} pp"
    if kind == "rating":
        return f"{change:+.2f}"
    if kind == "seconds":
        return f"{change:+.1f} s"
    return f"{change:+}"


def percent(value) -> str:
    return "n/a" if missing(value) else f"{100 * value:.1f}%"


# --------------------------------------------------------------------------------------------
# figures
# --------------------------------------------------------------------------------------------


def _layout(fig: go.Figure, title: str, *, height: int = 360, percent_axis: bool = False):
    fig.update_layout(
        title={"text": title, "x": 0, "xanchor": "left", "font": {"size": 16}},
        height=height,
        margin={"l": 10, "r": 10, "t": 50, "b": 10},
        font={"family": FONT, "size": 13},
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.0, "xanchor": "right", "x": 1},
        plot_bgcolor="white",
        paper_bgcolor="white",
        hovermode="x unified",
    )
    fig.update_xaxes(showgrid=False, linecolor="#8c959f")
    fig.update_yaxes(gridcolor="#eaeef2", zeroline=False)
    if percent_axis:
        fig.update_yaxes(tickformat=".0%", rangemode="tozero")
    return fig


def _daily_axis(fig: go.Figure, days) -> go.Figure:
    """Dates as 'Mar 4'; one tick a day when the period is short."""
    fig.update_xaxes(tickformat="%b %-d", hoverformat="%Y-%m-%d")
    if len(set(days)) <= 14:
        fig.update_xaxes(dtick=86_400_000)
    return fig


def conversations_trend(by_channel: pd.DataFrame) -> go.Figure:
    """Conversations per day, stacked by channel."""
    fig = go.Figure()
    for index, channel in enumerate(sorted(by_channel["channel"].unique())):
        rows = by_channel[by_channel["channel"] == channel]
        fig.add_bar(
            x=rows["conversation_date"],
            y=rows["conversations"],
            name=str(channel),
            marker_color=PALETTE[index % len(PALETTE)],
        )
    fig.update_layout(barmode="stack", legend_traceorder="normal")
    _layout(fig, "Conversations per day by channel")
    return _daily_axis(fig, by_channel["conversation_date"])


def rates_trend(trends: pd.DataFrame) -> go.Figure:
    """Escalation, containment, abandonment, resolution and CSAT score per day."""
    fig = go.Figure()
    for column in (
        "escalation_rate",
        "containment_rate",
        "abandonment_rate",
        "resolution_rate",
        "csat_score",
    ):
        fig.add_scatter(
            x=trends["conversation_date"],
            y=trends[column],
            name=RATE_LABELS[column],
            mode="lines+markers",
            line={"color": RATE_COLORS[column], "width": 2},
            hovertemplate="%{y:.1%}",
        )
    _layout(fig, "Rates per day (of engaged conversations; CSAT of rated)", percent_axis=True)
    return _daily_axis(fig, trends["conversation_date"])


def funnel(steps: pd.DataFrame) -> go.Figure:
    """The five steps with conversations and the conversion from the previous step."""
    text = [
        f"{int(count):,} · {percent(conversion)} of previous"
        if number > 1
        else f"{int(count):,} started"
        for number, count, conversion in zip(
            steps["step_number"],
            steps["conversations"],
            steps["conversion_from_previous"],
            strict=True,
        )
    ]
    fig = go.Figure(
        go.Funnel(
            y=steps["step_name"],
            x=steps["conversations"],
            text=text,
            textinfo="text",
            textposition="inside",
            marker={"color": PALETTE[: len(steps)]},
            connector={"fillcolor": "#eaeef2", "line": {"color": "#d0d7de"}},
            hovertemplate="%{y}: %{x:,} conversations<extra></extra>",
        )
    )
    _layout(fig, "Conversation funnel (conversion per step)", height=380)
    fig.update_layout(hovermode="closest")
    return fig


def breakdown_rates(frame: pd.DataFrame, dimension: str, title: str) -> go.Figure:
    """Escalation, containment and abandonment rate per value of a dimension."""
    fig = go.Figure()
    labels = [str(value) for value in frame[dimension]]
    for column in ("escalation_rate", "containment_rate", "abandonment_rate"):
        fig.add_bar(
            x=labels,
            y=frame[column],
            name=RATE_LABELS[column],
            marker_color=RATE_COLORS[column],
            hovertemplate="%{x}: %{y:.1%}<extra>" + RATE_LABELS[column] + "</extra>",
        )
    fig.update_layout(barmode="group")
    _layout(fig, title, percent_axis=True)
    fig.update_layout(hovermode="closest")
    fig.update_xaxes(type="category")
    return fig


def csat_distribution(frame: pd.DataFrame) -> go.Figure:
    """Rated conversations per rating 1-5."""
    fig = go.Figure(
        go.Bar(
            x=[str(rating) for rating in frame["csat_rating"]],
            y=frame["conversations"],
            marker_color=list(CSAT_COLORS[: len(frame)]),
            text=[f"{int(count):,}" for count in frame["conversations"]],
            textposition="outside",
            hovertemplate="rating %{x}: %{y:,} conversations<extra></extra>",
        )
    )
    _layout(fig, "CSAT ratings (latest rating per conversation)")
    fig.update_xaxes(title="rating", type="category")
    fig.update_yaxes(title="conversations")
    fig.update_layout(hovermode="closest")
    return fig


def _by_source(frame: pd.DataFrame, column: str, title: str, *, lines: bool = False):
    fig = go.Figure()
    for index, source in enumerate(sorted(frame["source"].unique())):
        rows = frame[frame["source"] == source]
        color = SOURCE_COLORS.get(source, PALETTE[index % len(PALETTE)])
        if lines:
            fig.add_scatter(
                x=rows["received_date"],
                y=rows[column],
                name=source,
                mode="lines+markers",
                line={"color": color, "width": 2},
            )
        else:
            fig.add_bar(x=rows["received_date"], y=rows[column], name=source, marker_color=color)
    if not lines:
        fig.update_layout(barmode="group")
    _layout(fig, title, height=320)
    return _daily_axis(fig, frame["received_date"])


def landed_by_source(health: pd.DataFrame) -> go.Figure:
    return _by_source(health, "landed_rows", "Landed rows per source and day received")


def rejected_by_source(health: pd.DataFrame) -> go.Figure:
    return _by_source(health, "rejected_rows", "Rejected rows per source and day received")


def lateness_by_source(health: pd.DataFrame) -> go.Figure:
    fig = _by_source(
        health,
        "p95_lateness_seconds",
        "Late arrivals: p95 of received − event time (seconds)",
        lines=True,
    )
    fig.update_yaxes(rangemode="tozero")
    return fig
