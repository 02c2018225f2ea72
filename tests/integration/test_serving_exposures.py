"""The dbt exposures of the dashboard and the report name exactly the marts their queries read."""

from __future__ import annotations

import json
import re

from chat_analytics.serving import queries

EXPOSURES = ("chat_analytics_dashboard", "chat_analytics_report")


def marts_read_by_queries() -> set[str]:
    sql = " ".join(value for value in vars(queries).values() if isinstance(value, str))
    return set(re.findall(r"\bmarts\.(\w+)", sql))


def test_exposures_depend_on_the_marts_the_queries_read(tmp_path, tools):
    result = tools.run_dbt(["parse"], tmp_path / "parse.duckdb", tmp_path)
    assert result.returncode == 0, tools.describe(result)
    manifest = json.loads((tmp_path / "target" / "manifest.json").read_text())
    read = marts_read_by_queries()
    assert read >= set(queries.NEEDED_TABLES)
    for name in EXPOSURES:
        exposure = manifest["exposures"][f"exposure.chat_analytics.{name}"]
        parents = {uid.rsplit(".", 1)[1] for uid in exposure["depends_on"]["nodes"]}
        assert parents == read, name
        assert exposure["owner"]["name"] and exposure["description"].strip()
