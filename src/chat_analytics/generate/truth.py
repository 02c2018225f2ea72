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
import io
import math
import os
import re
from collections import Counter, defaultdict
from functools import partial
from operator import is_not, itemgetter
from pathlib import Path

from chat_analytics.generate.emit import day_name, payload, plain
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
_BOOL = {True: "true", False: "false"}
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
        #                            id collisions, [lateness ms]]
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

    def add(self, src: str, recv: int, eat: int | None, eid, key: int, ev: Ev) -> None:
        """A line that lands as a row (malformed lines never do).

        ``key`` orders lines with the same receipt time as they stand in their file. (The
        generator appends to ``recs`` itself, and counts the landed rows per file.)
        """
        q = self.quality_slot(src, recv // DAY_MS)
        q[LANDED] += 1
        self.recs.append((src, recv, eat, eid, key, ev, q))

    def finish(self) -> ChunkTruth:
        by_source: dict[str, dict[str, tuple]] = defaultdict(dict)
        copies = []
        rejections = self.rejections
        for rec in self.recs:
            eid = rec[3]
            if eid is None:
                rec[6][REJECTED] += 1
                rejections[(rec[0], "missing_event_id")] += 1
                continue
            first = by_source[rec[0]].setdefault(eid, rec)
            if first is rec:
                continue
            if (rec[1], rec[4]) < (first[1], first[4]):  # by receipt, then file position
                by_source[rec[0]][eid] = rec
                copies.append(first)
            else:
                copies.append(rec)
        for rec in copies:
            q = rec[6]
            q[DUPLICATE] += 1
            ev, first = rec[5], by_source[rec[0]][rec[3]][5]
            if ev is not first and payload(ev) != payload(first):
                q[COLLISIONS] += 1
        by_conversation: dict[str, list[tuple]] = defaultdict(list)
        links = self.links
        alias_of = _ALIAS_BY_NAME.get
        tolerance, chat_vendor = FUTURE_TOLERANCE_MS, CHAT_VENDOR
        for src, firsts in by_source.items():
            enriched = src == SNOWPLOW
            for rec in firsts.values():
                _, recv, eat, eid, _, ev, q = rec
                if eat is None:
                    q[REJECTED] += 1
                    rejections[(src, "invalid_timestamp")] += 1
                    continue
                if eat > recv + tolerance:
                    q[REJECTED] += 1
                    rejections[(src, "future_timestamp")] += 1
                    continue
                kind = ev.kind
                alias = None
                if enriched:
                    if kind == "unstruct" and ev.vendor == chat_vendor:
                        name = ev.name
                        alias = alias_of(name) or _alias(name)
                elif kind == "track":
                    name = ev.name
                    alias = alias_of(name) or _alias(name)
                if alias is not None and alias is not _NOT_CHAT:
                    row = _chat_row(src, recv, eat, eid, ev, alias)
                    if row.__class__ is str:
                        q[REJECTED] += 1
                        rejections[(src, row)] += 1
                        continue
                    q[CHAT] += 1
                    by_conversation[row[CID]].append(row)
                elif kind == "identify" and not enriched:
                    q[IDENTITY] += 1
                else:
                    q[UNMAPPED] += 1
                q[7].append(recv - eat)  # LATENESS, in ms (seconds in quality_rows)
                anon = ev.anon
                if anon is not None and ev.uid is not None:
                    best = links.get(anon)
                    latest = (eat, recv, src, eid)
                    if best is None or latest > best[0]:
                        links[anon] = (latest, ev.uid)
        for q in self.quality.values():
            q[LATENESS].sort()  # sorted runs make the merged lists quick to sort
        conversations = self.conversations
        max_chat_at = self.max_chat_at
        for cid, rows in by_conversation.items():
            facts = conversation_facts(cid, rows)
            conversations.append(facts)
            if max_chat_at is None or facts[F_LAST] > max_chat_at:  # the latest chat event
                max_chat_at = facts[F_LAST]
        self.max_chat_at = max_chat_at
        self.recs = []
        return self


# a valid chat event: (event_at, received_at, source, event_id, canonical, conversation_id,
# sender, message_id, intent, is_fallback, reason, resolved_by, rating, properties, world event);
# channel, bot version and the ids sent are read from the last two where a conversation needs them
AT, RECV, SRC, EID, CANON, CID, SENDER, MID, INTENT, FALLBACK, REASON, BY, RATING = range(13)
PROPS, EV = 13, 14


def _chat_row(src: str, recv: int, eat: int, eid: str, ev: Ev, alias: tuple) -> tuple | str:
    """The validated chat event, or the reason it is rejected."""
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
    # (each kind's row is written out whole: cheaper than naming the fields it leaves empty)
    if canonical == "message_sent":
        sender = get("sender")
        if sender is None:
            sender = default_sender
        elif sender.__class__ is not str or sender not in SENDERS:
            return "invalid_sender"
        message_id = get("message_id")
        if message_id.__class__ is not str or not message_id:
            message_id = _text(message_id)
        return (
            eat, recv, src, eid, canonical, cid, sender, message_id, None, None, None, None, None,
            props, ev,
        )  # fmt: skip
    if canonical == "intent_detected":
        intent = get("intent")
        if intent.__class__ is not str or not intent:
            return "invalid_intent"
        flag = get("is_fallback")
        if flag is None:
            is_fallback = intent in FALLBACK_INTENTS
        else:
            is_fallback = flag if flag.__class__ is bool else None
        return (
            eat, recv, src, eid, canonical, cid, None, None, intent, is_fallback, None, None, None,
            props, ev,
        )  # fmt: skip
    reason = resolved_by = rating = None
    if canonical == "satisfaction_rated":
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
    return (
        eat, recv, src, eid, canonical, cid, None, None, None, None, reason, resolved_by, rating,
        props, ev,
    )  # fmt: skip


def _optional_text(value) -> str | None:
    """A property that may be missing: its text, None when missing or not text-like."""
    if value is None or (value.__class__ is str and value):
        return value
    return _text(value)


def conversation_facts(cid: str, rows: list[tuple]) -> list:
    """Everything about one conversation that does not depend on other conversations (a list
    indexed by the F_ names below; user key and outcome are None until Truth.finish)."""
    rows.sort()  # by (event_at, received_at, source, event_id): unique, so never further
    # messages: one per message_id (earliest report wins), one per event without an id
    messages: dict[str, tuple[int, str]] = {}
    loose: list[tuple[int, str]] = []
    starts = []
    intents = fallbacks = 0
    first_intent = recognized_at = None
    escalation = resolution = None
    ratings = []
    for r in rows:
        canon = r[CANON]
        if canon == "message_sent":
            mid = r[MID]
            if mid is None:
                loose.append((r[AT], r[SENDER]))
            elif mid not in messages:
                messages[mid] = (r[AT], r[SENDER])
        elif canon == "intent_detected":
            intents += 1
            if r[FALLBACK] is True:
                fallbacks += 1
            elif r[FALLBACK] is False and first_intent is None:
                first_intent, recognized_at = r[INTENT], r[AT]
        elif canon == "conversation_started":
            starts.append(r)
        elif canon == "conversation_escalated":
            if escalation is None:
                escalation = r
        elif canon == "conversation_resolved":
            if resolution is None:
                resolution = r
        elif canon == "satisfaction_rated":
            ratings.append(r)
    started_at = (starts[0] if starts else rows[0])[AT]
    # channel and bot version: the first a start event carries, else the first any event carries
    channel = bot_version = None
    for group in (starts, rows):
        for r in group:
            get = r[PROPS].get
            if channel is None:
                channel = _optional_text(get("channel"))
            if bot_version is None:
                bot_version = _optional_text(get("bot_version"))
            if channel is not None and bot_version is not None:
                break
        if channel is not None and bot_version is not None:
            break
    if channel is None:
        channel = "unknown"
    if bot_version is None:
        bot_version = "unknown"
    all_messages = sorted(messages.values())
    if loose:
        all_messages = sorted(all_messages + loose)
    users = bots = agents = 0
    first_user = first_response = None
    for at, sender in all_messages:
        if sender == "user":
            users += 1
            if first_user is None:
                first_user = at
        elif sender == "bot":
            bots += 1
        else:
            agents += 1
    if first_user is not None:
        for at, sender in all_messages:
            if sender != "user" and at >= first_user:
                first_response = at - first_user
                break
    resolved_by = resolution[BY] if resolution else None
    first_ids = None
    for r in rows:
        ev = r[EV]
        if ev.uid or ev.anon:
            first_ids = (ev.uid, ev.anon)
            break
    last = rows[-1][AT]
    escalated_at = escalation[AT] if escalation else None
    resolved_at = resolution[AT] if resolution else None
    rating = ratings[-1][RATING] if ratings else None
    is_engaged = users >= 1
    has_human = escalation is not None or agents > 0 or resolved_by == "agent"
    date = started_at // DAY_MS
    # the fct_conversations row as CSV cells, but for user_key and outcome (see Truth.finish)
    before_key = (
        cid, _DAY_NAMES.get(date) or _day_name(date), plain(started_at), _BOOL[bool(starts)],
        channel, bot_version,
    )  # fmt: skip
    before_outcome = (
        str(users), str(bots), str(agents), str(intents), str(fallbacks), _BOOL[is_engaged],
        _BOOL[first_intent is not None], "" if first_intent is None else first_intent,
        _BOOL[escalation is not None], "" if escalated_at is None else plain(escalated_at),
        "" if escalation is None or escalation[REASON] is None else escalation[REASON],
        _BOOL[resolution is not None], "" if resolved_at is None else plain(resolved_at),
        "" if resolved_by is None else resolved_by, _BOOL[has_human],
    )  # fmt: skip
    after_outcome = (
        "" if rating is None else str(rating), "" if rating is None else _BOOL[rating >= 4],
        "" if first_response is None else repr(first_response / 1000.0),
        "" if escalated_at is None else repr((escalated_at - started_at) / 1000.0),
        "" if resolved_at is None else repr((resolved_at - started_at) / 1000.0),
        plain(last), repr((last - started_at) / 1000.0),
    )  # fmt: skip
    funnel = _funnel_steps(
        started_at, (first_user, recognized_at, resolved_at, ratings[0][AT] if ratings else None)
    )
    return [
        cid, (date, channel), (date, first_intent or "(none)"), is_engaged,
        resolution is not None, is_engaged and resolution is not None, has_human, rating,
        rating is not None and rating >= 4,
        None if first_response is None else first_response / 1000.0, last, first_ids, funnel,
        csv_text(before_key), csv_text(before_outcome), csv_text(after_outcome), None, None,
    ]  # fmt: skip


# a conversation's facts: a list of
(
    F_ID, F_CHANNEL_KEY, F_INTENT_KEY, F_ENGAGED, F_RESOLVED, F_ENGAGED_RESOLVED, F_HUMAN,
    F_RATING, F_SATISFIED, F_FIRST_RESPONSE, F_LAST, F_IDS, F_FUNNEL, F_BEFORE_KEY,
    F_BEFORE_OUTCOME, F_AFTER_OUTCOME, F_USER_KEY, F_OUTCOME,
) = range(18)  # fmt: skip


def _funnel_steps(started_at: int, milestones: tuple) -> int:
    """How many funnel steps the conversation reached (started, then each milestone in time)."""
    limit = started_at + FUNNEL_WINDOW_MS
    reached = 1
    for at in milestones:
        if at is None or at > limit:
            break
        reached += 1
    return reached


_DAY_NAMES: dict[int, str] = {}


def _day_name(day: int) -> str:
    name = _DAY_NAMES[day] = day_name(day)
    return name


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


def quantile_cont(values: list[float], q: float, scale: float = 1.0) -> float | None:
    """Linear interpolation between closest ranks, as DuckDB's quantile_cont, of the values
    divided by ``scale`` (``values`` sorted)."""
    if not values:
        return None
    pos = q * (len(values) - 1)
    lo = math.floor(pos)
    hi = math.ceil(pos)
    if lo == hi:
        return values[lo] / scale
    low, high = values[lo] / scale, values[hi] / scale
    return low + (high - low) * (pos - lo)


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
        links = self.links
        keys: dict[str, str] = {}  # stitched id -> user key (users come back)
        for c in self.conversations:
            ids = c[F_IDS]
            if ids is None:
                c[F_USER_KEY] = ""
            else:
                uid, anon = ids
                stitched = uid if uid else (links[anon][1] if anon in links else anon)
                key = keys.get(stitched)
                if key is None:
                    key = keys[stitched] = user_key(stitched, salt)
                c[F_USER_KEY] = key
            if not c[F_ENGAGED]:
                outcome = "not_engaged"
            elif c[F_HUMAN]:
                outcome = "escalated"
            elif c[F_RESOLVED]:
                outcome = "contained"
            elif c[F_LAST] > as_of - TIMEOUT_MS:
                outcome = "in_progress"
            else:
                outcome = "abandoned"
            c[F_OUTCOME] = outcome
        self.conversations.sort(key=itemgetter(F_ID))

    # --- rows -----------------------------------------------------------------------------

    def fct_lines(self) -> list[str]:
        """fct_conversations, one CSV line per conversation."""
        return [
            f"{c[F_BEFORE_KEY]},{c[F_USER_KEY]},{c[F_BEFORE_OUTCOME]},{c[F_OUTCOME]},"
            f"{c[F_AFTER_OUTCOME]}"
            for c in self.conversations
        ]

    def aggregate_rows(self) -> tuple[list[tuple], list[tuple], list[tuple]]:
        """conversation_metrics_daily, intent_metrics_daily and conversation_funnel_daily rows."""
        by_channel: dict[tuple, list] = defaultdict(list)
        by_intent: dict[tuple, list] = defaultdict(list)
        for c in self.conversations:  # by conversation_id: sums add up in that order
            by_channel[c[F_CHANNEL_KEY]].append(c)
            by_intent[c[F_INTENT_KEY]].append(c)
        funnel = []
        for (day, channel), cs in sorted(by_channel.items()):
            reached = Counter(map(itemgetter(F_FUNNEL), cs))
            steps = [sum(n for k, n in reached.items() if k > i) for i in range(5)]
            for i, (number, name, _) in enumerate(FUNNEL_STEPS):
                previous = _ratio(steps[i], steps[i - 1]) if i else 1.0
                funnel.append(
                    (
                        ("date", day),
                        channel,
                        number,
                        name,
                        steps[i],
                        previous,
                        _ratio(steps[i], steps[0]),
                    )
                )
        return _metric_rows(by_channel), _metric_rows(by_intent), funnel

    def quality_rows(self) -> list[tuple]:
        rows = []
        for (src, day), q in sorted(self.quality.items()):
            late = q[LATENESS]
            late.sort()
            rows.append((
                src, ("date", day), *q[:7], quantile_cont(late, 0.5, 1000.0),
                quantile_cont(late, 0.95, 1000.0),
            ))  # fmt: skip
        return rows

    def write(self, folder: Path) -> dict[str, int]:
        """Write the CSV files; returns rows per file."""

        def cell(value) -> str:
            if value is None:
                return ""
            if value is True:
                return "true"
            if value is False:
                return "false"
            if value.__class__ is tuple:
                kind, v = value
                if v is None:
                    return ""
                return day_name(v) if kind == "date" else plain(v)
            if value.__class__ is float:
                return repr(value)
            return str(value)

        def cells(row):
            return [cell(v) for v in row]

        folder.mkdir(parents=True, exist_ok=True)
        written = {}
        metrics, intents, funnel = self.aggregate_rows()
        for name, columns, rows in (
            ("fct_conversations", FCT_COLUMNS, None),
            ("conversation_metrics_daily", ("conversation_date", "channel", *METRIC_COLUMNS),
             metrics),
            ("conversation_funnel_daily", FUNNEL_COLUMNS, funnel),
            ("intent_metrics_daily", ("conversation_date", "intent", *METRIC_COLUMNS), intents),
            ("event_quality_daily", QUALITY_COLUMNS, self.quality_rows()),
        ):  # fmt: skip
            if rows is None:  # already lines
                rows = self.fct_lines()
                text = "\n".join([",".join(columns), *rows, ""])
            else:
                text = csv_lines(columns, map(cells, rows))
            with open(folder / f"{name}.csv", "w", newline="", encoding="utf-8") as fh:
                fh.write(text)
            written[name] = len(rows)
        return written


def csv_text(cells) -> str:
    """What csv.writer writes for a row of str cells (more than one), without the newline: fast
    when no cell needs quotes."""
    text = ",".join(cells)
    if '"' in text or "\n" in text or "\r" in text or text.count(",") != len(cells) - 1:
        out = io.StringIO()
        csv.writer(out, lineterminator="\n").writerow(cells)
        text = out.getvalue()[:-1]
    return text


def csv_lines(columns, rows) -> str:
    """What csv.writer(lineterminator="\\n") writes for the header and the rows of str cells."""
    return "\n".join([csv_text(columns), *map(csv_text, rows), ""])


def _metric_rows(groups: dict[tuple, list]) -> list[tuple]:
    """One metrics row per group of conversations (facts in conversation_id order)."""
    rows = []
    for (day, name), cs in sorted(groups.items()):
        n = len(cs)
        engaged = sum(map(itemgetter(F_ENGAGED), cs))
        resolved = sum(map(itemgetter(F_ENGAGED_RESOLVED), cs))
        outcomes = Counter(map(itemgetter(F_OUTCOME), cs))
        rated = list(filter(_is_not_none, map(itemgetter(F_RATING), cs)))
        satisfied = sum(map(itemgetter(F_SATISFIED), cs))
        frs = list(filter(_is_not_none, map(itemgetter(F_FIRST_RESPONSE), cs)))
        rows.append((
            ("date", day), name, n, engaged, outcomes["escalated"], outcomes["contained"],
            outcomes["in_progress"], outcomes["abandoned"], resolved, len(rated), satisfied,
            _ratio(engaged, n), _ratio(outcomes["escalated"], engaged),
            _ratio(outcomes["contained"], engaged), _ratio(outcomes["abandoned"], engaged),
            _ratio(resolved, engaged), sum(rated) / len(rated) if rated else None,
            _ratio(satisfied, len(rated)), _ratio(len(rated), engaged),
            sum(frs) / len(frs) if frs else None,
        ))  # fmt: skip
    return rows


_is_not_none = partial(is_not, None)
