"""Realistic mess, each kind at its configured rate: what real SDK exports look like.

:func:`apply` decides, for every world event of one conversation, how it will be sent: its
receipt time, envelope id, clock, name and property quirks, copies and corruption. Each event
records which kinds of mess it was an *opportunity* for and which were *injected*, so that
mess.json counts exactly what the files contain.
"""

from __future__ import annotations

import random
from math import floor  # not int(): the same for the non-negative draws here, and cheaper
from operator import attrgetter

from chat_analytics.generate.config import BIT, GeneratorConfig
from chat_analytics.generate.world import (
    CHANNELS,
    DAY_MS,
    HOUR_MS,
    LEGACY_NAMES,
    MINUTE_MS,
    SNOWPLOW,
    UUID_BITS,
    UUID_MASK,
    Conversation,
    Ev,
    baseline_name,
    name_variants,
)

INVALID_RATINGS = (0, 6, 4.5, "five", "5")
JSON_CORRUPTIONS = (
    ("truncated", 0.5),
    ("array", 0.2),
    ("null", 0.1),
    ("empty_object", 0.1),
    ("invalid_utf8", 0.1),
)
TSV_CORRUPTIONS = (
    ("missing_field", 0.35),
    ("extra_field", 0.35),
    ("truncated", 0.2),
    ("invalid_utf8", 0.1),
)
SOURCE_ORDER = ("rudderstack", "segment", "snowplow")
_SOURCE = attrgetter("src")

B_DUPLICATE = BIT["duplicate"]
B_FLOAT_RATING = BIT["float_rating"]
B_FUTURE_TIMESTAMP = BIT["future_timestamp"]
B_ID_COLLISION = BIT["id_collision"]
B_INVALID_RATING = BIT["invalid_rating"]
B_INVALID_SENDER = BIT["invalid_sender"]
B_LATE = BIT["late"]
B_LEGACY_EVENT_NAME = BIT["legacy_event_name"]
B_LEGACY_SCORE = BIT["legacy_score"]
B_MALFORMED_LINE = BIT["malformed_line"]
B_MISSING_CONVERSATION_ID = BIT["missing_conversation_id"]
B_MISSING_EVENT_ID = BIT["missing_event_id"]
B_MISSING_TIMESTAMP = BIT["missing_timestamp"]
B_VARIANT_EVENT_NAME = BIT["variant_event_name"]


_BASELINES: dict[tuple[str, str], str] = {}


def _baseline(src: str, snake: str) -> str:
    name = _BASELINES.get((src, snake))
    if name is None:
        name = _BASELINES[(src, snake)] = baseline_name(src, snake)
    return name


def _pick(options: tuple[tuple[str, float], ...], u: float) -> str:
    for name, weight in options:
        if u < weight:
            return name
        u -= weight
    return options[-1][0]


def apply(
    conv: Conversation,
    evs: list[Ev],
    cfg: GeneratorConfig,
    rng: random.Random,
    counters: dict[str, list[int]],
) -> None:
    """Decide how every event of ``conv`` is sent. Per-conversation kinds go to ``counters``."""
    r = cfg.rates
    rnd = rng.random
    getrandbits = rng.getrandbits
    start, end = cfg.start_ms, cfg.end_ms
    sdk = CHANNELS[conv.channel].sdk
    present = set(map(_SOURCE, evs))
    for src in SOURCE_ORDER:
        if src in present:
            counters["clock_skew"][0] += 1
            if rnd() < r["clock_skew"]:
                counters["clock_skew"][1] += 1
                skew = HOUR_MS + floor(rnd() * 11 * HOUR_MS)
                conv.skew[src] = skew if rnd() < 0.5 else -skew
    r_malformed, r_missing_cid = r["malformed_line"], r["missing_conversation_id"]
    r_legacy, r_variant = r["legacy_event_name"], r["variant_event_name"]
    r_sender, r_no_id, r_future = r["invalid_sender"], r["missing_event_id"], r["future_timestamp"]
    r_no_ts, r_late = r["missing_timestamp"], r["late"]
    r_dup, r_coll = r["duplicate"], r["id_collision"]
    r_dup_coll = r_dup + r_coll
    late_limit = end - DAY_MS - MINUTE_MS
    # the receipt delay (ms between the event and its receipt by the collector, batching
    # included) depends on the source and the conversation's client-side SDK
    mobile, server = sdk == "mobile", sdk == "server"
    snowplow = SNOWPLOW
    # the kinds' bits as locals, and the sets that go together
    b_malformed, b_missing_cid = B_MALFORMED_LINE, B_MISSING_CONVERSATION_ID
    b_sender, b_variant = B_INVALID_SENDER, B_VARIANT_EVENT_NAME
    b_no_id, b_future = B_MISSING_EVENT_ID, B_FUTURE_TIMESTAMP
    b_no_ts, b_late, b_dup, b_coll = B_MISSING_TIMESTAMP, B_LATE, B_DUPLICATE, B_ID_COLLISION
    b_missing_cid_variant = b_missing_cid | b_variant
    b_sent = b_malformed | b_no_id | b_future  # a line not corrupted: all it was drawn for
    b_sent_with_id = b_sent | b_dup | b_coll
    b_no_ts_late = b_no_ts | b_late
    for seq, ev in enumerate(evs):
        ev.seq = seq + seq
        src = ev.src
        opp, mess = ev.opp, ev.mess
        if src == snowplow:
            recv = ev.at + 5 + floor(rnd() * 800)
        elif mobile:
            recv = ev.at + 200 + floor(rnd() * rnd() * 30_000)  # the app flushes in batches
        elif server:
            recv = ev.at + 20 + floor(rnd() * 4_000)
        else:
            recv = ev.at + 30 + floor(rnd() * 1_500)
        ev.recv = recv
        ev.lat = 10 + floor(rnd() * 390)
        x = (getrandbits(128) & UUID_MASK | UUID_BITS).to_bytes(16)  # uuid_from(rng)
        eid = ev.eid = f"{x[:10].hex('-', 2).replace('-', '', 1)}-{x[10:].hex()}"
        if rnd() < r_malformed:
            corruptions = TSV_CORRUPTIONS if src == snowplow else JSON_CORRUPTIONS
            ev.bad = _pick(corruptions, rnd())
            ev.opp, ev.mess = opp | b_malformed, mess | b_malformed
            if src != snowplow and ev.canon is not None:
                ev.name = _baseline(src, ev.name)
            continue
        canon = ev.canon
        if canon is not None:
            snake = ev.name
            props = ev.props
            opp |= b_missing_cid if src == snowplow else b_missing_cid_variant
            if rnd() < r_missing_cid:
                mess |= b_missing_cid
                if "conversation_id" in props:
                    props = ev.props = dict(props)
                    del props["conversation_id"]
                    ev.props_json = None
                ev.ent = None
            if canon == "message_sent":
                if "sender" in props:
                    opp |= b_sender
                    if rnd() < r_sender:
                        mess |= b_sender
                        props["sender"] = "robot"
                        ev.props_json = None
            elif canon in LEGACY_NAMES:
                if snake == canon:
                    opp |= B_LEGACY_EVENT_NAME
                    if rnd() < r_legacy:
                        mess |= B_LEGACY_EVENT_NAME
                        names = LEGACY_NAMES[canon]
                        snake = names[floor(rnd() * len(names))]
            elif canon == "satisfaction_rated":
                ev.opp, ev.mess = opp, mess
                snake = _rating_mess(ev, snake, r, rng)
                opp, mess = ev.opp, ev.mess
            if src == snowplow:
                ev.name = snake
            elif rnd() < r_variant:
                mess |= b_variant
                base = _baseline(src, snake)
                variants = [v for v in name_variants(snake) if v != base]
                ev.name = variants[floor(rnd() * len(variants))]
            else:
                ev.name = _BASELINES.get((src, snake)) or _baseline(src, snake)
        if rnd() < r_no_id:
            mess |= b_no_id
            eid = ev.eid = None
            opp |= b_sent
        else:
            opp |= b_sent_with_id
        if rnd() < r_future:
            mess |= b_future
            ev.future = HOUR_MS + MINUTE_MS + floor(rnd() * 71 * HOUR_MS)
        else:
            if rnd() < r_no_ts:
                mess |= b_no_ts
                ev.no_ts = True
            if recv < late_limit:
                opp |= b_no_ts_late
                if rnd() < r_late:
                    mess |= b_late
                    ev.recv = recv + DAY_MS + floor(rnd() * min(9 * DAY_MS, late_limit - recv))
            else:
                opp |= b_no_ts
        if eid is not None:
            u = rnd()
            if u < r_dup:
                mess |= b_dup
                ev.dup = 1 if rnd() < 0.9 else 2
            elif u < r_dup_coll:
                mess |= b_coll
                clone = ev.clone = _collision(ev, conv, rng, start)
                clone.seq = seq + seq + 1
        ev.opp, ev.mess = opp, mess


def _rating_mess(ev: Ev, snake: str, r: dict[str, float], rng: random.Random) -> str:
    rnd = rng.random
    props = ev.props
    ev.props_json = None
    value = props.pop("rating")
    ev.opp |= B_LEGACY_SCORE | B_INVALID_RATING
    legacy = rnd() < r["legacy_score"]
    if rnd() < r["invalid_rating"]:
        ev.mess |= B_INVALID_RATING
        value = INVALID_RATINGS[floor(rnd() * len(INVALID_RATINGS))]
    else:
        ev.opp |= B_FLOAT_RATING
        if rnd() < r["float_rating"]:
            ev.mess |= B_FLOAT_RATING
            value = float(value)
    if legacy:
        ev.mess |= B_LEGACY_SCORE
        if ev.src == SNOWPLOW:
            ev.version = "1-0-0"
        else:
            snake = "csat_submitted"
        if rnd() < 0.25:  # a transitional client sends both: `rating` wins
            others = [v for v in (1, 2, 3, 4, 5) if v != value]
            props["rating"] = value
            props["score"] = others[floor(rnd() * len(others))]
        else:
            props["score"] = value
    else:
        props["rating"] = value
    return snake


# events that appear only as the other half of an id collision, so that the payloads differ
COLLISION_EVENTS = {
    "segment": ("track", "Button Clicked", {"button": "help"}),
    "rudderstack": ("track", "Push Notification Received", {"campaign": "spring-sale"}),
    "snowplow": ("unstruct", "job_retried", {"job": "conversation-sync"}),
}


def _collision(ev: Ev, conv: Conversation, rng: random.Random, start: int) -> Ev:
    """Another event (an SDK reusing an id) sent minutes apart with the same envelope id."""
    rnd = rng.random
    offset = 1_000 + floor(rnd() * 599_000)
    recv = ev.recv - offset if rnd() < 0.5 and ev.recv - offset >= start else ev.recv + offset
    kind, name, props = COLLISION_EVENTS[ev.src]
    vendor = "com.acme.backend" if ev.src == SNOWPLOW else None
    clone = Ev(recv - 50 - floor(rnd() * 2_000), ev.src, kind, name, dict(props), vendor=vendor)
    clone.version = "1-0-0" if vendor else None
    clone.anon, clone.uid = ev.anon, ev.uid
    clone.eid, clone.recv, clone.lat = ev.eid, recv, ev.lat
    return clone
