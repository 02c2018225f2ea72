"""Reading an export file as numbered lines, in bounded chunks, without a Python loop per line.

A file (plain or gzip, told by its magic bytes) is read in blocks of about ``block_bytes`` that
end at a newline; a block is split into lines by Arrow (``split_pattern``) and its UTF-8 is
validated once. Only a block that fails validation is searched (by bisection, with the same
validator) for its bad lines, which are set aside as ``invalid_utf8``. For JSON sources, lines
that DuckDB's lenient JSON parser would accept but RFC 8259 does not (trailing commas,
``NaN``/``Infinity``) are found by one regular-expression scan of the block and checked strictly
by Python's parser; they are set aside as ``invalid_json``. For tab-separated sources, lines
whose field count is not the expected one are found by counting each line's tabs and are kept
apart to be looked at one by one. Everything else goes to DuckDB.

A line is a run of bytes ending in a newline (``\\n``, which is not part of it); a last line
without one counts too. Line numbers are 1-based.
"""

from __future__ import annotations

import array
import gzip
import hashlib
import io
import json
import queue
import threading
from collections.abc import Iterable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import pyarrow as pa
import pyarrow.compute as pc

DEFAULT_BLOCK_BYTES = 32 << 20
CHUNK_SCHEMA = pa.schema([("line_number", pa.int64()), ("line", pa.string())])
_EMPTY_CHUNK = CHUNK_SCHEMA.empty_table()
SHORT_LINE = 16  # bytes: a line this short (`{}`, `null`, ...) is looked at one by one
GZIP_MAGIC = b"\x1f\x8b"
_DIGEST_PIECE = 1 << 20

# A superset of the places where DuckDB's JSON parser (yyjson with trailing commas and
# inf/nan allowed) is more lenient than RFC 8259: a comma before a closing bracket, and a
# NaN/Infinity literal where a value starts. Lines it matches are parsed strictly by Python.
LENIENT_JSON = r"(?m),[ \t\r]*[\]}]|(?:[:,\[]|^)[ \t\r]*[-+]?(?i:nan|inf)"
# A superset of the same, as patterns that each start with one literal byte, for a first look
# at a whole block: RE2 skips to that byte with memchr, which makes the three of them together
# two to three times faster than LENIENT_JSON on typical JSON. A value at the start of a line
# is looked for in each line, anchored.
_LENIENT_IN_BLOCK = (
    r",[ \t\r]*(?:[\]}]|[-+]?[nNiI][aAnN][nNfF])",
    r":[ \t\r]*[-+]?[nNiI][aAnN][nNfF]",
    r"\[[ \t\r]*[-+]?[nNiI][aAnN][nNfF]",
)
_LENIENT_AT_START = r"^[ \t\r]*[-+]?[nNiI][aAnN][nNfF]"


@dataclass
class Rejected:
    """A line set aside before it reaches DuckDB: its number, reason and exact bytes."""

    line_number: int
    reason: str
    raw_bytes: bytes


@dataclass
class Chunk:
    """Consecutive lines of one file, in three parts: the lines for DuckDB's bulk INSERT, the
    lines already rejected, and the unusual lines to look at one by one (JSON: lines that do
    not look like an object; tab-separated: lines with the wrong number of fields).

    ``lines`` has a row for every line of the chunk, in file order; the ``line`` of a row set
    aside (rejected or unusual) is NULL, so the bulk INSERT skips it and the text of the block
    is never copied to leave it out."""

    first_line: int
    line_count: int
    bytes_read: int
    lines: pa.Table  # line_number int64, line string (valid UTF-8, or NULL when set aside)
    rejected: list[Rejected] = field(default_factory=list)
    unusual: pa.Table = None  # same columns as lines

    def __post_init__(self) -> None:
        if self.unusual is None:
            self.unusual = _EMPTY_CHUNK


def file_digest(path: Path) -> tuple[str, int]:
    """SHA-256 (hex) and size of the file's bytes as stored (for gzip: the compressed bytes)."""
    with open(path, "rb", buffering=0) as handle:
        digest = hashlib.file_digest(handle, "sha256")
        size = handle.tell()
    return digest.hexdigest(), size


class Digest:
    """The SHA-256 and size of a file's stored bytes (as :func:`file_digest` gives them), taken
    while :func:`read_chunks` reads the file, so that a file is read once, not twice."""

    def __init__(self) -> None:
        self._sha256 = hashlib.sha256()
        self.size = 0
        self.complete = False  # every stored byte has been seen

    def update(self, data) -> None:
        self._sha256.update(data)  # releases the GIL for all but tiny updates
        self.size += len(data)

    def hexdigest(self) -> str:
        if not self.complete:
            raise ValueError("the file was not read to its end")
        return self._sha256.hexdigest()


class _Digesting(io.RawIOBase):
    """A raw file that passes every byte read through a :class:`Digest`."""

    def __init__(self, raw: BinaryIO, digest: Digest) -> None:
        self.raw = raw
        self.digest = digest

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        # At most a piece at a time, digested while it is still in the CPU's cache.
        view = memoryview(buffer)[:_DIGEST_PIECE]
        count = self.raw.readinto(view)
        if count:
            self.digest.update(view[:count])
        return count

    def drain(self) -> None:
        """Digest what was not read yet (bytes after the last gzip member)."""
        while block := self.raw.read(1 << 20):
            self.digest.update(block)
        self.digest.complete = True

    def close(self) -> None:
        self.raw.close()
        super().close()


def is_gzip(path: Path) -> bool:
    with open(path, "rb") as handle:
        return handle.read(2) == GZIP_MAGIC


def open_export(path: Path) -> BinaryIO:
    """The file's uncompressed bytes: gzip (any number of members) or plain."""
    if is_gzip(path):
        return gzip.GzipFile(filename=path, mode="rb")
    return open(path, "rb", buffering=0)


def blocks(handle: BinaryIO, block_bytes: int) -> Iterator[memoryview]:
    """Whole lines of the stream, in blocks ending in ``\\n`` (the last one may not). A block
    is a view of the start of a reused ``bytearray`` (its ``obj``): it is valid until the next
    block is asked for.
    """
    buffer = bytearray(block_bytes)
    filled = 0
    at_eof = False
    while not at_eof:
        view = memoryview(buffer)
        while filled < len(buffer):
            count = handle.readinto(view[filled:])
            if not count:
                at_eof = True
                break
            filled += count
        if at_eof:
            if filled:
                yield memoryview(buffer)[:filled]
            return
        cut = buffer.rfind(b"\n", 0, filled) + 1
        if cut == 0:  # one line longer than the buffer: read on into a bigger one
            bigger = bytearray(2 * len(buffer))
            bigger[:filled] = memoryview(buffer)[:filled]
            buffer = bigger
            continue
        yield memoryview(buffer)[:cut]
        tail = filled - cut
        buffer[:tail] = buffer[cut:filled]
        filled = tail


def _whole_block(block: memoryview, kind: pa.DataType) -> pa.Array:
    """A one-element Arrow array over the block's bytes (no copy)."""
    offsets = pa.py_buffer(array.array("q", [0, len(block)]))
    return pa.Array.from_buffers(kind, 1, [None, offsets, pa.py_buffer(block)])


def _split(whole: pa.Array, ends_with_newline: bool) -> pa.Array:
    pattern = b"\n" if pa.types.is_large_binary(whole.type) else "\n"
    lines = pc.split_pattern(whole, pattern).flatten()
    if ends_with_newline:  # the text after the final newline is not a line
        lines = lines.slice(0, len(lines) - 1)
    return lines


def _line_numbers(first: int, count: int) -> pa.Array:
    values = array.array("q", range(first, first + count))
    return pa.Array.from_buffers(pa.int64(), count, [None, pa.py_buffer(values)])


def _is_utf8(lines: pa.Array) -> bool:
    try:
        lines.view(pa.large_string()).validate(full=True)
    except pa.ArrowInvalid:
        return False
    return True


def _invalid_utf8(lines: pa.Array, start: int = 0, stop: int | None = None) -> list[int]:
    """Indices of the lines (binary) that are not valid UTF-8, found by bisection: a block
    with a few bad lines costs a few validations of its bytes, not a Python loop per line."""
    stop = len(lines) if stop is None else stop
    if stop <= start or _is_utf8(lines.slice(start, stop - start)):
        return []
    if stop - start == 1:
        return [start]
    middle = (start + stop) // 2
    return _invalid_utf8(lines, start, middle) + _invalid_utf8(lines, middle, stop)


def _line_starts(lines: pa.Array, size: int) -> list[int]:
    """Where each line of ``lines`` (split from one block of ``size`` bytes, none left out)
    starts in the block, and where the block ends: ``len(lines) + 1`` offsets. Splitting drops
    one newline per line, so line ``i`` starts ``i`` bytes after its offset in the split
    values."""
    if not len(lines):
        return [0]
    offsets = memoryview(lines.buffers()[1]).cast("q")  # large_string / large_binary: int64
    offsets = offsets[lines.offset : lines.offset + len(lines) + 1].tolist()
    base = offsets[0]
    starts = [offset - base + index for index, offset in enumerate(offsets)]
    starts[-1] = min(starts[-1], size)  # the last line may end without a newline
    return starts


def _wrong_field_counts(data: bytes | bytearray, starts: list[int], fields: int) -> list[int]:
    """Indices of the lines (``data[starts[i]:starts[i + 1]]``, a newline or the end after each)
    that do not have ``fields`` tab-separated fields: one C-level count of tabs per line."""
    count = data.count
    tabs = fields - 1
    return [
        index
        for index in range(len(starts) - 1)
        if count(b"\t", starts[index], starts[index + 1]) != tabs
    ]


def _flags(count: int, indices: list[int]) -> pa.Array:
    """A boolean array of ``count`` entries, true at ``indices``."""
    flags = [False] * count
    for index in indices:
        flags[index] = True
    return pa.array(flags, pa.bool_())


def _masked(lines: pa.Array, keep: pa.Array) -> pa.Array:
    """``lines`` with the entries where ``keep`` is false made null. ``keep`` (no nulls) must
    be false wherever ``lines`` is null already. The data is not copied: only the validity
    bitmap is new."""
    if lines.offset == 0 and keep.offset == 0:
        return pa.Array.from_buffers(
            lines.type, len(lines), [keep.buffers()[1], *lines.buffers()[1:]]
        )
    return pc.if_else(keep, lines, pa.scalar(None, lines.type))


def _reject_constant(name: str) -> float:
    raise ValueError(f"{name} is not JSON")


def _is_strict_json(line: str) -> bool:
    try:
        json.loads(line, parse_constant=_reject_constant)
    except ValueError:
        return False
    return True


def _block_bytes(block: memoryview) -> bytes | bytearray:
    """The bytes of ``block`` as an object with ``count``: the buffer it is the start of (see
    :func:`blocks`), or else a copy."""
    owner = block.obj
    if isinstance(owner, bytes | bytearray) and block.contiguous:
        return owner
    return bytes(block)


def _maybe_lenient(whole: pa.Array, lines: pa.Array) -> bool:
    """Whether some line of the block (``whole``, split into ``lines``) may match
    LENIENT_JSON."""
    for pattern in _LENIENT_IN_BLOCK:
        if pc.any(pc.match_substring_regex(whole, pattern)).as_py():
            return True
    return bool(pc.any(pc.match_substring_regex(lines, _LENIENT_AT_START)).as_py())


def _chunk(
    block: memoryview,
    first_line: int,
    ends_with_newline: bool,
    json_lines: bool,
    field_count: int | None = None,
) -> Chunk:
    rejected: list[Rejected] = []
    aside: list[int] = []  # indices of the lines rejected here
    whole = _whole_block(block, pa.large_string())
    try:
        whole.validate(full=True)
    except pa.ArrowInvalid:
        whole = None
    if whole is not None:
        lines = _split(whole, ends_with_newline)
    else:  # invalid UTF-8 somewhere in the block: find the lines, keep the rest
        whole = _whole_block(block, pa.large_binary())
        raw = _split(whole, ends_with_newline)
        aside = _invalid_utf8(raw)
        for index in aside:
            rejected.append(Rejected(first_line + index, "invalid_utf8", raw[index].as_py()))
        lines = _masked(raw, pc.invert(_flags(len(raw), aside))).cast(pa.large_string())
    count = len(lines)
    numbers = _line_numbers(first_line, count)
    if json_lines and _maybe_lenient(whole, lines):
        suspects = pc.match_substring_regex(lines, LENIENT_JSON)
        for index in pc.indices_nonzero(suspects).to_pylist():
            text = lines[index].as_py()
            if not _is_strict_json(text):
                rejected.append(Rejected(first_line + index, "invalid_json", text.encode("utf-8")))
                aside.append(index)
    rejected.sort(key=lambda item: item.line_number)
    odd = None  # lines to look at one by one
    if json_lines and count:
        odd = pc.fill_null(_unusual_json(lines), False)
        if aside:
            odd = pc.and_not(odd, _flags(count, aside))
    elif field_count is not None and count:
        starts = _line_starts(lines, len(block))
        wrong = _wrong_field_counts(_block_bytes(block), starts, field_count)
        if wrong:
            odd = _flags(count, sorted(set(wrong) - set(aside)))
    unusual = _EMPTY_CHUNK
    if odd is not None and pc.any(odd).as_py():
        unusual = pa.Table.from_arrays(
            [numbers.filter(odd), lines.filter(odd).cast(pa.string())], schema=CHUNK_SCHEMA
        )
    else:
        odd = None
    if odd is not None or aside:
        keep = pc.invert(_flags(count, aside))
        lines = _masked(lines, keep if odd is None else pc.and_not(keep, odd))
    table = pa.Table.from_arrays([numbers, lines.cast(pa.string())], schema=CHUNK_SCHEMA)
    return Chunk(first_line, count, len(block), table, rejected, unusual)


def _unusual_json(lines: pa.Array) -> pa.Array:
    """Lines that do not look like an export's JSON object: not starting with ``{``, not
    ending with ``}`` (or ``}\\r``), or very short (``{}``). Cheap checks, no parsing: such lines
    (truncated, arrays, scalars, empty objects, padded ones) are looked at one by one, so the
    bulk of the file goes to DuckDB without a line that will not land."""
    return pc.or_(
        pc.or_(
            pc.invert(pc.starts_with(lines, "{")),
            pc.and_(pc.invert(pc.ends_with(lines, "}")), pc.invert(pc.ends_with(lines, "}\r"))),
        ),
        pc.less(pc.binary_length(lines), SHORT_LINE),
    )


def read_chunks(
    path: Path,
    *,
    json_lines: bool = False,
    field_count: int | None = None,
    block_bytes: int = DEFAULT_BLOCK_BYTES,
    digest: Digest | None = None,
) -> Iterator[Chunk]:
    """The file's lines as chunks, in order; memory stays near a few ``block_bytes``.

    ``json_lines``: set aside the lines that are not strict JSON (see the module doc).
    ``field_count``: keep apart the lines without that many tab-separated fields.
    ``digest``: digest the file's stored bytes on the way; it is complete once the last chunk
    has been taken.
    """
    next_line = 1
    with ExitStack() as opened:
        raw = None
        if digest is None:
            handle = opened.enter_context(open_export(path))
        else:
            raw = opened.enter_context(_Digesting(open(path, "rb", buffering=0), digest))
            packed = is_gzip(path)
            handle = opened.enter_context(gzip.GzipFile(fileobj=raw, mode="rb")) if packed else raw
        for block in blocks(handle, block_bytes):
            chunk = _chunk(block, next_line, block[-1:] == b"\n", json_lines, field_count)
            next_line += chunk.line_count
            yield chunk
        if raw is not None:
            raw.drain()


def read_lines(
    path: Path, numbers: Iterable[int], *, block_bytes: int = DEFAULT_BLOCK_BYTES
) -> Iterator[tuple[int, bytes]]:
    """The lines with the given line numbers, as ``(number, bytes)`` in file order: the file is
    read again, but only the blocks holding a wanted line are searched (for newlines)."""
    wanted = sorted(set(numbers))
    position = 0
    first = 1
    with open_export(path) as handle:
        for block in blocks(handle, block_bytes):
            if position == len(wanted):
                return
            data, size = _block_bytes(block), len(block)
            stop = first + data.count(b"\n", 0, size) + (block[-1:] != b"\n")
            number, start = first, 0
            while position < len(wanted) and wanted[position] < stop:
                while number < wanted[position]:
                    start = data.index(b"\n", start, size) + 1
                    number += 1
                end = data.find(b"\n", start, size)
                yield number, bytes(data[start : size if end < 0 else end])
                position += 1
            first = stop


_DONE = object()


def prefetched(items: Iterable, depth: int = 2) -> Iterator:
    """Iterate ``items`` in a background thread, ``depth`` items ahead (Arrow, zlib and file
    reads release the GIL, so reading the next chunk overlaps DuckDB working on this one).
    An exception raised while producing is re-raised here, in order.
    """
    slots: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def produce() -> None:
        try:
            for item in items:
                if stop.is_set():
                    return
                slots.put(item)
        except BaseException as exc:  # handed to the consumer, which re-raises it
            slots.put(exc)
        else:
            slots.put(_DONE)

    worker = threading.Thread(target=produce, name="land-reader", daemon=True)
    worker.start()
    try:
        while True:
            item = slots.get()
            if item is _DONE:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        while worker.is_alive():  # unblock a producer waiting on a full queue
            try:
                slots.get(timeout=0.05)
            except queue.Empty:
                pass
