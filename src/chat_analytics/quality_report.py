"""The nightly quality report: one self-contained HTML file for the on-call person.

It shows the night's verdict (published or not, and why), every test's result, what landed and
what was rejected per source and day, duplicates and late arrivals, the lateness distribution,
and trends over the audit history. Charts are inline SVG drawn here; the file has no scripts,
no stylesheets or fonts from elsewhere and opens without a network.

Sources: the run itself (from `nightly`), ``marts.event_quality_daily`` and
``marts.event_rejections``, ``raw.loads`` and ``raw.rejected_lines``, the event-level
``intermediate.int_events_unioned`` for lateness, and the audit history. A section whose source
is missing (a failed build, an empty warehouse) says so instead of failing the report.
"""

from __future__ import annotations

import html
import math
import os
from collections.abc import Iterable, Sequence
from dataclasses import asdict, is_dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb

from chat_analytics import config

DAYS_SHOWN = 30
HISTORY_SHOWN = 60

CLASS_COLORS = {
    "chat": "#4e79a7",
    "identity": "#59a14f",
    "unmapped": "#b07aa1",
    "duplicate": "#f28e2b",
    "rejected": "#e15759",
}
SOURCE_COLORS = {"segment": "#4e79a7", "rudderstack": "#f28e2b", "snowplow": "#59a14f"}
FALLBACK_COLORS = ("#76b7b2", "#edc948", "#ff9da7", "#9c755f", "#bab0ac")
STATUS_ORDER = {"fail": 0, "error": 0, "skipped": 1, "runtime error": 0, "warn": 2, "pass": 3}
LATENESS_BUCKETS = (
    ("< 0 s", None, 0),
    ("0–1 s", 0, 1),
    ("1–10 s", 1, 10),
    ("10 s–1 min", 10, 60),
    ("1–10 min", 60, 600),
    ("10 min–1 h", 600, 3600),
    ("1–6 h", 3600, 21600),
    ("6–24 h", 21600, 86400),
    ("1–7 days", 86400, 604800),
    ("≥ 7 days", 604800, None),
)


def reports_dir() -> Path:
    """``CHAT_ANALYTICS_REPORTS_DIR``, else ``reports/`` beside the build database."""
    env = os.environ.get("CHAT_ANALYTICS_REPORTS_DIR")
    return Path(env) if env else config.db_path().parent / "reports"


# --------------------------------------------------------------------------------------------
# data
# --------------------------------------------------------------------------------------------


def _as_dict(item) -> dict:
    if isinstance(item, dict):
        return dict(item)
    if is_dataclass(item):
        return asdict(item)
    return dict(vars(item))


def collect_warehouse(db: str | os.PathLike | None, run_load_ids: Sequence[int] = ()) -> dict:
    """Everything the report reads from the build database (read-only); notes for what is not."""
    database = Path(db) if db else config.db_path()
    data: dict = {"notes": []}
    if not database.is_file():
        data["notes"].append(f"{database}: no build database; warehouse sections are empty")
        return data
    try:
        con = duckdb.connect(str(database), read_only=True)
    except duckdb.Error as exc:
        data["notes"].append(f"{database}: could not be opened ({exc})")
        return data
    try:
        tables = {
            f"{schema}.{name}"
            for schema, name in con.execute(
                "select schema_name, table_name from duckdb_tables()"
                " union all select schema_name, view_name from duckdb_views() where not internal"
            ).fetchall()
        }
        loads = list(run_load_ids)
        queries = {
            "quality": (
                "marts.event_quality_daily",
                f"""
                with days as (
                    select distinct received_date from marts.event_quality_daily
                    order by received_date desc limit {DAYS_SHOWN}
                )
                select source, received_date, landed_rows, chat_rows, identity_rows,
                    unmapped_rows, duplicate_rows, rejected_rows, id_collisions,
                    median_lateness_seconds, p95_lateness_seconds
                from marts.event_quality_daily
                where received_date in (select received_date from days)
                order by received_date, source
                """,
            ),
            "rejections": (
                "marts.event_rejections",
                "select source, reason, count(*) as rows from marts.event_rejections"
                " group by all order by rows desc, source, reason",
            ),
            "loads_daily": (
                "raw.loads",
                f"""
                with days as (
                    select distinct cast(started_at as date) as landed_date from raw.loads
                    order by landed_date desc limit {DAYS_SHOWN}
                )
                select source, cast(started_at as date) as landed_date, count(*) as files,
                    sum(lines) as lines, sum(landed_rows) as landed_rows,
                    sum(rejected_lines) as rejected_lines
                from raw.loads
                where cast(started_at as date) in (select landed_date from days)
                group by all order by landed_date, source
                """,
            ),
            "run_loads": (
                "raw.loads",
                "select load_id, source, path, lines, landed_rows, rejected_lines from raw.loads"
                f" where load_id in ({', '.join(str(int(i)) for i in loads) or 'null'})"
                " order by load_id",
            ),
            "rejected_lines": (
                "raw.rejected_lines",
                "select source, reason, count(*) as total,"
                " count(*) filter (where load_id in"
                f" ({', '.join(str(int(i)) for i in loads) or 'null'})) as tonight"
                " from raw.rejected_lines group by all order by total desc, source, reason",
            ),
            "late": (
                "intermediate.int_events_unioned",
                f"""
                with days as (
                    select distinct received_date from intermediate.int_events_unioned
                    order by received_date desc limit {DAYS_SHOWN}
                )
                select source, received_date,
                    count(*) filter (where cast(event_at as date) < received_date) as late_rows,
                    count(*) filter (
                        where received_at - event_at > interval 1 hour
                    ) as over_an_hour_rows,
                    count(*) as rows
                from intermediate.int_events_unioned
                where event_class in ('chat', 'identity', 'unmapped')
                    and received_date in (select received_date from days)
                group by all order by received_date, source
                """,
            ),
            "lateness": (
                "intermediate.int_events_unioned",
                f"""
                with lateness as (
                    select source,
                        (epoch_ms(received_at) - epoch_ms(event_at)) / 1000.0 as seconds
                    from intermediate.int_events_unioned
                    where event_class in ('chat', 'identity', 'unmapped')
                        and received_at is not null and event_at is not null
                )
                select source, {_bucket_case("seconds")} as bucket, count(*) as rows
                from lateness group by all
                """,
            ),
        }
        for key, (needs, sql) in queries.items():
            if needs not in tables:
                data["notes"].append(f"{needs} is missing: no {key.replace('_', ' ')} section")
                continue
            try:
                cursor = con.execute(sql)
                names = [column[0] for column in cursor.description]
                data[key] = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
            except duckdb.Error as exc:
                data["notes"].append(f"{needs}: could not be read ({_short(str(exc))})")
    finally:
        con.close()
    return data


def _bucket_case(column: str) -> str:
    parts = []
    for index, (_, _low, high) in enumerate(LATENESS_BUCKETS):
        if high is None:
            parts.append(f"else {index}")
        else:
            parts.append(f"when {column} < {high} then {index}")
    return "case " + " ".join(parts) + " end"


# --------------------------------------------------------------------------------------------
# inline SVG charts
# --------------------------------------------------------------------------------------------


def _nice_step(span: float, ticks: int = 4, integer: bool = False) -> float:
    if span <= 0:
        return 1.0
    raw = span / ticks
    if integer and raw <= 1:
        return 1.0
    magnitude = 10 ** math.floor(math.log10(raw))
    for factor in (1, 2, 2.5, 5, 10):
        if integer and factor * magnitude != int(factor * magnitude):
            continue
        if factor * magnitude >= raw:
            return factor * magnitude
    return 10 * magnitude


def _fmt(value) -> str:
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if math.isnan(value):
            return "–"
        if abs(value) >= 100:
            return f"{value:,.0f}"
        if abs(value) >= 1:
            return f"{value:,.1f}"
        return f"{value:.3g}"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def _axis_label(value: float) -> str:
    if value >= 1_000_000:
        return f"{value / 1_000_000:g}M"
    if value >= 1000:
        return f"{value / 1000:g}k"
    return f"{value:g}"


def _label_stride(count: int, room: int = 12) -> int:
    return max(1, math.ceil(count / room))


def _legend(series: Sequence[tuple[str, str]], x: float, y: float) -> str:
    parts, offset = [], 0.0
    for name, color in series:
        parts.append(
            f'<rect x="{x + offset:.1f}" y="{y - 9:.1f}" width="10" height="10" fill="{color}"/>'
            f'<text x="{x + offset + 14:.1f}" y="{y:.1f}">{html.escape(name)}</text>'
        )
        offset += 30 + 6.5 * len(name)
    return "".join(parts)


def svg_bars(
    labels: Sequence[str],
    series: Sequence[tuple[str, Sequence[float | None], str]],
    *,
    title: str,
    stacked: bool = True,
    width: int = 760,
    height: int = 240,
    unit: str = "",
    integer: bool = True,
) -> str:
    """A bar chart (stacked, or grouped side by side) as an inline SVG element."""
    left, right, top, bottom = 58, 12, 48, 30
    plot_w, plot_h = width - left - right, height - top - bottom
    n = max(len(labels), 1)
    values = [[v or 0 for v in values] for _, values, _ in series]
    if stacked:
        peak = max((sum(column) for column in zip(*values, strict=True)), default=0)
    else:
        peak = max((max(column, default=0) for column in values), default=0)
    step = _nice_step(peak, integer=integer)
    top_value = step * max(1, math.ceil(peak / step)) if peak > 0 else 1
    slot = plot_w / n
    bar_w = slot * 0.78 / (1 if stacked else max(len(series), 1))
    parts = [_svg_open(width, height, title), _legend([(s[0], s[2]) for s in series], left, 36)]
    parts.append(_y_axis(left, top, plot_w, plot_h, top_value, step))
    for index, label in enumerate(labels):
        x0 = left + index * slot + slot * 0.11
        base = 0.0
        for series_index, (name, _, color) in enumerate(series):
            value = values[series_index][index]
            h = plot_h * value / top_value
            if stacked:
                x, y = x0, top + plot_h - plot_h * (base + value) / top_value
                base += value
            else:
                x, y = x0 + series_index * bar_w, top + plot_h - h
            if value:
                tip = f"{label} · {name}: {_fmt(value)}{unit}"
                parts.append(
                    f'<rect x="{x:.1f}" y="{y:.1f}" width="{max(bar_w, 1):.1f}" height="{h:.1f}"'
                    f' fill="{color}"><title>{html.escape(tip)}</title></rect>'
                )
    parts.append(_x_labels(labels, left, top + plot_h, slot))
    parts.append("</svg>")
    return "".join(parts)


DURATION_TICKS = (
    (0, "0"),
    (1, "1 s"),
    (10, "10 s"),
    (60, "1 min"),
    (600, "10 min"),
    (3600, "1 h"),
    (86400, "1 day"),
    (604800, "1 week"),
    (2592000, "30 days"),
)


def svg_lines(
    labels: Sequence[str],
    series: Sequence[tuple[str, Sequence[float | None], str]],
    *,
    title: str,
    width: int = 760,
    height: int = 240,
    unit: str = "",
    integer: bool = False,
    durations: bool = False,
) -> str:
    """A line chart (gaps where a value is missing) as an inline SVG element.

    ``durations``: values are seconds, drawn on a log scale (log10(1 + s)) with time ticks, so
    that one late day does not flatten every other.
    """
    left, right, top, bottom = 58, 12, 48, 30
    plot_w, plot_h = width - left - right, height - top - bottom
    n = max(len(labels), 1)
    known = [v for _, values, _ in series for v in values if v is not None]
    peak = max(known, default=0)
    if durations:
        ticks = [t for t in DURATION_TICKS if t[0] <= max(peak, 1)]
        ticks = DURATION_TICKS[: len(ticks) + 1]

        def scale(value: float) -> float:
            return math.log10(1 + max(value, 0))

        top_value = scale(ticks[-1][0])
    else:
        step = _nice_step(peak, integer=integer)
        top_value = step * max(1, math.ceil(peak / step)) if peak > 0 else 1

        def scale(value: float) -> float:
            return max(value, 0)

    slot = plot_w / n
    parts = [_svg_open(width, height, title), _legend([(s[0], s[2]) for s in series], left, 36)]
    if durations:
        for seconds, label in ticks:
            y = top + plot_h - plot_h * scale(seconds) / top_value
            parts.append(
                f'<line x1="{left}" y1="{y:.1f}" x2="{left + plot_w}" y2="{y:.1f}" class="grid"/>'
                + (
                    f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">{label}</text>'
                    if seconds
                    else ""
                )
            )
    else:
        parts.append(_y_axis(left, top, plot_w, plot_h, top_value, step))
    for name, values, color in series:
        run: list[str] = []
        for index, value in enumerate(values):
            if value is None:
                if len(run) > 1:
                    parts.append(_polyline(run, color))
                run = []
                continue
            x = left + (index + 0.5) * slot
            y = top + plot_h - plot_h * scale(value) / top_value
            run.append(f"{x:.1f},{y:.1f}")
            tip = f"{labels[index]} · {name}: {_fmt(value)}{unit}"
            parts.append(
                f'<circle cx="{x:.1f}" cy="{y:.1f}" r="2.5" fill="{color}">'
                f"<title>{html.escape(tip)}</title></circle>"
            )
        if len(run) > 1:
            parts.append(_polyline(run, color))
    parts.append(_x_labels(labels, left, top + plot_h, slot))
    parts.append("</svg>")
    return "".join(parts)


def _svg_open(width: int, height: int, title: str) -> str:
    return (
        f'<svg class="chart" viewBox="0 0 {width} {height}"'
        f' width="{width}" height="{height}" role="img" aria-label="{html.escape(title)}">'
        f"<title>{html.escape(title)}</title>"
        f'<text x="8" y="16" class="title">{html.escape(title)}</text>'
    )


def _polyline(points: list[str], color: str) -> str:
    return f'<polyline points="{" ".join(points)}" fill="none" stroke="{color}" stroke-width="2"/>'


def _y_axis(left: float, top: float, plot_w: float, plot_h: float, top_value, step) -> str:
    parts = []
    ticks = round(top_value / step)
    for tick in range(ticks + 1):
        value = tick * step
        y = top + plot_h - plot_h * value / top_value
        parts.append(
            f'<line x1="{left}" y1="{y:.1f}" x2="{left + plot_w}" y2="{y:.1f}" class="grid"/>'
            f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">{_axis_label(value)}</text>'
        )
    return "".join(parts)


def _x_labels(labels: Sequence[str], left: float, baseline: float, slot: float) -> str:
    stride = _label_stride(len(labels))
    parts = [f'<line x1="{left}" y1="{baseline}" x2="{left + slot * len(labels)}"'
             f' y2="{baseline}" class="axis"/>']  # fmt: skip
    for index, label in enumerate(labels):
        if index % stride:
            continue
        x = left + (index + 0.5) * slot
        parts.append(
            f'<text x="{x:.1f}" y="{baseline + 16}" text-anchor="middle">'
            f"{html.escape(label)}</text>"
        )
    return "".join(parts)


# --------------------------------------------------------------------------------------------
# HTML
# --------------------------------------------------------------------------------------------

STYLE = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1f2328;
margin:0;background:#f6f8fa}
main{max-width:1080px;margin:0 auto;padding:24px}
h1{font-size:22px;margin:0 0 4px}
h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #d0d7de;padding-bottom:4px}
h3{font-size:15px;margin:18px 0 6px}
.muted{color:#59636e}.verdict{border-radius:8px;padding:14px 18px;margin:16px 0;font-size:16px}
.ok{background:#dafbe1;border:1px solid #4ac26b}.bad{background:#ffebe9;border:1px solid #ff8182}
.cards{display:flex;flex-wrap:wrap;gap:10px}.card{background:#fff;border:1px solid #d0d7de;
border-radius:8px;padding:10px 14px;min-width:120px}.card b{display:block;font-size:20px}
table{border-collapse:collapse;background:#fff;margin:6px 0;font-size:13px}
th,td{border:1px solid #d0d7de;padding:4px 8px;text-align:left;vertical-align:top}
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}
.s-pass,.s-success{color:#1a7f37}.s-warn{color:#9a6700;font-weight:600}
.s-fail,.s-error,.s-skipped,.s-runtime{color:#cf222e;font-weight:600}
svg.chart{background:#fff;border:1px solid #d0d7de;border-radius:6px;max-width:100%;height:auto}
svg.chart text{font-size:11px;fill:#59636e}svg.chart text.title{font-size:13px;fill:#1f2328;
font-weight:600}svg.chart .grid{stroke:#eaeef2}
svg.chart .axis{stroke:#8c959f}details{margin:6px 0}code{font-size:12px}
ul.reasons li{margin:4px 0}
"""


def _table(rows: Iterable[dict], columns: Sequence[tuple[str, str]], *, status_col=None) -> str:
    numeric = ("rows", "lines", "files", "count", "seconds", "collisions", "tonight", "total")
    head = "".join(
        f'<th class="{"n" if key.endswith(numeric) else ""}">{html.escape(title)}</th>'
        for key, title in columns
    )
    body = []
    for row in rows:
        cells = []
        for key, _ in columns:
            value = row.get(key)
            css = "n" if isinstance(value, int | float) and not isinstance(value, bool) else ""
            if key == status_col and value:
                css = f"s-{str(value).split()[0]}"
            cells.append(f'<td class="{css}">{html.escape(_fmt(value))}</td>')
        body.append("<tr>" + "".join(cells) + "</tr>")
    if not body:
        return '<p class="muted">No rows.</p>'
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _color(name: str, index: int) -> str:
    return SOURCE_COLORS.get(name, FALLBACK_COLORS[index % len(FALLBACK_COLORS)])


def render(
    run: dict,
    tests: Sequence[dict],
    warehouse: dict,
    history: Sequence[dict],
    freshness: Sequence[dict] = (),
    generated_at: datetime | None = None,
) -> str:
    """The report as one HTML string."""
    generated = generated_at or datetime.now(UTC).replace(tzinfo=None)
    published = bool(run.get("published"))
    verdict = run.get("verdict") or ("published" if published else "not published")
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>chat-analytics quality report {html.escape(_fmt(run.get('started_at')))}</title>",
        f"<style>{STYLE}</style></head><body><main>",
        "<h1>chat-analytics — nightly quality report</h1>",
        f'<p class="muted">run <code>{html.escape(str(run.get("run_id", "")))}</code>, started'
        f" {html.escape(_fmt(run.get('started_at')))} UTC, finished"
        f" {html.escape(_fmt(run.get('finished_at')))} UTC; report written"
        f" {generated:%Y-%m-%d %H:%M} UTC</p>",
        f'<div class="verdict {"ok" if published else "bad"}" id="verdict">'
        f"<strong>{'PUBLISHED' if published else 'NOT PUBLISHED'}</strong> — "
        f"{html.escape(verdict)} (exit code {html.escape(_fmt(run.get('exit_code')))})</div>",
    ]
    parts.append(_cards(run))
    if run.get("gate_reasons"):
        items = "".join(f"<li>{html.escape(reason)}</li>" for reason in run["gate_reasons"])
        parts.append(f'<h2>Why nothing was published</h2><ul class="reasons">{items}</ul>')
    if run.get("files_failed"):
        items = "".join(f"<li>{html.escape(item)}</li>" for item in run["files_failed"])
        parts.append(
            "<h2>Files that could not be read</h2><p>Not landed; the next run tries them"
            f' again.</p><ul class="reasons">{items}</ul>'
        )
    parts.append(_tests_section(tests))
    parts.append(_freshness_section(freshness))
    parts.append(_landing_section(warehouse))
    parts.append(_quality_section(warehouse))
    parts.append(_lateness_section(warehouse))
    parts.append(_trends_section(history))
    if warehouse.get("notes"):
        items = "".join(f"<li>{html.escape(note)}</li>" for note in warehouse["notes"])
        parts.append(f'<h2>Notes</h2><ul class="muted">{items}</ul>')
    parts.append("</main></body></html>")
    return "\n".join(parts)


def _cards(run: dict) -> str:
    cards = [
        ("files landed", run.get("files_landed")),
        ("files already landed", run.get("files_skipped")),
        ("rows landed", run.get("rows_landed")),
        ("rejected lines", run.get("rejected_lines")),
        ("tests passed", run.get("tests_passed")),
        ("tests warned", run.get("tests_warned")),
        ("tests failed", run.get("tests_failed")),
        ("source freshness", run.get("freshness_status")),
        ("rows published", run.get("published_rows")),
    ]
    body = "".join(
        f'<div class="card"><b>{html.escape(_fmt(value))}</b>{html.escape(label)}</div>'
        for label, value in cards
    )
    return f'<div class="cards">{body}</div>'


def _tests_section(tests: Sequence[dict]) -> str:
    if not tests:
        return '<h2>Tests</h2><p class="muted">No test results (the build did not run).</p>'
    ordered = sorted(tests, key=lambda t: (STATUS_ORDER.get(t.get("status"), 1), t.get("name")))
    problems = [t for t in ordered if t.get("status") != "pass"]
    passes = [t for t in ordered if t.get("status") == "pass"]
    columns = [
        ("name", "test"),
        ("resource_type", "kind"),
        ("severity", "severity"),
        ("status", "status"),
        ("failures", "failing rows"),
        ("message", "message"),
    ]
    counts = {}
    for test in tests:
        counts[test.get("status")] = counts.get(test.get("status"), 0) + 1
    summary = ", ".join(f"{count} {status}" for status, count in sorted(counts.items()))
    out = [f"<h2>Tests</h2><p>{html.escape(summary)}</p>"]
    if problems:
        out.append("<h3>Failed and warning tests</h3>")
        out.append(_table(problems, columns, status_col="status"))
    out.append(f"<details><summary>{len(passes)} passing tests</summary>")
    out.append(_table(passes, columns[:4], status_col="status"))
    out.append("</details>")
    return "".join(out)


def _freshness_section(freshness: Sequence[dict]) -> str:
    if not freshness:
        return ""
    columns = [
        ("source", "source"),
        ("status", "status"),
        ("max_loaded_at", "last landed (UTC)"),
        ("age_hours", "age (hours)"),
    ]
    return "<h2>Source freshness</h2>" + _table(freshness, columns, status_col="status")


def _landing_section(warehouse: dict) -> str:
    out = ["<h2>Landing</h2>"]
    run_loads = warehouse.get("run_loads")
    if run_loads is not None:
        out.append("<h3>Files landed tonight</h3>")
        out.append(
            _table(
                run_loads,
                [
                    ("load_id", "load"),
                    ("source", "source"),
                    ("path", "file"),
                    ("lines", "lines"),
                    ("landed_rows", "landed rows"),
                    ("rejected_lines", "rejected lines"),
                ],
            )
        )
    daily = warehouse.get("loads_daily")
    if daily:
        out.append("<h3>Landed and rejected lines per source and landing day</h3>")
        days = sorted({str(row["landed_date"]) for row in daily})
        sources = sorted({row["source"] for row in daily})
        series = []
        for index, source in enumerate(sources):
            by_day = {
                str(r["landed_date"]): r["landed_rows"] for r in daily if r["source"] == source
            }
            series.append((source, [by_day.get(day) for day in days], _color(source, index)))
        out.append(svg_bars(days, series, title="landed rows per landing day"))
        out.append(
            _table(
                daily,
                [
                    ("landed_date", "landing day"),
                    ("source", "source"),
                    ("files", "files"),
                    ("lines", "lines"),
                    ("landed_rows", "landed rows"),
                    ("rejected_lines", "rejected lines"),
                ],
            )
        )
    rejected = warehouse.get("rejected_lines")
    if rejected is not None:
        out.append("<h3>Unlandable lines by reason</h3>")
        out.append(
            _table(
                rejected,
                [
                    ("source", "source"),
                    ("reason", "reason"),
                    ("tonight", "tonight"),
                    ("total", "all time"),
                ],
            )
        )
    return "".join(out)


def _quality_section(warehouse: dict) -> str:
    quality = warehouse.get("quality")
    out = ["<h2>Event quality per source and day received</h2>"]
    if not quality:
        out.append('<p class="muted">marts.event_quality_daily is not available.</p>')
        return "".join(out)
    late = {(r["source"], str(r["received_date"])): r for r in warehouse.get("late") or []}
    for row in quality:
        match = late.get((row["source"], str(row["received_date"])))
        row["late_rows"] = match["late_rows"] if match else None
    days = sorted({str(row["received_date"]) for row in quality})
    for source in sorted({row["source"] for row in quality}):
        rows = {str(r["received_date"]): r for r in quality if r["source"] == source}
        series = [
            (name, [(rows.get(day) or {}).get(f"{name}_rows") for day in days], color)
            for name, color in CLASS_COLORS.items()
        ]
        out.append(svg_bars(days, series, title=f"{source}: landed rows by class per day"))
    out.append(
        _table(
            quality,
            [
                ("received_date", "day received"),
                ("source", "source"),
                ("landed_rows", "landed rows"),
                ("chat_rows", "chat rows"),
                ("identity_rows", "identity rows"),
                ("unmapped_rows", "unmapped rows"),
                ("duplicate_rows", "duplicate rows"),
                ("rejected_rows", "rejected rows"),
                ("id_collisions", "id collisions"),
                ("late_rows", "late rows"),
                ("median_lateness_seconds", "median lateness seconds"),
                ("p95_lateness_seconds", "p95 lateness seconds"),
            ],
        )
    )
    out.append(
        '<p class="muted">Late rows: events received on a later UTC day than they happened.</p>'
    )
    rejections = warehouse.get("rejections")
    if rejections is not None:
        out.append("<h3>Rejected events by reason</h3>")
        out.append(
            _table(rejections, [("source", "source"), ("reason", "reason"), ("rows", "rows")])
        )
    return "".join(out)


def _lateness_section(warehouse: dict) -> str:
    out = ["<h2>Lateness (received − event time)</h2>"]
    quality = warehouse.get("quality") or []
    if quality:
        days = sorted({str(row["received_date"]) for row in quality})
        series = []
        for index, source in enumerate(sorted({row["source"] for row in quality})):
            rows = {str(r["received_date"]): r for r in quality if r["source"] == source}
            color = _color(source, index)
            series.append(
                (
                    f"{source} p95",
                    [(rows.get(day) or {}).get("p95_lateness_seconds") for day in days],
                    color,
                )
            )
        out.append(
            svg_lines(
                days, series, title="p95 lateness per day (log scale)", unit=" s", durations=True
            )
        )
    histogram = warehouse.get("lateness")
    if histogram:
        labels = [label for label, _, _ in LATENESS_BUCKETS]
        sources = sorted({row["source"] for row in histogram})
        series = []
        for index, source in enumerate(sources):
            counts = {row["bucket"]: row["rows"] for row in histogram if row["source"] == source}
            series.append(
                (source, [counts.get(i, 0) for i in range(len(labels))], _color(source, index))
            )
        out.append(svg_bars(labels, series, title="events by lateness", stacked=False, height=260))
    if not quality and not histogram:
        out.append('<p class="muted">No lateness data available.</p>')
    return "".join(out)


def _trends_section(history: Sequence[dict]) -> str:
    out = ["<h2>Trends over nightly runs</h2>"]
    runs = list(history)[-HISTORY_SHOWN:]
    if not runs:
        out.append('<p class="muted">No audit history yet.</p>')
        return "".join(out)
    labels = [_fmt(run.get("started_at")) for run in runs]
    out.append(
        svg_bars(
            labels,
            [
                ("rows landed", [run.get("rows_landed") for run in runs], "#4e79a7"),
                ("rejected lines", [run.get("rejected_lines") for run in runs], "#e15759"),
            ],
            title="rows landed and lines rejected per run",
        )
    )
    out.append(
        svg_lines(
            labels,
            [
                ("tests warned", [run.get("tests_warned") for run in runs], "#f28e2b"),
                ("tests failed", [run.get("tests_failed") for run in runs], "#e15759"),
            ],
            title="warning and failing tests per run",
            integer=True,
        )
    )
    rows = [
        {
            "started_at": run.get("started_at"),
            "files_landed": run.get("files_landed"),
            "rows_landed": run.get("rows_landed"),
            "rejected_lines": run.get("rejected_lines"),
            "tests": f"{run.get('tests_passed', 0)} / {run.get('tests_warned', 0)}"
            f" / {run.get('tests_failed', 0)}",
            "published": bool(run.get("published")),
            "exit_code": run.get("exit_code"),
        }
        for run in reversed(runs)
    ]
    out.append(
        _table(
            rows,
            [
                ("started_at", "started (UTC)"),
                ("files_landed", "files"),
                ("rows_landed", "rows landed"),
                ("rejected_lines", "rejected lines"),
                ("tests", "tests pass / warn / fail"),
                ("published", "published"),
                ("exit_code", "exit"),
            ],
        )
    )
    return "".join(out)


def write_report(
    run,
    tests: Sequence,
    *,
    db: str | os.PathLike | None = None,
    directory: str | os.PathLike | None = None,
    history: Sequence[dict] = (),
    freshness: Sequence[dict] = (),
    run_load_ids: Sequence[int] = (),
) -> tuple[Path, Path]:
    """Write ``quality-<date>.html`` and ``quality-latest.html``; return both paths."""
    run_row = _as_dict(run)
    folder = Path(directory) if directory else reports_dir()
    folder.mkdir(parents=True, exist_ok=True)
    started = run_row.get("started_at") or datetime.now(UTC).replace(tzinfo=None)
    text = render(
        run_row,
        [_as_dict(test) for test in tests],
        collect_warehouse(db, run_load_ids),
        history,
        freshness,
    )
    dated = folder / f"quality-{started:%Y-%m-%d}.html"
    latest = folder / "quality-latest.html"
    for path in (dated, latest):
        partial = path.with_name(f".{path.name}.tmp-{os.getpid()}")
        partial.write_text(text, encoding="utf-8")
        os.replace(partial, path)
    return dated, latest


def _short(text: str, limit: int = 200) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"
