"""Run dbt as a subprocess and read back what it wrote.

dbt runs from the project directory with ``DBT_PROFILES_DIR`` set, its output streamed line by
line as it comes, and its artifact (``run_results.json``, or ``sources.json`` for
``source freshness``) parsed and returned — but only when this invocation wrote it, so that a dbt
that crashed before writing anything is never mistaken for the previous run.

    result = run_dbt(["build"])
    if result.returncode == 0: ...
    result.artifact  # the parsed run_results.json, or None

Paths: the project directory defaults to the repository root; the target and log paths default to
``DBT_TARGET_PATH`` / ``DBT_LOG_PATH``, else ``<project>/target`` and ``<project>/logs``. The build
database (``CHAT_ANALYTICS_DB``) and dbt's spill directory (``CHAT_ANALYTICS_TEMP_DIR``, default
``<database folder>/.tmp``) are passed to dbt as absolute paths, because dbt runs in the project
directory, not in the caller's.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

from chat_analytics import config
from chat_analytics.errors import UsageError

RUN_RESULTS = "run_results.json"
SOURCES = "sources.json"


@dataclass
class DbtResult:
    """One finished dbt invocation."""

    command: list[str]
    returncode: int
    started_at: datetime  # UTC, naive
    finished_at: datetime  # UTC, naive
    target_path: Path
    artifact_path: Path
    artifact: dict | None = None  # parsed artifact written by this invocation, else None
    output_tail: list[str] = field(default_factory=list)  # last lines of dbt's output

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    @property
    def run_results(self) -> dict | None:
        """The parsed run_results.json this invocation wrote (None for source freshness)."""
        return self.artifact if self.artifact_path.name == RUN_RESULTS else None


def project_dir(path: str | os.PathLike | None = None) -> Path:
    """The dbt project directory; a :class:`UsageError` when it has no ``dbt_project.yml``."""
    project = Path(path) if path else config.PROJECT_DIR
    if not (project / "dbt_project.yml").is_file():
        raise UsageError(f"{project}: not a dbt project (no dbt_project.yml)")
    return project.resolve()


def default_target_path(project: Path) -> Path:
    """Where dbt writes its artifacts unless told otherwise."""
    env = os.environ.get("DBT_TARGET_PATH")
    return Path(env).resolve() if env else project / "target"


def default_log_path(project: Path) -> Path:
    env = os.environ.get("DBT_LOG_PATH")
    return Path(env).resolve() if env else project / "logs"


def profiles_dir(project: Path) -> Path:
    """``DBT_PROFILES_DIR`` if set, else the project (when it has profiles.yml), else the repo."""
    env = os.environ.get("DBT_PROFILES_DIR")
    if env:
        return Path(env).resolve()
    if (project / "profiles.yml").is_file():
        return project
    return config.PROJECT_DIR


def dbt_executable() -> str:
    """The dbt installed beside this Python (the project's venv), else the one on PATH."""
    beside = Path(sys.executable).parent / "dbt"
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    found = shutil.which("dbt")
    if not found:
        raise UsageError("dbt is not installed: no `dbt` beside this Python or on PATH")
    return found


def dbt_command() -> list[str]:
    """How to start dbt: through :mod:`chat_analytics.dbt_main` when this Python has dbt (it
    skips the interpreter's teardown after the command, D56), else the dbt on PATH."""
    if importlib.util.find_spec("dbt.cli") is not None:
        return [sys.executable, "-m", "chat_analytics.dbt_main"]
    return [dbt_executable()]


def dbt_environment(project: Path, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment dbt runs with: ours, plus absolute warehouse paths and the profile dir."""
    env = dict(os.environ)
    env["DBT_PROFILES_DIR"] = str(profiles_dir(project))
    env.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
    db = config.db_path().resolve()
    env["CHAT_ANALYTICS_DB"] = str(db)
    temp = env.get("CHAT_ANALYTICS_TEMP_DIR")
    env["CHAT_ANALYTICS_TEMP_DIR"] = str(Path(temp).resolve() if temp else db.parent / ".tmp")
    if extra:
        env.update(extra)
    return env


def _artifact_name(args: Sequence[str]) -> str:
    return SOURCES if list(args[:2]) == ["source", "freshness"] else RUN_RESULTS


def _stamp(path: Path) -> tuple[int, int] | None:
    try:
        stat = path.stat()
    except FileNotFoundError:
        return None
    return (stat.st_mtime_ns, stat.st_ino)


def read_artifact(path: Path) -> dict | None:
    """A parsed dbt artifact, or None when it is missing or not valid JSON."""
    try:
        with path.open(encoding="utf-8") as handle:
            data = json.load(handle)
    except (FileNotFoundError, json.JSONDecodeError, UnicodeDecodeError):
        return None
    return data if isinstance(data, dict) else None


def run_dbt(
    args: Sequence[str],
    *,
    project: str | os.PathLike | None = None,
    target_path: str | os.PathLike | None = None,
    log_path: str | os.PathLike | None = None,
    env: Mapping[str, str] | None = None,
    stream: TextIO | None = None,
) -> DbtResult:
    """Run ``dbt <args>`` in the project directory, streaming its output to ``stream``.

    ``--target-path`` and ``--log-path`` are always passed, so the caller knows where the artifact
    is. Returns the exit code and the artifact this invocation wrote (None if it wrote none).
    """
    project_path = project_dir(project)
    target = Path(target_path).resolve() if target_path else default_target_path(project_path)
    logs = Path(log_path).resolve() if log_path else default_log_path(project_path)
    out = stream if stream is not None else sys.stdout
    artifact_path = target / _artifact_name(args)
    command = [
        *dbt_command(),
        *args,
        "--target-path",
        str(target),
        "--log-path",
        str(logs),
    ]
    before = _stamp(artifact_path)
    started = _utcnow()
    tail: deque[str] = deque(maxlen=40)
    try:
        process = subprocess.Popen(
            command,
            cwd=project_path,
            env=dbt_environment(project_path, env),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            encoding="utf-8",
            errors="replace",
            bufsize=1,
        )
    except OSError as exc:
        raise UsageError(f"cannot run {command[0]}: {exc}") from exc
    assert process.stdout is not None
    with process.stdout:
        for line in process.stdout:
            out.write(line)
            out.flush()
            tail.append(line.rstrip("\n"))
    returncode = process.wait()
    after = _stamp(artifact_path)
    artifact = read_artifact(artifact_path) if after is not None and after != before else None
    return DbtResult(
        command=command,
        returncode=returncode,
        started_at=started,
        finished_at=_utcnow(),
        target_path=target,
        artifact_path=artifact_path,
        artifact=artifact,
        output_tail=list(tail),
    )


def _utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)
