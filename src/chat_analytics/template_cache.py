"""Compiled Jinja templates kept between dbt commands, as Python keeps compiled modules.

Every dbt command compiles, from their source, the Jinja templates of every macro it calls and of
every node it renders: jinja parses the source, generates Python code and compiles that code,
about 550 compiles and 0.6–0.7 s of each build of this project, the same work every night for
the same sources. :func:`installed` keeps each compiled template in a directory, keyed by
everything its code depends on: the source, the template's name and file name, the environment's
class, code generator, extensions, syntax settings and filters and tests, and the versions of
Python, Jinja, dbt-common and dbt-core. A changed macro or model has a new key, so an entry is
never stale; an entry that cannot be read is compiled again and rewritten; a directory that
cannot be written only means compiling as before. The directory keeps the most recently used
:data:`MAX_ENTRIES` templates (DECISIONLOG D58).

Where: ``CHAT_ANALYTICS_TEMPLATE_CACHE``, else ``.template-cache/`` beside the build database;
an empty value turns the cache off, and so does dbt's ``DBT_MACRO_DEBUGGING`` (which puts the
generated code of each template it compiles in Python's line cache, for debuggers).
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import marshal
import os
import sys
import threading
import time
from collections.abc import Iterator
from importlib import metadata
from pathlib import Path
from types import CodeType

import jinja2
from jinja2.utils import internal_code

from chat_analytics import config

MAX_ENTRIES = 5000
"""Templates kept (about 5 kB each); the least recently used beyond this are removed."""

_SUFFIX = ".code"


def cache_dir() -> Path | None:
    """The directory of compiled templates, or None when the cache is off."""
    if os.environ.get("DBT_MACRO_DEBUGGING"):
        return None  # dbt's debugging needs every template compiled
    value = os.environ.get("CHAT_ANALYTICS_TEMPLATE_CACHE")
    if value is not None:
        return Path(value) if value else None
    return config.db_path().resolve().parent / ".template-cache"


def _qualified(thing: object) -> str:
    if thing is None or isinstance(thing, bool):
        return repr(thing)
    return f"{getattr(thing, '__module__', '?')}.{getattr(thing, '__qualname__', repr(thing))}"


@functools.cache
def _version(distribution: str) -> str:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return "-"


def _passes(functions: dict) -> list[tuple[str, str]]:
    """Each filter's or test's name and what it is passed (context, environment, ...): the
    generated code of a call depends on it, and on whether the name exists at all."""
    return sorted((name, repr(getattr(f, "jinja_pass_arg", None))) for name, f in functions.items())


def environment_fingerprint(env: jinja2.Environment) -> str:
    """What, besides the source and names, the code jinja generates for ``env`` depends on."""
    settings = (
        _qualified(type(env)),
        _qualified(env.code_generator_class),
        sorted(env.extensions),
        env.block_start_string,
        env.block_end_string,
        env.variable_start_string,
        env.variable_end_string,
        env.comment_start_string,
        env.comment_end_string,
        env.line_statement_prefix,
        env.line_comment_prefix,
        env.trim_blocks,
        env.lstrip_blocks,
        env.newline_sequence,
        env.keep_trailing_newline,
        env.optimized,
        env.is_async,
        _qualified(env.autoescape) if callable(env.autoescape) else env.autoescape,
        _qualified(env.finalize),
        env.sandboxed,
        sorted(getattr(env, "intercepted_binops", ())),
        sorted(getattr(env, "intercepted_unops", ())),
        _passes(env.filters),
        _passes(env.tests),
        sys.version,
        jinja2.__version__,
        _version("dbt-common"),
        _version("dbt-core"),
    )
    return repr(settings)


def entry_key(
    env: jinja2.Environment,
    source: str,
    name: str | None,
    filename: str | None,
    defer_init: bool,
) -> str:
    digest = hashlib.sha256()
    for part in (environment_fingerprint(env), repr((name, filename, defer_init)), source):
        digest.update(part.encode("utf-8", "surrogatepass"))
        digest.update(b"\0")
    return digest.hexdigest()


def _read(path: Path) -> CodeType | None:
    try:
        code = marshal.loads(path.read_bytes())
    except (OSError, ValueError, EOFError, TypeError):
        return None
    if not isinstance(code, CodeType):
        return None
    with contextlib.suppress(OSError):
        os.utime(path)  # recently used: kept by prune()
    return code


def _write(path: Path, code: CodeType) -> None:
    partial = path.with_name(f"{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    try:
        partial.write_bytes(marshal.dumps(code))
        os.replace(partial, path)  # a reader sees the whole entry or none
    except OSError:
        with contextlib.suppress(OSError):
            partial.unlink()


def prune(directory: Path, keep: int = MAX_ENTRIES) -> int:
    """Remove all but the ``keep`` most recently used entries, and partial entries an
    interrupted command left over an hour ago; how many entries were removed."""
    try:
        files = list(os.scandir(directory))
    except OSError:
        return 0
    stale = time.time() - 3600
    for partial in (f for f in files if f.name.endswith(".tmp")):
        with contextlib.suppress(OSError):
            if partial.stat().st_mtime < stale:
                os.unlink(partial.path)
    entries = [f for f in files if f.name.endswith(_SUFFIX)]
    if len(entries) <= keep:
        return 0
    by_use = []
    for entry in entries:
        with contextlib.suppress(OSError):
            by_use.append((entry.stat().st_mtime, entry.path))
    by_use.sort(reverse=True)
    removed = 0
    for _, path in by_use[keep:]:
        with contextlib.suppress(OSError):
            os.unlink(path)
            removed += 1
    return removed


@contextlib.contextmanager
def installed(directory: Path | None, keep: int = MAX_ENTRIES) -> Iterator[None]:
    """Within the block, every jinja Environment compiles a template source through the
    cache in ``directory`` (nothing changes when it is None); pruned to ``keep`` at the end."""
    if directory is None:
        yield
        return
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError:
        yield  # nowhere to keep them: compile as before
        return
    compile_source = jinja2.Environment.compile

    def compile_cached(self, source, name=None, filename=None, raw=False, defer_init=False):
        if raw or not isinstance(source, str):
            return compile_source(self, source, name, filename, raw, defer_init)
        path = directory / (entry_key(self, source, name, filename, defer_init) + _SUFFIX)
        code = _read(path)
        if code is None:
            code = compile_source(self, source, name, filename, raw, defer_init)
            _write(path, code)
        return code

    internal_code.add(compile_cached.__code__)  # hidden from template tracebacks, as jinja's own
    jinja2.Environment.compile = compile_cached
    try:
        yield
    finally:
        jinja2.Environment.compile = compile_source
        prune(directory, keep)
