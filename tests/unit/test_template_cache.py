"""The cache of compiled Jinja templates that dbt commands started by chat_analytics.dbt_main use:
an entry is read instead of compiling, a template is never served another's code, a broken entry
or an unwritable directory only means compiling again, and the directory stays bounded."""

from __future__ import annotations

import marshal
import os
from pathlib import Path

import jinja2
import jinja2.nativetypes
import pytest

from chat_analytics import template_cache
from chat_analytics.template_cache import installed


@pytest.fixture
def compiles(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """One name per template jinja itself compiled (its code generator ran for it)."""
    sources: list[str] = []
    generate = jinja2.Environment._generate

    def counting(self, source, *args, **kwargs):
        sources.append(getattr(source, "name", None) or "<template>")
        return generate(self, source, *args, **kwargs)

    monkeypatch.setattr(jinja2.Environment, "_generate", counting)
    return sources


def entries(directory: Path) -> list[Path]:
    return sorted(directory.glob("*.code"))


def test_a_template_compiled_before_is_read_not_compiled(tmp_path: Path, compiles) -> None:
    source = "{% for x in xs %}{{ x * 2 }},{% endfor %}"
    with installed(tmp_path):
        first = jinja2.Environment().from_string(source).render(xs=[1, 2])
        second = jinja2.Environment().from_string(source).render(xs=[3])
    assert (first, second) == ("2,4,", "6,")
    assert len(compiles) == 1
    assert len(entries(tmp_path)) == 1


def test_the_entry_read_is_the_one_written_for_that_source(tmp_path: Path) -> None:
    # the cached code is what runs: swap two entries and each source renders the other's text
    with installed(tmp_path):
        jinja2.Environment().from_string("apples").render()
        (apples,) = entries(tmp_path)
        jinja2.Environment().from_string("pears").render()
        (pears,) = [path for path in entries(tmp_path) if path != apples]
        apples_code, pears_code = apples.read_bytes(), pears.read_bytes()
        apples.write_bytes(pears_code)
        pears.write_bytes(apples_code)
        assert jinja2.Environment().from_string("apples").render() == "pears"
        assert jinja2.Environment().from_string("pears").render() == "apples"


def test_environments_that_generate_different_code_do_not_share_entries(
    tmp_path: Path, compiles
) -> None:
    source = "[[ x ]]{{ x }}"
    with installed(tmp_path):
        default = jinja2.Environment().from_string(source).render(x=1)
        brackets = jinja2.Environment(variable_start_string="[[", variable_end_string="]]")
        other = brackets.from_string(source).render(x=1)
        native = jinja2.nativetypes.NativeEnvironment().from_string("{{ x }}").render(x=1)
        plain = jinja2.Environment().from_string("{{ x }}").render(x=1)
    assert (default, other) == ("[[ x ]]1", "1{{ x }}")
    assert (native, plain) == (1, "1")  # native types: the int itself, not its text
    assert len(compiles) == 4
    assert len(entries(tmp_path)) == 4


def test_a_filter_passed_the_context_is_called_as_compiled_for_it(tmp_path: Path) -> None:
    # jinja writes the call of a filter by what the filter takes: the context or only the value
    plain, with_context = jinja2.Environment(), jinja2.Environment()
    plain.filters["label"] = lambda value: f"<{value}>"
    with_context.filters["label"] = jinja2.pass_context(lambda ctx, value: f"{ctx['who']}:{value}")
    source = "{{ x | label }}"
    with installed(tmp_path):
        assert plain.from_string(source).render(x=1, who="me") == "<1>"
        assert with_context.from_string(source).render(x=1, who="me") == "me:1"
        assert plain.from_string(source).render(x=2, who="me") == "<2>"
        assert with_context.from_string(source).render(x=2, who="me") == "me:2"
    assert len(entries(tmp_path)) == 2


def test_names_are_part_of_the_key(tmp_path: Path, compiles) -> None:
    env = jinja2.Environment(loader=jinja2.DictLoader({"a.sql": "same", "b.sql": "same"}))
    with installed(tmp_path):
        assert env.get_template("a.sql").render() == "same"
        assert env.get_template("b.sql").render() == "same"
    assert len(entries(tmp_path)) == 2  # each keeps its own name in its code, for tracebacks


def test_a_broken_entry_is_compiled_again_and_rewritten(tmp_path: Path, compiles) -> None:
    with installed(tmp_path):
        jinja2.Environment().from_string("{{ 6 * 7 }}").render()
        (entry,) = entries(tmp_path)
        for broken in (b"", b"\x00not marshal", marshal.dumps("a string, not code")):
            entry.write_bytes(broken)
            assert jinja2.Environment().from_string("{{ 6 * 7 }}").render() == "42"
            assert marshal.loads(entry.read_bytes()).co_filename == "<template>"
    assert len(compiles) == 4


def test_an_unwritable_directory_only_means_compiling(tmp_path: Path, compiles) -> None:
    blocked = tmp_path / "a file"
    blocked.write_text("")
    with installed(blocked / "templates"):  # cannot be made: a file is in the way
        assert jinja2.Environment().from_string("{{ 1 + 1 }}").render() == "2"
    # an entry that cannot be written (a directory where the file would go)
    cache = tmp_path / "cache"
    key = template_cache.entry_key(jinja2.Environment(), "{{ 2 + 2 }}", None, None, False)
    (cache / f"{key}.code").mkdir(parents=True)
    with installed(cache):
        assert jinja2.Environment().from_string("{{ 2 + 2 }}").render() == "4"
    assert [p.name for p in cache.iterdir()] == [f"{key}.code"]  # no partial file left behind
    assert len(compiles) == 2


def test_leaving_the_block_restores_jinja(tmp_path: Path, compiles) -> None:
    with installed(tmp_path):
        pass
    jinja2.Environment().from_string("x").render()
    assert entries(tmp_path) == []
    assert len(compiles) == 1
    with installed(None):  # the cache turned off
        jinja2.Environment().from_string("x").render()
    assert entries(tmp_path) == []


def test_the_least_recently_used_entries_go_beyond_the_limit(tmp_path: Path) -> None:
    def entry(number: int) -> Path:
        source = f"template {number}"
        key = template_cache.entry_key(jinja2.Environment(), source, None, None, False)
        return tmp_path / f"{key}.code"

    with installed(tmp_path, keep=10):
        for number in range(5):
            jinja2.Environment().from_string(f"template {number}").render()
    for number in range(5):  # used in the order of their numbers, long ago
        os.utime(entry(number), (1_000_000 + number, 1_000_000 + number))
    with installed(tmp_path, keep=3):
        jinja2.Environment().from_string("template 0").render()  # used again: the most recent
    assert set(entries(tmp_path)) == {entry(0), entry(3), entry(4)}
    assert template_cache.prune(tmp_path, keep=3) == 0
    assert template_cache.prune(tmp_path, keep=1) == 2
    assert entries(tmp_path) == [entry(0)]


def test_partial_entries_of_an_interrupted_command_go_after_an_hour(tmp_path: Path) -> None:
    old, recent = tmp_path / "a.code.1.2.tmp", tmp_path / "b.code.3.4.tmp"
    for partial in (old, recent):
        partial.write_bytes(b"half an entry")
    os.utime(old, (1_000_000, 1_000_000))
    template_cache.prune(tmp_path)
    assert sorted(tmp_path.iterdir()) == [recent]  # perhaps still being written


def test_where_the_cache_is(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CHAT_ANALYTICS_TEMPLATE_CACHE", raising=False)
    monkeypatch.delenv("DBT_MACRO_DEBUGGING", raising=False)
    monkeypatch.setenv("CHAT_ANALYTICS_DB", str(tmp_path / "wh" / "build.duckdb"))
    assert template_cache.cache_dir() == tmp_path / "wh" / ".template-cache"
    monkeypatch.setenv("CHAT_ANALYTICS_TEMPLATE_CACHE", str(tmp_path / "elsewhere"))
    assert template_cache.cache_dir() == tmp_path / "elsewhere"
    monkeypatch.setenv("CHAT_ANALYTICS_TEMPLATE_CACHE", "")
    assert template_cache.cache_dir() is None
    monkeypatch.setenv("CHAT_ANALYTICS_TEMPLATE_CACHE", str(tmp_path / "elsewhere"))
    monkeypatch.setenv("DBT_MACRO_DEBUGGING", "1")  # dbt puts generated code in the line cache
    assert template_cache.cache_dir() is None
