"""What landing tells its user: progress while it runs (stderr) and a summary table (stdout)."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

ALREADY_LANDED = "already_landed"
LANDED = "landed"
FAILED = "failed"


@dataclass
class FileResult:
    """What happened to one file. ``status`` is ``landed``, ``already_landed`` or ``failed``."""

    path: Path
    source: str
    status: str
    load_id: int | None = None
    lines: int = 0
    landed_rows: int = 0
    rejected_lines: int = 0
    bytes_read: int = 0
    seconds: float = 0.0
    error: str | None = None


@dataclass
class LandingResult:
    files: list[FileResult]
    notes: list[str]
    seconds: float = 0.0

    def count(self, status: str) -> int:
        return sum(1 for item in self.files if item.status == status)

    @property
    def skipped(self) -> int:
        """Files skipped because their content was already landed."""
        return self.count(ALREADY_LANDED)

    @property
    def failed(self) -> list[FileResult]:
        return [item for item in self.files if item.status == FAILED]


def display_path(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


class Progress:
    """Files done, lines and rate, at most every ``interval`` seconds, to ``stream``."""

    def __init__(self, files_total: int, stream: TextIO | None, interval: float) -> None:
        self.files_total = files_total
        self.stream = stream
        self.interval = interval
        self.files_done = 0
        self.lines = 0
        self.bytes = 0
        self.current: list[str] = []  # files being landed now
        self.started = time.monotonic()
        self.last_shown = self.started
        self.tty = bool(stream is not None and getattr(stream, "isatty", lambda: False)())
        self.shown = False
        self.lock = threading.Lock()  # files land on several threads

    def start_file(self, path: Path) -> None:
        with self.lock:
            self.current.append(display_path(path))

    def advance(self, lines: int, bytes_read: int) -> None:
        with self.lock:
            self.lines += lines
            self.bytes += bytes_read
            self._maybe_show()

    def file_done(self, path: Path) -> None:
        with self.lock:
            self.files_done += 1
            if display_path(path) in self.current:
                self.current.remove(display_path(path))
            self._maybe_show()

    def forget(self, lines: int, bytes_read: int) -> None:
        """Take back a file counted as done that is going to be landed again."""
        with self.lock:
            self.files_done -= 1
            self.lines -= lines
            self.bytes -= bytes_read

    def _maybe_show(self) -> None:
        now = time.monotonic()
        if self.stream is None or now - self.last_shown < self.interval:
            return
        self.last_shown = now
        elapsed = max(now - self.started, 1e-9)
        text = (
            f"land: {self.files_done}/{self.files_total} files, {self.lines:,} lines"
            f" ({self.lines / elapsed:,.0f} lines/s, {self.bytes / elapsed / 1e6:,.1f} MB/s)"
            f" - {', '.join(self.current) or 'done'}"
        )
        if self.tty:
            self.stream.write("\r\x1b[2K" + text)
        else:
            self.stream.write(text + "\n")
        self.stream.flush()
        self.shown = True

    def close(self) -> None:
        if self.tty and self.shown and self.stream is not None:
            self.stream.write("\n")
            self.stream.flush()


def summary_table(result: LandingResult) -> str:
    """One row per file (lines, landed, rejected, status) and a total line."""
    header = ("file", "source", "lines", "landed", "rejected", "status")
    rows = []
    for item in result.files:
        if item.status == LANDED:
            status = f"landed (load {item.load_id})"
            numbers = (f"{item.lines:,}", f"{item.landed_rows:,}", f"{item.rejected_lines:,}")
        elif item.status == ALREADY_LANDED:
            status = f"skipped: already landed (load {item.load_id})"
            numbers = ("-", "-", "-")
        else:
            status = f"failed: {item.error}"
            numbers = ("-", "-", "-")
        rows.append((display_path(item.path), item.source, *numbers, status))
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header) - 1)]
    right = {2, 3, 4}

    def fmt(row: tuple[str, ...]) -> str:
        cells = [
            cell.rjust(widths[i]) if i in right else cell.ljust(widths[i])
            for i, cell in enumerate(row[:-1])
        ]
        return "  ".join([*cells, row[-1]]).rstrip()

    landed = [item for item in result.files if item.status == LANDED]
    lines = sum(item.lines for item in landed)
    rate = lines / result.seconds if result.seconds > 0 else 0.0
    total = (
        f"{len(result.files)} files: {len(landed)} landed, {result.skipped} already landed,"
        f" {len(result.failed)} failed; {lines:,} lines = "
        f"{sum(item.landed_rows for item in landed):,} rows landed + "
        f"{sum(item.rejected_lines for item in landed):,} rejected;"
        f" {result.seconds:,.1f} s ({rate:,.0f} lines/s)"
    )
    if not rows:
        return total
    return "\n".join([fmt(header), *(fmt(row) for row in rows), total])
