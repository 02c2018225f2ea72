"""The project follows its own checklist (STYLE.md, SPEC §7), read from dbt's parsed manifest.

Each check is a function from the manifest to a list of violations, so that a failure names every
offender; test_checks_can_fail feeds them a manifest full of violations to prove none is vacuous.
"""

from __future__ import annotations

import json
import re
import shutil

import duckdb
import pytest

PACKAGE = "chat_analytics"
SPEC_MARTS = (
    "fct_conversations",
    "fct_messages",
    "dim_users",
    "conversation_metrics_daily",
    "conversation_funnel_daily",
    "intent_metrics_daily",
    "event_quality_daily",
    "event_rejections",
)


# ---------------------------------------------------------------------------------------------
# checks: manifest -> violations
# ---------------------------------------------------------------------------------------------
def models(manifest: dict) -> dict[str, dict]:
    return {
        uid: node
        for uid, node in manifest["nodes"].items()
        if node["resource_type"] == "model" and node["package_name"] == PACKAGE
    }


def in_staging(node: dict) -> bool:
    return node["original_file_path"].replace("\\", "/").startswith("models/staging/")


def models_without_description(manifest: dict) -> list[str]:
    return sorted(n["name"] for n in models(manifest).values() if not n["description"].strip())


def columns_without_description(
    manifest: dict, actual_columns: dict[str, list[str]] | None = None
) -> list[str]:
    """Documented columns with an empty description, and (when the built relations' columns are
    given, by model name) columns a model produces that are not documented at all."""
    out = []
    for node in models(manifest).values():
        documented = {name.lower(): col for name, col in node["columns"].items()}
        for name, col in documented.items():
            if not (col.get("description") or "").strip():
                out.append(f"{node['name']}.{name}: empty description")
        for name in (actual_columns or {}).get(node["name"], []):
            if name.lower() not in documented:
                out.append(f"{node['name']}.{name}: not documented")
    return sorted(out)


def is_unique_combination(test: dict) -> bool:
    return (
        (test.get("test_metadata") or {}).get("name", "").endswith("unique_combination_of_columns")
    )


def models_without_primary_key_test(manifest: dict) -> list[str]:
    tested: dict[str, dict[str, set[str]]] = {}
    combined: set[str] = set()
    for node in manifest["nodes"].values():
        if node["resource_type"] != "test":
            continue
        meta = node.get("test_metadata") or {}
        target = node.get("attached_node") or next(
            (d for d in node["depends_on"]["nodes"] if d.startswith("model.")), None
        )
        if target is None:
            continue
        if is_unique_combination(node):
            combined.add(target)
        column = node.get("column_name") or (meta.get("kwargs") or {}).get("column_name")
        if meta.get("name") in ("unique", "not_null") and column:
            tested.setdefault(target, {}).setdefault(column.lower(), set()).add(meta["name"])
    out = []
    for uid, node in models(manifest).items():
        single = any(kinds >= {"unique", "not_null"} for kinds in tested.get(uid, {}).values())
        if not (single or uid in combined):
            out.append(node["name"])
    return sorted(out)


SCOPE = " > __last_passed_at__"
UNIQUENESS_TESTS = ("unique", "unique_combination_of_columns")


def columns_under_test(manifest: dict, test: dict) -> list[str]:
    """Documented columns of the model or source a generic test tests (its `model` argument;
    a relationships test also depends on the parent it points to)."""
    tested = str(((test.get("test_metadata") or {}).get("kwargs") or {}).get("model", ""))
    candidates = test["depends_on"]["nodes"]
    for uid in candidates:
        if len(candidates) == 1 or f"'{uid.rsplit('.', 1)[-1]}'" in tested:
            found = manifest["nodes"].get(uid) or manifest["sources"].get(uid) or {}
            return list(found.get("columns", {}))
    return []


UPSTREAM_SCOPE = re.compile(r"(\w+)\.(\w+) > __last_passed_at__")


def keeps_build_watermark(node: dict) -> bool:
    hooks = (node.get("config") or {}).get("post-hook") or []
    return any("record_build_watermark" in (hook.get("sql") or "") for hook in hooks)


def upstream_scope_misses(manifest: dict, test: dict, condition: str) -> str | None:
    """A scope by a write marker in a subquery (`<alias>.<marker> > ...`) is sound when the marker
    is a documented column of what is tested (the subquery selects its keys written since), or of
    an upstream model (DECISIONLOG D46) when the tested model keeps a build watermark (the test
    then records it)."""
    match = UPSTREAM_SCOPE.search(condition)
    if match is None:
        return "names no column of its model"
    marker = match.group(2).lower()
    if marker in {c.lower() for c in columns_under_test(manifest, test)}:
        return None  # a subquery over what is tested, by its own marker
    tested = manifest["nodes"].get(test.get("attached_node") or "") or {}
    upstream = [
        manifest["nodes"][uid]
        for uid in test["depends_on"]["nodes"]
        if uid != test.get("attached_node") and uid in manifest["nodes"]
    ]
    if not any(marker in {c.lower() for c in node.get("columns", {})} for node in upstream):
        return f"names no column of an upstream model ({marker})"
    if not keeps_build_watermark(tested):
        return "is upstream's, but the tested model keeps no build watermark"
    return None


def misscoped_tests(manifest: dict) -> list[str]:
    """Data tests scoped to the rows written since they last passed (DECISIONLOG D35) that would
    miss something: a uniqueness test scoped with `where` (it would compare the new rows only
    with each other), or a scope whose marker is neither a documented column of what is tested
    nor, for a model that keeps a build watermark, one of the model's upstream (D46)."""
    out = []
    for node in manifest["nodes"].values():
        if node["resource_type"] != "test" or node["package_name"] != PACKAGE:
            continue
        metadata = node.get("test_metadata") or {}
        name = metadata.get("name", "")
        where = (node.get("config") or {}).get("where") or ""
        kwargs = metadata.get("kwargs") or {}
        changed = [kwargs.get(k) or "" for k in ("changed_rows", "changed_keys")]
        if "__last_passed_at__" in where and name in UNIQUENESS_TESTS:
            out.append(f"{node['name']}: a uniqueness test scoped with where")
        for condition in (where, *changed):
            if "__last_passed_at__" not in condition:
                continue
            marker = condition.split(SCOPE)[0].strip() if SCOPE in condition else None
            columns = {c.lower() for c in columns_under_test(manifest, node)}
            if marker is not None and marker.lower() in columns:
                continue
            problem = upstream_scope_misses(manifest, node, condition)
            if problem:
                out.append(f"{node['name']}: scope {condition!r} {problem}")
    return sorted(out)


def sources_without_freshness(manifest: dict) -> list[str]:
    out = []
    for source in manifest["sources"].values():
        if source["package_name"] != PACKAGE:
            continue
        freshness = source.get("freshness") or (source.get("config") or {}).get("freshness") or {}
        thresholds = [
            (freshness.get(kind) or {}).get("count") for kind in ("warn_after", "error_after")
        ]
        loaded_at = source.get("loaded_at_field") or source.get("loaded_at_query")
        if not any(t is not None for t in thresholds) or not loaded_at:
            out.append(f"{source['source_name']}.{source['name']}")
    return sorted(out)


def marts_without_enforced_contract(manifest: dict) -> list[str]:
    return sorted(
        n["name"]
        for n in models(manifest).values()
        if n["schema"] == "marts" and not (n["config"].get("contract") or {}).get("enforced")
    )


def source_calls_outside_staging(manifest: dict) -> list[str]:
    return sorted(
        n["original_file_path"]
        for n in models(manifest).values()
        if n.get("sources") and not in_staging(n)
    )


def staging_models_on_staging_models(manifest: dict) -> list[str]:
    staging = {uid for uid, n in models(manifest).items() if in_staging(n)}
    out = []
    for uid in sorted(staging):
        node = manifest["nodes"][uid]
        for parent in node["depends_on"]["nodes"]:
            if parent in staging:
                out.append(f"{node['name']} -> {manifest['nodes'][parent]['name']}")
    return out


def missing_spec_marts(manifest: dict) -> list[str]:
    present = {n["name"] for n in models(manifest).values() if n["schema"] == "marts"}
    return [name for name in SPEC_MARTS if name not in present]


# ---------------------------------------------------------------------------------------------
# the real project
# ---------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def manifest(tmp_path_factory, tools) -> dict:
    tmp = tmp_path_factory.mktemp("parse")
    result = tools.run_dbt(["parse"], tmp / "parse.duckdb", tmp)
    assert result.returncode == 0, tools.describe(result)
    data = json.loads((tmp / "target" / "manifest.json").read_text())
    assert models(data), "the manifest has no models"
    return data


def assert_none(violations: list[str], what: str) -> None:
    assert not violations, f"{what}:\n  " + "\n  ".join(violations)


def test_every_model_has_a_description(manifest):
    assert_none(models_without_description(manifest), "models without a description")


def test_every_column_has_a_description(manifest, hand_warehouse, tools):
    """Documented columns are described, and every column a built model has is documented
    (relations come from the hand-fixture warehouse; models it could not build are skipped)."""
    actual = {}
    for node in models(manifest).values():
        cols = tools.columns_of(
            hand_warehouse.db, node["schema"], node.get("alias") or node["name"]
        )
        if cols:
            actual[node["name"]] = cols
    assert actual, "no model relation found in the built warehouse"
    assert_none(columns_without_description(manifest, actual), "columns without a description")


def test_every_model_has_a_primary_key_test(manifest):
    assert_none(models_without_primary_key_test(manifest), "models without a primary-key test")


def test_scoped_tests_cannot_miss_rows(manifest):
    scoped = [
        n
        for n in manifest["nodes"].values()
        if n["resource_type"] == "test"
        and "__last_passed_at__"
        in str((n.get("config") or {}).get("where")) + str(n.get("test_metadata"))
    ]
    assert len(scoped) >= 15, "the event models' tests are not scoped"
    assert_none(misscoped_tests(manifest), "data tests scoped wrongly")


def test_every_source_has_freshness(manifest):
    assert any(s["package_name"] == PACKAGE for s in manifest["sources"].values()), "no sources"
    assert_none(sources_without_freshness(manifest), "sources without freshness")


def test_every_mart_has_an_enforced_contract(manifest):
    assert_none(marts_without_enforced_contract(manifest), "marts without an enforced contract")


def test_source_only_in_staging(manifest):
    assert_none(source_calls_outside_staging(manifest), "source() outside models/staging")


def test_no_staging_model_depends_on_another(manifest):
    assert_none(staging_models_on_staging_models(manifest), "staging models on staging models")


def test_spec_marts_exist(manifest):
    assert_none(missing_spec_marts(manifest), "marts named in SPEC missing from schema marts")


# ---------------------------------------------------------------------------------------------
# every check can fail
# ---------------------------------------------------------------------------------------------
def fake_model(name, path, schema, *, description="d", columns=None, enforced=False, **extra):
    node = {
        "resource_type": "model",
        "package_name": PACKAGE,
        "name": name,
        "alias": name,
        "description": description,
        "columns": {c: {"name": c, "description": d} for c, d in (columns or {}).items()},
        "config": {"contract": {"enforced": enforced}},
        "schema": schema,
        "original_file_path": path,
        "depends_on": {"nodes": extra.get("parents", []), "macros": []},
        "sources": extra.get("sources", []),
    }
    return f"model.{PACKAGE}.{name}", node


def fake_test(name, model, column, where=None, **kwargs):
    uid = f"test.{PACKAGE}.{name}_{model}_{column}"
    node = {
        "resource_type": "test",
        "package_name": PACKAGE,
        "name": f"{name}_{model}_{column}",
        "config": {"where": where},
        "test_metadata": {"name": name, "kwargs": {"column_name": column, **kwargs}},
        "attached_node": f"model.{PACKAGE}.{model}",
        "column_name": column,
        "depends_on": {"nodes": [f"model.{PACKAGE}.{model}"], "macros": []},
    }
    return uid, node


def test_checks_can_fail():
    nodes = dict(
        [
            fake_model(
                "stg_a__events",
                "models/staging/a/stg_a__events.sql",
                "staging",
                sources=[["a", "events"]],
                columns={"event_id": "the id"},
            ),
            fake_model(
                "stg_b__events",
                "models/staging/b/stg_b__events.sql",
                "staging",
                description=" ",
                parents=[f"model.{PACKAGE}.stg_a__events"],
                columns={"event_id": ""},
            ),
            fake_model(
                "fct_conversations",
                "models/marts/fct_conversations.sql",
                "marts",
                sources=[["a", "events"]],
                columns={"conversation_id": "key"},
            ),
            fake_test("unique", "stg_a__events", "event_id"),
            fake_test("not_null", "stg_a__events", "event_id"),
            fake_test("unique", "fct_conversations", "conversation_id"),
            fake_test("unique", "stg_a__events", "x", where="event_id > __last_passed_at__"),
            fake_test("not_null", "stg_a__events", "y", where="written_at > __last_passed_at__"),
            fake_test("not_null", "stg_a__events", "z", where="event_id > __last_passed_at__"),
            fake_test(
                "unique_combination_of_columns",
                "stg_a__events",
                "w",
                changed_rows="nowhere > __last_passed_at__",
            ),
            fake_test(
                "unique_combination_of_columns",
                "stg_a__events",
                "v",
                changed_keys="event_id in (select a.event_id from t as a"
                " where a.event_id > __last_passed_at__)",
            ),
            fake_test(
                "unique_combination_of_columns",
                "stg_a__events",
                "u",
                changed_keys="event_id in (select a.event_id from t as a"
                " where a.nowhere > __last_passed_at__)",
            ),
        ]
    )
    fake = {
        "nodes": nodes,
        "sources": {
            f"source.{PACKAGE}.a.events": {
                "package_name": PACKAGE,
                "source_name": "a",
                "name": "events",
                "freshness": {"warn_after": {"count": None}, "error_after": {"count": None}},
                "loaded_at_field": "landed_at",
            }
        },
    }
    assert models_without_description(fake) == ["stg_b__events"]
    assert columns_without_description(fake, {"stg_a__events": ["event_id", "extra"]}) == [
        "stg_a__events.extra: not documented",
        "stg_b__events.event_id: empty description",
    ]
    assert models_without_primary_key_test(fake) == ["fct_conversations", "stg_b__events"]
    assert sources_without_freshness(fake) == ["a.events"]
    assert marts_without_enforced_contract(fake) == ["fct_conversations"]
    assert source_calls_outside_staging(fake) == ["models/marts/fct_conversations.sql"]
    assert staging_models_on_staging_models(fake) == ["stg_b__events -> stg_a__events"]
    assert misscoped_tests(fake) == [
        "not_null_stg_a__events_y: scope 'written_at > __last_passed_at__' names no column of"
        " its model",
        "unique_combination_of_columns_stg_a__events_u: scope 'event_id in (select a.event_id"
        " from t as a where a.nowhere > __last_passed_at__)' names no column of an upstream"
        " model (nowhere)",
        "unique_combination_of_columns_stg_a__events_w: scope 'nowhere > __last_passed_at__'"
        " names no column of its model",
        "unique_stg_a__events_x: a uniqueness test scoped with where",
    ]
    assert "dim_users" in missing_spec_marts(fake)
    assert "fct_conversations" not in missing_spec_marts(fake)


def not_null_constraints(manifest: dict) -> list[tuple[str, str, str]]:
    """(schema, relation, column) of every model column with a `not_null` constraint."""
    return [
        (node["schema"], node.get("alias") or node["name"], column["name"])
        for node in models(manifest).values()
        for column in node.get("columns", {}).values()
        if any(c.get("type") == "not_null" for c in column.get("constraints", []))
    ]


def test_not_null_constraints_hold_in_the_warehouse(manifest, hand_warehouse, tools, tmp_path):
    """The required columns of contracted models are NOT NULL in the built tables (DECISIONLOG
    D40), so the database refuses a row without them; no data test checks them again."""
    constrained = not_null_constraints(manifest)
    assert {table for _, table, _ in constrained} >= {
        "stg_segment__events",
        "stg_rudderstack__events",
        "stg_snowplow__events",
        "fct_conversations",
        "fct_messages",
        "event_quality_daily",
    }
    nullable = [
        f"{schema}.{table}.{column}"
        for schema, table, column in constrained
        if tools.query(
            hand_warehouse.db,
            "select is_nullable from information_schema.columns"
            " where table_schema = ? and table_name = ? and column_name = ?",
            [schema, table, column],
        )
        != [{"is_nullable": "NO"}]
    ]
    assert_none(nullable, "constrained columns that the warehouse lets be NULL")

    copy = tmp_path / "copy.duckdb"
    shutil.copy2(hand_warehouse.db, copy)
    con = duckdb.connect(str(copy))
    try:
        with pytest.raises(duckdb.ConstraintException, match="channel"):
            con.execute(
                "insert into marts.fct_conversations"
                " select * replace (null as channel) from marts.fct_conversations limit 1"
            )
    finally:
        con.close()
