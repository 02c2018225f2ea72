"""Expected marts for the hand fixture in tests/fixtures/hand, worked out by hand from SPEC §3–§5.

The fixture is six files, two arrival days per source:

    segment/2026-03-01.jsonl   35 lines  (S1..S35 below: line number = n)
    segment/2026-03-02.jsonl   14 lines  (T1..T14)
    rudderstack/2026-03-01.jsonl 28 lines (R1..R28)
    rudderstack/2026-03-02.jsonl  7 lines (Q1..Q7)
    snowplow/2026-03-01.tsv    18 lines  (P1..P18)
    snowplow/2026-03-02.tsv     8 lines  (U1..U8; the last line has no trailing newline)

Every value below comes from reading those lines with the rules of SPEC, never from running the
pipeline. Times are UTC; "D1" is 2026-03-01 and "D2" is 2026-03-02.

Event times (SPEC §4 "Event time"):
- Segment / RudderStack lines that send `timestamp` use it even though their device clock
  (`originalTimestamp`, `sentAt`) is skewed by +5 min (Segment) / −2 min (RudderStack): the skew
  would show if the product used the correction formula when `timestamp` is present.
- T3 has no `timestamp`: receivedAt 18:00:10.700 − (sentAt 18:00:09.500 − originalTimestamp
  18:00:09.000) = 18:00:10.200. T9 has only `originalTimestamp` 19:10:00.000 (no sentAt) → that.
- T5's timestamp is "2026-03-02T19:00:12.000+01:00" = 18:00:12.000 UTC; S26's is
  "2026-03-01T12:30:00Z" (no fraction) and P6's collector_tstamp "2026-03-01 11:03:00" likewise.
- Snowplow: true_tstamp wins over derived_tstamp (P1: 11:00:00.000 not .100; P8: 13:00:00.000 not
  .550); P2/P3 have only derived_tstamp (their dvce clock is a minute behind, so the collector
  formula would give a different time); P5 has neither: collector 11:00:02.500 − (dvce_sent
  11:00:02.000 − dvce_created 11:00:01.500) = 11:00:02.000; P6 has no dvce_sent, so the formula is
  null and the collector time 11:03:00.000 is used; P16 (page_view): 11:40:00.000 − 0.5 s =
  11:39:59.500.

as_of = latest event_at of a valid chat event = Q6 (c4's last user message) D2 19:40:00.000, so
as_of − 30 min = D2 19:10:00.000; in_progress needs last_event_at strictly after that. The
rejected T11 (c4, claims 21:40) and the unmapped T13 (20:00) must not move as_of.

user_key = sha256(SALT || stitched user id) in lower hex; `uk()` below computes it.
"""

from __future__ import annotations

import hashlib
from datetime import date, datetime

SALT = "hand-fixture-salt"

D1 = date(2026, 3, 1)
D2 = date(2026, 3, 2)


def ts(text: str) -> datetime:
    """'2026-03-01 09:00:00.000' -> naive UTC datetime."""
    return datetime.fromisoformat(text)


def uk(stitched_user_id: str) -> str:
    return hashlib.sha256((SALT + stitched_user_id).encode()).hexdigest()


LANDING_DATE = object()
"""Placeholder for the UTC date of landing (rows without received_at); the test resolves it."""

# --------------------------------------------------------------------------------------------
# Column order of each mart (interfaces: "exact names and order")
# --------------------------------------------------------------------------------------------
METRIC_COLUMNS = [
    "conversations",
    "engaged_conversations",
    "escalated_conversations",
    "contained_conversations",
    "in_progress_conversations",
    "abandoned_conversations",
    "resolved_conversations",
    "rated_conversations",
    "satisfied_conversations",
    "engagement_rate",
    "escalation_rate",
    "containment_rate",
    "abandonment_rate",
    "resolution_rate",
    "csat_average",
    "csat_score",
    "survey_response_rate",
    "avg_first_response_seconds",
]
COLUMNS = {
    "fct_conversations": [
        "conversation_id",
        "conversation_date",
        "started_at",
        "has_start_event",
        "channel",
        "bot_version",
        "user_key",
        "user_messages",
        "bot_messages",
        "agent_messages",
        "intents_detected",
        "fallback_intents",
        "is_engaged",
        "is_recognized",
        "first_intent",
        "is_escalated",
        "escalated_at",
        "escalation_reason",
        "is_resolved",
        "resolved_at",
        "resolved_by",
        "has_human",
        "outcome",
        "csat_rating",
        "is_satisfied",
        "first_response_seconds",
        "seconds_to_escalation",
        "seconds_to_resolution",
        "last_event_at",
        "duration_seconds",
    ],
    "conversation_metrics_daily": ["conversation_date", "channel", *METRIC_COLUMNS],
    "conversation_funnel_daily": [
        "conversation_date",
        "channel",
        "step_number",
        "step_name",
        "conversations",
        "conversion_from_previous",
        "conversion_from_start",
    ],
    "intent_metrics_daily": ["conversation_date", "intent", *METRIC_COLUMNS],
    "fct_messages": [
        "message_key",
        "conversation_id",
        "message_id",
        "sender",
        "sent_at",
        "message_length",
        "reporting_events",
    ],
    "dim_users": [
        "user_key",
        "is_identified",
        "first_conversation_at",
        "last_conversation_at",
        "conversations",
        "engaged_conversations",
        "escalated_conversations",
        "rated_conversations",
    ],
    "event_quality_daily": [
        "source",
        "received_date",
        "landed_rows",
        "chat_rows",
        "identity_rows",
        "unmapped_rows",
        "duplicate_rows",
        "rejected_rows",
        "id_collisions",
        "median_lateness_seconds",
        "p95_lateness_seconds",
    ],
    "event_rejections": [
        "source",
        "load_id",
        "file_name",
        "line_number",
        "event_id",
        "reason",
        "received_at",
    ],
}
KEYS = {
    "fct_conversations": ["conversation_id"],
    "conversation_metrics_daily": ["conversation_date", "channel"],
    "conversation_funnel_daily": ["conversation_date", "channel", "step_number"],
    "intent_metrics_daily": ["conversation_date", "intent"],
    "dim_users": ["user_key"],
    "event_quality_daily": ["source", "received_date"],
}


def conversation(**values):
    """A fct_conversations row; every column must be given (checked below)."""
    assert list(values) == COLUMNS["fct_conversations"], list(values)
    return values


# --------------------------------------------------------------------------------------------
# fct_conversations — one row per conversation_id. Ten conversations: c1..c10 (c9 is "4242").
# No row for c-ghost (its only event is rejected: invalid_sender "robot"), c-unmapped (only an
# unmapped "Course Clicked"), c-other (Snowplow vendor com.other: unmapped) or the events
# rejected for missing_conversation_id.
# --------------------------------------------------------------------------------------------
FCT_CONVERSATIONS = [
    # c1 — Segment only, web, D1. Story: "Chat Opened" (alias of conversation_started) carries
    # channel web / botVersion v1; a bot greeting ("Message Received" → sender bot, no messageId,
    # so a message of its own) comes BEFORE the user's first message ("messageSent" → message_sent,
    # 09:00:10); "Intent Detected" order_status (confidence 1.5 is an invalid optional → null, event
    # kept; S6 is an exact duplicate of it → duplicate, counted once); the bot answers with
    # "message-sent" sender bot at 09:00:12.500; "Conversation Resolved" resolvedBy bot at 09:01;
    # ratings 3 (09:01:30) then 5 (09:01:40, S15). S14 carries the same messageId as S15 with
    # rating 1 but a later receivedAt → S14 is the duplicate (id collision), S15 is kept.
    # Rejected and therefore ignored: S8/S9 (no messageId), S10 (timestamp "not-a-time"),
    # S17 (rating 0, 09:05), S18 (score "five", 09:06) — if they counted, last_event_at would move.
    # User: the earliest event (S2) has only anon-1; anon-1 is linked to u-1 by the identify S16
    # and the group call S34 → u-1.
    # first_response = 09:00:10.000 → first bot message at/after it 09:00:12.500 = 2.5 s (the
    # greeting at 09:00:01 is before the user message and does not count).
    # Outcome: engaged, no human, resolved → contained. CSAT: latest valid rating = 5.
    conversation(
        conversation_id="c1",
        conversation_date=D1,
        started_at=ts("2026-03-01 09:00:00.000"),
        has_start_event=True,
        channel="web",
        bot_version="v1",
        user_key=uk("u-1"),
        user_messages=1,
        bot_messages=2,
        agent_messages=0,
        intents_detected=1,
        fallback_intents=0,
        is_engaged=True,
        is_recognized=True,
        first_intent="order_status",
        is_escalated=False,
        escalated_at=None,
        escalation_reason=None,
        is_resolved=True,
        resolved_at=ts("2026-03-01 09:01:00.000"),
        resolved_by="bot",
        has_human=False,
        outcome="contained",
        csat_rating=5,
        is_satisfied=True,
        first_response_seconds=2.5,
        seconds_to_escalation=None,
        seconds_to_resolution=60.0,
        last_event_at=ts("2026-03-01 09:01:40.000"),
        duration_seconds=100.0,
    ),
    # c2 — RudderStack only (snake_case properties), D1. "chat_started" carries properties
    # channel mobile / bot_version v2; the envelope `channel` is "web" (the SDK channel — must be
    # ignored). User message 10:00:05, intent "nlu_fallback" with no is_fallback → fallback by the
    # var fallback_intents (R4 repeats R3's messageId with intent "refund" and the SAME receivedAt:
    # the earlier line R3 is the first copy, R4 a duplicate + id collision — so c2 is never
    # recognized). Bot "message_received" 10:00:07; agent message ("Message Sent" sender agent,
    # message_length "long" → null) 10:02; conversation_resolved with resolved_by "human" (invalid
    # optional → null, kept) 10:05; conversation_ended ended_by "customer" (→ null, kept) 10:06.
    # Ratings 6 (R9) and "5" (R10, a string) are rejected → no CSAT.
    # has_human via agent_messages only (no escalation event) → outcome escalated.
    # first_response 10:00:05 → 10:00:07 = 2.0 s. userId u-2 on every event.
    conversation(
        conversation_id="c2",
        conversation_date=D1,
        started_at=ts("2026-03-01 10:00:00.000"),
        has_start_event=True,
        channel="mobile",
        bot_version="v2",
        user_key=uk("u-2"),
        user_messages=1,
        bot_messages=1,
        agent_messages=1,
        intents_detected=1,
        fallback_intents=1,
        is_engaged=True,
        is_recognized=False,
        first_intent=None,
        is_escalated=False,
        escalated_at=None,
        escalation_reason=None,
        is_resolved=True,
        resolved_at=ts("2026-03-01 10:05:00.000"),
        resolved_by=None,
        has_human=True,
        outcome="escalated",
        csat_rating=None,
        is_satisfied=None,
        first_response_seconds=2.0,
        seconds_to_escalation=None,
        seconds_to_resolution=300.0,
        last_event_at=ts("2026-03-01 10:06:00.000"),
        duration_seconds=360.0,
    ),
    # c3 — Snowplow + Segment, D1. conversation_started is Snowplow P1 (true_tstamp 11:00:00.000);
    # its conversation_id/channel/bot_version come from the conversation entity in `contexts`
    # (web / v1; the web_page entity listed first must be skipped). The user's message m-c3-1 is
    # reported twice: client-side by Segment S21 at 10:59:59.800 (0.2 s BEFORE started_at — clock
    # disagreement) and server-side by Snowplow P2 at 11:00:00.200 → one message, time
    # 10:59:59.800, sender user, reporting_events 2. Segment S35 intent "fallback" (no isFallback
    # → a fallback intent by the var) at 11:00:00.500, then intent refund (P3, is_fallback false;
    # P4 is an exact duplicate line) at 11:00:01 → 2 intents, 1 fallback, first_intent refund
    # (the earliest NON-fallback intent), recognized at 11:00:01. Bot m-c3-2 at 11:00:02.000
    # (collector formula). "Handoff Requested"
    # (S22, reason customer_request) 11:01:00 and "agentHandoff" (S23, reason second_request)
    # 11:01:30 → escalated_at 11:01:00, reason of the earliest. Agent message P6 at 11:03:00
    # (collector time). "Conversation Resolved" resolvedBy agent 11:10:00. "CSAT Submitted" (legacy)
    # with score 2 → rating 2, 11:11:00. P7 (satisfaction_rated with neither rating nor score,
    # 11:12) → invalid_rating, ignored.
    # first_response: first user message 10:59:59.800 → bot 11:00:02.000 = 2.2 s.
    # User: earliest event S21 has anon-3 only; S22..S25 carry anon-3 and u-3 → u-3.
    conversation(
        conversation_id="c3",
        conversation_date=D1,
        started_at=ts("2026-03-01 11:00:00.000"),
        has_start_event=True,
        channel="web",
        bot_version="v1",
        user_key=uk("u-3"),
        user_messages=1,
        bot_messages=1,
        agent_messages=1,
        intents_detected=2,
        fallback_intents=1,
        is_engaged=True,
        is_recognized=True,
        first_intent="refund",
        is_escalated=True,
        escalated_at=ts("2026-03-01 11:01:00.000"),
        escalation_reason="customer_request",
        is_resolved=True,
        resolved_at=ts("2026-03-01 11:10:00.000"),
        resolved_by="agent",
        has_human=True,
        outcome="escalated",
        csat_rating=2,
        is_satisfied=False,
        first_response_seconds=2.2,
        seconds_to_escalation=60.0,
        seconds_to_resolution=600.0,
        last_event_at=ts("2026-03-01 11:11:00.000"),
        duration_seconds=660.0,
    ),
    # c4 — Segment + RudderStack + Snowplow, D2, in progress. Two conversation_started: Segment
    # T10 at 19:00:00.000 without channel, Snowplow U3 at 19:00:00.300 whose entity says
    # channel mobile / bot_version v2 but whose own data says bot_version v3 (own data wins) →
    # started_at 19:00:00.000 (earliest start), channel mobile, bot_version v3 (earliest start
    # that carries them). User " MESSAGE_SENT " (RudderStack Q5) 19:00:05.000 and the bot's
    # message_received (Snowplow U4) at exactly 19:00:05.000 → first_response 0.0 ("at or
    # after"). Intent billing_question (schema version 1-1-0: only the name part of the Iglu URI
    # matters) with explicit is_fallback true → fallback, not recognized.
    # U6 button_clicked (com.acme.chat but no alias) is unmapped; U7 conversation_ended 19:35.
    # Last user message Q6 19:40:00.000 = as_of → in_progress. T11 (19:40:00.500 received, claims
    # 21:40) is future_timestamp; T12, its exact copy, is a duplicate.
    # User: T10 has anon-4 only and anon-4 is never linked to a user_id → stitched id "anon-4".
    conversation(
        conversation_id="c4",
        conversation_date=D2,
        started_at=ts("2026-03-02 19:00:00.000"),
        has_start_event=True,
        channel="mobile",
        bot_version="v3",
        user_key=uk("anon-4"),
        user_messages=2,
        bot_messages=1,
        agent_messages=0,
        intents_detected=1,
        fallback_intents=1,
        is_engaged=True,
        is_recognized=False,
        first_intent=None,
        is_escalated=False,
        escalated_at=None,
        escalation_reason=None,
        is_resolved=False,
        resolved_at=None,
        resolved_by=None,
        has_human=False,
        outcome="in_progress",
        csat_rating=None,
        is_satisfied=None,
        first_response_seconds=0.0,
        seconds_to_escalation=None,
        seconds_to_resolution=None,
        last_event_at=ts("2026-03-02 19:40:00.000"),
        duration_seconds=2400.0,
    ),
    # c5 — Segment only, D2, abandoned exactly at the boundary. "Chat Started" web / v2 at 18:00.
    # User m-c5-1: no `timestamp` → 18:00:10.200 (receivedAt − (sentAt − originalTimestamp)); T4
    # is a retry (same messageId and payload, later receivedAt) → duplicate, not a collision.
    # Intent "" (T6) → invalid_intent; intent order_status (isFallback false) 18:00:11.500. Bot
    # m-c5-2 with timestamp 19:00:12+01:00 = 18:00:12.000 UTC → first_response 1.8 s. Rating 5.0
    # (a JSON number with integral value) → 5. Last user message m-c5-3 with only
    # originalTimestamp 19:10:00.000 = as_of − 30 min exactly → not after it → abandoned.
    # User: anon-5 is linked to u-5a (identify S1, D1 08:00) and later to u-5b (identify Q4,
    # D2 17:00): the latest link wins → u-5b.
    conversation(
        conversation_id="c5",
        conversation_date=D2,
        started_at=ts("2026-03-02 18:00:00.000"),
        has_start_event=True,
        channel="web",
        bot_version="v2",
        user_key=uk("u-5b"),
        user_messages=2,
        bot_messages=1,
        agent_messages=0,
        intents_detected=1,
        fallback_intents=0,
        is_engaged=True,
        is_recognized=True,
        first_intent="order_status",
        is_escalated=False,
        escalated_at=None,
        escalation_reason=None,
        is_resolved=False,
        resolved_at=None,
        resolved_by=None,
        has_human=False,
        outcome="abandoned",
        csat_rating=5,
        is_satisfied=True,
        first_response_seconds=1.8,
        seconds_to_escalation=None,
        seconds_to_resolution=None,
        last_event_at=ts("2026-03-02 19:10:00.000"),
        duration_seconds=4200.0,
    ),
    # c6 — Segment, D1, not engaged. "  Conversation  Started!! " normalises to
    # conversation_started (web / v1); one bot message (messageLength −5 → null). No user
    # message → not_engaged; no first response. userId u-5b on both events.
    conversation(
        conversation_id="c6",
        conversation_date=D1,
        started_at=ts("2026-03-01 12:30:00.000"),
        has_start_event=True,
        channel="web",
        bot_version="v1",
        user_key=uk("u-5b"),
        user_messages=0,
        bot_messages=1,
        agent_messages=0,
        intents_detected=0,
        fallback_intents=0,
        is_engaged=False,
        is_recognized=False,
        first_intent=None,
        is_escalated=False,
        escalated_at=None,
        escalation_reason=None,
        is_resolved=False,
        resolved_at=None,
        resolved_by=None,
        has_human=False,
        outcome="not_engaged",
        csat_rating=None,
        is_satisfied=None,
        first_response_seconds=None,
        seconds_to_escalation=None,
        seconds_to_resolution=None,
        last_event_at=ts("2026-03-01 12:30:01.000"),
        duration_seconds=1.0,
    ),
    # c7 — RudderStack, D1, no conversation_started and no property channel (the envelope
    # channel "server" is the SDK's) → started_at = earliest event 12:00:00, has_start_event
    # false, channel and bot_version 'unknown'. User message 12:00:00, bot message m-c7-2 12:00:03
    # (R12 is a copy of it with sender agent and NO receivedAt: nulls last → R13 is the first
    # copy, R12 a duplicate + collision; were R12 kept, c7 would have an agent and be escalated).
    # R14 sender "User" → invalid_sender; R15 no intent → invalid_intent; R23 no time at all →
    # invalid_timestamp; all ignored. Resolved by bot 12:01 → contained. first_response 3.0.
    # User: anon-7 is linked to u-7 by the unmapped page R17 that carries both ids.
    conversation(
        conversation_id="c7",
        conversation_date=D1,
        started_at=ts("2026-03-01 12:00:00.000"),
        has_start_event=False,
        channel="unknown",
        bot_version="unknown",
        user_key=uk("u-7"),
        user_messages=1,
        bot_messages=1,
        agent_messages=0,
        intents_detected=0,
        fallback_intents=0,
        is_engaged=True,
        is_recognized=False,
        first_intent=None,
        is_escalated=False,
        escalated_at=None,
        escalation_reason=None,
        is_resolved=True,
        resolved_at=ts("2026-03-01 12:01:00.000"),
        resolved_by="bot",
        has_human=False,
        outcome="contained",
        csat_rating=None,
        is_satisfied=None,
        first_response_seconds=3.0,
        seconds_to_escalation=None,
        seconds_to_resolution=60.0,
        last_event_at=ts("2026-03-01 12:01:00.000"),
        duration_seconds=60.0,
    ),
    # c8 — Snowplow only, no conversation_started, no ids at all (no domain_userid, no
    # user_id) → user_key null. conversation_id, channel mobile and bot_version v3 come from
    # the conversation entity of every event → channel/bot_version from the earliest event that
    # carries them. User message (sender absent → default user, no message_length → length of
    # "cancel my order" = 15) D1 13:00:00.000; intent cancel_order (no is_fallback, not a
    # fallback intent) 13:00:01; P10 (no intent) → invalid_intent; bot m-c8-2 13:00:02 (P12 is a
    # retry with a later collector_tstamp → duplicate, not a collision). Resolved by bot at
    # D2 13:00:00.001 — 24 h + 1 ms after started_at: is_resolved, but outside the funnel window.
    # satisfaction_rated 1-0-0 with legacy `score` 4 at D2 13:00:30. U8 arrives late (collector
    # D2 13:05) with rating 1 and true_tstamp D1 13:00:05: the latest rating is the latest by
    # event_at, not by arrival → csat 4 (and last_event_at stays D2 13:00:30). Outcome contained.
    conversation(
        conversation_id="c8",
        conversation_date=D1,
        started_at=ts("2026-03-01 13:00:00.000"),
        has_start_event=False,
        channel="mobile",
        bot_version="v3",
        user_key=None,
        user_messages=1,
        bot_messages=1,
        agent_messages=0,
        intents_detected=1,
        fallback_intents=0,
        is_engaged=True,
        is_recognized=True,
        first_intent="cancel_order",
        is_escalated=False,
        escalated_at=None,
        escalation_reason=None,
        is_resolved=True,
        resolved_at=ts("2026-03-02 13:00:00.001"),
        resolved_by="bot",
        has_human=False,
        outcome="contained",
        csat_rating=4,
        is_satisfied=True,
        first_response_seconds=2.0,
        seconds_to_escalation=None,
        seconds_to_resolution=86400.001,
        last_event_at=ts("2026-03-02 13:00:30.000"),
        duration_seconds=86430.0,
    ),
    # c9 = "4242" — Segment + RudderStack, D1. Segment S28 "Conversation Started" sends
    # conversationId as the JSON number 4242 (→ text "4242"), the other events send "4242".
    # web / v2. User (RudderStack) 14:00:05, bot 14:00:06 → first_response 1.0; intent
    # track_order 14:00:06.5; resolved by bot 14:00:30 (Segment); rating 4.5 (R22) rejected;
    # T1 rating 4 with a legacy score 1 → `rating` wins → 4, at D2 14:00:00.000 = exactly 24 h
    # after started_at (inside the funnel window). Outcome contained.
    # User: anon-9 linked to u-9 by the RudderStack identify R18.
    conversation(
        conversation_id="4242",
        conversation_date=D1,
        started_at=ts("2026-03-01 14:00:00.000"),
        has_start_event=True,
        channel="web",
        bot_version="v2",
        user_key=uk("u-9"),
        user_messages=1,
        bot_messages=1,
        agent_messages=0,
        intents_detected=1,
        fallback_intents=0,
        is_engaged=True,
        is_recognized=True,
        first_intent="track_order",
        is_escalated=False,
        escalated_at=None,
        escalation_reason=None,
        is_resolved=True,
        resolved_at=ts("2026-03-01 14:00:30.000"),
        resolved_by="bot",
        has_human=False,
        outcome="contained",
        csat_rating=4,
        is_satisfied=True,
        first_response_seconds=1.0,
        seconds_to_escalation=None,
        seconds_to_resolution=30.0,
        last_event_at=ts("2026-03-02 14:00:00.000"),
        duration_seconds=86400.0,
    ),
    # c10 — RudderStack, D2, mobile / v3 ("chat_opened"). One user message, no bot or agent
    # message (first_response null), resolved_by agent at 15:30 with no escalation event and no
    # agent message → has_human via resolved_by = 'agent' → escalated. User u-2 (as c2).
    conversation(
        conversation_id="c10",
        conversation_date=D2,
        started_at=ts("2026-03-02 15:00:00.000"),
        has_start_event=True,
        channel="mobile",
        bot_version="v3",
        user_key=uk("u-2"),
        user_messages=1,
        bot_messages=0,
        agent_messages=0,
        intents_detected=0,
        fallback_intents=0,
        is_engaged=True,
        is_recognized=False,
        first_intent=None,
        is_escalated=False,
        escalated_at=None,
        escalation_reason=None,
        is_resolved=True,
        resolved_at=ts("2026-03-02 15:30:00.000"),
        resolved_by="agent",
        has_human=True,
        outcome="escalated",
        csat_rating=None,
        is_satisfied=None,
        first_response_seconds=None,
        seconds_to_escalation=None,
        seconds_to_resolution=1800.0,
        last_event_at=ts("2026-03-02 15:30:00.000"),
        duration_seconds=1800.0,
    ),
]


def metrics(keys: dict, counts: tuple, rates: tuple) -> dict:
    row = dict(keys)
    row.update(zip(METRIC_COLUMNS[:9], counts, strict=True))
    row.update(zip(METRIC_COLUMNS[9:], rates, strict=True))
    return row


# Column order of the tuples:
# counts: conversations, engaged, escalated, contained, in_progress, abandoned, resolved
#         (engaged and resolved), rated, satisfied
# rates:  engagement (engaged/conv), escalation, containment, abandonment, resolution (÷ engaged),
#         csat_average (mean rating over rated), csat_score (satisfied/rated),
#         survey_response (rated/engaged), avg_first_response_seconds (over those that have one)
CONVERSATION_METRICS_DAILY = [
    # D1 web: c1 (contained, rated 5, frs 2.5), c3 (escalated, resolved, rated 2, frs 2.2),
    # c6 (not_engaged), 4242 (contained, rated 4, frs 1.0).
    metrics(
        {"conversation_date": D1, "channel": "web"},
        (4, 3, 1, 2, 0, 0, 3, 3, 2),
        (3 / 4, 1 / 3, 2 / 3, 0.0, 1.0, 11 / 3, 2 / 3, 1.0, (2.5 + 2.2 + 1.0) / 3),
    ),
    # D1 mobile: c2 (escalated, resolved, no rating, frs 2.0), c8 (contained, rated 4, frs 2.0).
    metrics(
        {"conversation_date": D1, "channel": "mobile"},
        (2, 2, 1, 1, 0, 0, 2, 1, 1),
        (1.0, 0.5, 0.5, 0.0, 1.0, 4.0, 1.0, 0.5, 2.0),
    ),
    # D1 unknown: c7 (contained, no rating → csat_average and csat_score null, frs 3.0).
    metrics(
        {"conversation_date": D1, "channel": "unknown"},
        (1, 1, 0, 1, 0, 0, 1, 0, 0),
        (1.0, 0.0, 1.0, 0.0, 1.0, None, None, 0.0, 3.0),
    ),
    # D2 mobile: c4 (in_progress, frs 0.0), c10 (escalated, resolved, no first response).
    metrics(
        {"conversation_date": D2, "channel": "mobile"},
        (2, 2, 1, 0, 1, 0, 1, 0, 0),
        (1.0, 0.5, 0.0, 0.0, 0.5, None, None, 0.0, 0.0),
    ),
    # D2 web: c5 (abandoned, rated 5, frs 1.8).
    metrics(
        {"conversation_date": D2, "channel": "web"},
        (1, 1, 0, 0, 0, 1, 0, 1, 1),
        (1.0, 0.0, 0.0, 1.0, 0.0, 5.0, 1.0, 1.0, 1.8),
    ),
]

# intent = coalesce(first_intent, '(none)'), per conversation_date (all channels together).
INTENT_METRICS_DAILY = [
    # D1 order_status: c1.
    metrics(
        {"conversation_date": D1, "intent": "order_status"},
        (1, 1, 0, 1, 0, 0, 1, 1, 1),
        (1.0, 0.0, 1.0, 0.0, 1.0, 5.0, 1.0, 1.0, 2.5),
    ),
    # D1 refund: c3 (escalated, rating 2).
    metrics(
        {"conversation_date": D1, "intent": "refund"},
        (1, 1, 1, 0, 0, 0, 1, 1, 0),
        (1.0, 1.0, 0.0, 0.0, 1.0, 2.0, 0.0, 1.0, 2.2),
    ),
    # D1 (none): c2 (only a fallback intent; escalated, resolved, frs 2.0), c6 (not engaged),
    # c7 (no intent; contained, frs 3.0).
    metrics(
        {"conversation_date": D1, "intent": "(none)"},
        (3, 2, 1, 1, 0, 0, 2, 0, 0),
        (2 / 3, 0.5, 0.5, 0.0, 1.0, None, None, 0.0, 2.5),
    ),
    # D1 cancel_order: c8.
    metrics(
        {"conversation_date": D1, "intent": "cancel_order"},
        (1, 1, 0, 1, 0, 0, 1, 1, 1),
        (1.0, 0.0, 1.0, 0.0, 1.0, 4.0, 1.0, 1.0, 2.0),
    ),
    # D1 track_order: 4242.
    metrics(
        {"conversation_date": D1, "intent": "track_order"},
        (1, 1, 0, 1, 0, 0, 1, 1, 1),
        (1.0, 0.0, 1.0, 0.0, 1.0, 4.0, 1.0, 1.0, 1.0),
    ),
    # D2 (none): c4 (fallback only; in_progress, frs 0.0), c10 (escalated, resolved).
    metrics(
        {"conversation_date": D2, "intent": "(none)"},
        (2, 2, 1, 0, 1, 0, 1, 0, 0),
        (1.0, 0.5, 0.0, 0.0, 0.5, None, None, 0.0, 0.0),
    ),
    # D2 order_status: c5 (abandoned, rated 5, frs 1.8).
    metrics(
        {"conversation_date": D2, "intent": "order_status"},
        (1, 1, 0, 0, 0, 1, 0, 1, 1),
        (1.0, 0.0, 0.0, 1.0, 0.0, 5.0, 1.0, 1.0, 1.8),
    ),
]

# --------------------------------------------------------------------------------------------
# conversation_funnel_daily. Steps reached per conversation (window 24 h after started_at):
#   c1 5 (all milestones within 2 min), c3 5 (engaged 0.2 s BEFORE started_at still counts),
#   c6 1 (never engaged), 4242 5 (first valid rating exactly 24 h after start: "no later than"),
#   c2 2 (no non-fallback intent), c8 3 (resolved 24 h + 1 ms after start → stops at recognized),
#   c7 2, c4 2 (fallback intent only), c10 2, c5 3 (never resolved).
# --------------------------------------------------------------------------------------------
STEP_NAMES = {1: "started", 2: "engaged", 3: "recognized", 4: "resolved", 5: "rated"}


def funnel(day, channel, counts):
    rows = []
    for step, count in enumerate(counts, start=1):
        previous = counts[step - 2] if step > 1 else None
        rows.append(
            {
                "conversation_date": day,
                "channel": channel,
                "step_number": step,
                "step_name": STEP_NAMES[step],
                "conversations": count,
                # 1 for step 1; null when the previous step has 0 conversations
                "conversion_from_previous": 1.0
                if step == 1
                else (None if previous == 0 else count / previous),
                "conversion_from_start": count / counts[0],
            }
        )
    return rows


CONVERSATION_FUNNEL_DAILY = [
    *funnel(D1, "web", (4, 3, 3, 3, 3)),  # c1, c3, c6, 4242
    *funnel(D1, "mobile", (2, 2, 1, 0, 0)),  # c2, c8
    *funnel(D1, "unknown", (1, 1, 0, 0, 0)),  # c7
    *funnel(D2, "mobile", (2, 2, 0, 0, 0)),  # c4, c10
    *funnel(D2, "web", (1, 1, 1, 0, 0)),  # c5
]

# --------------------------------------------------------------------------------------------
# fct_messages (message_key is the product's own surrogate key: only checked for unique/not
# null). (conversation_id, message_id, sender, sent_at, message_length, reporting_events).
# message_length: explicit when valid; else length of message_body; invalid → null.
# --------------------------------------------------------------------------------------------
FCT_MESSAGES = [
    # c1: greeting without messageId (its own message; body "Hi! How can I help?" = 19 chars),
    # user m-c1-1 (explicit messageLength 30 wins over the 12-char body), bot m-c1-2 (25).
    ("c1", None, "bot", ts("2026-03-01 09:00:01.000"), 19, 1),
    ("c1", "m-c1-1", "user", ts("2026-03-01 09:00:10.000"), 30, 1),
    ("c1", "m-c1-2", "bot", ts("2026-03-01 09:00:12.500"), 25, 1),
    # c2: body "My card was charged twice" = 25; m-c2-2 no length/body; m-c2-3 "long" → null.
    ("c2", "m-c2-1", "user", ts("2026-03-01 10:00:05.000"), 25, 1),
    ("c2", "m-c2-2", "bot", ts("2026-03-01 10:00:07.000"), None, 1),
    ("c2", "m-c2-3", "agent", ts("2026-03-01 10:02:00.000"), None, 1),
    # c3: m-c3-1 reported by Segment (10:59:59.800, length 15) and Snowplow (11:00:00.200,
    # body "I want a refund" = 15) → one message at the earliest time, 2 reporting events.
    ("c3", "m-c3-1", "user", ts("2026-03-01 10:59:59.800"), 15, 2),
    ("c3", "m-c3-2", "bot", ts("2026-03-01 11:00:02.000"), None, 1),
    ("c3", "m-c3-3", "agent", ts("2026-03-01 11:03:00.000"), 42, 1),
    # c4
    ("c4", "m-c4-1", "user", ts("2026-03-02 19:00:05.000"), None, 1),
    ("c4", "m-c4-2", "bot", ts("2026-03-02 19:00:05.000"), None, 1),
    ("c4", "m-c4-3", "user", ts("2026-03-02 19:40:00.000"), None, 1),
    # c5: T4 is an envelope duplicate of T3 (not a second report); body "Let me check that." = 18
    ("c5", "m-c5-1", "user", ts("2026-03-02 18:00:10.200"), None, 1),
    ("c5", "m-c5-2", "bot", ts("2026-03-02 18:00:12.000"), 18, 1),
    ("c5", "m-c5-3", "user", ts("2026-03-02 19:10:00.000"), None, 1),
    # c6: messageLength −5 → null
    ("c6", "m-c6-1", "bot", ts("2026-03-01 12:30:01.000"), None, 1),
    # c7
    ("c7", "m-c7-1", "user", ts("2026-03-01 12:00:00.000"), None, 1),
    ("c7", "m-c7-2", "bot", ts("2026-03-01 12:00:03.000"), None, 1),
    # c8: "cancel my order" = 15
    ("c8", "m-c8-1", "user", ts("2026-03-01 13:00:00.000"), 15, 1),
    ("c8", "m-c8-2", "bot", ts("2026-03-01 13:00:02.000"), None, 1),
    # 4242
    ("4242", "m-c9-1", "user", ts("2026-03-01 14:00:05.000"), None, 1),
    ("4242", "m-c9-2", "bot", ts("2026-03-01 14:00:06.000"), None, 1),
    # c10
    ("c10", "m-c10-1", "user", ts("2026-03-02 15:00:02.000"), None, 1),
]

# --------------------------------------------------------------------------------------------
# dim_users — one row per user_key (conversations with a null user_key, c8, have no row).
# first/last_conversation_at = earliest/latest started_at of the user's conversations;
# escalated_conversations counts outcome = 'escalated' (as conversation_metrics_daily).
# --------------------------------------------------------------------------------------------
DIM_USERS = [
    {
        "user_key": uk("u-1"),
        "is_identified": True,
        "first_conversation_at": ts("2026-03-01 09:00:00.000"),
        "last_conversation_at": ts("2026-03-01 09:00:00.000"),
        "conversations": 1,
        "engaged_conversations": 1,
        "escalated_conversations": 0,
        "rated_conversations": 1,
    },
    # u-2: c2 (escalated via agent message) and c10 (escalated via resolved_by agent).
    {
        "user_key": uk("u-2"),
        "is_identified": True,
        "first_conversation_at": ts("2026-03-01 10:00:00.000"),
        "last_conversation_at": ts("2026-03-02 15:00:00.000"),
        "conversations": 2,
        "engaged_conversations": 2,
        "escalated_conversations": 2,
        "rated_conversations": 0,
    },
    {
        "user_key": uk("u-3"),
        "is_identified": True,
        "first_conversation_at": ts("2026-03-01 11:00:00.000"),
        "last_conversation_at": ts("2026-03-01 11:00:00.000"),
        "conversations": 1,
        "engaged_conversations": 1,
        "escalated_conversations": 1,
        "rated_conversations": 1,
    },
    # u-5b: c6 (userId u-5b, not engaged) and c5 (anon-5, latest link u-5b, rated).
    {
        "user_key": uk("u-5b"),
        "is_identified": True,
        "first_conversation_at": ts("2026-03-01 12:30:00.000"),
        "last_conversation_at": ts("2026-03-02 18:00:00.000"),
        "conversations": 2,
        "engaged_conversations": 1,
        "escalated_conversations": 0,
        "rated_conversations": 1,
    },
    {
        "user_key": uk("u-7"),
        "is_identified": True,
        "first_conversation_at": ts("2026-03-01 12:00:00.000"),
        "last_conversation_at": ts("2026-03-01 12:00:00.000"),
        "conversations": 1,
        "engaged_conversations": 1,
        "escalated_conversations": 0,
        "rated_conversations": 0,
    },
    {
        "user_key": uk("u-9"),
        "is_identified": True,
        "first_conversation_at": ts("2026-03-01 14:00:00.000"),
        "last_conversation_at": ts("2026-03-01 14:00:00.000"),
        "conversations": 1,
        "engaged_conversations": 1,
        "escalated_conversations": 0,
        "rated_conversations": 1,
    },
    # anon-4: never identified → the anonymous id itself is the stitched user.
    {
        "user_key": uk("anon-4"),
        "is_identified": False,
        "first_conversation_at": ts("2026-03-02 19:00:00.000"),
        "last_conversation_at": ts("2026-03-02 19:00:00.000"),
        "conversations": 1,
        "engaged_conversations": 1,
        "escalated_conversations": 0,
        "rated_conversations": 0,
    },
]

# --------------------------------------------------------------------------------------------
# Landing: lines per file, raw rows, and raw.rejected_lines.
# --------------------------------------------------------------------------------------------
FILES = {
    # file: (source, lines, landed rows, rejected lines)
    "segment/2026-03-01.jsonl": ("segment", 35, 32, 3),
    "segment/2026-03-02.jsonl": ("segment", 14, 14, 0),
    "rudderstack/2026-03-01.jsonl": ("rudderstack", 28, 24, 4),
    "rudderstack/2026-03-02.jsonl": ("rudderstack", 7, 7, 0),
    "snowplow/2026-03-01.tsv": ("snowplow", 18, 17, 1),
    "snowplow/2026-03-02.tsv": ("snowplow", 8, 8, 0),  # last line has no newline: still a line
}
REJECTED_LINES = [
    # (file, line, reason)
    ("segment/2026-03-01.jsonl", 30, "invalid_json"),  # truncated object
    ("segment/2026-03-01.jsonl", 31, "empty_object"),  # {}
    ("segment/2026-03-01.jsonl", 32, "invalid_utf8"),  # a 0xFF byte
    ("rudderstack/2026-03-01.jsonl", 25, "not_an_object"),  # [1, 2, 3]
    ("rudderstack/2026-03-01.jsonl", 26, "invalid_json"),  # empty line
    ("rudderstack/2026-03-01.jsonl", 27, "not_an_object"),  # null
    ("rudderstack/2026-03-01.jsonl", 28, "not_an_object"),  # "just a string"
    ("snowplow/2026-03-01.tsv", 18, "wrong_field_count"),  # 130 fields
]

# --------------------------------------------------------------------------------------------
# event_rejections — one row per landed row rejected by staging.
# (file, line, event_id, reason, received_at)
# --------------------------------------------------------------------------------------------
EVENT_REJECTIONS = [
    ("segment/2026-03-01.jsonl", 8, None, "missing_event_id", ts("2026-03-01 09:00:20.300")),
    # S9 is the same line again: still missing_event_id (no id → never a duplicate)
    ("segment/2026-03-01.jsonl", 9, None, "missing_event_id", ts("2026-03-01 09:00:20.300")),
    # timestamp "not-a-time", no originalTimestamp, no sentAt → no event time
    ("segment/2026-03-01.jsonl", 10, "seg-c1-06", "invalid_timestamp", ts("2026-03-01 09:00:25")),
    ("segment/2026-03-01.jsonl", 17, "seg-c1-10", "invalid_rating", ts("2026-03-01 09:05:00.500")),
    # csat_submitted with score "five"
    ("segment/2026-03-01.jsonl", 18, "seg-c1-11", "invalid_rating", ts("2026-03-01 09:06:00.500")),
    # conversationId ""
    (
        "segment/2026-03-01.jsonl",
        20,
        "seg-ms-nc",
        "missing_conversation_id",
        ts("2026-03-01 09:20:00.500"),
    ),
    # sender "robot" (c-ghost has no valid event → no conversation)
    (
        "segment/2026-03-01.jsonl",
        33,
        "seg-ghost-01",
        "invalid_sender",
        ts("2026-03-01 16:00:00.500"),
    ),
    ("segment/2026-03-02.jsonl", 6, "seg-c5-04", "invalid_intent", ts("2026-03-02 18:00:11.500")),
    # event_at 21:40:00.000 vs received 19:40:00.500 (T12, same line again, is a duplicate)
    (
        "segment/2026-03-02.jsonl",
        11,
        "seg-c4-02",
        "future_timestamp",
        ts("2026-03-02 19:40:00.500"),
    ),
    # page at received + 1 h + 1 ms (T13, at exactly + 1 h, is kept as unmapped)
    ("segment/2026-03-02.jsonl", 14, "seg-pg-03", "future_timestamp", ts("2026-03-02 19:00:00")),
    ("rudderstack/2026-03-01.jsonl", 9, "rs-c2-08", "invalid_rating", ts("2026-03-01 10:07:00.5")),
    # rating "5" is a string, not a JSON number
    ("rudderstack/2026-03-01.jsonl", 10, "rs-c2-09", "invalid_rating", ts("2026-03-01 10:07:30.5")),
    # sender "User": must be exactly user|bot|agent
    ("rudderstack/2026-03-01.jsonl", 14, "rs-c7-03", "invalid_sender", ts("2026-03-01 12:00:20.5")),
    ("rudderstack/2026-03-01.jsonl", 15, "rs-c7-04", "invalid_intent", ts("2026-03-01 12:00:21.5")),
    ("rudderstack/2026-03-01.jsonl", 22, "rs-c9-04", "invalid_rating", ts("2026-03-01 14:00:20.5")),
    # no timestamp, originalTimestamp, sentAt or receivedAt at all
    ("rudderstack/2026-03-01.jsonl", 23, "rs-ts-01", "invalid_timestamp", None),
    # no conversation_id AND sender "robot": missing_conversation_id comes first
    (
        "rudderstack/2026-03-01.jsonl",
        24,
        "rs-nc-01",
        "missing_conversation_id",
        ts("2026-03-01 12:10:00.500"),
    ),
    # satisfaction_rated 1-0-0 with neither rating nor score
    (
        "snowplow/2026-03-01.tsv",
        7,
        "5e000000-0000-4000-8000-000000000007",
        "invalid_rating",
        ts("2026-03-01 11:12:00.500"),
    ),
    # intent_detected without intent
    (
        "snowplow/2026-03-01.tsv",
        10,
        "5e000000-0000-4000-8000-000000000010",
        "invalid_intent",
        ts("2026-03-01 13:00:01.900"),
    ),
    # empty event_id field
    ("snowplow/2026-03-01.tsv", 13, None, "missing_event_id", ts("2026-03-01 13:00:03.400")),
    # true_tstamp 13:30 vs collector 11:20
    (
        "snowplow/2026-03-01.tsv",
        14,
        "5e000000-0000-4000-8000-000000000014",
        "future_timestamp",
        ts("2026-03-01 11:20:00.000"),
    ),
    # contexts hold only a web_page entity, data has no conversation_id
    (
        "snowplow/2026-03-01.tsv",
        15,
        "5e000000-0000-4000-8000-000000000015",
        "missing_conversation_id",
        ts("2026-03-01 11:30:00.500"),
    ),
]

# --------------------------------------------------------------------------------------------
# event_quality_daily — one row per source × received_date (date of received_at, else of the
# landing time). Lateness = received_at − event_at over chat/identity/unmapped rows;
# quantile_cont: sorted values v[0..n-1], position p = (n−1)·q, v[floor p] + frac(p)·(next − it).
# --------------------------------------------------------------------------------------------
EVENT_QUALITY_DAILY = [
    # segment D1, 32 landed rows (35 lines − 3 landing rejects):
    #   chat 18: S2 S3 S4 S5 S7 S12 S13 S15 S21..S29 S35 (S21-S25 S35 c3, S26-S27 c6, S28-S29
    #   4242)
    #   identity 2: S1 S16; unmapped 3: S11 (page) S19 (Course Clicked) S34 (group)
    #   duplicate 2: S6 (exact copy of S5) S14 (collision with S15) → id_collisions 1
    #   rejected 7: S8 S9 S10 S17 S18 S20 S33
    #   lateness (23 values): 0.25×2 (S3 S22), 0.5×11 (S2 S5 S7 S12 S16 S23 S26-S29 S35),
    #   0.75 (S11), 1.0×7 (S1 S4 S13 S15 S21 S24 S25), 2.0 (S19), 4.0 (S34)
    #   median p=11 → v11 = 0.5; p95 p=20.9 → v20=1.0, v21=2.0 → 1.0 + 0.9·1.0 = 1.9
    {
        "source": "segment",
        "received_date": D1,
        "landed_rows": 32,
        "chat_rows": 18,
        "identity_rows": 2,
        "unmapped_rows": 3,
        "duplicate_rows": 2,
        "rejected_rows": 7,
        "id_collisions": 1,
        "median_lateness_seconds": 0.5,
        "p95_lateness_seconds": 1.9,
    },
    # segment D2, 14 rows: chat 8 (T1 T2 T3 T5 T7 T8 T9 T10), unmapped 1 (T13),
    #   duplicate 2 (T4 retry of T3 — same payload, no collision; T12 copy of T11),
    #   rejected 3 (T6 T11 T14).
    #   lateness (9): −3600 (T13), 0.3 (T5), 0.4 (T2), 0.5 (T3 T7 T8), 0.6 (T10), 1.0 (T1),
    #   2.0 (T9) → median v4 = 0.5; p95 p=7.6 → 1.0 + 0.6·(2.0 − 1.0) = 1.6
    {
        "source": "segment",
        "received_date": D2,
        "landed_rows": 14,
        "chat_rows": 8,
        "identity_rows": 0,
        "unmapped_rows": 1,
        "duplicate_rows": 2,
        "rejected_rows": 3,
        "id_collisions": 0,
        "median_lateness_seconds": 0.5,
        "p95_lateness_seconds": 1.6,
    },
    # rudderstack D1: 24 landed rows, of which R12 and R23 have no receivedAt (→ landing date),
    #   so 22 here: chat 13 (R1 R2 R3 R5 R6 R7 R8 R11 R13 R16 R19 R20 R21), identity 1 (R18),
    #   unmapped 1 (R17), duplicate 1 (R4, collision), rejected 6 (R9 R10 R14 R15 R22 R24).
    #   lateness (15): 0.2, 0.25×2, 0.4, 0.5×9, 1.0 (R17), 3.0 (R8)
    #   median v7 = 0.5; p95 p=13.3 → 1.0 + 0.3·2.0 = 1.6
    {
        "source": "rudderstack",
        "received_date": D1,
        "landed_rows": 22,
        "chat_rows": 13,
        "identity_rows": 1,
        "unmapped_rows": 1,
        "duplicate_rows": 1,
        "rejected_rows": 6,
        "id_collisions": 1,
        "median_lateness_seconds": 0.5,
        "p95_lateness_seconds": 1.6,
    },
    # rudderstack, landing date: R12 (duplicate + collision, nulls last) and R23
    #   (invalid_timestamp); no classified rows → lateness null.
    {
        "source": "rudderstack",
        "received_date": LANDING_DATE,
        "landed_rows": 2,
        "chat_rows": 0,
        "identity_rows": 0,
        "unmapped_rows": 0,
        "duplicate_rows": 1,
        "rejected_rows": 1,
        "id_collisions": 1,
        "median_lateness_seconds": None,
        "p95_lateness_seconds": None,
    },
    # rudderstack D2: chat 5 (Q1 Q2 Q3 Q5 Q6), identity 1 (Q4), unmapped 1 (Q7 screen).
    #   lateness: 0.25, 0.4, 0.5, 0.5, 0.5, 0.8, 1.0 → median 0.5; p95 p=5.7 → 0.8 + 0.7·0.2 = 0.94
    {
        "source": "rudderstack",
        "received_date": D2,
        "landed_rows": 7,
        "chat_rows": 5,
        "identity_rows": 1,
        "unmapped_rows": 1,
        "duplicate_rows": 0,
        "rejected_rows": 0,
        "id_collisions": 0,
        "median_lateness_seconds": 0.5,
        "p95_lateness_seconds": 0.94,
    },
    # snowplow D1, 17 landed rows: chat 8 (P1 P2 P3 P5 P6 P8 P9 P11), unmapped 2 (P16
    #   page_view, P17 vendor com.other), duplicate 2 (P4 exact, P12 retry: same event and
    #   unstruct_event → no collision), rejected 5 (P7 P10 P13 P14 P15).
    #   lateness (10): 0.0 (P6), 0.3 (P3 P11), 0.4 (P1 P9), 0.5 (P5 P16), 0.6 (P8), 0.7 (P2),
    #   1.0 (P17) → median p=4.5 → (0.4 + 0.5)/2 = 0.45; p95 p=8.55 → 0.7 + 0.55·0.3 = 0.865
    {
        "source": "snowplow",
        "received_date": D1,
        "landed_rows": 17,
        "chat_rows": 8,
        "identity_rows": 0,
        "unmapped_rows": 2,
        "duplicate_rows": 2,
        "rejected_rows": 5,
        "id_collisions": 0,
        "median_lateness_seconds": 0.45,
        "p95_lateness_seconds": 0.865,
    },
    # snowplow D2: chat 7 (U1 U2 U3 U4 U5 U7 U8), unmapped 1 (U6 button_clicked).
    #   lateness: 0.2, 0.25, 0.4, 0.5, 0.5, 0.5, 1.0, 86695.0 (U8: D2 13:05:00 − D1 13:00:05)
    #   → median p=3.5 → 0.5; p95 p=6.65 → 1.0 + 0.65·(86695 − 1.0) = 56352.1
    {
        "source": "snowplow",
        "received_date": D2,
        "landed_rows": 8,
        "chat_rows": 7,
        "identity_rows": 0,
        "unmapped_rows": 1,
        "duplicate_rows": 0,
        "rejected_rows": 0,
        "id_collisions": 0,
        "median_lateness_seconds": 0.5,
        "p95_lateness_seconds": 56352.1,
    },
]
