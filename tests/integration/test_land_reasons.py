"""Every rejection reason, for every format, plain and gzip: each line lands or is rejected,
exactly once, with its exact bytes; and lines read = rows landed + rejected lines."""

from __future__ import annotations

import gzip
import json

import pytest

from chat_analytics.formats import SNOWPLOW_FIELDS

OBJECT = {
    "type": "track",
    "messageId": "m-1",
    "anonymousId": "anon-1",
    "userId": "user-1",
    "event": "Message Sent",
    "properties": {"conversationId": "c-1", "sender": "user"},
    "context": {"library": {"name": "analytics.js"}},
    "timestamp": "2026-03-01T10:00:00.123Z",
    "originalTimestamp": "2026-03-01T10:00:00.100Z",
    "sentAt": "2026-03-01T10:00:01.000Z",
    "receivedAt": "2026-03-01T10:00:01.200Z",
}

# (line bytes, reason or None when the line lands)
JSON_LINES: list[tuple[bytes, str | None]] = [
    (json.dumps(OBJECT).encode(), None),
    (b'{"type":"track","messageId":"m-2"', "invalid_json"),  # cut short
    (b"", "invalid_json"),  # an empty line
    (b"not json at all", "invalid_json"),
    (b'{"type":"track","messageId":"m-3",}', "invalid_json"),  # trailing comma
    (b'{"messageId":"m-4","properties":{"rating":NaN}}', "invalid_json"),
    (b'[{"type":"track","messageId":"m-5"}]', "not_an_object"),
    (b'"a string"', "not_an_object"),
    (b"42", "not_an_object"),
    (b"true", "not_an_object"),
    (b"null", "not_an_object"),
    (b"{}", "empty_object"),
    (b" { } ", "empty_object"),
    (b'{"type":"track","messageId":"caf\xe9"}', "invalid_utf8"),  # latin-1, not UTF-8
    (b'{"unrelated":true}', None),  # an object without envelope fields still lands
    (b'{"messageId":"m-6","properties":{"note":"NaN, Infinity and ,} in text"}}', None),
    (b'{"type":"identify","messageId":"m-7","traits":{"name":"Zo\xc3\xa9"}}\r', None),  # CRLF
    (b'{"type":"page","messageId":"m-8"}', None),  # the last line, without a newline
]


def snowplow_line(**values: str) -> bytes:
    return "\t".join(values.get(name, "") for name in SNOWPLOW_FIELDS).encode()


SNOWPLOW_LINES: list[tuple[bytes, str | None]] = [
    (snowplow_line(app_id="chat", event="unstruct", event_id="e-1"), None),
    (b"\t".join([b"x"] * 130), "wrong_field_count"),
    (b"\t".join([b"x"] * 132), "wrong_field_count"),
    (b"", "wrong_field_count"),
    (b"a single field", "wrong_field_count"),
    (b"caf\xe9" + snowplow_line(event_id="e-2"), "invalid_utf8"),  # latin-1 app_id
    (snowplow_line(event_id="e-3", true_tstamp="2026-03-01 10:00:00.123"), None),
    (b"\t" * 130, None),  # 131 empty fields: lands, every field NULL
    (snowplow_line(event_id="e-4", app_id="last"), None),  # without a newline
]

CASES = {
    "segment": ("segment", "export.jsonl", JSON_LINES),
    "rudderstack": ("rudderstack", "export.jsonl", JSON_LINES),
    "snowplow": ("snowplow", "export.tsv", SNOWPLOW_LINES),
}


def write_export(folder, name, lines, packed):
    data = b"\n".join(raw for raw, _ in lines)  # the last line has no newline
    path = folder / (name + (".gz" if packed else ""))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress(data) if packed else data)
    return path


@pytest.fixture(scope="module", params=[False, True], ids=["plain", "gzip"])
def landed(request, tmp_path_factory, tools):
    """All three formats landed from one folder, plain or gzip."""
    packed = request.param
    tmp = tmp_path_factory.mktemp("reasons-gzip" if packed else "reasons-plain")
    paths = {
        source: write_export(tmp / "exports" / folder, name, lines, packed)
        for source, (folder, name, lines) in CASES.items()
    }
    db = tmp / "warehouse.duckdb"
    result = tools.land([tmp / "exports"], db, tmp)
    assert result.returncode == 0, tools.describe(result)
    return db, paths, result


@pytest.mark.parametrize("source", list(CASES))
def test_each_line_lands_or_is_rejected_with_its_reason(landed, tools, source):
    db, paths, _ = landed
    lines = CASES[source][2]
    path = str(paths[source])
    rejected = tools.query(
        db,
        "select line_number, reason, raw_line, raw_bytes, source from raw.rejected_lines"
        " where file_name = ? order by line_number",
        [path],
    )
    expected = [
        (number, reason, raw)
        for number, (raw, reason) in enumerate(lines, start=1)
        if reason is not None
    ]
    assert [(r["line_number"], r["reason"], bytes(r["raw_bytes"])) for r in rejected] == expected
    for row in rejected:
        assert row["source"] == source
        assert row["raw_line"] == bytes(row["raw_bytes"]).decode("utf-8", errors="replace")
    rows = tools.query(
        db,
        f"select line_number, raw_line from raw.{source}_events where file_name = ?"
        " order by line_number",
        [path],
    )
    landed_lines = [
        (number, raw.decode())
        for number, (raw, reason) in enumerate(lines, start=1)
        if reason is None
    ]
    assert [(r["line_number"], r["raw_line"]) for r in rows] == landed_lines


@pytest.mark.parametrize("source", list(CASES))
def test_lines_read_equal_rows_landed_plus_rejected_lines(landed, tools, source):
    db, paths, _ = landed
    lines = CASES[source][2]
    (load,) = tools.query(db, "select * from raw.loads where path = ?", [str(paths[source])])
    landed_count = sum(1 for _, reason in lines if reason is None)
    assert (load["lines"], load["landed_rows"], load["rejected_lines"]) == (
        len(lines),
        landed_count,
        len(lines) - landed_count,
    )
    assert load["source"] == source and load["status"] == "landed"
    assert load["bytes"] == paths[source].stat().st_size
    (counted,) = tools.query(
        db,
        f"select (select count(*) from raw.{source}_events where load_id = $id)"
        " + (select count(*) from raw.rejected_lines where load_id = $id) as n",
        {"id": load["load_id"]},
    )
    assert counted["n"] == load["lines"]


def test_json_envelope_lands_in_typed_columns(landed, tools):
    db, paths, _ = landed
    for source in ("segment", "rudderstack"):
        (row,) = tools.query(
            db,
            f"select * from raw.{source}_events where file_name = ? and line_number = 1",
            [str(paths[source])],
        )
        assert row["type"] == "track" and row["message_id"] == "m-1"
        assert row["anonymous_id"] == "anon-1" and row["user_id"] == "user-1"
        assert row["event"] == "Message Sent"
        assert row["timestamp"] == "2026-03-01T10:00:00.123Z"
        assert row["original_timestamp"] == "2026-03-01T10:00:00.100Z"
        assert row["sent_at"] == "2026-03-01T10:00:01.000Z"
        assert row["received_at"] == "2026-03-01T10:00:01.200Z"
        assert json.loads(row["properties"]) == OBJECT["properties"]
        assert json.loads(row["context"]) == OBJECT["context"]
        assert row["traits"] is None and row["integrations"] is None
        assert row["load_id"] > 0 and row["landed_at"] is not None


def test_snowplow_fields_land_by_name_and_empty_fields_are_null(landed, tools):
    db, paths, _ = landed
    rows = tools.query(
        db,
        "select * from raw.snowplow_events where file_name = ? order by line_number",
        [str(paths["snowplow"])],
    )
    first = rows[0]
    assert (first["app_id"], first["event"], first["event_id"]) == ("chat", "unstruct", "e-1")
    assert first["platform"] is None and first["true_tstamp"] is None
    assert rows[1]["true_tstamp"] == "2026-03-01 10:00:00.123"
    assert all(rows[2][name] is None for name in SNOWPLOW_FIELDS)


def test_summary_names_every_file(landed):
    _, paths, result = landed
    for path in paths.values():
        assert path.name in result.stdout
    assert "rejected" in result.stdout and "landed (load" in result.stdout
