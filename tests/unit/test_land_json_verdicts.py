"""What counts as a landable JSON line: the lander's verdict on awkward lines agrees with an
independent reference (Python's json module, NaN/Infinity refused, RFC 8259 whitespace)."""

from __future__ import annotations

import json

import duckdb
import pytest

from chat_analytics.land import land_paths

AWKWARD = [
    b'{"type":"track"}',
    b'{"type":null}',  # an object whose fields are all null is still an object
    b'{"":1}',
    b'{"a":{}}',
    b'{"a":1,"a":2}',  # duplicate keys: JSON allows them
    b'{"messageId":12345678901234567890123}',
    b'{"a":1e999}',
    b'{"a":-0.0e-0}',
    b'{"a":"\\u00e9\\ud83d\\ude00"}',  # escaped BMP character and surrogate pair
    b'{"a":"tab\\tnewline\\n"}',
    b' \t{"a":1}\t \r',
    b"{}",
    b"{ \t}",
    b"[]",
    b"[{}]",
    b'"{}"',
    b"0",
    b"-1.5e3",
    b"false",
    b"null",
    b"",
    b" ",
    b"{",
    b"}",
    b'{"a":1}}',
    b'{"a":1}{"b":2}',
    b'{"a":1} x',
    b"{'a':1}",
    b"{a:1}",
    b'{"a":01}',
    b'{"a":+1}',
    b'{"a":.5}',
    b'{"a":1.}',
    b'{"a":0x1}',
    b'{"a":True}',
    b'{"a":"\t"}',  # a raw tab inside a string
    b'{"a":"\x01"}',
    b'{"a":"\\x41"}',
    b'{"a":[1,]}',
    b'{"a":1,}',
    b"{,}",
    b'{"a":NaN}',
    b'{"a":Infinity}',
    b'{"a":-Infinity}',
    b'{"a":nan}',
    b'{"a":inf}',
    b"NaN",
    b'\xef\xbb\xbf{"a":1}',  # a byte order mark is not JSON whitespace
    b'{"a":1}\x0c',  # nor is a form feed
    b"//c\n",
    b'{"a":1 /* c */}',
]


def refuse(name: str) -> float:
    raise ValueError(name)


def reference(raw: bytes) -> str | None:
    """The reason a line cannot land, or None; independent of the code under test."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return "invalid_utf8"
    if text.strip(" \t\r\n") != text.strip():  # Python's strip knows more whitespace than JSON
        return "invalid_json"
    try:
        value = json.loads(text, parse_constant=refuse)
    except ValueError:
        return "invalid_json"
    if not isinstance(value, dict):
        return "not_an_object"
    if not value:
        return "empty_object"
    return None


@pytest.fixture(scope="module")
def verdicts(tmp_path_factory) -> dict[int, str | None]:
    tmp = tmp_path_factory.mktemp("verdicts")
    folder = tmp / "segment"
    folder.mkdir()
    # one line per entry: lines containing a newline byte are split by the file format itself
    lines = [raw for raw in AWKWARD if b"\n" not in raw]
    (folder / "awkward.jsonl").write_bytes(b"\n".join(lines) + b"\n")
    db = tmp / "warehouse.duckdb"
    result = land_paths([str(folder)], db=db, quiet=True)
    assert not result.failed
    con = duckdb.connect(str(db), read_only=True)
    try:
        rejected = dict(
            con.execute("select line_number, reason from raw.rejected_lines").fetchall()
        )
        landed = {
            n for (n,) in con.execute("select line_number from raw.segment_events").fetchall()
        }
    finally:
        con.close()
    assert set(rejected) | landed == set(range(1, len(lines) + 1))
    assert not set(rejected) & landed
    return {n: rejected.get(n) for n in range(1, len(lines) + 1)}, lines


def test_verdicts_match_the_reference(verdicts):
    got, lines = verdicts
    expected = {n: reference(raw) for n, raw in enumerate(lines, start=1)}
    mismatches = {lines[n - 1]: (got[n], expected[n]) for n in expected if got[n] != expected[n]}
    assert mismatches == {}


def test_an_unpaired_surrogate_escape_is_invalid_json(tmp_path):
    """JSON's grammar allows "\\ud800", but it has no UTF-8 form, so the text column cannot hold
    it: the line is rejected (Python's parser, the reference above, would accept it)."""
    folder = tmp_path / "rudderstack"
    folder.mkdir()
    (folder / "x.jsonl").write_bytes(b'{"messageId":"\\ud800"}\n')
    db = tmp_path / "warehouse.duckdb"
    land_paths([str(folder)], db=db, quiet=True)
    con = duckdb.connect(str(db), read_only=True)
    try:
        assert con.execute("select reason from raw.rejected_lines").fetchall() == [
            ("invalid_json",)
        ]
    finally:
        con.close()
