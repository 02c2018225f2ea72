"""The synthetic generator: formats, determinism, and every kind of mess at its rate.

The files are read back with independent readers (json.loads, a plain split on tabs) and every
count is made from the files themselves, then compared with what the generator says it did
(mess.json, manifest.json) and with the configured rate.
"""

from __future__ import annotations

import datetime as dt
import gzip
import hashlib
import json
import math
import random
import re
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

import pytest

from chat_analytics.cli import main
from chat_analytics.formats import SNOWPLOW_FIELDS
from chat_analytics.generate import GeneratorConfig, generate
from chat_analytics.generate.emit import _contexts
from chat_analytics.generate.world import _rounded

SOURCES = ("segment", "rudderstack", "snowplow")
FIELD = {name: i for i, name in enumerate(SNOWPLOW_FIELDS)}
UNSTRUCT_SCHEMA = "iglu:com.snowplowanalytics.snowplow/unstruct_event/jsonschema/1-0-0"
CONTEXTS_SCHEMA = "iglu:com.snowplowanalytics.snowplow/contexts/jsonschema/1-0-1"
ENTITY_SCHEMA = "iglu:com.acme.chat/conversation/jsonschema/1-0-0"
IGLU = re.compile(r"^iglu:([a-z0-9_.-]+)/([A-Za-z0-9_]+)/jsonschema/(\d+-\d+-\d+)$")
ALIASES = {  # SPEC §3, written out again on purpose
    "conversation_started": "conversation_started",
    "chat_opened": "conversation_started",
    "chat_started": "conversation_started",
    "message_sent": "message_sent",
    "message_received": "message_sent",
    "intent_detected": "intent_detected",
    "conversation_escalated": "conversation_escalated",
    "handoff_requested": "conversation_escalated",
    "agent_handoff": "conversation_escalated",
    "conversation_resolved": "conversation_resolved",
    "satisfaction_rated": "satisfaction_rated",
    "csat_submitted": "satisfaction_rated",
    "conversation_ended": "conversation_ended",
}
LEGACY = {"chat_opened", "chat_started", "handoff_requested", "agent_handoff"}
HOUR = 3_600_000


def normalise(name: str) -> str:
    name = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name).lower()
    return re.sub(r"[^a-z0-9]+", "_", name).strip("_")


def snake(key: str) -> str:
    return re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", key).lower()


def epoch_ms(text: str) -> int:
    text = text.replace("Z", "+00:00") if text.endswith("Z") else text + "+00:00"
    value = dt.datetime.fromisoformat(text.replace(" ", "T"))
    return round(value.timestamp() * 1000)


@dataclass
class Line:
    source: str
    file: str  # <source>/<name>
    number: int
    raw: bytes
    reason: str | None  # why it would not land; None for a well-formed line
    obj: dict | None = None  # JSON message
    fields: list[str] | None = None  # enriched TSV

    # --- what the line says, read independently ---------------------------------------
    @property
    def event_id(self) -> str | None:
        if self.fields is not None:
            return self.fields[FIELD["event_id"]] or None
        return self.obj.get("messageId")

    @property
    def received(self) -> int:
        if self.fields is not None:
            return epoch_ms(self.fields[FIELD["collector_tstamp"]])
        return epoch_ms(self.obj["receivedAt"])

    @property
    def sent(self) -> int:
        if self.fields is not None:
            return epoch_ms(self.fields[FIELD["dvce_sent_tstamp"]])
        return epoch_ms(self.obj["sentAt"])

    @property
    def event_time(self) -> int:
        """SPEC §4 event_at."""
        if self.fields is not None:
            f = self.fields
            for name in ("true_tstamp", "derived_tstamp"):
                if f[FIELD[name]]:
                    return epoch_ms(f[FIELD[name]])
            created = epoch_ms(f[FIELD["dvce_created_tstamp"]])
            return self.received - (self.sent - created)
        if "timestamp" in self.obj:
            return epoch_ms(self.obj["timestamp"])
        return self.received - (self.sent - epoch_ms(self.obj["originalTimestamp"]))

    @property
    def name(self) -> str | None:
        if self.fields is not None:
            unstruct = self.fields[FIELD["unstruct_event"]]
            if not unstruct:
                return None
            return IGLU.match(json.loads(unstruct)["data"]["schema"]).group(2)
        return self.obj.get("event")

    @property
    def canonical(self) -> str | None:
        if self.fields is not None:
            if self.fields[FIELD["event_vendor"]] != "com.acme.chat" or self.name is None:
                return None
        elif self.obj.get("type") != "track":
            return None
        return ALIASES.get(normalise(self.name))

    @property
    def data(self) -> dict:
        """The event's own properties (snake_case keys)."""
        if self.fields is not None:
            unstruct = self.fields[FIELD["unstruct_event"]]
            return json.loads(unstruct)["data"]["data"] if unstruct else {}
        return {snake(k): v for k, v in (self.obj.get("properties") or {}).items()}

    @property
    def entity(self) -> dict:
        if self.fields is None or not self.fields[FIELD["contexts"]]:
            return {}
        contexts = json.loads(self.fields[FIELD["contexts"]])["data"]
        return next((c["data"] for c in contexts if c["schema"] == ENTITY_SCHEMA), {})

    def prop(self, key: str):
        data = self.data
        return data[key] if data.get(key) is not None else self.entity.get(key)

    @property
    def payload(self) -> tuple:
        if self.fields is not None:
            return (self.fields[FIELD["event"]], self.fields[FIELD["unstruct_event"]])
        props = json.dumps(self.obj.get("properties"), sort_keys=True)
        return (self.obj.get("type"), self.obj.get("event"), props)


def read_file(path: Path, source: str, rel: str) -> list[Line]:
    data = path.read_bytes()
    if path.name.endswith(".gz"):
        data = gzip.decompress(data)
    raws = data.split(b"\n")
    if raws and raws[-1] == b"":
        raws.pop()
    lines = []
    for number, raw in enumerate(raws, start=1):
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            lines.append(Line(source, rel, number, raw, "invalid_utf8"))
            continue
        if source == "snowplow":
            fields = text.split("\t")
            if len(fields) != 131:
                lines.append(Line(source, rel, number, raw, "wrong_field_count"))
            else:
                lines.append(Line(source, rel, number, raw, None, fields=fields))
            continue
        try:
            obj = json.loads(text)
        except json.JSONDecodeError:
            lines.append(Line(source, rel, number, raw, "invalid_json"))
            continue
        if not isinstance(obj, dict):
            lines.append(Line(source, rel, number, raw, "not_an_object"))
        elif not obj:
            lines.append(Line(source, rel, number, raw, "empty_object"))
        else:
            lines.append(Line(source, rel, number, raw, None, obj=obj))
    return lines


def read_run(out: Path) -> list[Line]:
    lines = []
    for source in SOURCES:
        for path in sorted((out / source).iterdir()):
            lines.extend(read_file(path, source, f"{source}/{path.name}"))
    return lines


def tree_hashes(out: Path) -> dict[str, str]:
    return {
        str(p.relative_to(out)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(out.rglob("*"))
        if p.is_file()
    }


def within(count: int, rate: float, opportunities: int) -> bool:
    """A binomial count is within 4 standard deviations (plus 2) of its expectation."""
    expected = rate * opportunities
    return abs(count - expected) <= 4 * math.sqrt(opportunities * rate * (1 - rate)) + 2


# --- runs (module scope: generated once) -----------------------------------------------------

MESSY_RATES = {
    # the defaults, with rare kinds raised so that their counts are meaningful in a small run
    "malformed_line": 0.01,
    "future_timestamp": 0.01,
    "missing_event_id": 0.01,
    "id_collision": 0.01,
    "invalid_sender": 0.05,
    "missing_conversation_id": 0.02,
    "late": 0.03,
    "empty_file": 0.0,  # measured on its own run: it moves lines between days
}


def _config(out: Path, **kw) -> GeneratorConfig:
    rates = {**GeneratorConfig(out="").rates, **kw.pop("rates", {})}
    return GeneratorConfig(out=str(out), rates=rates, **kw)


@pytest.fixture(scope="module")
def messy(tmp_path_factory):
    out = tmp_path_factory.mktemp("messy")
    result = generate(_config(out, seed=11, days=6, conversations_per_day=350, rates=MESSY_RATES))
    return out, result, read_run(out)


@pytest.fixture(scope="module")
def mess_json(messy):
    return json.loads((messy[0] / "_truth" / "mess.json").read_text())


@pytest.fixture(scope="module")
def measured(messy):
    return _measured(messy[2])


def well_formed(lines: list[Line]) -> list[Line]:
    return [line for line in lines if line.reason is None]


def distinct(lines: list[Line]) -> list[Line]:
    seen, out = set(), []
    for line in lines:
        if (line.file, line.raw) not in seen:
            seen.add((line.file, line.raw))
            out.append(line)
    return out


# --- formats ----------------------------------------------------------------------------------


def test_layout_one_file_per_source_and_arrival_day(messy):
    out, result, lines = messy
    days = [(dt.date(2026, 3, 1) + dt.timedelta(days=i)).isoformat() for i in range(6)]
    for source, ext in (("segment", "jsonl"), ("rudderstack", "jsonl"), ("snowplow", "tsv")):
        assert sorted(p.name for p in (out / source).iterdir()) == [f"{d}.{ext}" for d in days]
    for line in well_formed(lines):
        # the file's date is the UTC date of receivedAt / collector_tstamp
        received = dt.datetime.fromtimestamp(line.received / 1000, dt.UTC).date().isoformat()
        assert line.file.split("/")[1].startswith(received)
    assert result.lines == len(lines)


def test_every_well_formed_line_follows_its_format(messy):
    _, _, lines = messy
    types = Counter()
    for line in well_formed(lines):
        if line.fields is not None:
            f = line.fields
            assert f[FIELD["collector_tstamp"]], "every line has a collector_tstamp"
            assert re.match(
                r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}$", f[FIELD["collector_tstamp"]]
            )
            if f[FIELD["event"]] == "unstruct":
                unstruct = json.loads(f[FIELD["unstruct_event"]])
                assert unstruct["schema"] == UNSTRUCT_SCHEMA
                vendor, name, version = IGLU.match(unstruct["data"]["schema"]).groups()
                assert (vendor, name, version) == (
                    f[FIELD["event_vendor"]],
                    f[FIELD["event_name"]],
                    f[FIELD["event_version"]],
                )
                assert isinstance(unstruct["data"]["data"], dict)
            if f[FIELD["contexts"]]:
                contexts = json.loads(f[FIELD["contexts"]])
                assert contexts["schema"] == CONTEXTS_SCHEMA
                assert [c["schema"] for c in contexts["data"]] == [ENTITY_SCHEMA]
            types[("snowplow", f[FIELD["event"]])] += 1
        else:
            obj = line.obj
            assert obj["type"] in ("track", "identify", "page", "screen", "group")
            assert obj["receivedAt"].endswith("Z") and "sentAt" in obj
            assert isinstance(obj["context"], dict)
            if line.source == "rudderstack":
                assert obj["channel"] in ("web", "mobile", "server") and obj["rudderId"]
            if obj["type"] == "track" and line.canonical:
                keys = set(obj["properties"])
                style = re.compile(r"[a-z][A-Za-z]*$" if line.source == "segment" else r"[a-z_]+$")
                assert all(style.match(k) for k in keys), keys
            types[(line.source, obj["type"])] += 1
    # the world has every kind of line
    for kind in (
        ("segment", "track"),
        ("segment", "identify"),
        ("segment", "page"),
        ("rudderstack", "track"),
        ("rudderstack", "screen"),
        ("snowplow", "unstruct"),
        ("snowplow", "page_view"),
        ("snowplow", "struct"),
    ):
        assert types[kind] > 0, kind


def test_malformed_lines_are_exactly_the_ones_the_generator_corrupted(messy):
    out, _, lines = messy
    manifest = json.loads((out / "_truth" / "manifest.json").read_text())
    found = {(line.file, line.number, line.reason) for line in lines if line.reason}
    said = {(m["file"], m["line"], m["reason"]) for m in manifest["malformed_lines"]}
    assert found == said
    assert {reason for _, _, reason in found} == {
        "invalid_json",
        "not_an_object",
        "empty_object",
        "invalid_utf8",
        "wrong_field_count",
    }
    per_file = Counter(line.file for line in lines)
    assert {f: v["lines"] for f, v in manifest["files"].items()} == {
        f: per_file.get(f, 0) for f in manifest["files"]
    }


def test_clock_fields_are_consistent_as_sdks_send_them(messy):
    _, _, lines = messy
    checked = Counter()
    for line in well_formed(lines):
        if line.fields is not None:
            f = line.fields
            derived = f[FIELD["derived_tstamp"]]
            created = epoch_ms(f[FIELD["dvce_created_tstamp"]])
            if derived:
                assert epoch_ms(derived) == line.received - (line.sent - created)
                checked["snowplow"] += 1
        else:
            obj = line.obj
            if "timestamp" in obj and line.event_time <= line.received + HOUR:
                original = epoch_ms(obj["originalTimestamp"])
                assert epoch_ms(obj["timestamp"]) == line.received - (line.sent - original)
                checked[line.source] += 1
        if line.event_time <= line.received + HOUR:  # not a (rejected) future event
            assert line.received >= line.event_time  # received after it happened
            assert abs(line.sent - line.received) < 12 * HOUR + 60_000  # skew of hours at most
    assert min(checked.values()) > 100


def test_one_conversation_spans_two_sources(messy):
    _, _, lines = messy
    sources = defaultdict(set)
    for line in well_formed(lines):
        if line.canonical:
            cid = line.prop("conversation_id")
            if cid:
                sources[cid].add(line.source)
    assert all(len(s) == 2 for s in sources.values() if len(s) > 1)
    assert sum(len(s) == 2 for s in sources.values()) > 0.95 * len(sources)


# --- determinism ------------------------------------------------------------------------------


def test_same_seed_same_bytes_different_seed_different_bytes(tmp_path):
    runs = {}
    for name, seed, workers in (("a", 5, 1), ("b", 5, 2), ("c", 6, 1)):
        out = tmp_path / name
        generate(_config(out, seed=seed, days=3, conversations_per_day=60, workers=workers))
        runs[name] = tree_hashes(out)
    assert runs["a"] == runs["b"]  # same seed, one process or two
    assert len(runs["a"]) == 3 * 3 + 7  # 3 sources x 3 days, 5 CSV + mess.json + manifest
    assert all(runs["a"][k] != runs["c"][k] for k in runs["a"] if "segment/" in k)


def test_gzip_files_hold_the_same_lines(tmp_path):
    plain_out, gz_out = tmp_path / "plain", tmp_path / "gz"
    generate(_config(plain_out, seed=3, days=2, conversations_per_day=30))
    generate(_config(gz_out, seed=3, days=2, conversations_per_day=30, gzip=True))
    for path in sorted(plain_out.glob("*/*.*l")) + sorted(plain_out.glob("snowplow/*.tsv")):
        zipped = gz_out / path.parent.name / (path.name + ".gz")
        assert gzip.decompress(zipped.read_bytes()) == path.read_bytes()
    again = tmp_path / "gz-again"
    generate(_config(again, seed=3, days=2, conversations_per_day=30, gzip=True))
    assert tree_hashes(gz_out) == tree_hashes(again)


# --- mess at its rate -------------------------------------------------------------------------


def _measured(lines: list[Line]) -> dict[str, int]:
    """Every kind of mess, counted from the files alone."""
    good = well_formed(lines)
    unique = distinct(good)
    m = Counter()
    per_file = Counter((line.file, line.raw) for line in good)
    m["duplicate"] = sum(1 for n in per_file.values() if n > 1)
    m["duplicate_extra_lines"] = sum(n - 1 for n in per_file.values())
    payloads = defaultdict(set)
    for line in unique:
        if line.event_id:
            payloads[(line.source, line.event_id)].add(line.payload)
    m["id_collision"] = sum(len(p) - 1 for p in payloads.values())
    for line in unique:
        lateness = line.received - line.event_time
        m["late"] += lateness >= 23 * HOUR
        m["future_timestamp"] += -lateness > HOUR
        m["missing_event_id"] += line.event_id is None
        if line.fields is not None:
            m["missing_timestamp"] += not line.fields[FIELD["derived_tstamp"]]
        else:
            m["missing_timestamp"] += "timestamp" not in line.obj
            m["identify"] += line.obj["type"] == "identify"
        canonical = line.canonical
        if canonical is None:
            is_identify = line.obj is not None and line.obj["type"] == "identify"
            m["unmapped"] += not is_identify
            continue
        name = normalise(line.name)
        m["legacy_event_name"] += name in LEGACY
        if line.source == "segment":
            words = name.split("_")
            base = " ".join("CSAT" if w == "csat" else w.capitalize() for w in words)
            m["variant_event_name"] += line.name != base
        elif line.source == "rudderstack":
            m["variant_event_name"] += line.name != name
        m["missing_conversation_id"] += not line.prop("conversation_id")
        if canonical == "satisfaction_rated":
            data = {**line.entity, **line.data}
            m["legacy_score"] += "score" in data
            value = data["rating"] if "rating" in data else data.get("score")
            valid = (
                isinstance(value, int | float)
                and not isinstance(value, bool)
                and value == int(value)
                and 1 <= value <= 5
            )
            m["invalid_rating"] += not valid
            m["float_rating"] += valid and isinstance(value, float)
        if canonical == "message_sent":
            sender = line.data.get("sender")
            m["invalid_sender"] += sender is not None and sender not in ("user", "bot", "agent")
    skewed = 0
    for line in good:
        skewed += abs(line.sent - line.received) > 30 * 60_000
    m["skewed_lines"] = skewed
    by_message = defaultdict(set)
    for line in unique:
        if line.canonical == "message_sent" and line.prop("message_id"):
            by_message[line.prop("message_id")].add(line.source == "snowplow")
    m["cross_source_message"] = sum(len(s) == 2 for s in by_message.values())
    m["malformed_line"] = sum(line.reason is not None for line in lines)
    m["unmapped"] -= m["id_collision"]  # each collision is another (unmapped) event
    starts = defaultdict(bool)
    for line in unique:
        cid = line.canonical and line.prop("conversation_id")
        if cid:
            starts[cid] |= line.canonical == "conversation_started"
    m["missing_start_event"] = sum(not started for started in starts.values())
    return m


EXACT = (
    "duplicate",
    "id_collision",
    "late",
    "future_timestamp",
    "missing_event_id",
    "missing_timestamp",
    "legacy_event_name",
    "variant_event_name",
    "legacy_score",
    "float_rating",
    "invalid_rating",
    "invalid_sender",
    "missing_conversation_id",
    "malformed_line",
    "unmapped",
)


@pytest.mark.parametrize("kind", EXACT)
def test_mess_in_the_files_is_what_mess_json_says_and_at_its_rate(measured, mess_json, kind):
    report = mess_json[kind]
    assert measured[kind] == report["injected"], (kind, measured[kind], report)
    assert report["injected"] > 0
    assert within(report["injected"], report["rate"], report["opportunities"]), report


def test_mess_counted_in_lines(measured, mess_json):
    assert measured["duplicate_extra_lines"] == mess_json["duplicate"]["extra_lines"]
    assert measured["skewed_lines"] == mess_json["clock_skew"]["skewed_lines"] > 0


@pytest.mark.parametrize(
    "kind", ("clock_skew", "cross_source_message", "identify", "missing_start_event")
)
def test_world_level_mess_at_its_rate(measured, mess_json, kind):
    report = mess_json[kind]
    assert report["injected"] > 0
    assert within(report["injected"], report["rate"], report["opportunities"]), report
    if kind in ("cross_source_message", "identify"):
        # a few lose a line to corruption or to the end of the period
        assert 0.97 * report["injected"] - 3 <= measured[kind] <= report["injected"]
    if kind == "missing_start_event":
        # more conversations lose their start event to corruption or a missing conversation_id
        lost = MESSY_RATES["malformed_line"] + MESSY_RATES["missing_conversation_id"]
        others = report["opportunities"] - report["injected"]
        assert within(measured[kind] - report["injected"], lost, others)


def test_empty_files_and_the_day_after(tmp_path):
    out = tmp_path / "empty"
    generate(_config(out, seed=4, days=8, conversations_per_day=40, rates={"empty_file": 0.25}))
    report = json.loads((out / "_truth" / "mess.json").read_text())["empty_file"]
    empty = sorted(str(p.relative_to(out)) for p in out.glob("*/*.*") if p.stat().st_size == 0)
    assert [e.rsplit(".", 1)[0] for e in empty] == report["files"]
    assert report["injected"] == len(empty) > 0
    assert report["opportunities"] == 3 * 7
    assert not any(e.endswith("2026-03-08.jsonl") or e.endswith("2026-03-08.tsv") for e in empty)


def test_no_mess_is_clean(tmp_path):
    out = tmp_path / "clean"
    rates = dict.fromkeys(GeneratorConfig(out="").rates, 0.0)
    result = generate(_config(out, seed=2, days=2, conversations_per_day=40, rates=rates))
    lines = read_run(out)
    assert all(line.reason is None for line in lines)
    assert all(line.canonical for line in lines), "no unmapped, identify or other events"
    assert len({(line.source, line.event_id) for line in lines}) == len(lines)
    assert all(abs(line.sent - line.received) < 60_000 for line in lines)
    assert result.manifest["rejections"] == {s: {} for s in SOURCES}
    quality = (out / "_truth" / "event_quality_daily.csv").read_text().splitlines()
    header = quality[0].split(",")
    for row in quality[1:]:
        values = dict(zip(header, row.split(","), strict=True))
        assert values["landed_rows"] == values["chat_rows"]


# --- the writers' shortcuts ------------------------------------------------------------------


def test_shortcuts_write_what_the_general_functions_write():
    """Where the generator formats a value itself to save time, it writes exactly what round(),
    repr() and json.dumps write."""
    rng = random.Random(3)
    for x in [0.0005, 0.05, 0.1, 0.45, 0.5, 0.55, 0.7305, 0.99, 0.9994]:
        assert _rounded(x) == (round(x, 3), repr(round(x, 3)))
    for _ in range(20_000):
        x = 0.0005 + rng.random() * 0.9989
        value, text = _rounded(x)
        assert value == round(x, 3) and text == repr(round(x, 3)), x
    head = (
        '{"schema":"' + CONTEXTS_SCHEMA + '","data":[{"schema":"' + ENTITY_SCHEMA + '","data":'
    )  # fmt: skip
    for entity in (
        {"conversation_id": "c-1", "channel": "web", "bot_version": "2.8.0"},
        {"conversation_id": 'say "hi" \\ café', "channel": "", "bot_version": "\u2603"},
        {"channel": "web", "conversation_id": "c-1", "bot_version": "2.8.0"},
        {"conversation_id": 7, "channel": None, "bot_version": 2.5},
        {"conversation_id": "c-1"},
    ):
        assert _contexts(entity) == head + json.dumps(entity, separators=(",", ":")) + "}]}"


# --- the command line -------------------------------------------------------------------------


def test_cli_writes_files_and_a_summary(tmp_path, capsys):
    out = tmp_path / "cli"
    code = main(
        [
            "generate", "--out", str(out), "--seed", "9", "--days", "2",
            "--start-date", "2026-01-05", "--conversations-per-day", "20", "--no-mess",
            "--duplicate-rate", "0.5",
        ]
    )  # fmt: skip
    assert code == 0
    printed = capsys.readouterr().out
    assert re.search(r"^segment\s+2\s+[\d,]+\s+[\d,]+$", printed, re.M)
    assert "total" in printed
    assert (out / "snowplow" / "2026-01-06.tsv").exists()
    mess = json.loads((out / "_truth" / "mess.json").read_text())
    assert mess["duplicate"]["rate"] == 0.5 and mess["late"]["rate"] == 0.0
    assert 0.3 < mess["duplicate"]["injected"] / mess["duplicate"]["opportunities"] < 0.7


def test_cli_rejects_a_bad_rate(tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["generate", "--out", str(tmp_path), "--late-rate", "1.5"])
    assert exc.value.code == 2
