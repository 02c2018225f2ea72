"""A generated world lands line for line as the generator's own manifest says: every file's line
count, and every malformed line it injected, with the reason it expects (plain and gzip)."""

from __future__ import annotations

import json

import pytest


@pytest.fixture(scope="module", params=[False, True], ids=["plain", "gzip"])
def world(request, tmp_path_factory, tools):
    tmp = tmp_path_factory.mktemp("generated-gzip" if request.param else "generated-plain")
    out = tmp / "world"
    generated = tools.generate(
        out,
        "--days",
        3,
        "--conversations-per-day",
        120,
        "--seed",
        11,
        "--malformed-line-rate",
        0.02,
        *(["--gzip"] if request.param else []),
    )
    assert generated.returncode == 0, tools.describe(generated)
    db = tmp / "warehouse.duckdb"
    landed = tools.land([out], db, tmp)
    assert landed.returncode == 0, tools.describe(landed)
    manifest = json.loads((out / "_truth" / "manifest.json").read_text())
    return db, out, manifest, landed


def short(path: str) -> str:
    """'.../world/segment/2026-03-01.jsonl.gz' -> 'segment/2026-03-01.jsonl.gz'."""
    return "/".join(path.split("/")[-2:])


def test_every_file_has_the_lines_the_generator_wrote(world, tools):
    db, _, manifest, _ = world
    loads = tools.query(db, "select path, lines, landed_rows, rejected_lines from raw.loads")
    assert {short(r["path"]): r["lines"] for r in loads} == {
        name: spec["lines"] for name, spec in manifest["files"].items()
    }
    for row in loads:
        assert row["lines"] == row["landed_rows"] + row["rejected_lines"], row


def test_every_injected_malformed_line_is_rejected_with_the_expected_reason(world, tools):
    db, _, manifest, _ = world
    rejected = tools.query(db, "select file_name, line_number, reason from raw.rejected_lines")
    actual = sorted((short(r["file_name"]), r["line_number"], r["reason"]) for r in rejected)
    expected = sorted((m["file"], m["line"], m["reason"]) for m in manifest["malformed_lines"])
    assert expected, "the world should hold malformed lines"
    assert actual == expected


def test_the_ground_truth_folder_is_skipped_with_a_note(world):
    _, _, _, landed = world
    assert "_truth/" in landed.stderr and "note: skipped" in landed.stderr
