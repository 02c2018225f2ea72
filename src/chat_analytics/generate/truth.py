"""Ground truth: what the marts must say about the generated files, from the generator's records.

The generator knows every line it wrote: the world event behind it, its receipt and event times,
its envelope id and payload, and whether it corrupted it. This module applies SPEC §4-§5 (as
pinned down in the project's interfaces) to those records — never to the files, never through the
pipeline — and writes ``<out>/_truth/*.csv``.

Work is split in two: :class:`ChunkTruth` classifies the lines of a set of conversations and
summarises each conversation; :func:`finish` combines chunks (``as_of``, identity links, user
keys, outcomes) and computes the daily aggregates.
"""

from __future__ import annotations

import csv
import hashlib
import math
import os
import re
from collections import defaultdict
from pathlib import Path

from chat_analytics.generate.world import DAY_MS, SNOWPLOW, Ev

CHAT_VENDOR = "com.acme.chat"
DEFAULT_SALT = "chat-analytics-dev-salt"
TIMEOUT_MS = 30 * 60_000
FUNNEL_WINDOW_MS = 24 * 3_600_000
FUTURE_TOLERANCE_MS = 60 * 60_000
FALLBACK_INTENTS = frozenset(("fallback", "nlu_fallback", "default_fallback_intent"))
SENDERS = frozenset(("user", "bot", "agent"))

# SPEC §3: normalised name -> (canonical event, default sender)
ALIASES = {
    "conversation_started": ("conversation_started", None),
    "chat_opened": ("conversation_started", None),
    "chat_started": ("conversation_started", None),
    "message_sent": ("message_sent", "user"),
    "message_received": ("message_sent", "bot"),
    "intent_detected": ("intent_detected", None),
    "conversation_escalated": ("conversation_escalated", None),
    "handoff_requested": ("conversation_escalated", None),
    "agent_handoff": ("conversation_escalated", None),
    "conversation_resolved": ("conversation_resolved", None),
    "satisfaction_rated": ("satisfaction_rated", None),
    "csat_submitted": ("satisfaction_rated", None),
    "conversation_ended": ("conversation_ended", None),
}

_CAMEL = re.compile(r"([a-z0-9])([A-Z])")
_NON_ALNUM = re.compile(r"[^a-z0-9]+")
_NORMALISED: dict[str, str] = {}


def normalise(name: str) -> str:
    """SPEC §3: split camelCase, lower-case, runs of non-alphanumerics to '_', trim '_'."""
    out = _NORMALISED.get(name)
    if out is None:
        out = _NON_ALNUM.sub("_", _CAMEL.sub(r"\1_\2", name).lower()).strip("_")
        _NORMALISED[name] = out
    return out


def _is_number(value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _text(value) -> str | None:
    if isinstance(value, str):
        return value or None
    if _is_number(value):
        return str(value)
    return None


# --- per chunk --------------------------------------------------------------------------------

LANDED, CHAT, IDENTITY, UNMAPPED, DUPLICATE, REJECTED, COLLISIONS, LATENESS = range(8)
_NOT_CHAT = ("", None)
_ALIAS_BY_NAME: dict[str, tuple] = {}


def _alias(name) -> tuple | None:
    """(canonical, default sender) of a source's event name, None when it maps to nothing."""
    alias = _ALIAS_BY_NAME.get(name)
    if alias is None:
        alias = _ALIAS_BY_NAME[name] = ALIASES.get(normalise(name), _NOT_CHAT)
    return None if alias is _NOT_CHAT else alias


class ChunkTruth:
    """Classifies landed lines (SPEC §4) and summarises the conversations they make (SPEC §5)."""

    def __init__(self, start_ms: int) -> None:
        self.start_ms = start_ms
        self.recs: list[tuple] = []
        # (source, received day) -> [landed, chat, identity, unmapped, duplicate, rejected,
        #                            id collisions, [lateness seconds]]
        self.quality: dict[tuple[str, int], list] = {}
        self.rejections: dict[tuple[str, str], int] = defaultdict(int)
        self.links: dict[str, tuple] = {}
        self.conversations: list[dict] = []
        self.max_chat_at: int | None = None

    def quality_slot(self, src: str, day: int) -> list:
        """The counters of (source, received day), ``day`` in days since the epoch."""
        q = self.quality.get((src, day))
        if q is None:
            q = self.quality[(src, day)] = [0, 0, 0, 0, 0, 0, 0, []]
        return q

    def add(self, src: str, recv: int, eat: int | None, eid, payload, key: int, ev: Ev) -> None:
        """A line that lands as a row (malformed lines never do).

        ``key`` orders lines with the same receipt time as they stand in their file.
        """
        q = self.quality_slot(src, recv // DAY_MS)
        q[LANDED] += 1
        self.recs.append((src, recv, eat, eid, payload, key, ev, q))

    def _reject(self, rec, reason: str) -> None:
        rec[7][REJECTED] += 1
        self.rejections[(rec[0], reason)] += 1

    def finish(self) -> ChunkTruth:
        by_source: dict[str, dict[str, tuple]] = defaultdict(dict)
        copies = []
        for rec in self.recs:
            eid = rec[3]
            if eid is None:
                self._reject(rec, "missing_event_id")
                continue
            firsts = by_source[rec[0]]
            first = firsts.get(eid)
            if first is None:
                firsts[eid] = rec
            elif (rec[1], rec[5]) < (first[1], first[5]):  # by receipt, then file position
                firsts[eid] = rec
                copies.append(first)
            else:
                copies.append(rec)
        for rec in copies:
            q = rec[7]
            q[DUPLICATE] += 1
            if rec[4] != by_source[rec[0]][rec[3]][4]:
                q[COLLISIONS] += 1
        by_conversation: dict[str, list[tuple]] = defaultdict(list)
        links = self.links
        max_chat_at = self.max_chat_at
        for rec in (rec for firsts in by_source.values() for rec in firsts.values()):
            src, recv, eat, eid, _, _, ev, q = rec
            if eat is None:
                self._reject(rec, "invalid_timestamp")
                continue
            if eat > recv + FUTURE_TOLERANCE_MS:
                self._reject(rec, "future_timestamp")
                continue
            kind = ev.kind
            alias = None
            if src == SNOWPLOW:
                if kind == "unstruct" and ev.vendor == CHAT_VENDOR:
                    alias = _alias(ev.name)
            elif kind == "track":
                alias = _alias(ev.name)
            if alias is not None:
                row = _chat_row(rec, alias)
                if row.__class__ is str:
                    self._reject(rec, row)
                    continue
                q[CHAT] += 1
                by_conversation[row[CID]].append(row)
                if max_chat_at is None or eat > max_chat_at:
                    max_chat_at = eat
            elif kind == "identify" and src != SNOWPLOW:
                q[IDENTITY] += 1
            else:
                q[UNMAPPED] += 1
            q[LATENESS].append((recv - eat) / 1000.0)
            anon = ev.anon
            if anon is not None and ev.uid is not None:
                order = (eat, recv, src, eid)
                best = links.get(anon)
                if best is None or order > best[0]:
                    links[anon] = (order, ev.uid)
        self.max_chat_at = max_chat_at
        for cid, rows in by_conversation.items():
            self.conversations.append(conversation_facts(cid, rows))
        self.recs = []
        return self


# a valid chat event: (event_at, received_at, source, event_id, canonical, conversation_id,
# sender, message_id, intent, is_fallback, reason, resolved_by, rating, channel, bot_version,
# anonymous_id, user_id)
AT, RECV, SRC, EID, CANON, CID, SENDER, MID, INTENT, FALLBACK, REASON, BY, RATING = range(13)
CHANNEL, BOT_VERSION, ANON, UID = range(13, 17)


def _chat_row(rec, alias) -> tuple | str:
    """The validated chat event, or the reason it is rejected."""
    src, recv, eat, eid, _, _, ev, _ = rec
    canonical, default_sender = alias
    # Snowplow: each property from the event's own data, else from the conversation entity.
    # (Generated data never carries JSON nulls, so a plain merge is that coalesce.)
    ent = ev.ent
    props = ev.props if ent is None else {**ent, **ev.props}
    get = props.get
    cid = get("conversation_id")
    if cid.__class__ is not str or not cid:
        cid = _text(cid)
        if cid is None:
            return "missing_conversation_id"
    sender = message_id = intent = is_fallback = reason = resolved_by = rating = None
    if canonical == "message_sent":
        sender = get("sender")
        if sender is None:
            sender = default_sender
        elif sender.__class__ is not str or sender not in SENDERS:
            return "invalid_sender"
        message_id = _text(get("message_id"))
    elif canonical == "intent_detected":
        intent = get("intent")
        if intent.__class__ is not str or not intent:
            return "invalid_intent"
        flag = get("is_fallback")
        if flag is None:
            is_fallback = intent in FALLBACK_INTENTS
        elif flag.__class__ is bool:
            is_fallback = flag
    elif canonical == "satisfaction_rated":
        value = get("rating")
        if value is None:
            value = get("score")
        if not _is_number(value) or not float(value).is_integer() or not 1 <= value <= 5:
            return "invalid_rating"
        rating = int(value)
    elif canonical == "conversation_escalated":
        reason = _text(get("reason"))
    elif canonical == "conversation_resolved":
        resolved_by = get("resolved_by")
        if resolved_by != "bot" and resolved_by != "agent":
            resolved_by = None
    channel = get("channel")
    if channel is not None and (channel.__class__ is not str or not channel):
        channel = _text(channel)
    bot_version = get("bot_version")
    if bot_version is not None and (bot_version.__class__ is not str or not bot_version):
        bot_version = _text(bot_version)
    return (
        eat, recv, src, eid, canonical, cid, sender, message_id, intent, is_fallback, reason,
        resolved_by, rating, channel, bot_version, ev.anon, ev.uid,
    )  # fmt: skip


def conversation_facts(cid: str, rows: list[tuple]) -> dict:
    """Everything about one conversation that does not depend on other conversations."""
    rows.sort()  # by (event_at, received_at, source, event_id): unique, so never further
    starts = [r for r in rows if r[CANON] == "conversation_started"]
    started_at = (starts[0] if starts else rows[0])[AT]

    def carried(index: int):
        for group in (starts, rows):
            for r in group:
                if r[index] is not None:
                    return r[index]
        return "unknown"

    # messages: one per message_id (earliest report wins), one per event without an id
    messages: dict[str, tuple[int, str]] = {}
    loose: list[tuple[int, str]] = []
    intents = fallbacks = 0
    first_intent = recognized_at = None
    escalation = resolution = None
    ratings = []
    for r in rows:
        canon = r[CANON]
        if canon == "message_sent":
            if r[MID] is None:
                loose.append((r[AT], r[SENDER]))
            elif r[MID] not in messages:
                messages[r[MID]] = (r[AT], r[SENDER])
        elif canon == "intent_detected":
            intents += 1
            if r[FALLBACK] is True:
                fallbacks += 1
            elif r[FALLBACK] is False and first_intent is None:
                first_intent, recognized_at = r[INTENT], r[AT]
        elif canon == "conversation_escalated":
            if escalation is None:
                escalation = r
        elif canon == "conversation_resolved":
            if resolution is None:
                resolution = r
        elif canon == "satisfaction_rated":
            ratings.append(r)
    all_messages = sorted(list(messages.values()) + loose)
    counts = {"user": 0, "bot": 0, "agent": 0}
    for _, sender in all_messages:
        counts[sender] += 1
    first_user = next((at for at, s in all_messages if s == "user"), None)
    first_response = None
    if first_user is not None:
        reply = next((at for at, s in all_messages if s != "user" and at >= first_user), None)
        if reply is not None:
            first_response = reply - first_user
    resolved_by = resolution[BY] if resolution else None
    first_ids = next(((r[UID], r[ANON]) for r in rows if r[UID] or r[ANON]), None)
    return {
        "conversation_id": cid,
        "started_at": started_at,
        "has_start_event": bool(starts),
        "channel": carried(CHANNEL),
        "bot_version": carried(BOT_VERSION),
        "user_messages": counts["user"],
        "bot_messages": counts["bot"],
        "agent_messages": counts["agent"],
        "intents_detected": intents,
        "fallback_intents": fallbacks,
        "is_engaged": counts["user"] >= 1,
        "is_recognized": first_intent is not None,
        "first_intent": first_intent,
        "is_escalated": escalation is not None,
        "escalated_at": escalation[AT] if escalation else None,
        "escalation_reason": escalation[REASON] if escalation else None,
        "is_resolved": resolution is not None,
        "resolved_at": resolution[AT] if resolution else None,
        "resolved_by": resolved_by,
        "has_human": escalation is not None or counts["agent"] > 0 or resolved_by == "agent",
        "csat_rating": ratings[-1][RATING] if ratings else None,
        "first_response_ms": first_response,
        "last_event_at": rows[-1][AT],
        "first_ids": first_ids,
        "engaged_at": first_user,
        "recognized_at": recognized_at,
        "rated_at": ratings[0][AT] if ratings else None,
    }


# --- across chunks ----------------------------------------------------------------------------

FCT_COLUMNS = (
    "conversation_id", "conversation_date", "started_at", "has_start_event", "channel",
    "bot_version", "user_key", "user_messages", "bot_messages", "agent_messages",
    "intents_detected", "fallback_intents", "is_engaged", "is_recognized", "first_intent",
    "is_escalated", "escalated_at", "escalation_reason", "is_resolved", "resolved_at",
    "resolved_by", "has_human", "outcome", "csat_rating", "is_satisfied",
    "first_response_seconds", "seconds_to_escalation", "seconds_to_resolution", "last_event_at",
    "duration_seconds",
)  # fmt: skip
METRIC_COLUMNS = (
    "conversations", "engaged_conversations", "escalated_conversations",
    "contained_conversations", "in_progress_conversations", "abandoned_conversations",
    "resolved_conversations", "rated_conversations", "satisfied_conversations", "engagement_rate",
    "escalation_rate", "containment_rate", "abandonment_rate", "resolution_rate", "csat_average",
    "csat_score", "survey_response_rate", "avg_first_response_seconds",
)  # fmt: skip
FUNNEL_COLUMNS = (
    "conversation_date", "channel", "step_number", "step_name", "conversations",
    "conversion_from_previous", "conversion_from_start",
)  # fmt: skip
FUNNEL_STEPS = (
    (1, "started", "started_at"),
    (2, "engaged", "engaged_at"),
    (3, "recognized", "recognized_at"),
    (4, "resolved", "resolved_at"),
    (5, "rated", "rated_at"),
)
QUALITY_COLUMNS = (
    "source", "received_date", "landed_rows", "chat_rows", "identity_rows", "unmapped_rows",
    "duplicate_rows", "rejected_rows", "id_collisions", "median_lateness_seconds",
    "p95_lateness_seconds",
)  # fmt: skip


def pii_salt() -> str:
    return os.environ.get("CHAT_ANALYTICS_PII_SALT") or DEFAULT_SALT


def user_key(stitched: str, salt: str) -> str:
    return hashlib.sha256((salt + stitched).encode("utf-8")).hexdigest()


def quantile_cont(values: list[float], q: float) -> float | None:
    """Linear interpolation between closest ranks, as DuckDB's quantile_cont."""
    if not values:
        return None
    values = sorted(values)
    pos = q * (len(values) - 1)
    lo = math.floor(pos)
    hi = math.ceil(pos)
    if lo == hi:
        return values[lo]
    return values[lo] + (values[hi] - values[lo]) * (pos - lo)


_BOOL = {True: "true", False: "false"}


def _ratio(num: int, den: int) -> float | None:
    return num / den if den else None


class Truth:
    """The combined ground truth of a run."""

    def __init__(self) -> None:
        self.conversations: list[dict] = []
        self.quality: dict[tuple[str, int], list] = {}
        self.rejections: dict[tuple[str, str], int] = defaultdict(int)
        self.links: dict[str, tuple] = {}
        self.as_of: int | None = None

    def merge(self, chunk: ChunkTruth) -> None:
        self.conversations.extend(chunk.conversations)
        for k, q in chunk.quality.items():
            mine = self.quality.setdefault(k, [0, 0, 0, 0, 0, 0, 0, []])
            for i in range(7):
                mine[i] += q[i]
            mine[LATENESS].extend(q[LATENESS])
        for k, n in chunk.rejections.items():
            self.rejections[k] += n
        for anon, link in chunk.links.items():
            best = self.links.get(anon)
            if best is None or link[0] > best[0]:
                self.links[anon] = link
        if chunk.max_chat_at is not None and (self.as_of is None or chunk.max_chat_at > self.as_of):
            self.as_of = chunk.max_chat_at

    def finish(self, salt: str | None = None) -> None:
        """User keys and outcomes, which need every chunk (identity links, as_of)."""
        salt = pii_salt() if salt is None else salt
        as_of = self.as_of
        for c in self.conversations:
            ids = c["first_ids"]
            if ids is None:
                c["user_key"] = None
            else:
                uid, anon = ids
                stitched = uid if uid else (self.links[anon][1] if anon in self.links else anon)
                c["user_key"] = user_key(stitched, salt)
            if not c["is_engaged"]:
                outcome = "not_engaged"
            elif c["has_human"]:
                outcome = "escalated"
            elif c["is_resolved"]:
                outcome = "contained"
            elif c["last_event_at"] > as_of - TIMEOUT_MS:
                outcome = "in_progress"
            else:
                outcome = "abandoned"
            c["outcome"] = outcome
            c["conversation_date"] = c["started_at"] // DAY_MS
        self.conversations.sort(key=lambda c: c["conversation_id"])

    # --- rows -----------------------------------------------------------------------------

    def fct_rows(self) -> list[tuple]:
        """fct_conversations, one row per conversation, as CSV cells."""
        from chat_analytics.generate.emit import day_name, plain

        def ts(at):
            return "" if at is None else plain(at)

        def text(value):
            return "" if value is None else value

        rows = []
        for c in self.conversations:
            start = c["started_at"]
            rating = c["csat_rating"]
            frs = c["first_response_ms"]
            escalated_at, resolved_at, last = (
                c["escalated_at"],
                c["resolved_at"],
                c["last_event_at"],
            )
            rows.append((
                c["conversation_id"], day_name(c["conversation_date"]), plain(start),
                _BOOL[c["has_start_event"]], c["channel"], c["bot_version"], text(c["user_key"]),
                c["user_messages"], c["bot_messages"], c["agent_messages"],
                c["intents_detected"], c["fallback_intents"], _BOOL[c["is_engaged"]],
                _BOOL[c["is_recognized"]], text(c["first_intent"]), _BOOL[c["is_escalated"]],
                ts(escalated_at), text(c["escalation_reason"]), _BOOL[c["is_resolved"]],
                ts(resolved_at), text(c["resolved_by"]), _BOOL[c["has_human"]], c["outcome"],
                "" if rating is None else rating, "" if rating is None else _BOOL[rating >= 4],
                "" if frs is None else repr(frs / 1000.0),
                "" if escalated_at is None else repr((escalated_at - start) / 1000.0),
                "" if resolved_at is None else repr((resolved_at - start) / 1000.0),
                plain(last), repr((last - start) / 1000.0),
            ))  # fmt: skip
        return rows

    def _metrics(self, key) -> list[tuple]:
        groups: dict[tuple, list[dict]] = defaultdict(list)
        for c in self.conversations:
            groups[key(c)].append(c)
        rows = []
        for k in sorted(groups):
            cs = groups[k]
            n = len(cs)
            engaged = sum(c["is_engaged"] for c in cs)
            outcomes = defaultdict(int)
            for c in cs:
                outcomes[c["outcome"]] += 1
            resolved = sum(c["is_engaged"] and c["is_resolved"] for c in cs)
            rated = [c["csat_rating"] for c in cs if c["csat_rating"] is not None]
            satisfied = sum(r >= 4 for r in rated)
            frs = [
                c["first_response_ms"] / 1000.0 for c in cs if c["first_response_ms"] is not None
            ]
            rows.append((
                ("date", k[0]), k[1], n, engaged, outcomes["escalated"], outcomes["contained"],
                outcomes["in_progress"], outcomes["abandoned"], resolved, len(rated), satisfied,
                _ratio(engaged, n), _ratio(outcomes["escalated"], engaged),
                _ratio(outcomes["contained"], engaged), _ratio(outcomes["abandoned"], engaged),
                _ratio(resolved, engaged), sum(rated) / len(rated) if rated else None,
                _ratio(satisfied, len(rated)), _ratio(len(rated), engaged),
                sum(frs) / len(frs) if frs else None,
            ))  # fmt: skip
        return rows

    def metrics_rows(self) -> list[tuple]:
        return self._metrics(lambda c: (c["conversation_date"], c["channel"]))

    def intent_rows(self) -> list[tuple]:
        return self._metrics(lambda c: (c["conversation_date"], c["first_intent"] or "(none)"))

    def funnel_rows(self) -> list[tuple]:
        groups: dict[tuple, list[int]] = {}
        for c in self.conversations:
            counts = groups.setdefault((c["conversation_date"], c["channel"]), [0] * 5)
            limit = c["started_at"] + FUNNEL_WINDOW_MS
            for i, (_, _, field) in enumerate(FUNNEL_STEPS):
                at = c[field]
                if at is None or at > limit:
                    break
                counts[i] += 1
        rows = []
        for (day, channel), counts in sorted(groups.items()):
            for i, (number, name, _) in enumerate(FUNNEL_STEPS):
                previous = _ratio(counts[i], counts[i - 1]) if i else 1.0
                rows.append((
                    ("date", day), channel, number, name, counts[i], previous,
                    _ratio(counts[i], counts[0]),
                ))  # fmt: skip
        return rows

    def quality_rows(self) -> list[tuple]:
        rows = []
        for (src, day), q in sorted(self.quality.items()):
            late = sorted(q[LATENESS])
            rows.append(
                (src, ("date", day), *q[:7], quantile_cont(late, 0.5), quantile_cont(late, 0.95))
            )
        return rows

    def write(self, folder: Path) -> dict[str, int]:
        """Write the CSV files; returns rows per file."""
        from chat_analytics.generate.emit import day_name, plain

        def cell(value):
            if value is None:
                return ""
            if value is True:
                return "true"
            if value is False:
                return "false"
            if isinstance(value, tuple):
                kind, v = value
                if v is None:
                    return ""
                return day_name(v) if kind == "date" else plain(v)
            if isinstance(value, float):
                return repr(value)
            return str(value)

        def cells(row):
            return [cell(v) for v in row]

        folder.mkdir(parents=True, exist_ok=True)
        written = {}
        for name, columns, rows in (
            ("fct_conversations", FCT_COLUMNS, None),
            ("conversation_metrics_daily", ("conversation_date", "channel", *METRIC_COLUMNS),
             self.metrics_rows()),
            ("conversation_funnel_daily", FUNNEL_COLUMNS, self.funnel_rows()),
            ("intent_metrics_daily", ("conversation_date", "intent", *METRIC_COLUMNS),
             self.intent_rows()),
            ("event_quality_daily", QUALITY_COLUMNS, self.quality_rows()),
        ):  # fmt: skip
            with open(folder / f"{name}.csv", "w", newline="", encoding="utf-8") as fh:
                writer = csv.writer(fh, lineterminator="\n")
                writer.writerow(columns)
                if rows is None:  # already cells
                    rows = self.fct_rows()
                    writer.writerows(rows)
                else:
                    writer.writerows(map(cells, rows))
            written[name] = len(rows)
        return written
