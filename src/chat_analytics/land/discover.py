"""Which files to land, and as which source: the command line's paths resolved to files.

A path is a file, a folder (walked recursively, in name order) or a glob. A file's source is
``--source`` or else the name of its nearest parent folder that is named after a source
(``segment/``, ``rudderstack/``, ``snowplow/``). Inside folders and glob matches, a file whose
source cannot be told is skipped with a note, as are names starting with ``_`` or ``.`` (the
generator's ``_truth/``, ``_SUCCESS`` markers, hidden files); a file named on the command line
whose source cannot be told is a usage error. Everything is resolved before anything lands.
"""

from __future__ import annotations

import glob
import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from chat_analytics.errors import UsageError
from chat_analytics.formats import SOURCES

SOURCE_FOLDERS = ", ".join(f"{name}/" for name in SOURCES)


@dataclass(frozen=True)
class ExportFile:
    """One file to land: its absolute path and the source whose format it is in."""

    path: Path
    source: str


@dataclass
class Discovery:
    files: list[ExportFile] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def folder_source(path: Path) -> str | None:
    """The source named by the nearest parent folder of ``path``, if any."""
    for parent in path.parents:
        if parent.name.lower() in SOURCES:
            return parent.name.lower()
    return None


def _is_hidden(name: str) -> bool:
    return name.startswith((".", "_"))


def discover(paths: list[str], source: str | None = None) -> Discovery:
    """Resolve command-line ``paths`` to the files to land, in landing order.

    Raises :class:`UsageError` for a path that does not exist, a glob that matches nothing, a
    file named explicitly whose source cannot be told, and a file whose folder names another
    source than ``--source``.
    """
    if source is not None and source not in SOURCES:
        raise UsageError(f"unknown source {source!r}; expected one of {', '.join(SOURCES)}")
    if not paths:
        raise UsageError("give at least one file, folder or glob to land")
    found = Discovery()
    seen: set[Path] = set()
    unsourced: Counter[str] = Counter()
    hidden: Counter[str] = Counter()

    def add(path: Path, explicit: bool) -> None:
        path = _absolute(path)
        if path in seen:
            return
        named = folder_source(path)
        if source is not None and named is not None and named != source:
            raise UsageError(
                f"{path}: its folder says {named} but --source {source} was given;"
                " land it without --source or move it"
            )
        chosen = source or named
        if chosen is None:
            if explicit:
                raise UsageError(
                    f"{path}: cannot tell its source; put it under a {SOURCE_FOLDERS} folder"
                    " or give --source"
                )
            unsourced[_display(path.parent)] += 1
            return
        seen.add(path)
        found.files.append(ExportFile(path, chosen))

    def walk(folder: Path) -> None:
        for root, dirs, files in os.walk(folder):
            for name in sorted(dirs):
                if _is_hidden(name):
                    count = sum(len(f) for _, _, f in os.walk(Path(root, name)))
                    hidden[_display(Path(root, name)) + "/"] += count
            dirs[:] = sorted(name for name in dirs if not _is_hidden(name))
            for name in sorted(files):
                if _is_hidden(name):
                    hidden[_display(Path(root, name))] += 1
                else:
                    add(Path(root, name), explicit=False)

    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            walk(path)
        elif path.is_file():
            add(path, explicit=True)
        elif glob.has_magic(raw):
            matches = sorted(glob.glob(raw, recursive=True))
            if not matches:
                raise UsageError(f"{raw}: no file matches")
            for match in matches:
                if Path(match).is_dir():
                    walk(Path(match))
                elif Path(match).is_file():
                    add(Path(match), explicit=False)
        elif path.exists():
            raise UsageError(f"{raw}: not a regular file or folder")
        else:
            raise UsageError(f"{raw}: no such file or folder")

    for where, count in hidden.items():
        found.notes.append(
            f"skipped {where} ({_files(count)}): names starting with '_' or '.' are not exports"
        )
    for where, count in unsourced.items():
        found.notes.append(
            f"skipped {_files(count)} in {where}/: not under a {SOURCE_FOLDERS} folder"
            " (give --source to land them)"
        )
    return found


def _files(count: int) -> str:
    return f"{count} file" if count == 1 else f"{count} files"


def _absolute(path: Path) -> Path:
    """``path`` made absolute and normalised, symlinks kept (their folder names the source)."""
    return Path(os.path.abspath(path))


def _display(path: Path) -> str:
    """``path`` relative to the current directory when it is below it, else absolute."""
    try:
        return str(_absolute(path).relative_to(Path.cwd()))
    except ValueError:
        return str(_absolute(path))
