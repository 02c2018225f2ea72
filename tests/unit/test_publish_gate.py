"""The publish gate reads dbt's run_results.json: hand-written fixtures, one per situation."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest

from chat_analytics import publish

STARTED = "2026-03-02T02:00:00.000000Z"
GENERATED = "2026-03-02T02:05:00.000000Z"


def result(unique_id: str, status: str, failures: int | None = None, message: str | None = None):
    return {
        "status": status,
        "timing": [],
        "thread_id": "Thread-1 (worker)",
        "execution_time": 0.1,
        "adapter_response": {},
        "message": message,
        "failures": failures,
        "unique_id": unique_id,
        "compiled": True,
        "compiled_code": "select 1",
        "relation_name": None,
        "batch_results": None,
    }


def run_results(results: list[dict], which: str = "build", **args) -> dict:
    return {
        "metadata": {
            "dbt_schema_version": "https://schemas.getdbt.com/dbt/run-results/v6.json",
            "dbt_version": "1.11.16",
            "generated_at": GENERATED,
            "invocation_id": "00000000-0000-0000-0000-000000000000",
            "invocation_started_at": STARTED,
            "env": {},
        },
        "results": results,
        "elapsed_time": 1.0,
        "args": {
            "which": which,
            "invocation_command": f"dbt {which}",
            "select": [],
            "exclude": [],
            **args,
        },
    }


GREEN = [
    result("seed.chat_analytics.event_aliases", "success"),
    result("model.chat_analytics.fct_conversations", "success"),
    result("test.chat_analytics.unique_fct_conversations_conversation_id.1a2b3c4d5e", "pass", 0),
    result("unit_test.chat_analytics.fct_conversations.outcome_precedence", "pass", 0),
]


def write(tmp_path: Path, data: dict, name: str = "run_results.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def test_all_passed_opens_the_gate(tmp_path):
    gate = publish.read_gate(write(tmp_path, run_results(GREEN)))
    assert gate.is_open, gate.reasons
    assert [t.name for t in gate.tests_passed] == [
        "unique_fct_conversations_conversation_id",
        "fct_conversations.outcome_precedence",
    ]
    assert gate.tests_failed == [] and gate.tests_warned == []
    assert gate.started_at == datetime(2026, 3, 2, 2, 0, 0)


def test_warn_only_does_not_block(tmp_path):
    warned = result(
        "test.chat_analytics.rejection_rate_below_threshold.9f8e7d6c5b",
        "warn",
        3,
        "Got 3 results, configured to warn if != 0",
    )
    gate = publish.read_gate(write(tmp_path, run_results([*GREEN, warned])))
    assert gate.is_open, gate.reasons
    assert [t.name for t in gate.tests_warned] == ["rejection_rate_below_threshold"]
    assert gate.summary() == "2 tests passed, 1 warned, 0 failed"


def test_failed_error_test_closes_the_gate_and_is_named(tmp_path):
    failed = result(
        "test.chat_analytics.accepted_values_fct_conversations_outcome.0a1b2c3d4e",
        "fail",
        2,
        "Got 2 results, configured to fail if != 0",
    )
    gate = publish.read_gate(write(tmp_path, run_results([*GREEN, failed])))
    assert not gate.is_open
    assert [t.name for t in gate.tests_failed] == ["accepted_values_fct_conversations_outcome"]
    message = "\n".join(gate.reasons)
    assert "accepted_values_fct_conversations_outcome (fail, 2 failing rows)" in message


def test_test_that_errored_closes_the_gate(tmp_path):
    errored = result("test.chat_analytics.accounting_identity", "error", None, "Binder Error: x")
    gate = publish.read_gate(write(tmp_path, run_results([*GREEN, errored])))
    assert not gate.is_open
    assert "accounting_identity (error): Binder Error: x" in gate.reasons[0]


def test_failed_unit_test_closes_the_gate(tmp_path):
    failed = result("unit_test.chat_analytics.fct_conversations.csat_latest_rating", "fail", 1)
    gate = publish.read_gate(write(tmp_path, run_results([*GREEN, failed])))
    assert not gate.is_open
    assert [t.name for t in gate.tests_failed] == ["fct_conversations.csat_latest_rating"]


def test_model_error_and_skipped_downstream_close_the_gate(tmp_path):
    results = [
        result("seed.chat_analytics.event_aliases", "success"),
        result("model.chat_analytics.fct_conversations", "error", None, "Catalog Error: boom"),
        result("model.chat_analytics.conversation_metrics_daily", "skipped"),
        result("test.chat_analytics.not_null_fct_conversations_conversation_id.aa", "skipped"),
    ]
    gate = publish.read_gate(write(tmp_path, run_results(results)))
    assert not gate.is_open
    assert [n.unique_id for n in gate.nodes_failed] == ["model.chat_analytics.fct_conversations"]
    assert [n.name for n in gate.nodes_skipped + gate.tests_skipped] == [
        "conversation_metrics_daily",
        "not_null_fct_conversations_conversation_id",
    ]
    assert gate.tests_failed == []
    assert gate.reasons == [
        "1 node(s) failed to build: model.chat_analytics.fct_conversations"
        " fct_conversations (error): Catalog Error: boom",
        "2 node(s) skipped after an upstream failure: conversation_metrics_daily,"
        " not_null_fct_conversations_conversation_id",
    ]
    assert gate.summary() == "0 tests passed, 0 warned, 0 failed, 1 skipped, 1 models/seeds failed"


def test_missing_file_closes_the_gate(tmp_path):
    gate = publish.read_gate(tmp_path / "target" / "run_results.json")
    assert not gate.is_open
    assert "no dbt results" in gate.reasons[0]


def test_not_json_closes_the_gate(tmp_path):
    path = tmp_path / "run_results.json"
    path.write_text("{not json", encoding="utf-8")
    gate = publish.read_gate(path)
    assert not gate.is_open
    assert "not a dbt run_results.json" in gate.reasons[0]


@pytest.mark.parametrize("which", ["run", "test", "seed"])
def test_not_a_build_closes_the_gate(tmp_path, which):
    gate = publish.read_gate(write(tmp_path, run_results(GREEN, which=which)))
    assert not gate.is_open
    assert f"`dbt {which}`, not by `dbt build`" in gate.reasons[0]


def test_partial_build_closes_the_gate_unless_allowed(tmp_path):
    path = write(tmp_path, run_results(GREEN, select=["fct_conversations"]))
    gate = publish.read_gate(path)
    assert not gate.is_open
    assert "partial" in gate.reasons[0]
    assert publish.read_gate(path, allow_partial=True).is_open


def test_build_without_unit_tests_is_not_partial(tmp_path):
    data_only = [r for r in GREEN if not r["unique_id"].startswith("unit_test.")]
    path = write(tmp_path, run_results(data_only, exclude_resource_types=["unit_test"]))
    assert publish.read_gate(path).is_open
    for excluded in (["test"], ["unit_test", "test"], ["model"]):
        path = write(tmp_path, run_results(data_only, exclude_resource_types=excluded))
        gate = publish.read_gate(path)
        assert not gate.is_open
        assert "partial" in gate.reasons[0]


def test_empty_build_closes_the_gate(tmp_path):
    assert not publish.read_gate(write(tmp_path, run_results(GREEN, empty=True))).is_open
    assert not publish.read_gate(write(tmp_path, run_results([]))).is_open


def test_build_older_than_last_landing_closes_the_gate(tmp_path):
    path = write(tmp_path, run_results(GREEN))
    assert publish.read_gate(path, last_landed_at=datetime(2026, 3, 2, 1, 59, 59)).is_open
    gate = publish.read_gate(path, last_landed_at=datetime(2026, 3, 2, 2, 0, 1))
    assert not gate.is_open
    assert "before the last landing" in gate.reasons[0]


def test_severity_comes_from_the_manifest_beside_run_results(tmp_path):
    warned = result("test.chat_analytics.volume_anomaly.77", "warn", 1)
    write(tmp_path, run_results([*GREEN, warned]))
    manifest = {
        "nodes": {
            "test.chat_analytics.volume_anomaly.77": {"config": {"severity": "warn"}},
            "test.chat_analytics.unique_fct_conversations_conversation_id.1a2b3c4d5e": {
                "config": {"severity": "ERROR"}
            },
            "model.chat_analytics.fct_conversations": {"config": {}},
        },
        "unit_tests": {
            "unit_test.chat_analytics.fct_conversations.outcome_precedence": {"config": {}}
        },
    }
    write(tmp_path, manifest, "manifest.json")
    gate = publish.read_gate(tmp_path / "run_results.json")
    assert {t.name: t.severity for t in gate.tests} == {
        "unique_fct_conversations_conversation_id": "error",
        "fct_conversations.outcome_precedence": "error",
        "volume_anomaly": "warn",
    }


def test_node_names():
    assert publish.node_name("test.pkg.unique_x_id.0123456789") == "unique_x_id"
    assert publish.node_name("test.pkg.assert_accounting_identity") == "assert_accounting_identity"
    assert publish.node_name("unit_test.pkg.fct_x.case_one") == "fct_x.case_one"
    assert publish.node_name("model.pkg.fct_x") == "fct_x"
