"""Scripted worlds: conversations written out event by event, for tests worked out by hand.

A scripted event says exactly what is sent: its source, event time, name as sent, properties
(canonical snake_case keys; the Segment emitter camelCases them), and its envelope (receipt delay,
id, copies, clock, corruption). Nothing random is added, so the expected ground truth can be
computed by hand from the script::

    script = Script()
    a = script.conversation("conv-a", channel="web", anonymous_id="anon-a")
    a.event("segment", "2026-03-02 10:00:00.000", "Conversation Started",
            {"conversation_id": "conv-a", "channel": "web"})
    a.event("snowplow", "2026-03-02 10:00:01.000", "message_sent",
            {"message_id": "m1", "sender": "bot"})
    GeneratorConfig(out=..., script=script.conversations, ...)
"""

from __future__ import annotations

import datetime as dt
import random

from chat_analytics.generate.world import (
    CHAT_VENDOR,
    SNOWPLOW,
    Conversation,
    Ev,
    uuid_from,
)

_EPOCH = dt.datetime(1970, 1, 1)


def ms(text: str) -> int:
    """'YYYY-MM-DD HH:MM:SS[.fff]' (UTC) as epoch milliseconds."""
    value = dt.datetime.fromisoformat(text)
    if value.tzinfo is not None:
        value = value.astimezone(dt.UTC).replace(tzinfo=None)
    delta = value - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1000 + delta.microseconds // 1000


_UNSET = object()


class ScriptedConversation:
    def __init__(self, conv: Conversation) -> None:
        self.conv = conv
        self._ids = random.Random(f"script:{conv.cid}")

    def event(
        self,
        source: str,
        at: str | int,
        name: str | None,
        props: dict | None = None,
        *,
        kind: str | None = None,
        vendor: str = CHAT_VENDOR,
        version: str = "1-0-0",
        entity=_UNSET,
        anonymous_id=_UNSET,
        user_id=_UNSET,
        delay_ms: int = 1_000,
        latency_ms: int = 100,
        event_id=_UNSET,
        duplicates: int = 0,
        no_timestamp: bool = False,
        future_ms: int = 0,
        malformed: str | None = None,
    ) -> Ev:
        """Add one event; returns it (its ``eid`` can be reused to script an id collision).

        ``kind`` defaults to ``track`` (Segment/RudderStack) or ``unstruct`` (Snowplow).
        Snowplow events carry the conversation entity unless ``entity`` is None or another dict.
        The event is received ``delay_ms`` after ``at``.
        """
        conv = self.conv
        when = ms(at) if isinstance(at, str) else at
        if kind is None:
            kind = "unstruct" if source == SNOWPLOW else "track"
        ev = Ev(when, source, kind, name, dict(props or {}))
        if source == SNOWPLOW:
            ev.vendor = vendor if kind == "unstruct" else "com.snowplowanalytics.snowplow"
            ev.version = version
            ev.ent = conv.entity if entity is _UNSET else entity
        ev.anon = conv.anon if anonymous_id is _UNSET else anonymous_id
        ev.uid = conv.uid if user_id is _UNSET else user_id
        ev.recv = when + delay_ms
        ev.lat = latency_ms
        ev.eid = uuid_from(self._ids) if event_id is _UNSET else event_id
        ev.dup = duplicates
        ev.no_ts = no_timestamp
        ev.future = future_ms
        ev.bad = malformed
        ev.seq = 2 * len(conv.events)
        conv.events.append(ev)
        return ev


class Script:
    """A list of scripted conversations, in the order given."""

    def __init__(self) -> None:
        self.conversations: list[Conversation] = []

    def conversation(
        self,
        cid: str,
        *,
        channel: str = "web",
        bot_version: str = "3.0.0",
        anonymous_id: str | None = None,
        user_id: str | None = None,
        skew_ms: dict[str, int] | None = None,
        locale: str = "en-US",
    ) -> ScriptedConversation:
        index = len(self.conversations)
        conv = Conversation(index, index + 1, cid, 0, channel, bot_version, locale)
        conv.anon, conv.uid = anonymous_id, user_id
        conv.skew = dict(skew_ms or {})
        conv.scripted = True
        self.conversations.append(conv)
        return ScriptedConversation(conv)
