"""The world model: users and their devices, channels, bot versions, intents, conversations.

A run is planned once, in order (users return, devices get logged in, bot versions roll out),
then every conversation is expanded on its own from its own random seed into *world events*:
what happened, when, reported by which source. Times are integer epoch milliseconds and are the
event time the pipeline will compute (``event_at``); where a source's clock was wrong, the emitted
correction fields still lead back to exactly this time.
"""

from __future__ import annotations

import datetime as dt
import json
import random
from bisect import bisect_right
from math import floor  # not int(): the same for the non-negative draws here, and cheaper
from operator import attrgetter
from typing import NamedTuple

from chat_analytics.generate.config import BIT, GeneratorConfig

SECOND_MS = 1_000
MINUTE_MS = 60_000
HOUR_MS = 3_600_000
DAY_MS = 86_400_000

SEGMENT, RUDDERSTACK, SNOWPLOW = "segment", "rudderstack", "snowplow"


class Channel(NamedTuple):
    name: str
    client_source: str  # where client-side events go: segment | rudderstack
    sdk: str  # the SDK's own channel (RudderStack `channel`): web | mobile | server
    weight: float
    engagement: float  # probability that the user sends a message at all
    ratings_server_side: bool  # in-chat survey (tracked by the backend) instead of a widget


CHANNELS: dict[str, Channel] = {
    c.name: c
    for c in (
        Channel("web", SEGMENT, "web", 0.44, 0.80, False),
        Channel("mobile", RUDDERSTACK, "mobile", 0.30, 0.87, False),
        Channel("whatsapp", RUDDERSTACK, "server", 0.18, 0.93, True),
        Channel("messenger", SEGMENT, "server", 0.08, 0.90, True),
    )
}


class Intent(NamedTuple):
    name: str
    weight: float
    escalation: float  # probability of a handoff once recognised
    resolution: float  # probability that the bot resolves it once recognised
    queue: str
    utterances: tuple[str, ...]


INTENTS: tuple[Intent, ...] = (
    Intent("order_status", 0.20, 0.05, 0.78, "orders", (
        "Where is my order?", "my package has not arrived yet", "track order 48213",
        "When will my parcel be delivered?",
    )),
    Intent("shipping_change", 0.09, 0.18, 0.55, "orders", (
        "can I change the delivery address", "Please ship to my office instead",
    )),
    Intent("refund_request", 0.12, 0.45, 0.28, "billing", (
        "I want a refund", "refund for a damaged item please", "how do I get my money back",
    )),
    Intent("billing_question", 0.12, 0.28, 0.45, "billing", (
        "why was I charged twice", "explain this invoice", "what is this fee on my card",
    )),
    Intent("cancel_subscription", 0.07, 0.50, 0.20, "retention", (
        "cancel my subscription", "I want to stop my plan",
    )),
    Intent("technical_issue", 0.12, 0.35, 0.35, "support", (
        "the app keeps crashing", "I cannot upload my file", "error 500 on checkout",
    )),
    Intent("account_access", 0.10, 0.22, 0.55, "support", (
        "I forgot my password", "cannot log in", "my account is locked",
    )),
    Intent("product_info", 0.13, 0.05, 0.66, "sales", (
        "is this available in blue", "what are the dimensions of the desk",
        "do you ship to Canada",
    )),
    Intent("talk_to_agent", 0.05, 0.92, 0.0, "support", (
        "talk to a human", "agent please", "I want to speak to someone",
    )),
)  # fmt: skip
INTENT_CUM = tuple(sum(i.weight for i in INTENTS[: k + 1]) for k in range(len(INTENTS)))

FALLBACK_UTTERANCES = ("asdf", "hmm", "what??", "you are useless", "blue", "?")
BOT_REPLIES = (
    "Hi! I am Acme's assistant. How can I help?",
    "Let me check that for you.",
    "Here is what I found.",
    "Sorry, I did not get that. Could you rephrase?",
    "Is there anything else I can help with?",
)
AGENT_REPLIES = (
    "Hello, this is Sam from support, I'm looking at your request.",
    "Thanks for waiting. I have fixed this for you.",
    "Could you confirm the email address on your account?",
    "I've issued the refund, it should show in 3-5 days.",
)
BOT_ANSWERS = BOT_REPLIES[1:3]
USER_FOLLOWUPS = ("ok thanks", "yes", "no that's not it", "still not working", "great")


class BotVersion(NamedTuple):
    version: str
    fallback_rate: float
    resolution_boost: float
    fallback_intent: str
    sends_is_fallback: bool  # 2.7 predates the field: the pipeline infers it from the intent


BOT_VERSIONS: dict[str, BotVersion] = {
    b.version: b
    for b in (
        BotVersion("2.7.3", 0.22, -0.05, "default_fallback_intent", False),
        BotVersion("2.8.0", 0.15, 0.0, "nlu_fallback", True),
        BotVersion("3.0.0", 0.08, 0.08, "fallback", True),
    )
}

# Monday first; normalised to mean 1 below.
_WEEKDAY = (1.18, 1.12, 1.06, 1.0, 0.94, 0.62, 0.55)
WEEKDAY_FACTORS = tuple(w * 7 / sum(_WEEKDAY) for w in _WEEKDAY)
HOUR_WEIGHTS = (
    0.8, 0.6, 0.5, 0.5, 0.6, 0.9, 1.5, 2.5, 3.8, 4.8, 5.2, 5.3,
    5.0, 5.1, 5.2, 5.0, 4.6, 4.0, 3.4, 3.0, 2.6, 2.1, 1.6, 1.1,
)  # fmt: skip
HOUR_CUM = tuple(sum(HOUR_WEIGHTS[: h + 1]) for h in range(24))
LOCALES = (("en-US", 0.5), ("en-GB", 0.15), ("fr-FR", 0.12), ("de-DE", 0.1), ("es-ES", 0.08))
LOCALE_CUM = tuple(sum(w for _, w in LOCALES[: k + 1]) for k in range(len(LOCALES)))
FIRST_NAMES = ("Ada", "Ben", "Chloe", "Dev", "Elif", "Femi", "Grace", "Hugo", "Ines", "Jon")
LAST_NAMES = ("Martin", "Okafor", "Smith", "Dubois", "Yilmaz", "Garcia", "Chen", "Novak")

RETURN_PROBABILITY = 0.4  # a conversation is by a user seen before
REGISTERED_PROBABILITY = 0.6  # a web/mobile user has an account (can log in)
SHARED_DEVICE_PROBABILITY = 0.02  # a new device of a user is in fact someone else's
OTHER_CHANNEL_PROBABILITY = 0.15  # a returning web/mobile user switches web <-> mobile

# --- canonical names and the names sources actually send -------------------------------------

CHAT_EVENTS = (
    "conversation_started",
    "message_sent",
    "intent_detected",
    "conversation_escalated",
    "conversation_resolved",
    "satisfaction_rated",
    "conversation_ended",
)
LEGACY_NAMES = {
    "conversation_started": ("chat_opened", "chat_started"),
    "conversation_escalated": ("handoff_requested", "agent_handoff"),
}
_ACRONYMS = {"csat": "CSAT"}


def baseline_name(source: str, snake: str) -> str:
    """The name a source sends by convention: Segment 'Title Case', the others snake_case."""
    if source == SEGMENT:
        return " ".join(_ACRONYMS.get(w, w.capitalize()) for w in snake.split("_"))
    return snake


def name_variants(snake: str) -> tuple[str, ...]:
    """Casing and separator variants of a snake_case name that all normalise back to it."""
    words = snake.split("_")
    return (
        words[0] + "".join(w.capitalize() for w in words[1:]),  # messageSent
        "".join(w.capitalize() for w in words),  # MessageSent
        " " + "_".join(w.upper() for w in words) + " ",  # ' MESSAGE_SENT '
        "-".join(words),  # message-sent
        "_".join(w.capitalize() for w in words),  # Message_Sent
        " ".join(w.upper() for w in words),  # MESSAGE SENT
        ".".join(words),  # message.sent
        snake,
        " ".join(w.capitalize() for w in words),
    )


# Segment's camelCase property names (the others are single words); RudderStack and Snowplow
# use the snake_case names
CAMEL = {
    "conversation_id": "conversationId",
    "message_id": "messageId",
    "message_length": "messageLength",
    "message_body": "messageBody",
    "is_fallback": "isFallback",
    "resolved_by": "resolvedBy",
    "bot_version": "botVersion",
    "ended_by": "endedBy",
}

# --- events and conversations ----------------------------------------------------------------


class Ev:
    """One event as it happened and as it will be sent: the world facts, then the envelope.

    ``props`` always uses canonical snake_case keys; the Segment emitter turns them into camelCase.
    For Snowplow, ``props`` is the self-describing event's own data and ``ent`` the conversation
    entity's data (None: no entity). ``props_json``, when not None, is ``props`` as its source
    writes it (compact JSON, Segment's keys camelCased), made along with ``props``; whatever
    changes ``props`` afterwards sets it back to None.
    """

    __slots__ = (
        "at", "src", "kind", "name", "canon", "props", "ent", "vendor", "version",
        "anon", "uid", "recv", "lat", "eid", "no_ts", "future", "dup", "clone", "bad",
        "opp", "mess", "seq", "props_json",
    )  # fmt: skip

    def __init__(
        self, at, src, kind, name, props, canon=None, props_json=None, vendor=None, version=None,
        ent=None,
    ):  # fmt: skip
        self.at = at  # event time (ms) the pipeline will compute
        self.src = src
        self.kind = kind  # track|identify|page|screen  /  unstruct|page_view|struct (Snowplow)
        self.name = name  # the name as sent (Snowplow: the Iglu schema's name)
        self.canon = canon  # canonical event this was planned as (None: not a chat event)
        self.props = props
        self.vendor = vendor
        self.version = version
        self.ent = ent  # the Snowplow conversation entity (None: none)
        self.props_json = props_json
        # anon, uid: the ids sent; eid: envelope id (messageId / event_id; None: sent without
        # one); clone: an Ev that reuses this event's id (id collision); bad: malformed-line kind
        self.anon = self.uid = self.eid = self.clone = self.bad = None
        # recv: receivedAt / collector_tstamp (ms); lat: network latency (ms), which only shifts
        # the device-clock fields; future: > 0, an explicit event time this far after receipt;
        # dup: extra exact copies of the line; opp / mess: bit sets of the kinds of mess this
        # event was an opportunity for / had injected; seq: order within its conversation (file
        # order among equal receipt times)
        self.recv = self.lat = self.future = self.dup = self.opp = self.mess = self.seq = 0
        self.no_ts = False  # timestamp / derived_tstamp left out


class Conversation:
    """A planned conversation; ``events`` is filled by expansion (or given by a script)."""

    __slots__ = (
        "index", "seed", "cid", "start", "channel", "anon", "uid", "uid_mode", "bot_version",
        "locale", "missing_start", "events", "skew", "user_name", "email", "scripted", "entity",
    )  # fmt: skip

    def __init__(self, index, seed, cid, start, channel, bot_version, locale="en-US"):
        self.index = index
        self.seed = seed
        self.cid = cid
        self.start = start
        self.channel = channel
        self.anon = None
        self.uid = None
        self.uid_mode = "anon"  # anon | known | identify (logs in during the conversation)
        self.bot_version = bot_version
        self.locale = locale
        self.missing_start = False
        self.events: list[Ev] = []
        self.skew: dict[str, int] = {}  # source -> clock offset (ms)
        self.user_name = "Ada Martin"
        self.email = None
        self.scripted = False
        self.entity = {"conversation_id": cid, "channel": channel, "bot_version": bot_version}


encode_text = json.encoder.encode_basestring_ascii  # a str as JSON text, as json.dumps writes it


# a UUID's version and variant nibbles (the 13th and 17th hex digits): cleared, then set to 4 and a
UUID_MASK = (1 << 128) - 1 - (0xF << 76) - (0xF << 60)
UUID_BITS = (0x4 << 76) | (0xA << 60)


def uuid_from(rng: random.Random) -> str:
    """A version-4 UUID from 128 random bits: 8-4-4-4-12 hex digits, the version and variant
    digits overwritten. (The first 10 bytes in groups of 2 less the first dash, then the last 6:
    fewer pieces to cut than slicing the 32 digits. int.to_bytes is big-endian by default.)"""
    b = (rng.getrandbits(128) & UUID_MASK | UUID_BITS).to_bytes(16)
    return f"{b[:10].hex('-', 2).replace('-', '', 1)}-{b[10:].hex()}"


def hex_id(rng: random.Random, prefix: str, nbits: int = 80) -> str:
    return f"{prefix}{rng.getrandbits(nbits):0{nbits // 4}x}"


def choice(rng: random.Random, options: tuple):
    """rng.choice without its overhead."""
    return options[floor(rng.random() * len(options))]


def _pick(cum: tuple[float, ...], u: float) -> int:
    """The first i with u * cum[-1] < cum[i] (the last one if none)."""
    i = bisect_right(cum, u * cum[-1])
    return i if i < len(cum) else len(cum) - 1


# --- planning: who talks when, on which channel, as whom --------------------------------------


class _User:
    __slots__ = ("uid", "registered", "channel", "devices", "locale", "name")


def rollout(channel: str, progress: float) -> tuple[float, float]:
    """Rollout: 3.0.0 arrives at 40% of the period and ramps up; messenger lags a version.
    Returns (share of 3.0.0, share of 3.0.0 and 2.7.3)."""
    new = 0.0 if progress < 0.4 else min(0.6, 0.05 + (progress - 0.4) * 1.5)
    old = max(0.05, 0.6 - progress)
    if channel == "messenger":
        new, old = 0.0, max(0.3, old)
    return new, new + old


def plan(cfg: GeneratorConfig, counters: dict[str, list[int]]) -> list[Conversation]:
    """Plan every conversation of the run, in time order. ``counters``: kind -> [opps, injected]."""
    rng = random.Random(f"chat-analytics-world:{cfg.seed}")
    rates = cfg.rates
    users: list[_User] = []
    devices: dict[str, list[tuple[str, _User]]] = {"web": [], "mobile": []}
    login: dict[str, str | None] = {}  # device anonymous id -> user id logged in on it
    channel_names = tuple(CHANNELS)
    channel_cum = tuple(
        sum(CHANNELS[n].weight for n in channel_names[: k + 1]) for k in range(len(CHANNELS))
    )
    conversations: list[Conversation] = []
    rnd = rng.random
    run_start = cfg.start_ms
    earliest = run_start + 10 * MINUTE_MS
    for day in range(cfg.days):
        date = cfg.start_date + dt.timedelta(days=day)
        day_start = run_start + day * DAY_MS
        mean = cfg.conversations_per_day * WEEKDAY_FACTORS[date.weekday()]
        n = max(0, round(mean * (1.0 + 0.06 * rng.gauss(0.0, 1.0))))
        starts = []
        for _ in range(n):
            hour = _pick(HOUR_CUM, rnd())
            t = day_start + hour * HOUR_MS + floor(rnd() * HOUR_MS)
            starts.append(t if t > earliest else earliest)
        starts.sort()
        progress = day / max(1, cfg.days - 1)
        shares = {name: rollout(name, progress) for name in channel_names}
        for t in starts:
            if users and rnd() < RETURN_PROBABILITY:
                user = users[floor(rnd() * len(users))]
                channel = user.channel
                if channel in devices and rnd() < OTHER_CHANNEL_PROBABILITY:
                    channel = "mobile" if channel == "web" else "web"
            else:
                user = _new_user(rng, channel_names[_pick(channel_cum, rnd())])
                users.append(user)
                channel = user.channel
            seed = rng.getrandbits(64)
            cid = uuid_from(rng)
            new, new_or_old = shares[channel]
            u = rnd()
            version = "3.0.0" if u < new else "2.7.3" if u < new_or_old else "2.8.0"
            conv = Conversation(len(conversations), seed, cid, t, channel, version, user.locale)
            conv.user_name = user.name
            if channel in devices:
                anon = user.devices.get(channel)
                if anon is None:
                    pool = devices[channel]
                    if pool and rng.random() < SHARED_DEVICE_PROBABILITY:
                        anon = pool[floor(rng.random() * len(pool))][0]
                    else:
                        anon = uuid_from(rng)
                    user.devices[channel] = anon
                    pool.append((anon, user))
                conv.anon = anon
                current = login.get(anon)
                if user.registered and current == user.uid:
                    conv.uid, conv.uid_mode = user.uid, "known"
                elif user.registered:
                    counters["identify"][0] += 1
                    if rng.random() < rates["identify"]:
                        counters["identify"][1] += 1
                        conv.uid, conv.uid_mode = user.uid, "identify"
                        login[anon] = user.uid
                    elif current is not None:
                        login[anon] = None  # the other user logged out first
                elif current is not None:
                    login[anon] = None
                if user.registered:
                    first = user.name.split()[0].lower()
                    conv.email = f"{first}.{user.uid[-6:]}@example.com"
            else:
                conv.uid, conv.uid_mode = user.uid, "known"
            counters["missing_start_event"][0] += 1
            if rng.random() < rates["missing_start_event"]:
                counters["missing_start_event"][1] += 1
                conv.missing_start = True
            conversations.append(conv)
    return conversations


def _new_user(rng: random.Random, channel: str) -> _User:
    user = _User()
    user.channel = channel
    user.devices = {}
    user.locale = LOCALES[_pick(LOCALE_CUM, rng.random())][0]
    user.name = f"{choice(rng, FIRST_NAMES)} {choice(rng, LAST_NAMES)}"
    if channel == "whatsapp":
        user.uid, user.registered = "wa_" + str(rng.randrange(10**10, 10**11)), False
    elif channel == "messenger":
        user.uid, user.registered = "fb_" + str(rng.randrange(10**15, 10**16)), False
    elif rng.random() < REGISTERED_PROBABILITY:
        user.uid, user.registered = hex_id(rng, "usr_", 48), True
    else:
        user.uid, user.registered = None, False
    return user


# --- expansion: what happens in one conversation --------------------------------------------

CHAT_VENDOR = "com.acme.chat"
RATING_STORIES = {
    # outcome of the story -> (probability of a rating, distribution of 1..5)
    "contained": (0.40, (0.03, 0.04, 0.10, 0.30, 0.53)),
    "escalated_resolved": (0.32, (0.08, 0.08, 0.17, 0.35, 0.32)),
    "escalated_unresolved": (0.18, (0.35, 0.25, 0.20, 0.12, 0.08)),
    "abandoned": (0.04, (0.50, 0.25, 0.15, 0.06, 0.04)),
}
RATING_CUM = {
    story: tuple(sum(dist[: k + 1]) for k in range(5))
    for story, (_, dist) in RATING_STORIES.items()
}
ESCALATION_REASONS = ("low_confidence", "policy", "sentiment", "complex_request")
COMMENTS = ("thanks!", "too slow", "the bot did not understand me", "great help", "meh")


def _rounded(x: float) -> tuple[float, str]:
    """(round(x, 3), its repr) for 0 < x < 1 from one conversion to decimal instead of two: round()
    makes the same three decimals as the .3f format and reads them back; repr has them without
    trailing zeros."""
    text = f"{x:.3f}"
    return float(text), text.rstrip("0")


def _offset(rng: random.Random, low: int, high: int) -> int:
    """A non-zero offset in [low, high] ms."""
    value = 0
    while value == 0:
        value = low + floor(rng.random() * (high - low + 1))
    return value


def _client_json(src: str) -> tuple[str, ...]:
    """The text around the values in the properties' JSON of a client-side conversation_started
    and message events (%s: the conversation id's JSON), as ``src`` names the keys."""
    key = (lambda k: CAMEL.get(k, k)) if src == SEGMENT else (lambda k: k)
    return (
        '{"' + key("conversation_id") + '":%s,"channel":%s,"' + key("bot_version")
        + '":%s,"locale":%s}',
        '{"' + key("conversation_id") + '":%s,"' + key("message_id") + '":"',
        '","sender":"user","' + key("message_length") + '":',
        ',"' + key("message_body") + '":',
        '","' + key("message_length") + '":',
    )  # fmt: skip


_CLIENT_JSON = {src: _client_json(src) for src in (SEGMENT, RUDDERSTACK)}


def expand(conv: Conversation, cfg: GeneratorConfig, rng: random.Random) -> list[Ev]:
    """The world events of one conversation, in time order, before any mess."""
    channel = CHANNELS[conv.channel]
    client_src = channel.client_source
    bot = BOT_VERSIONS[conv.bot_version]
    cid = conv.cid
    rnd = rng.random
    cross_rate = cfg.rates["cross_source_message"]
    cross_bit = BIT["cross_source_message"]
    entity = conv.entity
    getrandbits = rng.getrandbits
    evs: list[Ev] = []
    append = evs.append
    # the properties' JSON of the frequent events, made with them (see Ev): ids, numbers and the
    # names below are written as they are, any other text through encode_text
    cid_json = encode_text(cid)
    started_head, message_head, user_sender, user_body, received_length = _CLIENT_JSON[client_src]
    client_head = message_head % cid_json

    def client(at: int, snake: str, props: dict) -> Ev:
        canon = "message_sent" if snake == "message_received" else snake
        ev = Ev(at, client_src, "track", snake, props, canon)
        append(ev)
        return ev

    def server(at: int, name: str, props: dict, props_json=None, version="1-0-0") -> Ev:
        ev = Ev(
            at, SNOWPLOW, "unstruct", name, props, name, props_json, CHAT_VENDOR, version, entity
        )
        append(ev)
        return ev

    def user_message(at: int, text: str) -> str:
        mid = "msg_" + getrandbits(80).to_bytes(10).hex()
        size = len(text)
        props = {
            "conversation_id": cid, "message_id": mid, "sender": "user", "message_length": size,
            "message_body": text,
        }  # fmt: skip
        props_json = f"{client_head}{mid}{user_sender}{size}{user_body}{encode_text(text)}}}"
        ev = Ev(at, client_src, "track", "message_sent", props, "message_sent", props_json)
        ev.opp = cross_bit
        append(ev)
        if rnd() < cross_rate:
            copy = {"message_id": mid, "sender": "user", "message_length": size}
            copy_json = f'{{"message_id":"{mid}","sender":"user","message_length":{size}}}'
            ev = server(at + _offset(rng, -300, 900), "message_sent", copy, copy_json)
            ev.mess = cross_bit
        return mid

    def bot_message(at: int, text: str, sender: str = "bot") -> None:
        mid = "msg_" + getrandbits(80).to_bytes(10).hex()
        size = len(text)
        props = {"message_id": mid, "sender": sender, "message_length": size}
        props_json = f'{{"message_id":"{mid}","sender":"{sender}","message_length":{size}}}'
        ev = Ev(at, SNOWPLOW, "unstruct", "message_sent", props, "message_sent", props_json,
                CHAT_VENDOR, "1-0-0", entity)  # fmt: skip
        ev.opp = cross_bit
        append(ev)
        if rnd() < cross_rate:
            copy = {"conversation_id": cid, "message_id": mid, "message_length": size}
            tail = "}"
            if sender != "bot":
                copy["sender"] = sender
                tail = f',"sender":"{sender}"}}'
            ev = client(at + _offset(rng, -400, 1200), "message_received", copy)
            ev.props_json = f"{client_head}{mid}{received_length}{size}{tail}"
            ev.mess = cross_bit

    def ended(at: int, by: str) -> None:
        props_json = f'{{"conversation_id":{cid_json},"ended_by":"{by}"}}'
        server(at, "conversation_ended", {"conversation_id": cid, "ended_by": by}, props_json)

    def resolved(at: int, by: str) -> None:
        props_json = f'{{"conversation_id":{cid_json},"resolved_by":"{by}"}}'
        server(at, "conversation_resolved", {"conversation_id": cid, "resolved_by": by}, props_json)

    t0 = conv.start
    if not conv.missing_start:
        props = {"conversation_id": cid, "channel": conv.channel, "bot_version": conv.bot_version}
        props["locale"] = conv.locale
        ev = client(t0, "conversation_started", props)
        ev.props_json = started_head % (
            cid_json, encode_text(conv.channel), encode_text(conv.bot_version),
            encode_text(conv.locale),
        )  # fmt: skip
    t = t0 + 800 + floor(rnd() * 2500)
    bot_message(t, BOT_REPLIES[0])
    if rnd() >= channel.engagement:
        story = "not_engaged"
        if rnd() < 0.55:
            end = t + 5_000 + floor(rnd() * 295_000)
            ended(end, "user")
        else:
            end = t + 30 * MINUTE_MS + floor(rnd() * MINUTE_MS)
            ended(end, "timeout")
    else:
        intent = INTENTS[_pick(INTENT_CUM, rnd())]
        turns = (1, 1, 2, 2, 2, 3, 3, 4, 5, 6)[floor(rnd() * 10)]
        t += 4_000 + floor(rnd() * 40_000)
        recognized = False
        last = t
        # the bot's and the intent's traits the turns use, as locals
        fallback_rate, fallback_intent = bot.fallback_rate, bot.fallback_intent
        sends_is_fallback = bot.sends_is_fallback
        intent_name, utterances = intent.name, intent.utterances
        intent_version = "1-0-1" if sends_is_fallback else "1-0-0"
        for turn in range(turns):
            fallback = rnd() < fallback_rate
            if fallback and rnd() < 0.5:
                text = FALLBACK_UTTERANCES[floor(rnd() * len(FALLBACK_UTTERANCES))]
            elif turn == 0 or fallback:
                text = utterances[floor(rnd() * len(utterances))]
            else:
                text = USER_FOLLOWUPS[floor(rnd() * len(USER_FOLLOWUPS))]
            mid = user_message(t, text)
            if fallback:
                name, (confidence, confidence_json) = fallback_intent, _rounded(0.05 + rnd() * 0.4)
            else:
                recognized = True
                name, (confidence, confidence_json) = intent_name, _rounded(0.55 + rnd() * 0.44)
            props = {"message_id": mid, "intent": name, "confidence": confidence}
            if sends_is_fallback:
                props["is_fallback"] = fallback
                closing = ',"is_fallback":true}' if fallback else ',"is_fallback":false}'
            else:
                closing = "}"
            props_json = (
                f'{{"message_id":"{mid}","intent":"{name}","confidence":{confidence_json}{closing}'
            )
            detected_at = t + 250 + floor(rnd() * 650)
            server(detected_at, "intent_detected", props, props_json, intent_version)
            last = t + 1_200 + floor(rnd() * 2_800)
            bot_message(last, BOT_REPLIES[3] if fallback else BOT_ANSWERS[floor(rnd() * 2)])
            t = last + 5_000 + floor(rnd() * 85_000)
        if recognized:
            p_escalate = intent.escalation
            p_resolve = max(0.0, intent.resolution + bot.resolution_boost)
        else:
            p_escalate, p_resolve = 0.45, 0.03
        u = rnd()
        if u < p_escalate:
            if intent.name == "talk_to_agent" or rnd() < 0.3:
                reason = "user_request"
            elif not recognized:
                reason = "repeated_fallback"
            else:
                reason = choice(rng, ESCALATION_REASONS)
            t = last + 1_500 + floor(rnd() * 4_000)
            props = {"reason": reason, "queue": intent.queue}
            props_json = f'{{"reason":"{reason}","queue":"{intent.queue}"}}'
            server(t, "conversation_escalated", props, props_json)
            if rnd() < 0.12:  # the user leaves before an agent picks up
                story = "escalated_unresolved"
                end = t + 30 * MINUTE_MS + floor(rnd() * MINUTE_MS)
                ended(end, "timeout")
            else:
                t += 20_000 + floor(rnd() * 700_000)
                exchanges = 1 + floor(rnd() * 4)
                for j in range(exchanges):
                    bot_message(t, AGENT_REPLIES[floor(rnd() * len(AGENT_REPLIES))], "agent")
                    t += 8_000 + floor(rnd() * 60_000)
                    if j < exchanges - 1 or rnd() < 0.5:
                        user_message(t, USER_FOLLOWUPS[floor(rnd() * len(USER_FOLLOWUPS))])
                        t += 5_000 + floor(rnd() * 90_000)
                if rnd() < 0.75:
                    story = "escalated_resolved"
                    resolved(t, "agent")
                    t += 2_000 + floor(rnd() * 30_000)
                else:
                    story = "escalated_unresolved"
                end = t
                ended(end, "agent")
        elif u < p_escalate + p_resolve:
            story = "contained"
            t = last + 1_000 + floor(rnd() * 3_000)
            resolved(t, "bot")
            end = t + 5_000 + floor(rnd() * 55_000)
            ended(end, "bot" if rnd() < 0.6 else "user")
        else:
            story = "abandoned"
            end = last + 30 * MINUTE_MS + floor(rnd() * MINUTE_MS)
            if rnd() < 0.85:
                ended(end, "timeout")
    if story != "not_engaged" and rnd() < RATING_STORIES[story][0]:
        if rnd() < 0.04:  # answered the e-mailed survey a day later
            at = end + 20 * HOUR_MS + floor(rnd() * 20 * HOUR_MS)
        else:
            at = end + 3_000 + floor(rnd() * 87_000)
        value = 1 + _pick(RATING_CUM[story], rnd())
        _rating(conv, at, value, rnd() < 0.2 and choice(rng, COMMENTS), client, server)
        if rnd() < 0.08:  # changes their mind: the latest rating counts
            value = min(5, max(1, value + (1 if rnd() < 0.5 else -1)))
            _rating(conv, at + 10_000 + floor(rnd() * 110_000), value, None, client, server)
    evs.sort(key=_at)
    # In one pass: no two chat events of a conversation share a time; who each event says it is
    # from (the device's anonymous id, and the user id once known); the unmapped events nearby.
    anon, uid, mode = conv.anon, conv.uid, conv.uid_mode
    identify = None
    if mode == "identify":
        identify_at = conv.start + 1_000 + floor(rnd() * 40_000)
        traits = {"email": conv.email, "name": conv.user_name, "plan": choice(rng, ("free", "pro"))}
        identify = Ev(identify_at, client_src, "identify", None, traits)
        identify.anon, identify.uid = anon, uid
    # events carry the user id from this time on (None: never)
    uid_since = 0 if mode == "known" else identify_at if identify is not None else None
    rate = cfg.rates["unmapped"]
    bit = BIT["unmapped"]
    menu = UNMAPPED_MENU[conv.channel]
    extra = []
    previous = 0  # before any event time
    for ev in evs:  # all chat events
        at = ev.at
        if at <= previous:
            at = ev.at = previous + 1
        previous = at
        ev.anon = anon
        if uid_since is not None and at >= uid_since:
            ev.uid = uid
        ev.opp |= bit
        if rnd() < rate:
            kind = menu[floor(rnd() * len(menu))]
            other = unmapped_event(kind, at + _offset(rng, -600_000, 600_000), conv, rng)
            other.anon, other.uid = anon, ev.uid
            other.mess |= bit
            extra.append(other)
    added = extra if identify is None else [identify, *extra]
    if added:  # (the chat events alone are in time order already)
        evs.extend(added)
        evs.sort(key=_at)
    return evs


_at = attrgetter("at")


def _rating(conv, at, value, comment, client, server) -> None:
    if CHANNELS[conv.channel].ratings_server_side:
        server(at, "satisfaction_rated", {"rating": value}, None, "1-0-1")
    else:
        props = {"conversation_id": conv.cid, "rating": value}
        if comment:
            props["comment"] = comment
        client(at, "satisfaction_rated", props)


UNMAPPED_MENU = {
    "web": ("page", "course", "product", "group", "sp_page_view", "sp_struct", "sp_shop"),
    "mobile": ("screen", "course", "app_opened", "sp_typing"),
    "whatsapp": ("template", "sp_typing"),
    "messenger": ("template", "sp_typing"),
}


def unmapped_event(kind: str, at: int, conv: Conversation, rng: random.Random) -> Ev:
    """An event that maps to no canonical chat event (pages, other products, other vendors), with
    its properties' JSON where a source writes them as JSON (see Ev)."""
    src = CHANNELS[conv.channel].client_source
    if kind == "page":
        path = choice(rng, ("/help", "/help/orders", "/account", "/pricing"))
        url = "https://www.acme.example" + path
        props = {"path": path, "url": url, "title": "Help Center"}
        props_json = (
            f'{{"path":{encode_text(path)},"url":{encode_text(url)},"title":"Help Center"}}'
        )
        return Ev(at, src, "page", "Help Center", props, None, props_json)
    if kind == "screen":
        name = choice(rng, ("Chat", "Home", "Orders"))
        return Ev(at, src, "screen", name, {}, None, "{}")
    if kind == "course":
        course = f"crs_{rng.randrange(10_000):04d}"
        props = {"course_id": course, "course_title": "Intro to SQL"}
        props_json = f'{{"course_id":"{course}","course_title":"Intro to SQL"}}'
        return Ev(at, src, "track", "Course Clicked", props, None, props_json)
    if kind == "product":
        product = f"sku_{rng.randrange(100_000):05d}"
        props = {"product_id": product, "price": 19.99}
        props_json = f'{{"product_id":"{product}","price":19.99}}'
        return Ev(at, src, "track", "Product Viewed", props, None, props_json)
    if kind == "app_opened":
        background = rng.random() < 0.5
        props_json = '{"from_background":true}' if background else '{"from_background":false}'
        props = {"from_background": background}
        return Ev(at, src, "track", "Application Opened", props, None, props_json)
    if kind == "template":
        props, props_json = {"template": "order_update"}, '{"template":"order_update"}'
        return Ev(at, src, "track", "Template Message Delivered", props, None, props_json)
    if kind == "group":
        props = {"name": "Acme Corp", "plan": "team"}
        return Ev(at, src, "group", None, props, None, '{"name":"Acme Corp","plan":"team"}')
    if kind == "sp_page_view":
        vendor = "com.snowplowanalytics.snowplow"
        return Ev(at, SNOWPLOW, "page_view", "page_view", {}, vendor=vendor, version="1-0-0")
    if kind == "sp_struct":
        props = {"category": "help-center", "action": "click", "label": "faq-shipping"}
        vendor = "com.google.analytics"
        return Ev(at, SNOWPLOW, "struct", "event", props, vendor=vendor, version="1-0-0")
    if kind == "sp_shop":
        sku, quantity = f"sku_{rng.randrange(100_000):05d}", 1 + rng.randrange(3)
        props = {"sku": sku, "quantity": quantity}
        props_json = f'{{"sku":"{sku}","quantity":{quantity}}}'
        return Ev(at, SNOWPLOW, "unstruct", "add_to_cart", props, None, props_json,
                  "com.acme.shop", "1-0-0")  # fmt: skip
    # an event of the chat vendor that is not a canonical chat event
    duration = 300 + rng.randrange(3_000)
    props, props_json = {"duration_ms": duration}, f'{{"duration_ms":{duration}}}'
    ent = {"conversation_id": conv.cid, "channel": conv.channel, "bot_version": conv.bot_version}
    return Ev(at, SNOWPLOW, "unstruct", "typing_indicator_shown", props, None, props_json,
              CHAT_VENDOR, "1-0-0", ent)  # fmt: skip
