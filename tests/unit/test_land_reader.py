"""Reading export files as numbered lines: blocks, UTF-8, strict JSON, field counts, gzip."""

from __future__ import annotations

import gzip
import hashlib
import io
import json

import pytest

from chat_analytics.land.reader import (
    Digest,
    blocks,
    file_digest,
    prefetched,
    read_chunks,
    read_lines,
)


def reference_lines(data: bytes) -> list[bytes]:
    """A line is a run of bytes ending in a newline; a last line without one counts too."""
    if not data:
        return []
    lines = data.split(b"\n")
    if data.endswith(b"\n"):
        lines.pop()
    return lines


def read_all(path, **options) -> tuple[list[tuple[int, bytes]], list[tuple[int, str, bytes]]]:
    """(landable lines, set-aside lines) of a file, each with its line number."""
    lines, rejected = [], []
    expected_first = 1
    for chunk in read_chunks(path, **options):
        assert chunk.first_line == expected_first
        expected_first += chunk.line_count
        # a row for every line; the line is NULL where it was set aside (rejected or unusual)
        numbers = chunk.lines.column("line_number").to_pylist()
        assert numbers == list(range(chunk.first_line, chunk.first_line + chunk.line_count))
        texts = chunk.lines.column("line").to_pylist()
        pairs = list(zip(numbers, texts, strict=True))
        lines += [(n, t.encode("utf-8")) for n, t in pairs if t is not None]
        set_aside = {n for n, t in pairs if t is None}
        unusual = set(chunk.unusual.column("line_number").to_pylist())
        assert set_aside == {r.line_number for r in chunk.rejected} | unusual
        rejected += [(r.line_number, r.reason, r.raw_bytes) for r in chunk.rejected]
    return lines, rejected


SAMPLES = {
    "empty file": b"",
    "one line with newline": b'{"a":1}\n',
    "one line without newline": b'{"a":1}',
    "last line without newline": b'{"a":1}\n{"b":2}',
    "empty lines": b"\n\n{}\n\n",
    "only a newline": b"\n",
    "crlf kept in the line": b'{"a":1}\r\n{"b":2}\r\n',
    "long lines": (b"x" * 50 + b"\n") * 7 + b"y" * 123,
}


@pytest.mark.parametrize("block_bytes", [1, 3, 7, 64, 1 << 20])
@pytest.mark.parametrize("name", list(SAMPLES))
def test_lines_and_numbers_survive_any_block_size(tmp_path, name, block_bytes):
    data = SAMPLES[name]
    path = tmp_path / "export.jsonl"
    path.write_bytes(data)
    lines, rejected = read_all(path, block_bytes=block_bytes)
    expected = reference_lines(data)
    assert rejected == []
    assert lines == list(enumerate(expected, start=1))


def test_blocks_end_at_newlines_and_grow_for_long_lines():
    data = b"ab\ncdefghijkl\nm\n" + b"z" * 40
    seen = [bytes(block) for block in blocks(io.BytesIO(data), 4)]
    assert b"".join(seen) == data
    assert all(block.endswith(b"\n") for block in seen[:-1])
    assert seen[-1] == b"z" * 40


def test_gzip_with_several_members_reads_like_the_plain_file(tmp_path):
    data = b'{"a":1}\n{"b":2}\n' * 1000 + b'{"c":3}'
    plain = tmp_path / "plain.jsonl"
    plain.write_bytes(data)
    packed = tmp_path / "packed.jsonl.gz"
    half = len(data) // 2
    packed.write_bytes(gzip.compress(data[:half]) + gzip.compress(data[half:]))
    assert read_all(packed, block_bytes=333) == read_all(plain, block_bytes=333)
    assert len(read_all(packed)[0]) == 2001


def test_gzip_is_told_by_content_not_by_name(tmp_path):
    path = tmp_path / "export.jsonl"  # no .gz suffix
    path.write_bytes(gzip.compress(b'{"a":1}\n'))
    assert read_all(path)[0] == [(1, b'{"a":1}')]


def test_truncated_gzip_raises(tmp_path):
    path = tmp_path / "broken.jsonl.gz"
    path.write_bytes(gzip.compress(b'{"a":1}\n' * 10000)[:-20])
    with pytest.raises(EOFError):
        read_all(path)


INVALID_UTF8 = [
    b"\xff\xfe",  # not UTF-8 at all
    b'{"a":"\xc0\xaf"}',  # overlong encoding of '/'
    b'{"a":"\xed\xa0\x80"}',  # an encoded surrogate
    b'{"a":"\xf4\x90\x80\x80"}',  # beyond U+10FFFF
    b'{"a":"caf\xc3"}',  # truncated sequence
]


@pytest.mark.parametrize("block_bytes", [5, 1 << 20])
def test_invalid_utf8_lines_are_set_aside_with_their_exact_bytes(tmp_path, block_bytes):
    good = [b'{"a":"caf\xc3\xa9"}', b'{"b":"\xe2\x82\xac \xf0\x9f\x98\x80"}', b"ok\x00ok"]
    mixed = [good[0], INVALID_UTF8[0], good[1], *INVALID_UTF8[1:], good[2]]
    path = tmp_path / "export.jsonl"
    path.write_bytes(b"\n".join(mixed))
    lines, rejected = read_all(path, block_bytes=block_bytes)
    assert lines == [(1, good[0]), (3, good[1]), (8, good[2])]
    bad_lines = [2, 4, 5, 6, 7]
    assert rejected == [(n, "invalid_utf8", mixed[n - 1]) for n in bad_lines]


def refuse(name: str) -> float:
    raise ValueError(f"{name} is not JSON")


LENIENT = [
    b'{"a":1,}',
    b'{"a":[1,2,]}',
    b'{"a":1 , }',
    b'{"a":NaN}',
    b'{"a":-Infinity}',
    b'{"a":[1,inf]}',
    b'{"a": nan}',
    b"NaN",
]
STRICT_LOOKALIKES = [
    b'{"a":"NaN, Infinity and ,} inside a string"}',
    b'{"note":"x:nan"}',
    b'{"a":[1,2],"b":{"c":null}}',
]


def test_lines_only_lenient_parsers_accept_are_invalid_json(tmp_path):
    path = tmp_path / "export.jsonl"
    path.write_bytes(b"\n".join(LENIENT + STRICT_LOOKALIKES) + b"\n")
    lines, rejected = read_all(path, json_lines=True)
    assert rejected == [(n, "invalid_json", raw) for n, raw in enumerate(LENIENT, start=1)]
    first = len(LENIENT) + 1
    assert lines == list(enumerate(STRICT_LOOKALIKES, start=first))
    for raw in LENIENT:  # the reference: Python's parser with NaN/Infinity refused
        with pytest.raises(ValueError):
            json.loads(raw, parse_constant=refuse)


def test_strictness_is_for_json_sources_only(tmp_path):
    path = tmp_path / "export.tsv"
    path.write_bytes(b"\t".join([b"x,}", b"NaN"]) + b"\n")
    lines, rejected = read_all(path, json_lines=False)
    assert rejected == [] and len(lines) == 1


def test_file_digest_is_sha256_of_the_stored_bytes(tmp_path):
    path = tmp_path / "export.jsonl.gz"
    data = gzip.compress(b'{"a":1}\n')
    path.write_bytes(data)
    assert file_digest(path) == (hashlib.sha256(data).hexdigest(), len(data))


DIGEST_SAMPLES = {
    "plain": b'{"a":1}\n{"b":2}\n' * 3000 + b'{"c":3}',
    "empty": b"",
    "gzip, two members": gzip.compress(b'{"a":1}\n' * 2000) + gzip.compress(b'{"b":2}\n' * 7),
    "gzip, bytes after the last member": gzip.compress(b'{"a":1}\n' * 2000) + b"\0" * 9,
}


@pytest.mark.parametrize("name", list(DIGEST_SAMPLES))
def test_the_digest_taken_while_reading_is_that_of_the_stored_bytes(tmp_path, name):
    stored = DIGEST_SAMPLES[name]
    path = tmp_path / ("export.jsonl.gz" if "gzip" in name else "export.jsonl")
    path.write_bytes(stored)
    digest = Digest()
    lines = sum(chunk.line_count for chunk in read_chunks(path, block_bytes=4096, digest=digest))
    assert (digest.hexdigest(), digest.size) == (hashlib.sha256(stored).hexdigest(), len(stored))
    assert lines == len(reference_lines(gzip.decompress(stored) if "gzip" in name else stored))


def test_a_digest_is_not_given_before_the_file_is_read_to_its_end(tmp_path):
    path = tmp_path / "export.jsonl"
    path.write_bytes(b'{"a":1}\n' * 5000)
    digest = Digest()
    chunks = read_chunks(path, block_bytes=4096, digest=digest)
    next(chunks)
    with pytest.raises(ValueError, match="not read to its end"):
        digest.hexdigest()
    chunks.close()


def test_prefetched_keeps_order_and_passes_on_errors():
    assert list(prefetched(iter(range(100)), depth=3)) == list(range(100))

    def failing():
        yield 1
        raise EOFError("truncated")

    got = []
    with pytest.raises(EOFError, match="truncated"):
        for item in prefetched(failing()):
            got.append(item)
    assert got == [1]


def test_prefetched_stops_its_producer_when_the_consumer_stops():
    produced = []

    def endless():
        n = 0
        while True:
            produced.append(n)
            yield n
            n += 1

    for item in prefetched(endless(), depth=2):
        if item == 5:
            break
    count = len(produced)
    assert count < 20


def tsv_line(fields: int, tag: str = "x") -> bytes:
    return "\t".join(f"{tag}{i}" for i in range(fields)).encode()


def read_apart(path, **options) -> tuple[list[int], list[int], int]:
    """(line numbers for the bulk INSERT, line numbers kept apart, lines read)."""
    bulk, apart, count = [], [], 0
    for chunk in read_chunks(path, **options):
        bulk += chunk.lines.filter(chunk.lines.column("line").is_valid())["line_number"].to_pylist()
        apart += chunk.unusual.column("line_number").to_pylist()
        count += chunk.line_count
    return bulk, apart, count


@pytest.mark.parametrize("block_bytes", [64, 1000, 1 << 20])
def test_lines_with_a_wrong_field_count_are_kept_apart(tmp_path, block_bytes):
    counts = [131] * 300
    # line number -> fields (0: an empty line); 20 and 21 err in opposite directions
    wrong = {5: 130, 20: 130, 21: 132, 77: 132, 150: 1, 151: 0, 299: 200}
    for number, fields in wrong.items():
        counts[number - 1] = fields
    lines = [tsv_line(fields) if fields else b"" for fields in counts]
    path = tmp_path / "export.tsv"
    path.write_bytes(b"\n".join(lines))  # the last line without a newline
    bulk, apart, count = read_apart(path, field_count=131, block_bytes=block_bytes)
    assert count == 300
    assert sorted(apart) == sorted(wrong)
    assert sorted(bulk + apart) == list(range(1, 301))
    assert read_apart(path, block_bytes=block_bytes)[1] == []  # only when asked for


def test_field_counts_with_invalid_utf8_in_the_block(tmp_path):
    lines = [tsv_line(131), b"\xff" + tsv_line(131), tsv_line(130), tsv_line(131)]
    path = tmp_path / "export.tsv"
    path.write_bytes(b"\n".join(lines) + b"\n")
    lines_read, rejected = [], []
    bulk, apart, count = read_apart(path, field_count=131)
    assert (bulk, apart, count) == ([1, 4], [3], 4)
    for chunk in read_chunks(path, field_count=131):
        lines_read += [line for line in chunk.lines.column("line").to_pylist() if line is not None]
        rejected += [(r.line_number, r.reason) for r in chunk.rejected]
    assert rejected == [(2, "invalid_utf8")]
    assert lines_read == [lines[0].decode(), lines[3].decode()]


@pytest.mark.parametrize("block_bytes", [1, 7, 64, 1 << 20])
@pytest.mark.parametrize("packed", [False, True])
def test_read_lines_gives_the_exact_bytes_of_the_lines_asked_for(tmp_path, block_bytes, packed):
    lines = [b'{"n":%d,"pad":"%s"}' % (n, b"p" * (n % 7)) for n in range(1, 301)]
    lines[41] = b"caf\xe9 \r"  # any bytes, kept as they are
    lines[42] = b""
    data = b"\n".join(lines)  # the last line without a newline
    path = tmp_path / "export.jsonl"
    path.write_bytes(gzip.compress(data) if packed else data)
    wanted = [300, 1, 42, 43, 150, 151, 42]
    got = list(read_lines(path, wanted, block_bytes=block_bytes))
    assert got == [(n, lines[n - 1]) for n in sorted(set(wanted))]
    assert list(read_lines(path, [], block_bytes=block_bytes)) == []
