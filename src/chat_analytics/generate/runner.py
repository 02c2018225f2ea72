"""One generator run: plan the world, expand it in chunks (on every core), write files and truth.

Every conversation draws from its own random stream (seeded from the run's seed), and every line
has a sort key (receipt time, conversation, event, copy), so the files are byte-identical for a
seed whatever the number of workers or chunks.
"""

from __future__ import annotations

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
from collections import defaultdict
from itertools import accumulate
from pathlib import Path

from chat_analytics.formats import FILE_EXTENSIONS, SOURCES
from chat_analytics.generate import emit
from chat_analytics.generate.config import BIT, MESS_KINDS, MESS_NAMES, GeneratorConfig
from chat_analytics.generate.mess import apply
from chat_analytics.generate.truth import ChunkTruth, Truth
from chat_analytics.generate.world import DAY_MS, SNOWPLOW, expand, plan

TRUTH_DIR = "_truth"
_STATE: tuple | None = None  # (config, conversations, empty files): inherited by forked workers
_MALFORMED = BIT["malformed_line"]
_COLLISION = BIT["id_collision"]
MIN_CONVERSATIONS_PER_WORKER = 1_500
MAX_EVENTS_PER_CONVERSATION = 512  # the line key has 10 bits for an event's position


def _write_part(path: str, lines: list[tuple[int, str]]) -> None:
    """A chunk's lines of one file, sorted, to disk: count, keys, byte offsets, then the bytes."""
    lines.sort()
    keys = array("Q", [k for k, _ in lines])
    texts = [line for _, line in lines]
    blob = ("\n".join(texts) + "\n").encode("utf-8", "surrogateescape")
    offsets = array("Q", accumulate([len(t) + 1 for t in texts], initial=0))
    if offsets[-1] != len(blob):  # some line is not ASCII: measure in bytes
        sizes = [len(t.encode("utf-8", "surrogateescape")) + 1 for t in texts]
        offsets = array("Q", accumulate(sizes, initial=0))
    with open(path, "wb") as fh:
        fh.write(array("Q", [len(keys)]).tobytes())
        fh.write(keys.tobytes())
        fh.write(offsets.tobytes())
        fh.write(blob)


def _read_part(path: str) -> tuple[array, array, memoryview]:
    data = memoryview(Path(path).read_bytes())
    header, keys, offsets = array("Q"), array("Q"), array("Q")
    header.frombytes(data[:8])
    n = header[0]
    keys.frombytes(data[8 : 8 + 8 * n])
    offsets.frombytes(data[8 + 8 * n : 16 + 16 * n])
    return keys, offsets, data[16 + 16 * n :]


def _assemble(parts: list[tuple[array, array, memoryview]]) -> tuple[bytes, list[int]]:
    """Merge the chunks' sorted parts of one file by key. Returns (bytes, keys in file order)."""
    if len(parts) == 1:
        return parts[0][2], parts[0][0]
    parts = sorted(parts, key=lambda p: (-len(p[0]), p[0][0]))
    base_keys, base_offsets, base = parts[0]
    others = []
    for keys, offsets, blob in parts[1:]:
        for i, k in enumerate(keys):
            others.append((k, bytes(blob[offsets[i] : offsets[i + 1]])))
    others.sort()
    pieces = []
    order = []
    pos = 0
    for k, line in others:
        j = bisect_left(base_keys, k)
        if j > pos:
            pieces.append(base[base_offsets[pos] : base_offsets[j]])
            order.extend(base_keys[pos:j])
            pos = j
        pieces.append(line)
        order.append(k)
    pieces.append(base[base_offsets[pos] :])
    order.extend(base_keys[pos:])
    return b"".join(pieces), order


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
    start, end = cfg.start_ms, cfg.end_ms
    first_day = start // DAY_MS
    # (source, day index) -> (lines of the file, the truth's counters for it)
    slots: dict[tuple[str, int], tuple[list, list]] = {}
    malformed = []
    truth = ChunkTruth(start)
    recs = truth.recs
    counters = {name: [0, 0] for name in MESS_NAMES}
    opportunities: dict[int, int] = defaultdict(int)
    injected: dict[int, int] = defaultdict(int)
    duplicate_lines = skewed_lines = 0
    render_json, render_snowplow = emit.render_json, emit.render_snowplow

    def arrival(src: str, recv: int) -> int:
        while (src, (recv - start) // DAY_MS) in empty:
            recv += DAY_MS
        return recv

    def slot_of(src: str, day: int) -> tuple[list, list]:
        slot = slots[(src, day)] = ([], truth.quality_slot(src, first_day + day))
        return slot

    chunk, lo, hi = bounds
    for conv in conversations[lo:hi]:
        rng = random.Random(conv.seed)
        if conv.scripted:
            evs = conv.events
        else:
            evs = expand(conv, cfg, rng)
            apply(conv, evs, cfg, rng, counters)
        ctx = emit.Context(conv, rng)
        base = conv.index << 12
        skews = conv.skew
        if len(evs) >= MAX_EVENTS_PER_CONVERSATION:
            raise ValueError(f"conversation {conv.cid} has more than 511 events")
        for ev in evs:
            src = ev.src
            recv = arrival(src, ev.recv) if empty else ev.recv
            if recv < start or recv >= end:
                continue
            ev.recv = recv
            skew = skews.get(src, 0) if skews else 0
            if src == SNOWPLOW:
                line, eat, payload = render_snowplow(ev, ctx, skew, rng)
            else:
                line, eat, payload = render_json(ev, ctx, skew)
            day, in_day = divmod(recv - start, DAY_MS)
            key = (in_day << 37) | base | (ev.seq << 2)
            bucket, q = slots.get((src, day)) or slot_of(src, day)
            if ev.bad is not None:
                bucket.append((key, emit.corrupt(line, ev.bad, rng)))
                fmt = "tsv" if src == SNOWPLOW else "json"
                malformed.append((src, day, key, emit.LANDING_REASONS[(fmt, ev.bad)], ev.bad))
                opportunities[_MALFORMED] += 1
                injected[_MALFORMED] += 1
                continue
            bucket.append((key, line))
            eid = ev.eid
            recs.append((src, recv, eat, eid, payload, key, ev, q))
            q[0] += 1
            lines = 1
            if ev.dup:
                for copy in range(1, ev.dup + 1):
                    bucket.append((key + copy, line))
                    recs.append((src, recv, eat, eid, payload, key + copy, ev, q))
                q[0] += ev.dup
                lines += ev.dup
                duplicate_lines += ev.dup
            mask = ev.mess
            clone = ev.clone
            if clone is not None:
                crecv = arrival(src, clone.recv) if empty else clone.recv
                if start <= crecv < end:
                    clone.recv = crecv
                    if src == SNOWPLOW:
                        cline, ceat, cpayload = render_snowplow(clone, ctx, skew, rng)
                    else:
                        cline, ceat, cpayload = render_json(clone, ctx, skew)
                    cday, cin_day = divmod(crecv - start, DAY_MS)
                    ckey = (cin_day << 37) | base | (clone.seq << 2)
                    cbucket, cq = slots.get((src, cday)) or slot_of(src, cday)
                    cbucket.append((ckey, cline))
                    recs.append((src, crecv, ceat, clone.eid, cpayload, ckey, clone, cq))
                    cq[0] += 1
                    lines += 1
                else:
                    mask &= ~_COLLISION
            opportunities[ev.opp] += 1
            injected[mask] += 1
            if skew:
                skewed_lines += lines
    parts = {}
    for (src, day), (lines, _) in slots.items():
        parts[(src, day)] = path = os.path.join(parts_dir, f"{src}-{day:05d}-{chunk:05d}.part")
        _write_part(path, lines)
    return ChunkOutput(
        parts,
        malformed,
        truth.finish(),
        counters,
        dict(opportunities),
        dict(injected),
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


def _chunks(n: int, pieces: int) -> list[tuple[int, int, int]]:
    """(chunk number, first, end) ranges of conversations."""
    pieces = max(1, min(pieces, n))
    bounds = [round(i * n / pieces) for i in range(pieces + 1)]
    ranges = [(bounds[i], bounds[i + 1]) for i in range(pieces) if bounds[i] < bounds[i + 1]]
    return [(i, lo, hi) for i, (lo, hi) in enumerate(ranges)]


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


def generate(cfg: GeneratorConfig) -> RunResult:
    """Write the export files and the ground truth of one run."""
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
    chunks = _chunks(len(conversations), workers * 8 if workers > 1 else 1)
    progress = Progress(len(conversations), cfg.progress)
    merged = _Merged()
    out.mkdir(parents=True, exist_ok=True)
    parts_dir = tempfile.mkdtemp(prefix=".generate-parts-", dir=out)
    _STATE = (cfg, conversations, empty, parts_dir)
    pool = None
    collecting = gc.isenabled()
    gc.disable()  # see _process
    try:
        if workers > 1 and len(chunks) > 1:
            pool = multiprocessing.get_context("fork").Pool(workers)
            outputs = pool.imap(_process, chunks)
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
        if collecting:
            gc.enable()
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
    parts = [_read_part(p) for p in part_paths]
    data, order = _assemble(parts) if parts else (b"", [])
    malformed = []
    if bad:
        for number, key in enumerate(order, start=1):
            if key in bad:
                reason, corruption = bad[key]
                malformed.append(
                    {"file": rel, "line": number, "reason": reason, "corruption": corruption}
                )
    if compress:
        data = _gzip(data)
    with open(path, "wb") as fh:
        fh.write(data)
    for p in part_paths:
        os.unlink(p)
    return rel, len(order), len(data), malformed


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
