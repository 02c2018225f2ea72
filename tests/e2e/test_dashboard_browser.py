"""The dashboard served on 127.0.0.1 and the HTML report, loaded in headless Chromium.

`chat-analytics dashboard` serves the published sample (tests/conftest.py); Playwright drives
Debian's /usr/bin/chromium (installed here when missing; the test fails, never skips, when it
cannot be) with a fresh profile folder. Every page must draw its charts with no exception box and
no console error. The report file is opened from disk with every network request refused: its
charts must draw all the same.
"""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

from chat_analytics.serving import browser, charts

pytestmark = pytest.mark.slow

PAGES = {
    "overview": ("Overview", 2),
    "trends": ("Daily trends", 2),
    "funnel": ("Funnel", 1),
    "breakdowns": ("Escalation & containment", 3),
    "satisfaction": ("Satisfaction (CSAT)", 1),
    "health": ("Event health", 3),
}


@pytest.fixture(scope="session")
def chromium_binary():
    """/usr/bin/chromium, installed with apt-get (Debian's package) when it is missing."""
    if not browser.CHROMIUM.exists():
        if shutil.which("apt-get") is None:
            pytest.fail(f"{browser.CHROMIUM} is missing and there is no apt-get to install it")
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        for command in (
            ["apt-get", "update", "-qq"],
            ["apt-get", "install", "-y", "--no-install-recommends", "chromium"],
        ):
            result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=1200)
            if result.returncode != 0:
                pytest.fail(
                    f"{browser.CHROMIUM} is missing and `{' '.join(command)}` failed"
                    f" (exit {result.returncode}); install Debian's chromium package:\n"
                    f"{(result.stdout + result.stderr)[-3000:]}"
                )
    if not browser.CHROMIUM.exists():
        pytest.fail(f"{browser.CHROMIUM} still missing after installing chromium")
    return browser.CHROMIUM


def watch(page, problems: list[str]) -> None:
    page.on(
        "console",
        lambda message: (
            problems.append(f"console {message.type}: {message.text}")
            if message.type == "error"
            else None
        ),
    )
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))


def test_dashboard_pages_draw_their_charts_without_errors(
    published_sample, sample_truth, chromium_binary, tmp_path
):
    published_sample.require()
    days = sample_truth.days()
    conversations = sample_truth.kpis(days[0], days[-1])["conversations"]
    problems: list[str] = []
    log = tmp_path / "dashboard.log"
    with (
        browser.serve_dashboard(
            published=published_sample.published,
            audit_dir=published_sample.audit_dir,
            env=published_sample.env(),
            log=log,
        ) as url,
        browser.chromium(tmp_path / "profile") as context,
    ):
        assert url.startswith("http://127.0.0.1:")
        page = context.new_page()
        watch(page, problems)
        for name, (title, count) in PAGES.items():
            page.goto(f"{url}/?page={name}")
            browser.wait_for_page(page, count)
            assert browser.drawn_charts(page) == count, name
            assert page.locator(browser.EXCEPTION).count() == 0, name
            assert page.locator("h1").first.inner_text().strip() == title
            if name == "overview":
                card = page.locator('[data-testid="stMetric"]').first.inner_text()
                assert card.split() == [
                    "Conversations",
                    charts.format_value("count", conversations),
                ]
            if name == "health":
                assert "PUBLISHED" in page.locator('[data-testid="stAlert"]').first.inner_text()
    assert not problems, "\n".join(problems) + "\n" + log.read_text(errors="replace")[-3000:]


def test_report_draws_its_charts_offline(published_sample, chromium_binary, tmp_path):
    from chat_analytics import report

    published_sample.require()
    out, _ = report.write_report(
        tmp_path / "report.html",
        published=published_sample.published,
        audit_dir=published_sample.audit_dir,
    )
    problems: list[str] = []
    requested: list[str] = []

    def refuse(route):
        requested.append(route.request.url)
        route.abort()

    with browser.chromium(tmp_path / "profile") as context:
        context.route("http*://**", refuse)
        page = context.new_page()
        watch(page, problems)
        page.goto(out.as_uri())
        page.wait_for_function(
            "() => [...document.querySelectorAll('.js-plotly-plot')]"
            ".filter(chart => chart.querySelector('.main-svg .trace')).length >= 10",
            timeout=60_000,
        )
        assert page.locator('[data-kpi="conversations"] .value').inner_text() != "n/a"
    assert not requested, requested
    assert not problems, "\n".join(problems)
