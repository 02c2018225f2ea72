"""What a generator run is asked for: the world's size and every kind of mess with its rate.

Every kind of mess has a rate (a probability per opportunity), a unit (what one opportunity is)
and a default. ``--no-mess`` sets every rate to 0, which leaves a clean world of chat events only:
every event once, on time, with its id, in its canonical name and shape, on true clocks, and no
identify calls, page views or other products' events.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import NamedTuple


class MessKind(NamedTuple):
    name: str
    default: float
    unit: str
    help: str


MESS_KINDS: tuple[MessKind, ...] = (
    MessKind("duplicate", 0.02, "event with an id", "exact copy of the line in the same file"),
    MessKind(
        "id_collision",
        0.003,
        "event with an id",
        "another event reuses the envelope id with a different payload, received minutes apart",
    ),
    MessKind("late", 0.01, "event", "arrives 1-10 days late, in a later day's file"),
    MessKind(
        "clock_skew",
        0.05,
        "conversation x source",
        "the sending clock is off by 1-12 hours (correction fields stay consistent)",
    ),
    MessKind(
        "missing_timestamp",
        0.05,
        "event",
        "no Segment/RudderStack `timestamp` / Snowplow `derived_tstamp`: the pipeline computes it",
    ),
    MessKind(
        "legacy_event_name",
        0.10,
        "conversation_started / conversation_escalated event",
        "a legacy alias (chat_opened, chat_started, handoff_requested, agent_handoff)",
    ),
    MessKind(
        "variant_event_name",
        0.03,
        "Segment/RudderStack chat event",
        "another casing or separator (messageSent, ' MESSAGE_SENT ', message-sent, ...)",
    ),
    MessKind(
        "legacy_score",
        0.15,
        "rating event",
        "legacy csat_submitted / satisfaction_rated 1-0-0 carrying `score` (sometimes both)",
    ),
    MessKind("float_rating", 0.05, "valid rating event", "a valid rating sent as 4.0"),
    MessKind(
        "cross_source_message",
        0.20,
        "message",
        "the message is also reported by the other side (same message_id, other source)",
    ),
    MessKind("missing_conversation_id", 0.005, "chat event", "no conversation_id anywhere"),
    MessKind("invalid_rating", 0.03, "rating event", 'rating 0, 6, 4.5, "five" or "5"'),
    MessKind("invalid_sender", 0.005, "event with an explicit sender", 'sender "robot"'),
    MessKind("future_timestamp", 0.002, "event", "event time 1 h to 3 days after receipt"),
    MessKind("missing_event_id", 0.002, "event", "no messageId / event_id"),
    MessKind(
        "malformed_line",
        0.001,
        "event line",
        "truncated JSON, JSON array / null / {}, invalid UTF-8, wrong TSV field count",
    ),
    MessKind(
        "unmapped",
        0.12,
        "chat event",
        "an unmapped event nearby: page, screen, Course Clicked, Snowplow page_view, other vendors",
    ),
    MessKind(
        "identify",
        0.30,
        "conversation of a registered user on a device not logged in as them",
        "the user logs in during the conversation (identify call, then known user id)",
    ),
    MessKind(
        "missing_start_event",
        0.02,
        "conversation",
        "the client never sends conversation_started",
    ),
    MessKind(
        "empty_file",
        0.03,
        "file (source x arrival day, the last day excluded)",
        "the day's file is empty; what would have arrived that day arrives a day later",
    ),
)

MESS_NAMES = tuple(kind.name for kind in MESS_KINDS)
BIT = {kind.name: 1 << i for i, kind in enumerate(MESS_KINDS)}
DEFAULT_RATES = {kind.name: kind.default for kind in MESS_KINDS}

DEFAULT_START = dt.date(2026, 3, 1)
DEFAULT_CONVERSATIONS_PER_DAY = 300


@dataclasses.dataclass
class GeneratorConfig:
    out: str
    seed: int = 7
    days: int = 30
    start_date: dt.date = DEFAULT_START
    conversations_per_day: int = DEFAULT_CONVERSATIONS_PER_DAY
    gzip: bool = False
    rates: dict[str, float] = dataclasses.field(default_factory=lambda: dict(DEFAULT_RATES))
    workers: int = 0  # 0: one per core (at most 2) when the run is big enough to pay for it
    progress: bool = False
    # Tests only: a scripted world (list of chat_analytics.generate.world.Conversation) replaces
    # the random one, and empty files can be forced instead of drawn.
    script: list | None = None
    forced_empty_files: tuple[tuple[str, str], ...] | None = None

    def __post_init__(self) -> None:
        unknown = set(self.rates) - set(MESS_NAMES)
        if unknown:
            raise ValueError(f"unknown kinds of mess: {', '.join(sorted(unknown))}")
        self.rates = {**{name: 0.0 for name in MESS_NAMES}, **self.rates}
        for name, rate in self.rates.items():
            if not 0.0 <= rate <= 1.0:
                raise ValueError(f"rate of {name} must be in [0, 1], got {rate}")
        if self.days < 1:
            raise ValueError("--days must be at least 1")
        if self.conversations_per_day < 0:
            raise ValueError("--conversations-per-day must be >= 0")

    @property
    def start_ms(self) -> int:
        return _date_ms(self.start_date)

    @property
    def end_ms(self) -> int:
        return self.start_ms + self.days * 86_400_000

    def parameters(self) -> dict:
        """The run's parameters as written to manifest.json."""
        return {
            "seed": self.seed,
            "days": self.days,
            "start_date": self.start_date.isoformat(),
            "conversations_per_day": self.conversations_per_day,
            "gzip": self.gzip,
            "scripted": self.script is not None,
            "rates": dict(self.rates),
        }


_EPOCH_ORDINAL = dt.date(1970, 1, 1).toordinal()


def _date_ms(day: dt.date) -> int:
    return (day.toordinal() - _EPOCH_ORDINAL) * 86_400_000
