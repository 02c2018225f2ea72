"""Ground truth of a scripted world, worked out by hand.

Seven conversations, each exercising rules of SPEC §4-§5: cross-source messages (which report's
time and sender count), the duplicate copy that survives (earliest receipt), an id collision that
removes a chat event, rejected events that contribute nothing, a late event, clock skew with the
timestamp left for the pipeline to compute, identity stitching to the latest link, the latest
rating, `rating` over `score`, outcome precedence, in_progress against as_of, a forced empty file.
Every expected value below was computed by hand from the script, not read from the output.
"""

from __future__ import annotations

import csv
import hashlib
import json
from pathlib import Path

import pytest

from chat_analytics.generate import GeneratorConfig, generate
from chat_analytics.generate.script import Script

SALT = "test-salt"
DAY = "2026-03-02"


def key(user: str) -> str:
    return hashlib.sha256((SALT + user).encode()).hexdigest()


def build_script() -> Script:
    s = Script()

    # A: web, identifies mid-way; the device is later used by u-2 (conversation F)
    a = s.conversation("conv-a", channel="web", bot_version="3.0.0", anonymous_id="anon-a")
    ca = {"conversation_id": "conv-a"}
    a.event(
        "segment",
        f"{DAY} 10:00:00.000",
        "Conversation Started",
        {**ca, "channel": "web", "bot_version": "3.0.0", "locale": "en-US"},
    )
    a.event(
        "snowplow",
        f"{DAY} 10:00:01.000",
        "message_sent",
        {"message_id": "m-a0", "sender": "bot", "message_length": 5},
    )
    a.event(
        "segment",
        f"{DAY} 10:00:05.000",
        None,
        {"email": "ada@example.com"},
        kind="identify",
        user_id="u-1",
    )
    a.event(
        "segment",
        f"{DAY} 10:00:10.000",
        "Message Sent",
        {
            **ca,
            "message_id": "m-a1",
            "sender": "user",
            "message_length": 18,
            "message_body": "Where is my order?",
        },
        user_id="u-1",
    )
    a.event(
        "snowplow",
        f"{DAY} 10:00:10.300",
        "message_sent",
        {"message_id": "m-a1", "sender": "user", "message_length": 18},
        user_id="u-1",
    )
    a.event(
        "snowplow",
        f"{DAY} 10:00:10.800",
        "intent_detected",
        {"message_id": "m-a1", "intent": "order_status", "confidence": 0.9, "is_fallback": False},
        user_id="u-1",
    )
    a.event(
        "snowplow",
        f"{DAY} 10:00:12.500",
        "message_sent",
        {"message_id": "m-a2", "sender": "bot", "message_length": 20},
        user_id="u-1",
    )
    resolved = a.event(
        "snowplow",
        f"{DAY} 10:00:20.000",
        "conversation_resolved",
        {**ca, "resolved_by": "bot"},
        user_id="u-1",
    )
    # another event reusing the id, received 10 s later: the resolution survives
    a.event(
        "snowplow",
        f"{DAY} 10:00:30.000",
        "job_retried",
        {"job": "sync"},
        vendor="com.acme.backend",
        entity=None,
        event_id=resolved.eid,
        user_id="u-1",
    )
    a.event(
        "segment",
        f"{DAY} 10:01:00.000",
        "Satisfaction Rated",
        {**ca, "rating": 2},
        duplicates=1,
        user_id="u-1",
    )
    a.event("segment", f"{DAY} 10:02:00.000", "CSAT Submitted", {**ca, "score": 5}, user_id="u-1")
    a.event(
        "segment",
        f"{DAY} 10:02:10.000",
        "Message Sent",
        {**ca, "message_id": "m-a3", "sender": "user", "message_length": 2},
        user_id="u-1",
        malformed="truncated",
    )
    a.event(
        "snowplow",
        f"{DAY} 10:02:30.000",
        "conversation_ended",
        {**ca, "ended_by": "user"},
        user_id="u-1",
    )

    # B: mobile, device clock 3 h ahead, timestamp left out, escalation by a legacy name
    b = s.conversation(
        "conv-b",
        channel="mobile",
        bot_version="2.7.3",
        anonymous_id="anon-b",
        skew_ms={"rudderstack": 3 * 3_600_000 + 123},
    )
    cb = {"conversation_id": "conv-b"}
    b.event(
        "rudderstack",
        f"{DAY} 11:00:00.000",
        "conversation_started",
        {**cb, "channel": "mobile", "bot_version": "2.7.3"},
        no_timestamp=True,
    )
    b.event(
        "snowplow", f"{DAY} 11:00:02.000", "message_sent", {"message_id": "m-b0", "sender": "bot"}
    )
    b.event(
        "rudderstack",
        f"{DAY} 11:00:30.000",
        "message_sent",
        {**cb, "message_id": "m-b1", "sender": "user", "message_body": "hey"},
    )
    b.event(
        "snowplow", f"{DAY} 11:00:29.800", "message_sent", {"message_id": "m-b1", "sender": "user"}
    )
    b.event(
        "snowplow",
        f"{DAY} 11:00:30.500",
        "intent_detected",
        {"message_id": "m-b1", "intent": "default_fallback_intent", "confidence": 0.2},
    )
    b.event(
        "snowplow", f"{DAY} 11:00:32.000", "message_sent", {"message_id": "m-b2", "sender": "bot"}
    )
    b.event(
        "rudderstack",
        f"{DAY} 11:01:00.000",
        "message_sent",
        {**cb, "message_id": "m-b3", "sender": "user"},
    )
    b.event(
        "snowplow",
        f"{DAY} 11:01:01.000",
        "intent_detected",
        {"message_id": "m-b3", "intent": "refund_request", "is_fallback": False},
    )
    b.event(
        "snowplow",
        f"{DAY} 11:01:05.000",
        "handoff_requested",
        {"reason": "user_request", "queue": "billing"},
    )
    b.event(
        "snowplow", f"{DAY} 11:03:00.000", "message_sent", {"message_id": "m-b4", "sender": "agent"}
    )
    b.event(
        "rudderstack",
        f"{DAY} 11:03:00.400",
        "message_received",
        {**cb, "message_id": "m-b4", "sender": "agent"},
    )
    b.event(
        "rudderstack",
        f"{DAY} 11:04:00.000",
        "message_sent",
        {**cb, "message_id": "m-b5", "sender": "robot"},
    )
    b.event(
        "rudderstack",
        f"{DAY} 11:05:00.000",
        "Message Sent",
        {"message_id": "m-b6", "sender": "user"},
    )
    b.event("rudderstack", f"{DAY} 11:06:00.000", "satisfaction_rated", {**cb, "rating": "five"})
    b.event(
        "rudderstack",
        f"{DAY} 11:06:30.000",
        "satisfaction_rated",
        {**cb, "rating": 4.0},
        delay_ms=3 * 86_400_000 + 1_000,
    )
    b.event(
        "snowplow",
        f"{DAY} 11:07:00.000",
        "conversation_ended",
        {**cb, "ended_by": "agent"},
        future_ms=2 * 3_600_000,
    )

    # C: whatsapp, no start event, only a fallback intent, goes quiet
    c = s.conversation("conv-c", channel="whatsapp", bot_version="2.8.0", user_id="wa_1")
    c.event(
        "snowplow", f"{DAY} 12:00:01.000", "message_sent", {"message_id": "m-c0", "sender": "bot"}
    )
    c.event(
        "rudderstack",
        f"{DAY} 12:00:20.000",
        "message_sent",
        {"conversation_id": "conv-c", "message_id": "m-c1", "sender": "user"},
    )
    c.event(
        "snowplow",
        f"{DAY} 12:00:20.600",
        "intent_detected",
        {"message_id": "m-c1", "intent": "nlu_fallback", "is_fallback": True},
    )
    c.event(
        "snowplow", f"{DAY} 12:00:22.000", "message_sent", {"message_id": "m-c2", "sender": "bot"}
    )

    # D: web; its only user message loses to an earlier event reusing its id
    d = s.conversation("conv-d", channel="web", bot_version="3.0.0", anonymous_id="anon-d")
    d.event(
        "segment",
        f"{DAY} 23:50:00.000",
        "Conversation Started",
        {"conversation_id": "conv-d", "channel": "web", "bot_version": "3.0.0"},
    )
    d.event(
        "snowplow", f"{DAY} 23:50:01.000", "message_sent", {"message_id": "m-d0", "sender": "bot"}
    )
    message = d.event(
        "segment",
        f"{DAY} 23:55:00.000",
        "Message Sent",
        {"conversation_id": "conv-d", "message_id": "m-d1", "sender": "user"},
    )
    d.event(
        "segment", f"{DAY} 23:54:58.000", "Button Clicked", {"button": "help"}, event_id=message.eid
    )
    d.event(
        "snowplow",
        f"{DAY} 23:55:01.000",
        "intent_detected",
        {"message_id": "m-d1", "intent": "product_info", "is_fallback": False},
    )
    d.event(
        "snowplow", f"{DAY} 23:55:03.000", "message_sent", {"message_id": "m-d2", "sender": "bot"}
    )

    # E: mobile, the latest conversation: in progress at as_of
    e = s.conversation("conv-e", channel="mobile", bot_version="3.0.0", anonymous_id="anon-e")
    e.event(
        "rudderstack",
        "2026-03-04 23:00:00.000",
        "conversation_started",
        {"conversation_id": "conv-e", "channel": "mobile", "bot_version": "3.0.0"},
    )
    e.event(
        "snowplow",
        "2026-03-04 23:00:01.000",
        "message_sent",
        {"message_id": "m-e0", "sender": "bot"},
    )
    e.event(
        "rudderstack",
        "2026-03-04 23:00:30.000",
        "message_sent",
        {"conversation_id": "conv-e", "message_id": "m-e1", "sender": "user"},
    )
    e.event(
        "snowplow",
        "2026-03-04 23:00:31.000",
        "intent_detected",
        {"message_id": "m-e1", "intent": "order_status", "is_fallback": False},
    )
    e.event(
        "snowplow",
        "2026-03-04 23:00:33.000",
        "message_sent",
        {"message_id": "m-e2", "sender": "bot"},
    )

    # F: web, anon-a's device, logs in as u-2: the latest link of anon-a
    f = s.conversation("conv-f", channel="web", bot_version="3.0.0", anonymous_id="anon-a")
    f.event(
        "segment",
        "2026-03-03 09:00:00.000",
        "Conversation Started",
        {"conversation_id": "conv-f", "channel": "web", "bot_version": "3.0.0"},
    )
    f.event(
        "segment",
        "2026-03-03 09:00:00.500",
        None,
        {"email": "ben@example.com"},
        kind="identify",
        user_id="u-2",
    )
    f.event(
        "snowplow",
        "2026-03-03 09:00:01.000",
        "message_sent",
        {"message_id": "m-f0", "sender": "bot"},
        user_id="u-2",
    )
    f.event(
        "segment",
        "2026-03-03 09:00:10.000",
        "Message Sent",
        {"conversation_id": "conv-f", "message_id": "m-f1", "sender": "user"},
        user_id="u-2",
    )
    f.event(
        "snowplow",
        "2026-03-03 09:00:10.700",
        "intent_detected",
        {"message_id": "m-f1", "intent": "product_info", "is_fallback": False},
        user_id="u-2",
    )
    f.event(
        "snowplow",
        "2026-03-03 09:00:13.000",
        "message_sent",
        {"message_id": "m-f2", "sender": "bot"},
        user_id="u-2",
    )

    # G: messenger, legacy and variant names, messages without ids, resolved by an agent
    g = s.conversation("conv-g", channel="messenger", bot_version="2.7.3", user_id="fb_9")
    cg = {"conversation_id": "conv-g"}
    g.event(
        "segment",
        f"{DAY} 15:00:00.000",
        "Chat Opened",
        {**cg, "channel": "messenger", "bot_version": "2.7.3"},
    )
    g.event("snowplow", f"{DAY} 15:00:01.000", "message_sent", {"sender": "bot"})
    g.event("segment", f"{DAY} 15:00:05.000", "messageSent", {**cg, "sender": "user"})
    g.event("segment", f"{DAY} 15:00:05.500", " MESSAGE_SENT ", {**cg, "sender": "user"})
    g.event(
        "snowplow", f"{DAY} 15:00:40.000", "conversation_resolved", {**cg, "resolved_by": "agent"}
    )
    g.event("snowplow", f"{DAY} 15:01:00.000", "satisfaction_rated", {"score": 3})
    g.event(
        "snowplow",
        f"{DAY} 15:01:30.000",
        "satisfaction_rated",
        {"rating": 1, "score": 5},
        version="1-0-1",
    )
    return s  # fmt: skip


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    out = tmp_path_factory.mktemp("scripted")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CHAT_ANALYTICS_PII_SALT", SALT)
        generate(
            GeneratorConfig(
                out=str(out),
                days=5,
                script=build_script().conversations,
                forced_empty_files=(("snowplow", "2026-03-03"),),
            )
        )
    return out


def rows(out: Path, name: str) -> list[dict[str, str]]:
    with open(out / "_truth" / f"{name}.csv", newline="") as fh:
        return list(csv.DictReader(fh))


def same(actual: dict[str, str], expected: dict) -> None:
    for column, want in expected.items():
        got = actual[column]
        if isinstance(want, float):
            assert got != "" and abs(float(got) - want) < 1e-9, (column, got, want)
        else:
            assert got == ("" if want is None else str(want)), (column, got, want)


# conversation_id -> expected fct_conversations row (None: NULL)
EXPECTED = {
    "conv-a": dict(
        conversation_date=DAY, started_at=f"{DAY} 10:00:00.000", has_start_event="true",
        channel="web", bot_version="3.0.0", user_key=key("u-2"), user_messages=1,
        bot_messages=2, agent_messages=0, intents_detected=1, fallback_intents=0,
        is_engaged="true", is_recognized="true", first_intent="order_status",
        is_escalated="false", escalated_at=None, escalation_reason=None, is_resolved="true",
        resolved_at=f"{DAY} 10:00:20.000", resolved_by="bot", has_human="false",
        outcome="contained", csat_rating=5, is_satisfied="true", first_response_seconds=2.5,
        seconds_to_escalation=None, seconds_to_resolution=20.0,
        last_event_at=f"{DAY} 10:02:30.000", duration_seconds=150.0,
    ),
    "conv-b": dict(
        conversation_date=DAY, started_at=f"{DAY} 11:00:00.000", has_start_event="true",
        channel="mobile", bot_version="2.7.3", user_key=key("anon-b"), user_messages=2,
        bot_messages=2, agent_messages=1, intents_detected=2, fallback_intents=1,
        is_engaged="true", is_recognized="true", first_intent="refund_request",
        is_escalated="true", escalated_at=f"{DAY} 11:01:05.000",
        escalation_reason="user_request", is_resolved="false", resolved_at=None,
        resolved_by=None, has_human="true", outcome="escalated", csat_rating=4,
        is_satisfied="true", first_response_seconds=2.2, seconds_to_escalation=65.0,
        seconds_to_resolution=None, last_event_at=f"{DAY} 11:06:30.000",
        duration_seconds=390.0,
    ),
    "conv-c": dict(
        conversation_date=DAY, started_at=f"{DAY} 12:00:01.000", has_start_event="false",
        channel="whatsapp", bot_version="2.8.0", user_key=key("wa_1"), user_messages=1,
        bot_messages=2, agent_messages=0, intents_detected=1, fallback_intents=1,
        is_engaged="true", is_recognized="false", first_intent=None, is_escalated="false",
        is_resolved="false", has_human="false", outcome="abandoned", csat_rating=None,
        is_satisfied=None, first_response_seconds=2.0, last_event_at=f"{DAY} 12:00:22.000",
        duration_seconds=21.0,
    ),
    "conv-d": dict(
        conversation_date=DAY, started_at=f"{DAY} 23:50:00.000", has_start_event="true",
        channel="web", user_key=key("anon-d"), user_messages=0, bot_messages=2,
        intents_detected=1, fallback_intents=0, is_engaged="false", is_recognized="true",
        first_intent="product_info", outcome="not_engaged", first_response_seconds=None,
        last_event_at=f"{DAY} 23:55:03.000", duration_seconds=303.0,
    ),
    "conv-e": dict(
        conversation_date="2026-03-04", channel="mobile", user_key=key("anon-e"),
        user_messages=1, bot_messages=2, outcome="in_progress", first_response_seconds=3.0,
        last_event_at="2026-03-04 23:00:33.000", duration_seconds=33.0,
    ),
    "conv-f": dict(
        conversation_date="2026-03-03", channel="web", user_key=key("u-2"), user_messages=1,
        bot_messages=2, first_intent="product_info", outcome="abandoned",
        first_response_seconds=3.0, last_event_at="2026-03-03 09:00:13.000",
        duration_seconds=13.0,
    ),
    "conv-g": dict(
        conversation_date=DAY, started_at=f"{DAY} 15:00:00.000", has_start_event="true",
        channel="messenger", bot_version="2.7.3", user_key=key("fb_9"), user_messages=2,
        bot_messages=1, agent_messages=0, intents_detected=0, is_engaged="true",
        is_recognized="false", is_escalated="false", is_resolved="true",
        resolved_at=f"{DAY} 15:00:40.000", resolved_by="agent", has_human="true",
        outcome="escalated", csat_rating=1, is_satisfied="false", first_response_seconds=None,
        seconds_to_resolution=40.0, last_event_at=f"{DAY} 15:01:30.000",
        duration_seconds=90.0,
    ),
}  # fmt: skip


def test_fct_conversations_by_hand(world):
    actual = {r["conversation_id"]: r for r in rows(world, "fct_conversations")}
    assert sorted(actual) == sorted(EXPECTED)
    for cid, expected in EXPECTED.items():
        same(actual[cid], expected)


def test_conversation_metrics_daily_by_hand(world):
    actual = {
        (r["conversation_date"], r["channel"]): r for r in rows(world, "conversation_metrics_daily")
    }
    assert sorted(actual) == [
        (DAY, "messenger"), (DAY, "mobile"), (DAY, "web"), (DAY, "whatsapp"),
        ("2026-03-03", "web"), ("2026-03-04", "mobile"),
    ]  # fmt: skip
    same(actual[(DAY, "web")], dict(
        conversations=2, engaged_conversations=1, escalated_conversations=0,
        contained_conversations=1, in_progress_conversations=0, abandoned_conversations=0,
        resolved_conversations=1, rated_conversations=1, satisfied_conversations=1,
        engagement_rate=0.5, escalation_rate=0.0, containment_rate=1.0, abandonment_rate=0.0,
        resolution_rate=1.0, csat_average=5.0, csat_score=1.0, survey_response_rate=1.0,
        avg_first_response_seconds=2.5,
    ))  # fmt: skip
    same(actual[(DAY, "messenger")], dict(
        conversations=1, engaged_conversations=1, escalated_conversations=1,
        resolved_conversations=1, rated_conversations=1, satisfied_conversations=0,
        escalation_rate=1.0, resolution_rate=1.0, csat_average=1.0, csat_score=0.0,
        avg_first_response_seconds=None,
    ))  # fmt: skip
    same(actual[(DAY, "whatsapp")], dict(
        abandoned_conversations=1, abandonment_rate=1.0, csat_average=None, csat_score=None,
        survey_response_rate=0.0, avg_first_response_seconds=2.0,
    ))  # fmt: skip
    same(actual[("2026-03-04", "mobile")], dict(in_progress_conversations=1))


def test_conversation_funnel_daily_by_hand(world):
    actual = {
        (r["conversation_date"], r["channel"], int(r["step_number"])): r
        for r in rows(world, "conversation_funnel_daily")
    }
    assert len(actual) == 6 * 5  # every step of every (date, channel), zeros included
    names = ["started", "engaged", "recognized", "resolved", "rated"]
    for channel, counts, previous, start in (
        ("web", [2, 1, 1, 1, 1], [1.0, 0.5, 1.0, 1.0, 1.0], [1.0, 0.5, 0.5, 0.5, 0.5]),
        ("mobile", [1, 1, 1, 0, 0], [1.0, 1.0, 1.0, 0.0, None], [1.0, 1.0, 1.0, 0.0, 0.0]),
        ("messenger", [1, 1, 0, 0, 0], [1.0, 1.0, 0.0, None, None], [1.0, 1.0, 0.0, 0.0, 0.0]),
    ):
        for step in range(5):
            same(actual[(DAY, channel, step + 1)], dict(
                step_name=names[step], conversations=counts[step],
                conversion_from_previous=previous[step], conversion_from_start=start[step],
            ))  # fmt: skip


def test_intent_metrics_daily_by_hand(world):
    actual = {(r["conversation_date"], r["intent"]): r for r in rows(world, "intent_metrics_daily")}
    assert sorted(actual) == [
        (DAY, "(none)"), (DAY, "order_status"), (DAY, "product_info"), (DAY, "refund_request"),
        ("2026-03-03", "product_info"), ("2026-03-04", "order_status"),
    ]  # fmt: skip
    same(actual[(DAY, "(none)")], dict(
        conversations=2, engaged_conversations=2, escalated_conversations=1,
        abandoned_conversations=1, resolved_conversations=1, escalation_rate=0.5,
        abandonment_rate=0.5, avg_first_response_seconds=2.0,
    ))  # fmt: skip
    same(
        actual[(DAY, "product_info")],
        dict(conversations=1, engaged_conversations=0, engagement_rate=0.0, escalation_rate=None),
    )


def test_event_quality_daily_by_hand(world):
    actual = {(r["source"], r["received_date"]): r for r in rows(world, "event_quality_daily")}
    assert ("snowplow", "2026-03-03") not in actual  # its file is empty: no landed rows
    same(actual[("segment", DAY)], dict(
        landed_rows=12, chat_rows=8, identity_rows=1, unmapped_rows=1, duplicate_rows=2,
        rejected_rows=0, id_collisions=1, median_lateness_seconds=1.0,
        p95_lateness_seconds=1.0,
    ))  # fmt: skip
    same(actual[("rudderstack", DAY)], dict(
        landed_rows=8, chat_rows=5, identity_rows=0, unmapped_rows=0, duplicate_rows=0,
        rejected_rows=3, id_collisions=0, median_lateness_seconds=1.0,
    ))  # fmt: skip
    same(actual[("rudderstack", "2026-03-05")], dict(
        landed_rows=1, chat_rows=1, median_lateness_seconds=259_201.0,
        p95_lateness_seconds=259_201.0,
    ))  # fmt: skip
    same(actual[("snowplow", DAY)], dict(
        landed_rows=25, chat_rows=23, unmapped_rows=0, duplicate_rows=1, rejected_rows=1,
        id_collisions=1,
    ))  # fmt: skip
    same(actual[("snowplow", "2026-03-04")], dict(
        landed_rows=6, chat_rows=6, median_lateness_seconds=43_201.0,
        p95_lateness_seconds=86_401.0,
    ))  # fmt: skip
    manifest = json.loads((world / "_truth" / "manifest.json").read_text())
    assert manifest["rejections"] == {
        "segment": {},
        "rudderstack": {"invalid_rating": 1, "invalid_sender": 1, "missing_conversation_id": 1},
        "snowplow": {"future_timestamp": 1},
    }
    assert manifest["as_of"] == "2026-03-04 23:00:33.000"


def test_the_files_say_what_the_script_says(world):
    segment = (world / "segment" / f"{DAY}.jsonl").read_bytes().split(b"\n")
    manifest = json.loads((world / "_truth" / "manifest.json").read_text())
    assert manifest["malformed_lines"] == [
        {"file": f"segment/{DAY}.jsonl", "line": 7, "reason": "invalid_json",
         "corruption": "truncated"}
    ]  # fmt: skip
    with pytest.raises(json.JSONDecodeError):
        json.loads(segment[6])
    assert segment[3] == segment[4]  # the duplicated rating, twice in a row
    assert json.loads(segment[3])["properties"] == {"conversationId": "conv-a", "rating": 2}

    started = json.loads((world / "rudderstack" / f"{DAY}.jsonl").read_text().splitlines()[0])
    assert "timestamp" not in started
    assert started["originalTimestamp"] == f"{DAY}T14:00:00.023Z"  # 3 h 123 ms ahead
    assert started["sentAt"] == f"{DAY}T14:00:01.023Z"
    assert started["receivedAt"] == f"{DAY}T11:00:01.000Z"

    late = json.loads((world / "rudderstack" / "2026-03-05.jsonl").read_text())
    assert late["properties"] == {"conversation_id": "conv-b", "rating": 4.0}
    assert late["timestamp"] == f"{DAY}T11:06:30.000Z"

    assert (world / "snowplow" / "2026-03-03.tsv").stat().st_size == 0
    moved = (world / "snowplow" / "2026-03-04.tsv").read_text().splitlines()
    assert len(moved) == 6
    fields = moved[0].split("\t")
    assert len(fields) == 131
    assert fields[3] == "2026-03-04 09:00:02.000"  # collector_tstamp: a day late
    assert fields[124] == "2026-03-03 09:00:01.000"  # derived_tstamp: when it happened
    assert fields[15] == "anon-a" and fields[12] == "u-2"
