"""Write the shareable HTML report: the dashboard's headline views in one self-contained file.

`chat-analytics report` reads the published file (``CHAT_ANALYTICS_PUBLISHED``) with the same
queries as the dashboard and writes one HTML file (default ``chat-analytics-report.html`` in
``CHAT_ANALYTICS_REPORTS_DIR``, else ``reports/`` beside the build database): the KPIs with their
change against the previous period, daily trends, the funnel, escalation and containment by
channel, bot version and intent, the CSAT distribution and event health with the last nightly
verdict. Plotly's JavaScript is inline, so the file opens without a network (for example as an
e-mail attachment); it loads nothing from elsewhere. The numbers are also embedded as JSON in
``<script type="application/json" id="report-data">`` for anyone who wants to check them.
"""

from __future__ import annotations

import argparse
import html
import json
import os
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TextIO

import pandas as pd
import plotly.graph_objects as go
import plotly.offline

from chat_analytics import audit, quality_report
from chat_analytics.errors import UsageError
from chat_analytics.serving import charts, queries

REPORT_NAME = "chat-analytics-report.html"
FIGURE_CONFIG = {"displaylogo": False, "responsive": True}
STYLE = """
body{font-family:-apple-system,"Segoe UI",Helvetica,Arial,sans-serif;margin:0;color:#1f2328;
background:#f6f8fa}main{max-width:1180px;margin:0 auto;padding:24px}
h1{font-size:26px;margin:0 0 4px}h2{font-size:20px;margin:32px 0 8px;padding-top:8px;
border-top:1px solid #d0d7de}h3{font-size:16px;margin:18px 0 6px}
.muted{color:#59636e;font-size:13px}.cards{display:grid;
grid-template-columns:repeat(auto-fill,minmax(200px,1fr));gap:10px;margin:14px 0}
.card{background:#fff;border:1px solid #d0d7de;border-radius:8px;padding:10px 14px}
.card .label{font-size:13px;color:#59636e}.card .value{font-size:26px;font-weight:600}
.card .change{font-size:13px}.good{color:#1a7f37}.bad{color:#cf222e}.flat{color:#59636e}
.figure{background:#fff;border:1px solid #d0d7de;border-radius:8px;padding:6px;margin:10px 0}
table{border-collapse:collapse;background:#fff;font-size:13px;margin:8px 0}
th,td{border:1px solid #d0d7de;padding:4px 8px;text-align:left}td.n,th.n{text-align:right}
th{background:#f6f8fa}.verdict{padding:10px 14px;border-radius:8px;margin:10px 0;
font-size:14px}.verdict.ok{background:#dafbe1;border:1px solid #1a7f37}
.verdict.bad{background:#ffebe9;border:1px solid #cf222e}
"""
COLUMN_KINDS = {
    "conversations": "count",
    "engaged": "count",
    "csat_average": "rating",
    "avg_first_response_seconds": "seconds",
    "max_daily_p95_lateness_seconds": "seconds",
}


def default_path() -> Path:
    return quality_report.reports_dir() / REPORT_NAME


# --------------------------------------------------------------------------------------------
# data
# --------------------------------------------------------------------------------------------


def collect(published: queries.Published, filters: queries.Filters, bounds) -> dict:
    """Every view of the report, as DataFrames, from the dashboard's queries."""
    return {
        "kpis": published.kpi_comparison(filters, bounds),
        "trends": published.trends(filters),
        "trends_by_channel": published.trends_by_channel(filters),
        "funnel": published.funnel(filters),
        **{
            f"by_{dimension}": published.breakdown(filters, dimension)
            for dimension in queries.BREAKDOWNS
        },
        "csat": published.csat_distribution(filters),
        "health_sources": published.health_sources(filters),
        "health_daily": published.health_daily(filters),
        "rejections": published.rejections(filters),
    }


def _jsonable(value):
    if charts.missing(value):
        return None
    if isinstance(value, pd.Timestamp | datetime | date):
        return value.strftime("%Y-%m-%d") if isinstance(value, date) else value.isoformat()
    if hasattr(value, "item"):
        return value.item()
    return value


def records(frame: pd.DataFrame) -> list[dict]:
    return [
        {column: _jsonable(value) for column, value in row.items()}
        for row in frame.to_dict(orient="records")
    ]


# --------------------------------------------------------------------------------------------
# HTML
# --------------------------------------------------------------------------------------------


def _cell(column: str, value) -> tuple[str, str]:
    """A table cell's text and class, formatted by the column's naming convention."""
    if charts.missing(value):
        return "n/a", "n"
    if column.endswith("_rate") or column.startswith("conversion_") or column == "csat_score":
        return charts.percent(value), "n"
    kind = COLUMN_KINDS.get(column)
    if kind:
        return charts.format_value(kind, value), "n"
    if isinstance(value, pd.Timestamp):
        return f"{value:%Y-%m-%d}", ""
    if isinstance(value, bool):
        return str(value).lower(), ""
    if isinstance(value, int | float) or hasattr(value, "dtype"):
        number = float(value)
        text = f"{int(number):,}" if number.is_integer() else f"{number:,.2f}"
        return text, "n"
    return str(value), ""


def html_table(frame: pd.DataFrame, columns: list[str] | None = None, table_id: str = "") -> str:
    columns = columns or list(frame.columns)
    head = "".join(f"<th>{html.escape(column.replace('_', ' '))}</th>" for column in columns)
    body = []
    for row in frame.to_dict(orient="records"):
        cells = []
        for column in columns:
            text, css = _cell(column, row[column])
            cells.append(f'<td class="{css}">{html.escape(text)}</td>')
        body.append("<tr>" + "".join(cells) + "</tr>")
    if not body:
        return '<p class="muted">No rows for this period.</p>'
    ident = f' id="{table_id}"' if table_id else ""
    return f"<table{ident}><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def figure_html(figure: go.Figure, div_id: str) -> str:
    body = figure.to_html(
        full_html=False, include_plotlyjs=False, config=FIGURE_CONFIG, div_id=div_id
    )
    return f'<div class="figure">{body}</div>'


def kpi_cards(comparison: pd.DataFrame) -> str:
    cards = []
    for kpi in comparison.itertuples(index=False):
        change = charts.format_change(kpi.kind, kpi.change)
        if change is None:
            change_html = '<div class="change flat">no previous period</div>'
        else:
            better = (kpi.change > 0) == kpi.higher_is_better
            css = "flat" if kpi.change == 0 else ("good" if better else "bad")
            change_html = f'<div class="change {css}">{html.escape(change)} vs previous</div>'
        cards.append(
            f'<div class="card" data-kpi="{kpi.kpi}"><div class="label">'
            f'{html.escape(kpi.label)}</div><div class="value">'
            f"{html.escape(charts.format_value(kpi.kind, kpi.value))}</div>{change_html}</div>"
        )
    return f'<div class="cards" id="kpis">{"".join(cards)}</div>'


def verdict_html(status: queries.NightlyStatus) -> str:
    last = status.last
    if last is None:
        return (
            f'<p class="muted">No nightly history in {html.escape(str(status.directory))}'
            " (set --audit-dir or CHAT_ANALYTICS_AUDIT_DIR to the nightly job's audit folder).</p>"
        )
    started = f"{last['started_at']:%Y-%m-%d %H:%M} UTC" if last.get("started_at") else "?"
    ok = bool(last.get("published"))
    reasons = "".join(f"<li>{html.escape(r)}</li>" for r in last.get("gate_reasons") or [])
    return (
        f'<div class="verdict {"ok" if ok else "bad"}" id="verdict"><strong>'
        f"{'PUBLISHED' if ok else 'NOT PUBLISHED'}</strong> — last nightly run {started}:"
        f" {html.escape(str(last.get('verdict') or ''))} (exit {last.get('exit_code')}; tests"
        f" {last.get('tests_passed', 0)} passed, {last.get('tests_warned', 0)} warned,"
        f" {last.get('tests_failed', 0)} failed)"
        f"{f'<ul>{reasons}</ul>' if reasons else ''}</div>"
    )


def render(
    views: dict,
    filters: queries.Filters,
    bounds: queries.Bounds,
    published: queries.Published,
    status: queries.NightlyStatus,
    generated_at: datetime | None = None,
) -> str:
    generated = generated_at or datetime.now(UTC).replace(tzinfo=None)
    scope = ", ".join(filters.channels) if filters.channels else "all channels"
    previous = filters.previous()
    period = f"{filters.start:%Y-%m-%d} – {filters.end:%Y-%m-%d} ({filters.days} days)"
    compared = (
        f"Changes compare with {previous.start:%Y-%m-%d} – {previous.end:%Y-%m-%d}."
        if bounds.covers(previous)
        else "No changes shown: the period before starts before the first published day"
        f" ({bounds.first_day:%Y-%m-%d})."
    )
    data = {
        "period": {"start": f"{filters.start:%Y-%m-%d}", "end": f"{filters.end:%Y-%m-%d}"},
        "channels": list(filters.channels),
        "published": str(published.path),
        "generated_at": generated.isoformat(timespec="seconds"),
        **{name: records(frame) for name, frame in views.items()},
    }
    payload = json.dumps(data, ensure_ascii=False).replace("</", "<\\/")
    breakdown_columns = ["conversations", "engaged", "escalation_rate", "containment_rate"]
    breakdown_columns += ["abandonment_rate", "resolution_rate", "csat_average", "csat_score"]
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>chat-analytics report {html.escape(period)}</title>",
        f"<style>{STYLE}</style>",
        f'<script type="text/javascript">{plotly.offline.get_plotlyjs()}</script>',
        f'<script type="application/json" id="report-data">{payload}</script>',
        "</head><body><main>",
        "<h1>chat-analytics — conversation report</h1>",
        f'<p class="muted">{html.escape(period)}, {html.escape(scope)}. {html.escape(compared)}'
        f" Published data {bounds.first_day:%Y-%m-%d} – {bounds.last_day:%Y-%m-%d}, file"
        f" {html.escape(str(published.path))} written {published.modified_at():%Y-%m-%d %H:%M}"
        f" UTC; report generated {generated:%Y-%m-%d %H:%M} UTC.</p>",
        verdict_html(status),
        "<h2>Headline KPIs</h2>",
        kpi_cards(views["kpis"]),
        '<p class="muted">Rates are of engaged conversations (CSAT score: of rated ones),'
        " recomputed from the period's counts. Rates change in percentage points (pp).</p>",
        "<h2>Daily trends</h2>",
        figure_html(charts.conversations_trend(views["trends_by_channel"]), "trend-volume"),
        figure_html(charts.rates_trend(views["trends"]), "trend-rates"),
        "<h2>Funnel</h2>",
        figure_html(charts.funnel(views["funnel"]), "funnel"),
        html_table(views["funnel"], table_id="funnel-table"),
        "<h2>Escalation and containment</h2>",
    ]
    for dimension, title in (
        ("channel", "Channel"),
        ("bot_version", "Bot version"),
        ("intent", "First intent"),
    ):
        frame = views[f"by_{dimension}"]
        parts.append(f"<h3>By {title.lower()}</h3>")
        parts.append(
            figure_html(
                charts.breakdown_rates(frame, dimension, f"Escalation and containment by {title}"),
                f"by-{dimension}",
            )
        )
        parts.append(html_table(frame, [dimension, *breakdown_columns], f"by-{dimension}-table"))
    parts += [
        "<h2>Satisfaction (CSAT)</h2>",
        figure_html(charts.csat_distribution(views["csat"]), "csat"),
        "<h2>Event health</h2>",
        '<p class="muted">Event rows by the day they were received (all channels).</p>',
        html_table(views["health_sources"], table_id="health-table"),
        figure_html(charts.landed_by_source(views["health_daily"]), "health-landed"),
        figure_html(charts.rejected_by_source(views["health_daily"]), "health-rejected"),
        figure_html(charts.lateness_by_source(views["health_daily"]), "health-lateness"),
        "<h3>Rejected events by reason</h3>",
        html_table(views["rejections"], table_id="rejections-table"),
        "</main></body></html>",
    ]
    return "\n".join(parts)


def write_report(
    out: str | os.PathLike | None = None,
    *,
    published: str | os.PathLike | None = None,
    start: date | None = None,
    end: date | None = None,
    channels: tuple[str, ...] = (),
    audit_dir: str | os.PathLike | None = None,
) -> tuple[Path, queries.Filters]:
    """Write the report (atomically: a temporary file renamed over the target)."""
    source = queries.Published(published)
    bounds = source.bounds()
    filters = resolve_filters(bounds, start, end, channels)
    views = collect(source, filters, bounds)
    text = render(views, filters, bounds, source, queries.nightly_status(audit_dir))
    target = Path(out) if out else default_path()
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(f".{target.name}.tmp-{os.getpid()}")
        partial.write_text(text, encoding="utf-8")
        os.replace(partial, target)
    except OSError as exc:
        raise UsageError(f"{target}: cannot write the report ({exc}); choose --out") from exc
    return target, filters


def resolve_filters(
    bounds: queries.Bounds, start: date | None, end: date | None, channels: tuple[str, ...]
) -> queries.Filters:
    """The period and channels asked for, else the dashboard's default (the last 7 days)."""
    end = end or (bounds.last_day if start is None else max(start, bounds.last_day))
    start = start or max(bounds.first_day, end - timedelta(days=queries.DEFAULT_DAYS - 1))
    if start > end:
        raise UsageError(f"--start {start} is after --end {end}")
    if end < bounds.first_day or start > bounds.last_day:
        raise UsageError(
            f"{start} – {end} holds no published data: the published file covers"
            f" {bounds.first_day} – {bounds.last_day}"
        )
    unknown = sorted(set(channels) - set(bounds.channels))
    if unknown:
        raise UsageError(
            f"--channel {', '.join(unknown)}: no such channel in the published data"
            f" (there are: {', '.join(bounds.channels)})"
        )
    return queries.Filters(start=start, end=end, channels=tuple(channels))


# --------------------------------------------------------------------------------------------
# command line
# --------------------------------------------------------------------------------------------


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date (YYYY-MM-DD)") from exc


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--out",
        metavar="PATH",
        help=f"the HTML file to write (default: {REPORT_NAME} in $CHAT_ANALYTICS_REPORTS_DIR,"
        " else reports/ beside the build database)",
    )
    parser.add_argument(
        "--start", type=_day, metavar="YYYY-MM-DD", help="first day (default: 7 days before end)"
    )
    parser.add_argument(
        "--end", type=_day, metavar="YYYY-MM-DD", help="last day (default: the last published day)"
    )
    parser.add_argument(
        "--channel",
        action="append",
        default=[],
        metavar="NAME",
        help="only this channel (repeat for several; default: every channel)",
    )
    parser.add_argument(
        "--published",
        metavar="PATH",
        help="the published file (default: $CHAT_ANALYTICS_PUBLISHED)",
    )
    parser.add_argument(
        "--audit-dir",
        metavar="DIR",
        help="audit folder of the nightly job, for the last verdict (default:"
        " $CHAT_ANALYTICS_AUDIT_DIR, else audit/ beside the build database)",
    )


def run(args: argparse.Namespace, stream: TextIO | None = None) -> int:
    out = stream or sys.stdout
    path, filters = write_report(
        args.out,
        published=args.published,
        start=args.start,
        end=args.end,
        channels=tuple(args.channel),
        audit_dir=args.audit_dir or audit.audit_dir(),
    )
    scope = ", ".join(filters.channels) or "all channels"
    print(
        f"report: {path} ({filters.start} – {filters.end}, {scope};"
        f" {path.stat().st_size / 1e6:.1f} MB, opens without a network)",
        file=out,
    )
    return 0
