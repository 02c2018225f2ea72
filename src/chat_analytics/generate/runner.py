"""One generator run: plan the world, expand it in chunks (on every core), write files and truth.

Every conversation draws from its own random stream (seeded from the run's seed), and every line
has a sort key (receipt time, conversation, event, copy), so the files are byte-identical for a
seed whatever the number of workers or chunks.
"""

from __future__ import annotations

import _random
import dataclasses
import datetime as dt
import gc
import gzip
import json
import multiprocessing
import os
import random
import shutil
import sys
import tempfile
import time
from array import array
from bisect import bisect_left
from collections import Counter, defaultdict
from itertools import accumulate
from operator import itemgetter
from pathlib import Path

from chat_analytics.formats import FILE_EXTENSIONS, SOURCES
from chat_analytics.generate import emit
from chat_analytics.generate.config import BIT, MESS_KINDS, MESS_NAMES, GeneratorConfig
from chat_analytics.generate.mess import apply
from chat_analytics.generate.truth import LANDED, ChunkTruth, Truth
from chat_analytics.generate.world import DAY_MS, SNOWPLOW, expand, plan

TRUTH_DIR = "_truth"
_STATE: tuple | None = None  # (config, conversations, empty files): inherited by forked workers
_MALFORMED = BIT["malformed_line"]
_COLLISION = BIT["id_collision"]
_first, _second = itemgetter(0), itemgetter(1)
_WRITEV = hasattr(os, "writev")
_IOV_MAX = 1024  # buffers per os.writev call (POSIX guarantees 16, Linux allows 1024)
_SENDFILE = hasattr(os, "sendfile")
MIN_CONVERSATIONS_PER_WORKER = 1_500
MIN_CHUNKS_PER_WORKER, MAX_CHUNKS_PER_WORKER = 8, 32
MAX_EVENTS_PER_CONVERSATION = 512  # the line key has 10 bits for an event's position
SHM = "/dev/shm"
BYTES_PER_CONVERSATION = 24_000  # what a conversation's lines take, generously


def _encoded(text: str) -> bytes:
    """A line as written: UTF-8, where a corrupted line's invalid bytes are lone surrogates."""
    return text.encode("utf-8", "surrogateescape")


def _write_part(path: str, lines: list[tuple[int, str]]) -> None:
    """A chunk's lines of one file (each ending with its newline), sorted, to disk: count, keys,
    byte offsets, then the lines."""
    lines.sort(key=_first)  # keys are unique
    keys = array("Q", map(_first, lines))
    texts = list(map(_second, lines))
    text = "".join(texts)
    if text.isascii():  # (known without a scan) all the lines encoded at once
        data = text.encode()
    else:  # a corrupted line's invalid bytes: line by line
        texts = list(map(_encoded, texts))
        data = b"".join(texts)
    offsets = array("Q", accumulate(map(len, texts), initial=0))
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        header = array("Q", [len(keys)]).tobytes()
        _write_all(fd, [header, keys.tobytes(), offsets.tobytes(), data])
    finally:
        os.close(fd)


def _write_all(fd: int, buffers: list) -> None:
    """Write the buffers one after the other, without joining them first where the OS can."""
    if not _WRITEV:
        data = memoryview(b"".join(buffers))
        while data:
            data = data[os.write(fd, data) :]
        return
    for i in range(0, len(buffers), _IOV_MAX):
        batch = buffers[i : i + _IOV_MAX]
        written = os.writev(fd, batch)
        if written < sum(map(len, batch)):  # a short write: the rest one piece at a time
            rest = memoryview(b"".join(batch))[written:]
            while rest:
                rest = rest[os.write(fd, rest) :]


def _open_part(path: str) -> tuple[int, array, array, int]:
    """An open part: (file descriptor, keys, line offsets, where the lines start)."""
    fd = os.open(path, os.O_RDONLY)
    header, keys, offsets = array("Q"), array("Q"), array("Q")
    header.frombytes(_pread(fd, 8, 0))
    n = header[0]
    data = _pread(fd, 16 * n + 8, 8)
    keys.frombytes(data[: 8 * n])
    offsets.frombytes(data[8 * n :])
    return fd, keys, offsets, 16 * n + 16


def _pread(fd: int, size: int, offset: int) -> bytes:
    data = os.pread(fd, size, offset)
    while len(data) < size:  # a short read
        more = os.pread(fd, size - len(data), offset + len(data))
        if not more:
            raise OSError(f"part file ends early (fd {fd})")
        data += more
    return data


def _read_part(part: tuple[int, array, array, int]) -> tuple[array, array, memoryview]:
    fd, keys, offsets, start = part
    return keys, offsets, memoryview(_pread(fd, offsets[-1], start))


def _assemble(parts: list[tuple[array, array, memoryview]]) -> tuple[bytes, list]:
    """Merge the chunks' sorted parts of one file by key. Returns (bytes, runs): sorted runs of
    keys that together are the file's keys (see _line_number)."""
    if len(parts) == 1:
        return parts[0][2], [parts[0][0]]
    parts = sorted(parts, key=lambda p: (-len(p[0]), p[0][0]))
    base_keys, base_offsets, base = parts[0]
    others = []
    for keys, offsets, blob in parts[1:]:
        for i, k in enumerate(keys):
            others.append((k, bytes(blob[offsets[i] : offsets[i + 1]])))
    others.sort()
    pieces = []
    pos = 0
    for k, line in others:
        j = bisect_left(base_keys, k)
        if j > pos:
            pieces.append(base[base_offsets[pos] : base_offsets[j]])
            pos = j
        pieces.append(line)
    pieces.append(base[base_offsets[pos] :])
    return b"".join(pieces), [base_keys, list(map(_first, others))]


def _copy_assembled(out: int, parts: list[tuple[int, array, array, int]]) -> tuple[list, int]:
    """What _assemble makes, written to ``out`` with the largest part copied file to file by the
    OS. Returns (runs of keys as _assemble, bytes written)."""
    parts = sorted(parts, key=lambda p: (-len(p[1]), p[1][0]))
    fd, base_keys, base_offsets, start = parts[0]
    others = []
    for other, keys, offsets, other_start in parts[1:]:
        blob = _pread(other, offsets[-1], other_start)
        for i, k in enumerate(keys):
            others.append((k, blob[offsets[i] : offsets[i + 1]]))
    others.sort()
    pending: list[bytes] = []  # lines of the other parts that go before the next base lines
    pos = 0
    for k, line in others:
        j = bisect_left(base_keys, k)
        if j > pos:
            if pending:
                _write_all(out, pending)
                pending = []
            _send(out, fd, start + base_offsets[pos], base_offsets[j] - base_offsets[pos])
            pos = j
        pending.append(line)
    if pending:
        _write_all(out, pending)
    end = len(base_keys)
    if end > pos:
        _send(out, fd, start + base_offsets[pos], base_offsets[end] - base_offsets[pos])
    size = base_offsets[end] + sum(len(line) for _, line in others)
    return [base_keys, list(map(_first, others))], size


def _line_number(runs: list, key: int) -> int:
    """The line (from 1) of ``key`` in a file whose keys are the sorted ``runs`` merged."""
    return 1 + sum(bisect_left(keys, key) for keys in runs)


def _send(out: int, fd: int, offset: int, count: int) -> None:
    """Copy ``count`` bytes of ``fd`` from ``offset`` to the end of ``out``."""
    global _SENDFILE
    while count:
        if _SENDFILE:
            try:
                sent = os.sendfile(out, fd, offset, count)
            except OSError:
                _SENDFILE = False  # not between these files: copy through memory
                continue
            if sent == 0:
                raise OSError(f"part file ends early (fd {fd})")
        else:
            data = _pread(fd, min(count, 1 << 24), offset)
            _write_all(out, [data])
            sent = len(data)
        offset += sent
        count -= sent


@dataclasses.dataclass
class ChunkOutput:
    files: dict[tuple[str, int], str]  # (source, day index) -> part written to disk
    malformed: list[tuple[str, int, int, str]]
    truth: ChunkTruth
    counters: dict[str, list[int]]
    opportunities: dict[int, int]
    injected: dict[int, int]
    duplicate_lines: int
    skewed_lines: int
    conversations: int


@dataclasses.dataclass
class RunResult:
    out: Path
    seconds: float
    conversations: int
    sources: dict[str, dict[str, int]]  # source -> files, lines, bytes
    manifest: dict
    mess: dict

    @property
    def lines(self) -> int:
        return sum(s["lines"] for s in self.sources.values())


def _process(bounds: tuple[int, int, int]) -> ChunkOutput:
    # The chunk creates millions of small objects and no reference cycles: the cyclic garbage
    # collector would only re-scan them over and over.
    collecting = gc.isenabled()
    gc.disable()
    try:
        return _process_chunk(bounds)
    finally:
        if collecting:
            gc.enable()


def _process_chunk(bounds: tuple[int, int, int]) -> ChunkOutput:
    cfg, conversations, empty, parts_dir = _STATE
    start = cfg.start_ms
    first_day = start // DAY_MS
    days = cfg.days
    # source -> per day index: [lines of the file, the truth's counters for it] (None: no line)
    slots: dict[str, list] = {src: [None] * days for src in SOURCES}
    malformed = []
    truth = ChunkTruth(start)
    recs = truth.recs
    add_rec = recs.append
    quality_slot = truth.quality_slot
    counters = {name: [0, 0] for name in MESS_NAMES}
    # per line's event: the bit sets of the kinds of mess it was an opportunity for, and of those
    # injected (most events have none injected: only the others are listed)
    opportunities: list[int] = []
    injected: list[int] = []
    add_opportunities, add_injected = opportunities.append, injected.append
    duplicate_lines = skewed_lines = 0
    render_json, render_snowplow = emit.render_json, emit.render_snowplow
    Context = emit.Context
    rng = random.Random()
    seed = _random.Random.seed  # what random.Random(seed) does, without the Python layers

    # source -> per day index: how much later a line received that day arrives (an empty file's
    # lines arrive with the next day's that is not empty)
    shifts = {src: [0] * (days + 1) for src in SOURCES}
    for src, per_day in shifts.items():
        for day in range(days - 1, -1, -1):
            if (src, day) in empty:
                per_day[day] = per_day[day + 1] + DAY_MS

    def slot_of(src: str, day: int) -> list:
        slot = slots[src][day] = [[], quality_slot(src, first_day + day)]
        return slot

    chunk, lo, hi = bounds
    for conv in conversations[lo:hi]:
        seed(rng, conv.seed)
        rng.gauss_next = None
        if conv.scripted:
            evs = conv.events
        else:
            evs = expand(conv, cfg, rng)
            apply(conv, evs, cfg, rng, counters)
        ctx = Context(conv, rng)
        base = conv.index << 12
        skews = conv.skew
        if len(evs) >= MAX_EVENTS_PER_CONVERSATION:
            raise ValueError(f"conversation {conv.cid} has more than 511 events")
        for ev in evs:
            src = ev.src
            recv = ev.recv
            since = recv - start
            if since < 0:
                continue
            day = since // DAY_MS
            if day >= days:
                continue
            if empty and shifts[src][day]:
                recv = ev.recv = recv + shifts[src][day]
                since = recv - start
                day = since // DAY_MS
                if day >= days:
                    continue
            skew = skews.get(src, 0) if skews else 0
            if src == SNOWPLOW:
                line, eat = render_snowplow(ev, ctx, skew, rng)
            else:
                line, eat = render_json(ev, ctx, skew)
            key = ((since % DAY_MS) << 37) | base | (ev.seq << 2)
            bucket, q = slots[src][day] or slot_of(src, day)
            if ev.bad is not None:
                bucket.append((key, emit.corrupt(line[:-1], ev.bad, rng) + "\n"))
                fmt = "tsv" if src == SNOWPLOW else "json"
                malformed.append((src, day, key, emit.LANDING_REASONS[(fmt, ev.bad)], ev.bad))
                add_opportunities(_MALFORMED)
                add_injected(_MALFORMED)
                continue
            bucket.append((key, line))
            add_rec((src, recv, eat, ev.eid, key, ev, q))
            mask = ev.mess
            if ev.dup:
                dup, eid = ev.dup, ev.eid
                for copy in range(1, dup + 1):
                    bucket.append((key + copy, line))
                    add_rec((src, recv, eat, eid, key + copy, ev, q))
                duplicate_lines += dup
                if skew:
                    skewed_lines += dup
            if ev.clone is not None:
                clone = ev.clone
                crecv = clone.recv
                since = crecv - start
                cday = since // DAY_MS
                if 0 <= since and cday < days and empty and shifts[src][cday]:
                    crecv = clone.recv = crecv + shifts[src][cday]
                    since = crecv - start
                    cday = since // DAY_MS
                if 0 <= since and cday < days:
                    if src == SNOWPLOW:
                        cline, ceat = render_snowplow(clone, ctx, skew, rng)
                    else:
                        cline, ceat = render_json(clone, ctx, skew)
                    ckey = ((since % DAY_MS) << 37) | base | (clone.seq << 2)
                    cbucket, cq = slots[src][cday] or slot_of(src, cday)
                    cbucket.append((ckey, cline))
                    add_rec((src, crecv, ceat, clone.eid, ckey, clone, cq))
                    if skew:
                        skewed_lines += 1
                else:
                    mask &= ~_COLLISION
            add_opportunities(ev.opp)
            if mask:
                add_injected(mask)
            if skew:
                skewed_lines += 1
    parts = {}
    bad = Counter((src, day) for src, day, *_ in malformed)
    for src, per_day in slots.items():
        for day, slot in enumerate(per_day):
            if slot is not None:
                slot[1][LANDED] += len(slot[0]) - bad[(src, day)]  # lines that land as rows
                parts[(src, day)] = path = os.path.join(
                    parts_dir, f"{src}-{day:05d}-{chunk:05d}.part"
                )
                _write_part(path, slot[0])
    return ChunkOutput(
        parts,
        malformed,
        truth.finish(),
        counters,
        dict(Counter(opportunities)),
        dict(Counter(injected)),
        duplicate_lines,
        skewed_lines,
        hi - lo,
    )


def choose_empty_files(cfg: GeneratorConfig, counters: dict[str, list[int]]) -> set:
    """(source, day index) pairs whose file stays empty; never the last day."""
    if cfg.forced_empty_files is not None:
        chosen = set()
        for src, day in cfg.forced_empty_files:
            index = (dt.date.fromisoformat(day) - cfg.start_date).days
            if not 0 <= index < cfg.days - 1:
                raise ValueError(f"empty file {src}/{day} must be before the last day")
            chosen.add((src, index))
        counters["empty_file"] = [len(SOURCES) * (cfg.days - 1), len(chosen)]
        return chosen
    rng = random.Random(f"chat-analytics-empty:{cfg.seed}")
    chosen = set()
    for src in SOURCES:
        for day in range(cfg.days - 1):
            counters["empty_file"][0] += 1
            if rng.random() < cfg.rates["empty_file"]:
                counters["empty_file"][1] += 1
                chosen.add((src, day))
    return chosen


def _chunks(conversations: list, workers: int) -> list[tuple[int, int, int]]:
    """(chunk number, first, end) ranges of conversations.

    One process: one chunk. Else one chunk per day of conversation starts, so that a file takes
    most of its lines from one chunk (cheap to assemble); days are split when there are fewer
    than MIN_CHUNKS_PER_WORKER per process and grouped when there are more than
    MAX_CHUNKS_PER_WORKER.
    """
    n = len(conversations)
    if n == 0:
        return []
    if workers <= 1:
        return [(0, 0, n)]
    days = [conv.start // DAY_MS for conv in conversations]
    firsts = [0, *(i for i in range(1, n) if days[i] != days[i - 1]), n]
    low, high = workers * MIN_CHUNKS_PER_WORKER, workers * MAX_CHUNKS_PER_WORKER
    if len(firsts) - 1 > high:  # group days
        step = (len(firsts) - 1) / high
        firsts = [firsts[round(i * step)] for i in range(high)] + [n]
    elif len(firsts) - 1 < low:  # split days
        split = -(-low // (len(firsts) - 1))
        firsts = [
            lo + round(k * (hi - lo) / split)
            for lo, hi in zip(firsts, firsts[1:], strict=False)
            for k in range(split)
        ] + [n]  # fmt: skip
    bounds = sorted(set(firsts))
    return [(i, lo, hi) for i, (lo, hi) in enumerate(zip(bounds, bounds[1:], strict=False))]


class Progress:
    def __init__(self, total: int, enabled: bool) -> None:
        self.total, self.enabled, self.done = max(total, 1), enabled, 0
        self.started = time.perf_counter()

    def advance(self, n: int, what: str = "conversations") -> None:
        self.done += n
        if not self.enabled:
            return
        share = min(1.0, self.done / self.total)
        bar = "#" * int(share * 30)
        elapsed = time.perf_counter() - self.started
        sys.stderr.write(
            f"\rgenerate [{bar:<30}] {share:4.0%} {self.done:,}/{self.total:,} {what}"
            f" {elapsed:5.1f}s"
        )
        sys.stderr.flush()

    def close(self) -> None:
        if self.enabled:
            sys.stderr.write("\n")
            sys.stderr.flush()


def _clear(out: Path) -> None:
    """Remove the files a previous run wrote (only files of the generator's own layout)."""
    for src in SOURCES:
        folder = out / src
        if folder.is_dir():
            ext = FILE_EXTENSIONS[src]
            for path in folder.iterdir():
                if path.name.endswith((f".{ext}", f".{ext}.gz")):
                    path.unlink()
    truth = out / TRUTH_DIR
    if truth.is_dir():
        for path in truth.iterdir():
            if path.suffix in (".csv", ".json"):
                path.unlink()


def _parts_dir(out: Path, conversations: int) -> str:
    """Where the chunks' parts wait for their files: in memory (/dev/shm) when it has ample room
    for them, else next to the output."""
    size = conversations * BYTES_PER_CONVERSATION
    try:
        shm = os.statvfs(SHM)
        free_memory = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        if 4 * size < min(shm.f_bavail * shm.f_frsize, free_memory):
            return tempfile.mkdtemp(prefix="chat-analytics-generate-", dir=SHM)
    except (OSError, ValueError, AttributeError):
        pass
    return tempfile.mkdtemp(prefix=".generate-parts-", dir=out)


def generate(cfg: GeneratorConfig) -> RunResult:
    """Write the export files and the ground truth of one run."""
    collecting = gc.isenabled()
    gc.disable()  # see _process: planning and merging, too, make many objects and no cycles
    try:
        return _generate(cfg)
    finally:
        if collecting:
            gc.enable()


def _generate(cfg: GeneratorConfig) -> RunResult:
    global _STATE
    started = time.perf_counter()
    out = Path(cfg.out)
    counters = {name: [0, 0] for name in MESS_NAMES}
    if cfg.script is not None:
        conversations = list(cfg.script)
        for index, conv in enumerate(conversations):
            conv.index = index
    else:
        conversations = plan(cfg, counters)
    if len(conversations) >= 1 << 25:
        raise ValueError("at most 33,554,431 conversations per run")
    empty = choose_empty_files(cfg, counters)
    workers = cfg.workers or min(2, os.cpu_count() or 1)
    if cfg.workers == 0 and len(conversations) < 2 * MIN_CONVERSATIONS_PER_WORKER:
        workers = 1
    chunks = _chunks(conversations, workers)
    progress = Progress(len(conversations), cfg.progress)
    merged = _Merged()
    out.mkdir(parents=True, exist_ok=True)
    parts_dir = _parts_dir(out, len(conversations))
    _STATE = (cfg, conversations, empty, parts_dir)
    pool = None
    try:
        if workers > 1 and len(chunks) > 1:
            pool = multiprocessing.get_context("fork").Pool(workers)
            # the biggest chunks first, so that the processes finish together; what the chunks
            # produce adds up the same in any order
            biggest_first = sorted(chunks, key=lambda c: c[1] - c[2])
            outputs = pool.imap_unordered(_process, biggest_first)
        else:
            outputs = map(_process, chunks)
        for output in outputs:
            merged.add(output, counters)
            progress.advance(output.conversations)
        progress.close()
        _clear(out)
        jobs = _file_jobs(cfg, out, merged)
        # the workers write the files while this process works out the truth
        pending = pool.map_async(_write_file, jobs, chunksize=2) if pool else None
        results = None if pool else [_write_file(job) for job in jobs]
        truth = merged.truth
        truth.finish()
        truth_rows = truth.write(out / TRUTH_DIR)
        results = pending.get() if pending else results
        sources, file_lines, malformed_rows = _file_report(results)
    finally:
        _STATE = None
        if pool is not None:
            pool.close()
            pool.join()
        shutil.rmtree(parts_dir, ignore_errors=True)
    mess = _mess_report(cfg, counters, merged)
    mess["empty_file"]["files"] = sorted(
        f"{src}/{emit.day_name(cfg.start_ms // DAY_MS + day)}" for src, day in empty
    )
    seconds = time.perf_counter() - started
    manifest = {
        "generator": "chat-analytics generate",
        "seed": cfg.seed,
        "parameters": cfg.parameters(),
        "window": {"start": emit.plain(cfg.start_ms), "end": emit.plain(cfg.end_ms)},
        "conversations_planned": len(conversations),
        "conversations": len(truth.conversations),
        "as_of": None if truth.as_of is None else emit.plain(truth.as_of),
        "sources": sources,
        "files": file_lines,
        "malformed_lines": malformed_rows,
        "empty_files": mess["empty_file"]["files"],
        "rejections": {
            src: {reason: n for (s, reason), n in sorted(truth.rejections.items()) if s == src}
            for src in SOURCES
        },
        "truth_rows": truth_rows,
    }
    (out / TRUTH_DIR / "mess.json").write_text(json.dumps(mess, indent=2) + "\n")
    (out / TRUTH_DIR / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    return RunResult(out, seconds, len(truth.conversations), sources, manifest, mess)


class _Merged:
    """Everything the chunks produced, combined."""

    def __init__(self) -> None:
        self.files: dict[tuple[str, int], list[str]] = defaultdict(list)
        self.malformed: list[tuple] = []
        self.truth = Truth()
        self.opportunities: dict[int, int] = defaultdict(int)
        self.injected: dict[int, int] = defaultdict(int)
        self.duplicate_lines = 0
        self.skewed_lines = 0

    def add(self, output: ChunkOutput, counters: dict[str, list[int]]) -> None:
        for key, part in output.files.items():
            self.files[key].append(part)
        self.malformed.extend(output.malformed)
        self.truth.merge(output.truth)
        for name, (opps, hits) in output.counters.items():
            counters[name][0] += opps
            counters[name][1] += hits
        for mask, n in output.opportunities.items():
            self.opportunities[mask] += n
        for mask, n in output.injected.items():
            self.injected[mask] += n
        self.duplicate_lines += output.duplicate_lines
        self.skewed_lines += output.skewed_lines


def _gzip(data: bytes) -> bytes:
    return gzip.compress(data, compresslevel=6, mtime=0)


def _write_file(job: tuple) -> tuple[str, int, int, list[dict]]:
    """Assemble one file from the chunks' parts, write it; (name, lines, bytes, malformed)."""
    path, rel, part_paths, bad, compress = job
    parts = [_open_part(p) for p in part_paths]
    try:
        if compress or not parts or not _SENDFILE:
            data, runs = _assemble([_read_part(p) for p in parts]) if parts else (b"", [])
            if compress:
                data = _gzip(data)
            with open(path, "wb") as fh:
                fh.write(data)
            size = len(data)
        else:
            out = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
            try:
                runs, size = _copy_assembled(out, parts)
            finally:
                os.close(out)
    finally:
        for fd, *_ in parts:
            os.close(fd)
    malformed = []
    if bad:
        for key in sorted(bad):  # in file order
            reason, corruption = bad[key]
            malformed.append(
                {
                    "file": rel,
                    "line": _line_number(runs, key),
                    "reason": reason,
                    "corruption": corruption,
                }
            )
    for p in part_paths:
        os.unlink(p)
    return rel, sum(map(len, runs)), size, malformed


def _file_jobs(cfg: GeneratorConfig, out: Path, merged: _Merged) -> list[tuple]:
    bad_keys: dict[tuple[str, int], dict[int, tuple[str, str]]] = defaultdict(dict)
    for src, day, key, reason, corruption in merged.malformed:
        bad_keys[(src, day)][key] = (reason, corruption)
    first_day = cfg.start_ms // DAY_MS
    jobs = []
    for src in SOURCES:
        (out / src).mkdir(parents=True, exist_ok=True)
        ext = FILE_EXTENSIONS[src] + (".gz" if cfg.gzip else "")
        for day in range(cfg.days):
            rel = f"{src}/{emit.day_name(first_day + day)}.{ext}"
            parts = merged.files.pop((src, day), [])
            jobs.append((str(out / rel), rel, parts, bad_keys.get((src, day)), cfg.gzip))
    return jobs


def _file_report(results: list[tuple]) -> tuple[dict, dict, list[dict]]:
    sources = {src: {"files": 0, "lines": 0, "bytes": 0} for src in SOURCES}
    file_lines: dict[str, dict[str, int]] = {}
    malformed_rows = []
    for rel, lines, size, malformed in results:
        stats = sources[rel.split("/", 1)[0]]
        stats["files"] += 1
        stats["lines"] += lines
        stats["bytes"] += size
        file_lines[rel] = {"lines": lines, "bytes": size}
        malformed_rows.extend(malformed)
    return sources, file_lines, malformed_rows


def _mess_report(cfg: GeneratorConfig, counters: dict, merged: _Merged) -> dict:
    per_event = {name: [0, 0] for name in MESS_NAMES}
    for masks, slot in ((merged.opportunities, 0), (merged.injected, 1)):
        for mask, n in masks.items():
            for name in MESS_NAMES:
                if mask & BIT[name]:
                    per_event[name][slot] += n
    report = {}
    for kind in MESS_KINDS:
        opps, hits = counters[kind.name]
        opps += per_event[kind.name][0]
        hits += per_event[kind.name][1]
        report[kind.name] = {
            "rate": cfg.rates[kind.name],
            "unit": kind.unit,
            "opportunities": opps,
            "injected": hits,
        }
    report["duplicate"]["extra_lines"] = merged.duplicate_lines
    report["clock_skew"]["skewed_lines"] = merged.skewed_lines
    return report
