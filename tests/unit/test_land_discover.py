"""Resolving command-line paths to export files and their sources."""

from __future__ import annotations

import os

import pytest

from chat_analytics.errors import UsageError
from chat_analytics.land.discover import discover, folder_source


@pytest.fixture
def exports(tmp_path, monkeypatch):
    """A generator-style output folder, with the current directory set to tmp_path."""
    monkeypatch.chdir(tmp_path)
    files = [
        "out/segment/2026-03-01.jsonl",
        "out/segment/2026-03-02.jsonl.gz",
        "out/rudderstack/2026-03-01.jsonl",
        "out/snowplow/2026-03-01.tsv",
        "out/snowplow/nested/2026-03-02.tsv",
        "out/_truth/fct_conversations.csv",
        "out/_truth/manifest.json",
        "out/segment/_SUCCESS",
        "out/segment/.hidden.jsonl",
        "out/README.txt",
        "loose/export.jsonl",
    ]
    for name in files:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("{}\n")
    return tmp_path


def relative(found, root):
    return [(str(f.path.relative_to(root)), f.source) for f in found.files]


def test_a_folder_lands_its_source_folders_in_name_order(exports):
    found = discover(["out"])
    assert relative(found, exports) == [
        ("out/rudderstack/2026-03-01.jsonl", "rudderstack"),
        ("out/segment/2026-03-01.jsonl", "segment"),
        ("out/segment/2026-03-02.jsonl.gz", "segment"),
        ("out/snowplow/2026-03-01.tsv", "snowplow"),
        ("out/snowplow/nested/2026-03-02.tsv", "snowplow"),
    ]
    notes = "\n".join(found.notes)
    assert "out/_truth/ (2 files)" in notes
    assert "out/segment/_SUCCESS" in notes and "out/segment/.hidden.jsonl" in notes
    assert "1 file in out/" in notes and "not under a segment/, rudderstack/, snowplow/" in notes


def test_paths_are_absolute(exports):
    found = discover(["out/segment/2026-03-01.jsonl"])
    assert found.files[0].path == exports / "out/segment/2026-03-01.jsonl"
    assert found.files[0].path.is_absolute()


def test_an_explicit_file_without_a_source_is_a_usage_error_naming_it(exports):
    with pytest.raises(UsageError, match="loose/export.jsonl: cannot tell its source"):
        discover(["out/segment", "loose/export.jsonl"])


def test_source_flag_lands_unsourced_files_but_still_skips_underscore_names(exports):
    found = discover(["loose", "out/_truth/manifest.json"], source="segment")
    assert relative(found, exports) == [
        ("loose/export.jsonl", "segment"),
        ("out/_truth/manifest.json", "segment"),  # named explicitly: the user asked for it
    ]
    found = discover(["out/segment"], source="segment")
    assert [f.path.name for f in found.files] == ["2026-03-01.jsonl", "2026-03-02.jsonl.gz"]


def test_a_folder_that_contradicts_the_source_flag_is_a_usage_error(exports):
    with pytest.raises(UsageError, match="its folder says rudderstack but --source segment"):
        discover(["out/rudderstack"], source="segment")


def test_globs(exports):
    found = discover(["out/*/2026-03-01.*"])
    assert [f.source for f in found.files] == ["rudderstack", "segment", "snowplow"]
    found = discover(["out/**/*.tsv"])
    assert [f.path.name for f in found.files] == ["2026-03-01.tsv", "2026-03-02.tsv"]
    found = discover(["out/_truth/*"])  # matched, but no source: skipped with a note
    assert found.files == [] and "out/_truth/ (2 files)" not in found.notes
    assert any("2 files in out/_truth/" in note for note in found.notes)


@pytest.mark.parametrize(
    ("paths", "message"),
    [
        (["nope/segment"], "nope/segment: no such file or folder"),
        (["out/*.parquet"], r"out/\*\.parquet: no file matches"),
        ([], "at least one"),
    ],
)
def test_bad_paths_are_usage_errors(exports, paths, message):
    with pytest.raises(UsageError, match=message):
        discover(paths)


def test_each_file_once(exports):
    found = discover(["out/segment", "out/segment/2026-03-01.jsonl", "./out/segment/"])
    assert len(found.files) == 2


def test_nearest_source_folder_wins(tmp_path):
    assert folder_source(tmp_path / "snowplow" / "segment" / "x.jsonl") == "segment"
    assert folder_source(tmp_path / "Segment" / "x.jsonl") == "segment"
    assert folder_source(tmp_path / "segments" / "x.jsonl") is None


def test_a_symlinked_file_keeps_the_source_of_its_link_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "data.jsonl").write_text("{}\n")
    (tmp_path / "segment").mkdir()
    os.symlink(tmp_path / "elsewhere" / "data.jsonl", tmp_path / "segment" / "data.jsonl")
    found = discover(["segment"])
    assert [(f.path.name, f.source) for f in found.files] == [("data.jsonl", "segment")]
