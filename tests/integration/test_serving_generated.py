"""The dashboard (Streamlit's AppTest) and the HTML report over a generated, published world.

`chat-analytics generate` + `chat-analytics nightly` publish a small messy world once per
session (tests/conftest.py). Every expected number comes from the generator's ground truth
(<out>/_truth, written from its world model) through plain Python in SampleTruth, not from the
marts or the code under test.
"""

from __future__ import annotations

import json
import re
import subprocess
from datetime import date
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from chat_analytics.serving import queries

pytestmark = pytest.mark.slow

APP = Path(queries.__file__).with_name("app.py")
CHARTS_PER_PAGE = {
    "overview": 2,
    "trends": 2,
    "funnel": 1,
    "breakdowns": 3,
    "satisfaction": 1,
    "health": 3,
}
RATE_KPIS = (
    "escalation_rate",
    "containment_rate",
    "abandonment_rate",
    "resolution_rate",
    "csat_average",
    "csat_score",
)
KINDS = {kpi.name: kpi.kind for kpi in queries.KPIS}
SHOWN_PRECISION = {"count": 0, "rate": 0.0005, "rating": 0.005, "seconds": 0.05}


def close(actual, expected, tolerance=1e-9) -> bool:
    if expected is None or actual is None or actual != actual:
        return expected is None and (actual is None or actual != actual)
    return abs(float(actual) - float(expected)) <= tolerance


def shown(kind: str, text: str) -> float:
    """A displayed value back as a number: '1,234' -> 1234, '42.3%' -> 0.423, '+2.1 pp' ->
    0.021, '4.1 s' -> 4.1."""
    number = float(re.sub(r"[,%+]|\s*(pp|s)$", "", text.strip()))
    return number / 100 if kind == "rate" else number


def assert_shown(kind: str, text: str, expected) -> None:
    if expected is None:
        assert text == "n/a"
        return
    tolerance = SHOWN_PRECISION[kind] + 1e-9
    assert abs(shown(kind, text) - expected) <= tolerance, f"shown {text!r}, expected {expected}"


@pytest.fixture
def app(published_sample, monkeypatch):
    published_sample.require()
    monkeypatch.setenv("CHAT_ANALYTICS_PUBLISHED", str(published_sample.published))
    monkeypatch.setenv("CHAT_ANALYTICS_AUDIT_DIR", str(published_sample.audit_dir))
    monkeypatch.setenv("CHAT_ANALYTICS_DB", str(published_sample.db))
    return AppTest.from_file(str(APP), default_timeout=90)


def show(at: AppTest, page: str) -> AppTest:
    at.sidebar.radio[0].set_value(page).run()
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    return at


def table(at: AppTest, index: int = 0):
    return at.dataframe[index].value


def test_every_page_renders_without_exceptions(app):
    at = app.run()
    assert not at.exception
    for page, charts in CHARTS_PER_PAGE.items():
        show(at, page)
        assert at.title[0].value and len(at.get("plotly_chart")) == charts, page


def test_overview_kpis_equal_the_ground_truth(app, sample_truth):
    days = sample_truth.days()
    at = app.run()
    assert not at.exception
    # the default period is the last seven days that have data: here all four
    expected = sample_truth.kpis(days[0], days[-1])
    numbers = table(at).set_index("kpi")
    for name, value in expected.items():
        assert close(numbers.loc[name, "value"], value), (name, numbers.loc[name, "value"], value)
    cards = {metric.label: metric for metric in at.metric}
    for kpi in queries.KPIS:
        assert_shown(kpi.kind, cards[kpi.label].value, expected[kpi.name])
    # nothing before the first day: no change
    assert numbers["change"].isna().all()
    assert "No change shown" in " ".join(caption.value for caption in at.caption)


def test_filtered_kpis_and_their_change_equal_the_ground_truth(app, sample_truth):
    days = sample_truth.days()
    channel = sample_truth.channels()[-1]
    at = app.run()
    at.sidebar.date_input[0].set_value((days[2], days[3]))
    at.sidebar.multiselect[0].set_value([channel])
    at.run()
    assert not at.exception
    current = sample_truth.kpis(days[2], days[3], (channel,))
    before = sample_truth.kpis(days[0], days[1], (channel,))
    numbers = table(at).set_index("kpi")
    cards = {metric.label: metric for metric in at.metric}
    for kpi in queries.KPIS:
        value, previous = current[kpi.name], before[kpi.name]
        change = None if value is None or previous is None else value - previous
        assert close(numbers.loc[kpi.name, "value"], value), kpi.name
        assert close(numbers.loc[kpi.name, "previous"], previous), kpi.name
        assert close(numbers.loc[kpi.name, "change"], change), kpi.name
        assert_shown(kpi.kind, cards[kpi.label].value, value)
        if change is not None:
            assert_shown(kpi.kind, cards[kpi.label].delta, change)
    assert current["conversations"] > 0 and before["conversations"] > 0


def test_breakdowns_equal_the_ground_truth(app, sample_truth):
    days = sample_truth.days()
    at = show(app.run(), "breakdowns")
    for index, dimension in enumerate(("channel", "bot_version", "intent")):
        expected = sample_truth.breakdown(dimension, days[0], days[-1])
        rows = table(at, index).set_index(dimension)
        assert set(rows.index) == set(expected), dimension
        for value, measures in expected.items():
            for name in ("conversations", "engaged", *RATE_KPIS):
                assert close(rows.loc[value, name], measures[name]), (dimension, value, name)


def test_funnel_and_csat_equal_the_ground_truth(app, sample_truth):
    days = sample_truth.days()
    at = show(app.run(), "funnel")
    steps = table(at)
    expected = sample_truth.funnel(days[0], days[-1])
    shown_steps = zip(steps["step_number"], steps["step_name"], steps["conversations"], strict=True)
    assert list(shown_steps) == expected
    counts = [count for _, _, count in expected]
    previous = [counts[0], *counts[:-1]]
    for row, count, before in zip(steps.itertuples(), counts, previous, strict=True):
        assert close(row.conversion_from_previous, count / before)
        assert close(row.conversion_from_start, count / counts[0])
    at = show(at, "satisfaction")
    distribution = table(at)
    assert dict(zip(distribution["csat_rating"], distribution["conversations"], strict=True)) == (
        sample_truth.csat(days[0], days[-1])
    )


def test_event_health_equals_the_ground_truth_and_shows_the_verdict(app, sample_truth):
    days = sample_truth.days()
    at = show(app.run(), "health")
    # the sample's nightly run exited 0, so its verdict is "published"
    assert at.success and at.success[0].value.startswith("PUBLISHED")
    sources = table(at, 0).set_index("source")
    expected = sample_truth.health(days[0], days[-1])
    assert set(sources.index) == set(expected)
    for source, totals in expected.items():
        for column, value in totals.items():
            assert sources.loc[source, column] == value, (source, column)
        assert close(
            sources.loc[source, "rejection_rate"], totals["rejected_rows"] / totals["landed_rows"]
        )


def test_report_has_no_external_scripts_and_its_numbers_match(
    published_sample, sample_truth, tools
):
    published_sample.require()
    days = sample_truth.days()
    channel = sample_truth.channels()[0]
    out = published_sample.tmp / "share" / "report.html"
    result = subprocess.run(
        [
            str(tools.REPO / ".venv" / "bin" / "chat-analytics"),
            "report",
            "--out",
            str(out),
            "--start",
            str(days[2]),
            "--end",
            str(days[3]),
            "--channel",
            channel,
        ],
        env=published_sample.env(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert f"report: {out}" in result.stdout
    text = out.read_text(encoding="utf-8")
    assert not re.search(r"<script[^>]*\bsrc\s*=", text, re.I)
    assert not re.search(r"<link\b|<iframe\b|<img\b|@import|url\(\s*['\"]?https?:", text, re.I)
    assert text.count("Plotly.newPlot") == 10

    payload = re.search(r'<script type="application/json" id="report-data">(.*?)</script>', text)
    data = json.loads(payload.group(1))
    assert data["period"] == {"start": str(days[2]), "end": str(days[3])}
    assert data["channels"] == [channel]
    current = sample_truth.kpis(days[2], days[3], (channel,))
    before = sample_truth.kpis(days[0], days[1], (channel,))
    kpis = {row["kpi"]: row for row in data["kpis"]}
    for name, value in current.items():
        assert close(kpis[name]["value"], value), name
        assert close(kpis[name]["previous"], before[name]), name
        card = re.search(rf'data-kpi="{name}">.*?class="value">([^<]*)<', text).group(1)
        assert_shown(KINDS[name], card, value)
    funnel = [(r["step_number"], r["step_name"], r["conversations"]) for r in data["funnel"]]
    assert funnel == sample_truth.funnel(days[2], days[3], (channel,))
    by_version = {r["bot_version"]: r for r in data["by_bot_version"]}
    expected = sample_truth.breakdown("bot_version", days[2], days[3], (channel,))
    assert set(by_version) == set(expected)
    for version, measures in expected.items():
        for name in ("conversations", "engaged", *RATE_KPIS):
            assert close(by_version[version][name], measures[name]), (version, name)
    health = {r["source"]: r for r in data["health_sources"]}
    for source, totals in sample_truth.health(days[2], days[3]).items():
        assert {column: health[source][column] for column in totals} == totals
    assert 'id="verdict"' in text and "<strong>PUBLISHED</strong>" in text


def test_report_default_period_is_the_last_seven_days(published_sample, sample_truth):
    from chat_analytics import report

    published_sample.require()
    days = sample_truth.days()
    out, filters = report.write_report(
        published_sample.tmp / "default.html",
        published=published_sample.published,
        audit_dir=published_sample.audit_dir,
    )
    assert (filters.start, filters.end, filters.channels) == (days[0], days[-1], ())
    assert days[-1] - days[0] < (date(2026, 1, 8) - date(2026, 1, 1))
    data = json.loads(
        re.search(r'id="report-data">(.*?)</script>', out.read_text(encoding="utf-8")).group(1)
    )
    assert {row["kpi"]: row["value"] for row in data["kpis"]}["conversations"] == (
        sample_truth.kpis(days[0], days[-1])["conversations"]
    )
