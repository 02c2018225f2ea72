"""The serving queries, the dashboard and the report over a tiny published file made by hand.

The daily mart below has four rows whose numbers were chosen so that a rate recomputed from
summed counts differs from the average of the daily rates; every expected number is worked out
in the comments. The fct_conversations rows are a separate handful (they feed the first-response
average, the breakdowns and the CSAT distribution) and are not the daily mart's conversations.
"""

from __future__ import annotations

import argparse
import json
import os
import re
from datetime import date
from pathlib import Path

import duckdb
import pytest
from streamlit.testing.v1 import AppTest

from chat_analytics import cli, dashboard, report
from chat_analytics.errors import UsageError
from chat_analytics.serving import charts, queries

APP = Path(queries.__file__).with_name("app.py")
D1, D2 = date(2026, 3, 1), date(2026, 3, 2)

METRICS_COLUMNS = (
    "conversation_date date, channel varchar, conversations bigint,"
    " engaged_conversations bigint, escalated_conversations bigint,"
    " contained_conversations bigint, in_progress_conversations bigint,"
    " abandoned_conversations bigint, resolved_conversations bigint,"
    " rated_conversations bigint, satisfied_conversations bigint, csat_average double"
)
# date, channel, conversations, engaged, escalated, contained, in_progress, abandoned, resolved,
# rated, satisfied, csat_average
METRICS = [
    ("2026-03-01", "web", 10, 8, 2, 4, 0, 2, 5, 4, 3, 4.0),
    ("2026-03-01", "mobile", 5, 2, 1, 1, 0, 0, 1, 1, 0, 2.0),
    ("2026-03-02", "web", 20, 16, 8, 4, 0, 4, 6, 3, 3, 5.0),
    ("2026-03-02", "mobile", 4, 0, 0, 0, 0, 0, 0, 0, 0, None),
]
FCT_COLUMNS = (
    "conversation_id varchar, conversation_date date, channel varchar, bot_version varchar,"
    " first_intent varchar, is_engaged boolean, outcome varchar, is_resolved boolean,"
    " csat_rating integer, is_satisfied boolean, first_response_seconds double"
)
FCT = [
    ("c1", "2026-03-01", "web", "1.0", "billing", True, "escalated", False, 5, True, 2.0),
    ("c2", "2026-03-01", "web", "1.0", None, True, "contained", True, 3, False, 4.0),
    ("c3", "2026-03-01", "web", "2.0", "billing", False, "not_engaged", False, None, None, None),
    ("c4", "2026-03-01", "mobile", "2.0", "refund", True, "abandoned", False, 1, False, 9.0),
    ("c5", "2026-03-02", "web", "2.0", "refund", True, "contained", True, 4, True, 1.0),
]
FUNNEL = [
    ("2026-03-01", "web", 1, "started", 10),
    ("2026-03-01", "web", 2, "engaged", 8),
    ("2026-03-01", "web", 3, "recognized", 6),
    ("2026-03-01", "web", 4, "resolved", 0),
    ("2026-03-01", "web", 5, "rated", 0),
    ("2026-03-02", "web", 1, "started", 20),
    ("2026-03-02", "web", 2, "engaged", 16),
    ("2026-03-02", "web", 3, "recognized", 12),
    ("2026-03-02", "web", 4, "resolved", 6),
    ("2026-03-02", "web", 5, "rated", 3),
]
QUALITY = [
    ("segment", "2026-03-01", 100, 80, 5, 10, 3, 2, 0, 1.0, 5.0),
    ("segment", "2026-03-02", 200, 170, 5, 15, 6, 4, 1, 1.5, 9.0),
    ("snowplow", "2026-03-02", 50, 45, 0, 5, 0, 0, 0, 0.2, 0.5),
]


def make_published(path: Path, metrics=METRICS) -> Path:
    """A file shaped like the published one (schema marts), with the rows above."""
    path.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(path))
    try:
        con.execute("create schema marts")
        con.execute(f"create table marts.conversation_metrics_daily ({METRICS_COLUMNS})")
        con.executemany(
            "insert into marts.conversation_metrics_daily values (?,?,?,?,?,?,?,?,?,?,?,?)",
            metrics,
        )
        con.execute(f"create table marts.fct_conversations ({FCT_COLUMNS})")
        con.executemany("insert into marts.fct_conversations values (?,?,?,?,?,?,?,?,?,?,?)", FCT)
        con.execute(
            "create table marts.conversation_funnel_daily (conversation_date date,"
            " channel varchar, step_number integer, step_name varchar, conversations bigint)"
        )
        con.executemany("insert into marts.conversation_funnel_daily values (?,?,?,?,?)", FUNNEL)
        con.execute(
            "create table marts.event_quality_daily (source varchar, received_date date,"
            " landed_rows bigint, chat_rows bigint, identity_rows bigint, unmapped_rows bigint,"
            " duplicate_rows bigint, rejected_rows bigint, id_collisions bigint,"
            " median_lateness_seconds double, p95_lateness_seconds double)"
        )
        con.executemany(
            "insert into marts.event_quality_daily values (?,?,?,?,?,?,?,?,?,?,?)", QUALITY
        )
        con.execute(
            "create table marts.event_rejections as select * from (values"
            " ('segment', 'invalid_rating', timestamp '2026-03-01 10:00:00'),"
            " ('segment', 'invalid_rating', timestamp '2026-03-02 10:00:00'),"
            " ('segment', 'missing_event_id', timestamp '2026-03-02 11:00:00'),"
            " ('segment', 'invalid_timestamp', null)) as t(source, reason, received_at)"
        )
    finally:
        con.close()
    return path


@pytest.fixture
def published(tmp_path) -> queries.Published:
    return queries.Published(make_published(tmp_path / "published" / "chat_analytics.duckdb"))


# --------------------------------------------------------------------------------------------
# queries
# --------------------------------------------------------------------------------------------


def test_kpis_recompute_rates_from_summed_counts(published):
    kpis = published.kpis(queries.Filters(D1, D2))
    assert kpis["conversations"] == 39  # 10 + 5 + 20 + 4
    assert kpis["engaged"] == 26  # 8 + 2 + 16 + 0
    # escalated 2 + 1 + 8 = 11 of 26 engaged; the mean of the daily rates would be
    # (2/8 + 1/2 + 8/16) / 3 = 0.4167 (the day with no engaged conversation has no rate)
    assert kpis["escalation_rate"] == pytest.approx(11 / 26, abs=1e-12)
    assert kpis["containment_rate"] == pytest.approx(9 / 26, abs=1e-12)  # 4 + 1 + 4
    assert kpis["abandonment_rate"] == pytest.approx(6 / 26, abs=1e-12)  # 2 + 0 + 4
    assert kpis["resolution_rate"] == pytest.approx(12 / 26, abs=1e-12)  # 5 + 1 + 6
    # ratings: 4 rated averaging 4.0, 1 rated at 2.0, 3 rated averaging 5.0 -> 33 / 8
    assert kpis["csat_average"] == pytest.approx(33 / 8, abs=1e-12)
    assert kpis["csat_score"] == pytest.approx(6 / 8, abs=1e-12)
    # first responses in fct_conversations: 2, 4, 9, 1 (c3 has none)
    assert kpis["avg_first_response_seconds"] == pytest.approx(4.0, abs=1e-12)


def test_kpis_filter_channels_and_leave_empty_rates_null(published):
    web = published.kpis(queries.Filters(D1, D2, ("web",)))
    assert (web["conversations"], web["engaged"]) == (30, 24)
    assert web["escalation_rate"] == pytest.approx(10 / 24, abs=1e-12)
    assert web["avg_first_response_seconds"] == pytest.approx(7 / 3, abs=1e-12)  # 2, 4, 1
    mobile_day_2 = published.kpis(queries.Filters(D2, D2, ("mobile",)))
    assert mobile_day_2["conversations"] == 4 and mobile_day_2["engaged"] == 0
    for name in ("escalation_rate", "csat_average", "csat_score", "avg_first_response_seconds"):
        assert mobile_day_2[name] is None, name
    nothing = published.kpis(queries.Filters(date(2026, 4, 1), date(2026, 4, 2)))
    assert nothing["conversations"] == 0 and nothing["escalation_rate"] is None


def test_previous_period_is_the_same_length_just_before():
    filters = queries.Filters(date(2026, 3, 8), date(2026, 3, 14), ("web",))
    previous = filters.previous()
    assert (previous.start, previous.end, previous.channels) == (
        date(2026, 3, 1),
        date(2026, 3, 7),
        ("web",),
    )
    assert queries.Filters(D2, D2).previous() == queries.Filters(D1, D1)


def test_change_against_previous_period_only_when_it_is_published(published):
    bounds = published.bounds()
    assert (bounds.first_day, bounds.last_day, bounds.channels) == (D1, D2, ("mobile", "web"))
    changes = published.kpi_comparison(queries.Filters(D2, D2), bounds).set_index("kpi")
    assert changes.loc["conversations", "change"] == 24 - 15
    assert changes.loc["escalation_rate", "change"] == pytest.approx(8 / 16 - 3 / 10, abs=1e-12)
    assert changes.loc["csat_average", "previous"] == pytest.approx(18 / 5, abs=1e-12)
    # day 2's previous day (D1) is published; D1's previous day is not: no change shown
    first = published.kpi_comparison(queries.Filters(D1, D1), bounds).set_index("kpi")
    assert first["previous"].isna().all() and first["change"].isna().all()
    assert bounds.default_filters() == queries.Filters(D1, D2)  # 7 days, clipped to the data


def test_trends_funnel_breakdowns_csat_and_health(published):
    filters = queries.Filters(D1, D2)
    trends = published.trends(filters).set_index("conversation_date")
    assert list(trends["conversations"]) == [15, 24]
    assert trends["escalation_rate"].iloc[0] == pytest.approx(3 / 10, abs=1e-12)
    funnel = published.funnel(filters)
    assert list(funnel["conversations"]) == [30, 24, 18, 6, 3]
    assert list(funnel["conversion_from_previous"]) == pytest.approx([1, 0.8, 0.75, 1 / 3, 0.5])
    assert list(funnel["conversion_from_start"]) == pytest.approx([1, 0.8, 0.6, 0.2, 0.1])
    by_version = published.breakdown(filters, "bot_version").set_index("bot_version")
    assert by_version.loc["2.0", "conversations"] == 3 and by_version.loc["2.0", "engaged"] == 2
    assert by_version.loc["2.0", "abandonment_rate"] == pytest.approx(0.5)  # c4 of c4, c5
    by_intent = published.breakdown(filters, "intent").set_index("intent")
    assert by_intent.loc["(none)", "conversations"] == 1  # c2 has no first intent
    assert by_intent.loc["refund", "csat_average"] == pytest.approx(2.5)  # ratings 1 and 4
    assert list(published.csat_distribution(filters)["conversations"]) == [1, 0, 1, 1, 1]
    sources = published.health_sources(filters).set_index("source")
    assert sources.loc["segment", "landed_rows"] == 300
    assert sources.loc["segment", "rejection_rate"] == pytest.approx(6 / 300)
    assert sources.loc["segment", "max_daily_p95_lateness_seconds"] == 9.0
    day_1 = published.rejections(queries.Filters(D1, D1))
    # the rejection of day 1, and the one without a receive time (counted in every period)
    assert sorted(zip(day_1["reason"], day_1["rejected_rows"], strict=True)) == [
        ("invalid_rating", 1),
        ("invalid_timestamp", 1),
    ]


def test_each_query_reopens_the_file_so_a_new_publish_is_seen(tmp_path):
    path = make_published(tmp_path / "published.duckdb")
    published = queries.Published(path)
    assert published.kpis(queries.Filters(D1, D2))["conversations"] == 39
    replacement = make_published(tmp_path / ".publishing.duckdb", metrics=METRICS[:1])
    os.replace(replacement, path)  # what `publish` does
    assert published.kpis(queries.Filters(D1, D2))["conversations"] == 10


def test_missing_or_foreign_file_names_the_file_and_what_to_do(tmp_path):
    missing = tmp_path / "nowhere" / "chat_analytics.duckdb"
    with pytest.raises(UsageError) as error:
        queries.Published(missing).bounds()
    assert str(missing) in str(error.value) and "chat-analytics nightly" in str(error.value)
    foreign = tmp_path / "other.duckdb"
    duckdb.connect(str(foreign)).close()
    with pytest.raises(UsageError, match=r"other\.duckdb: no marts\.conversation_metrics_daily"):
        queries.Published(foreign).bounds()


def test_formats():
    assert charts.format_value("count", 12345) == "12,345"
    assert charts.format_value("rate", 0.42308) == "42.3%"
    assert charts.format_value("rating", 4.125) == "4.12"
    assert charts.format_value("seconds", 4.0) == "4.0 s"
    assert charts.format_value("rate", None) == "n/a"
    assert charts.format_change("rate", 0.2) == "+20.0 pp"
    assert charts.format_change("count", -9) == "-9"
    assert charts.format_change("seconds", None) is None


# --------------------------------------------------------------------------------------------
# the dashboard (AppTest) and the report over the hand-made file
# --------------------------------------------------------------------------------------------


def run_app(monkeypatch, path: Path, audit_dir: Path) -> AppTest:
    monkeypatch.setenv("CHAT_ANALYTICS_PUBLISHED", str(path))
    monkeypatch.setenv("CHAT_ANALYTICS_AUDIT_DIR", str(audit_dir))
    return AppTest.from_file(str(APP), default_timeout=60).run()


def test_app_picks_up_a_newly_published_file(tmp_path, monkeypatch):
    path = make_published(tmp_path / "published.duckdb")
    at = run_app(monkeypatch, path, tmp_path / "audit")
    assert not at.exception
    assert at.metric[0].label == "Conversations" and at.metric[0].value == "39"
    os.replace(make_published(tmp_path / ".new.duckdb", metrics=METRICS[2:]), path)
    at.run()
    assert not at.exception and at.metric[0].value == "24"


def test_app_without_published_file_says_what_to_do(tmp_path, monkeypatch):
    missing = tmp_path / "published.duckdb"
    at = run_app(monkeypatch, missing, tmp_path / "audit")
    assert not at.exception
    assert str(missing) in at.error[0].value and "chat-analytics nightly" in at.error[0].value


def test_app_health_page_without_history_names_the_audit_file(tmp_path, monkeypatch):
    at = run_app(monkeypatch, make_published(tmp_path / "p.duckdb"), tmp_path / "audit")
    at.sidebar.radio[0].set_value("health").run()
    assert not at.exception
    assert str(tmp_path / "audit" / "nightly_runs.jsonl") in at.info[0].value


def test_report_is_self_contained_and_shows_the_hand_numbers(tmp_path):
    path = make_published(tmp_path / "published.duckdb")
    out = tmp_path / "out" / "report.html"
    written, filters = report.write_report(out, published=path, audit_dir=tmp_path / "audit")
    assert written == out and filters == queries.Filters(D1, D2)
    text = out.read_text(encoding="utf-8")
    assert not re.search(r"<script[^>]*\bsrc\s*=", text, re.I)
    assert not re.search(r"<link\b|<iframe\b|<img\b", text, re.I)
    assert "Plotly.newPlot" in text
    card = re.search(r'data-kpi="escalation_rate">.*?class="value">([^<]*)<', text).group(1)
    assert card == "42.3%"  # 11 / 26
    assert "No nightly history" in text


def test_report_rejects_bad_periods_and_channels(published):
    bounds = published.bounds()
    with pytest.raises(UsageError, match="after --end"):
        report.resolve_filters(bounds, D2, D1, ())
    with pytest.raises(UsageError, match="covers 2026-03-01 – 2026-03-02"):
        report.resolve_filters(bounds, date(2026, 5, 1), None, ())
    with pytest.raises(UsageError, match=r"--channel fax: .*there are: mobile, web"):
        report.resolve_filters(bounds, None, None, ("fax",))
    assert report.resolve_filters(bounds, None, D1, ()) == queries.Filters(D1, D1)


def test_report_and_dashboard_commands_fail_clearly_without_a_published_file(
    tmp_path, monkeypatch, capsys
):
    missing = tmp_path / "published.duckdb"
    monkeypatch.setenv("CHAT_ANALYTICS_PUBLISHED", str(missing))
    assert cli.main(["report", "--out", str(tmp_path / "r.html")]) == 2
    assert cli.main(["dashboard", "--port", "0"]) == 2
    err = capsys.readouterr().err
    assert err.count(f"{missing}: no published file here") == 2
    assert "chat-analytics nightly" in err and not (tmp_path / "r.html").exists()


def test_dashboard_command_serves_the_app_read_only_on_localhost(published, tmp_path):
    args = argparse.Namespace(
        address="127.0.0.1", port=8599, published=str(published.path), audit_dir=str(tmp_path)
    )
    argv, env = dashboard.command(args)
    assert argv[argv.index("run") + 1] == str(APP)
    assert argv[argv.index("--server.address") + 1] == "127.0.0.1"
    assert argv[argv.index("--server.port") + 1] == "8599"
    assert env["CHAT_ANALYTICS_PUBLISHED"] == str(published.path)
    assert env["CHAT_ANALYTICS_AUDIT_DIR"] == str(tmp_path)


def test_app_health_page_shows_a_failed_night_and_when_the_data_was_published(
    tmp_path, monkeypatch
):
    audit_dir = tmp_path / "audit"
    audit_dir.mkdir()
    runs = [
        {
            "run_id": "good",
            "started_at": "2026-03-02T02:00:00",
            "published": True,
            "exit_code": 0,
            "verdict": "published 8 tables",
        },
        {
            "run_id": "bad",
            "started_at": "2026-03-03T02:00:00",
            "published": False,
            "exit_code": 1,
            "verdict": "the gate is closed",
            "tests_failed": 1,
            "gate_reasons": ["1 error-severity test(s) failed: unique_fct_conversations_id"],
        },
    ]
    (audit_dir / "nightly_runs.jsonl").write_text(
        "".join(json.dumps(run) + "\n" for run in runs), encoding="utf-8"
    )
    at = run_app(monkeypatch, make_published(tmp_path / "p.duckdb"), audit_dir)
    at.sidebar.radio[0].set_value("health").run()
    assert not at.exception
    assert at.error[0].value.startswith("NOT PUBLISHED — 2026-03-03 02:00 UTC: the gate is closed")
    assert "unique_fct_conversations_id" in " ".join(m.value for m in at.markdown)
    assert any(
        "published by the nightly run of 2026-03-02 02:00 UTC" in c.value for c in at.caption
    )
    assert {m.label: m.value for m in at.metric}["tests failed"] == "1"
