"""Writing events in the three export formats of SPEC §2, and corrupting the lines meant to be bad.

Segment and RudderStack: one JSON message per line (Segment camelCase properties, RudderStack
snake_case, plus ``rudderId``, ``channel``, ``request_ip`` and ``context.sessionId``). Snowplow:
the 131-field enriched TSV, the chat event as a self-describing ``unstruct_event`` and the
conversation entity in ``contexts``.

Clock fields are written as the SDKs write them. With ``E`` the event time, ``R`` the receipt,
``L`` the network latency and ``S`` the sender's clock error::

    originalTimestamp = dvce_created_tstamp = E - L + S      (sender's clock)
    sentAt            = dvce_sent_tstamp    = R - L + S      (sender's clock)
    receivedAt        = collector_tstamp    = R              (collector's clock, true)
    timestamp         = derived_tstamp      = R - (sentAt - originalTimestamp) = E

so the time the pipeline computes is exactly ``E`` whichever field it starts from.
"""

from __future__ import annotations

import datetime as dt
import json
import random
from math import floor  # not int(): the same for the non-negative draws here, and cheaper

from chat_analytics.formats import (
    CONTEXTS_SCHEMA,
    CONVERSATION_ENTITY_SCHEMA,
    SNOWPLOW_FIELDS,
    UNSTRUCT_EVENT_SCHEMA,
)
from chat_analytics.generate.world import (
    CAMEL,
    CHANNELS,
    DAY_MS,
    RUDDERSTACK,
    SEGMENT,
    SNOWPLOW,
    Conversation,
    Ev,
    encode_text,
    uuid_from,
)

# --- timestamps -------------------------------------------------------------------------------

_SIXTY = [f"{i:02d}" for i in range(60)]
_HMS = tuple([h + ":" + m + ":" + s for h in _SIXTY[:24] for m in _SIXTY for s in _SIXTY])
_MS_ISO = tuple(f".{i:03d}Z" for i in range(1000))
_MS_PLAIN = tuple(f".{i:03d}" for i in range(1000))
_DAY_ISO: dict[int, str] = {}
_DAY_PLAIN: dict[int, str] = {}
_EPOCH = dt.date(1970, 1, 1)


def _day_prefix(day: int, sep: str) -> str:
    return (_EPOCH + dt.timedelta(days=day)).isoformat() + sep


def _iso_day(day: int) -> str:
    prefix = _DAY_ISO[day] = _day_prefix(day, "T")
    return prefix


def _plain_day(day: int) -> str:
    prefix = _DAY_PLAIN[day] = _day_prefix(day, " ")
    return prefix


def iso(ms: int) -> str:
    """Segment/RudderStack: ``2026-03-01T10:00:00.123Z``."""
    day, rem = divmod(ms, DAY_MS)
    prefix = _DAY_ISO.get(day)
    if prefix is None:
        prefix = _DAY_ISO[day] = _day_prefix(day, "T")
    s, m = divmod(rem, 1000)
    return prefix + _HMS[s] + _MS_ISO[m]


def plain(ms: int) -> str:
    """Snowplow, and the ground truth: ``2026-03-01 10:00:00.123``."""
    day, rem = divmod(ms, DAY_MS)
    prefix = _DAY_PLAIN.get(day)
    if prefix is None:
        prefix = _DAY_PLAIN[day] = _day_prefix(day, " ")
    s, m = divmod(rem, 1000)
    return prefix + _HMS[s] + _MS_PLAIN[m]


def day_name(day: int) -> str:
    return (_EPOCH + dt.timedelta(days=day)).isoformat()


# --- per-conversation constants ---------------------------------------------------------------

_c_encoder = getattr(json.encoder, "c_make_encoder", None)
if _c_encoder is not None:
    _encode = _c_encoder(
        None, None, json.encoder.encode_basestring_ascii, None, ":", ",", False, False, False
    )

    def dumps(value) -> str:
        """json.dumps(value, separators=(",", ":")) without its Python-level overhead."""
        return "".join(_encode(value, 0))
else:  # pragma: no cover - interpreters without the C accelerator

    def dumps(value) -> str:
        return json.dumps(value, separators=(",", ":"))


_FIELD = {name: i for i, name in enumerate(SNOWPLOW_FIELDS)}
USER_AGENTS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.4 Safari/605.1.15",
    "Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0",
)
DEVICES = (
    ("Apple", "iPhone14,2", "ios", "iOS", "17.4"),
    ("Apple", "iPhone15,3", "ios", "iOS", "17.2"),
    ("samsung", "SM-S911B", "android", "Android", "14"),
    ("Google", "Pixel 8", "android", "Android", "14"),
)
TIMEZONES = {"en-US": "America/New_York", "en-GB": "Europe/London", "fr-FR": "Europe/Paris"}


_SLOT = "\x00"  # marks a per-event field while the pieces of a line are cut
_CONV = "\x01"  # marks a per-conversation field


def _meta_pieces(
    constants: dict[str, str], per_conversation: tuple[str, ...], slots: tuple[str, ...]
) -> tuple[tuple[str, ...], tuple[tuple[int, int, str], ...]]:
    """The constant text of an enriched line around its per-event slots.

    The line is ``pieces[0] + value_0 + pieces[1] + ... + value_n + pieces[n + 1]``. Returns the
    pieces, and (index, number of fields, the piece as a %-format) for the pieces that hold
    per-conversation fields, which :func:`_fill` puts in.
    """
    assert list(per_conversation) == sorted(per_conversation, key=_FIELD.__getitem__)
    assert list(slots) == sorted(slots, key=_FIELD.__getitem__)
    fields = [""] * len(SNOWPLOW_FIELDS)
    for name, value in constants.items():
        fields[_FIELD[name]] = value
    for name in per_conversation:
        fields[_FIELD[name]] = _CONV
    for name in slots:
        fields[_FIELD[name]] = _SLOT
    pieces = ("\t".join(fields) + "\n").split(_SLOT)  # lines end with their newline
    cuts = []
    for i, piece in enumerate(pieces):
        if _CONV in piece:
            cuts.append((i, piece.count(_CONV), piece.replace("%", "%%").replace(_CONV, "%s")))
    return tuple(pieces), tuple(cuts)


def _fill(meta: tuple, values: tuple[str, ...]) -> list[str]:
    """The pieces of :func:`_meta_pieces` with one conversation's values (in field order) in."""
    pieces, cuts = meta
    out = list(pieces)
    k = 0
    for i, n, piece in cuts:
        out[i] = piece % values[k : k + n]
        k += n
    return out


# the fields of an enriched event that change from event to event, in field order: all of them
# for the JavaScript tracker's events, all but `event` and the structured-event fields for the
# backend's self-describing events
SNOWPLOW_SLOTS = (
    "etl_tstamp", "collector_tstamp", "dvce_created_tstamp", "event", "event_id", "user_id",
    "domain_userid", "contexts", "se_category", "se_action", "se_label", "unstruct_event",
    "dvce_sent_tstamp", "derived_tstamp", "event_vendor", "event_name", "event_version",
    "event_fingerprint", "true_tstamp",
)  # fmt: skip
UNSTRUCT_SLOTS = tuple(
    n for n in SNOWPLOW_SLOTS if n not in ("event", "se_category", "se_action", "se_label")
)
_SERVER_CONSTANTS = {
    "app_id": "acme-chat-backend",
    "platform": "srv",
    "name_tracker": "chat-backend",
    "v_tracker": "py-1.0.1",
    "v_collector": "ssc-3.2.0-kinesis",
    "v_etl": "snowplow-enrich-kinesis-4.2.0",
    "useragent": "snowplow-python-tracker/1.0.1",
    "event_format": "jsonschema",
}
_PER_CONVERSATION = ("user_ipaddress", "network_userid", "domain_sessionid")
SERVER_PIECES = _meta_pieces(
    {**_SERVER_CONSTANTS, "event": "unstruct"}, _PER_CONVERSATION, UNSTRUCT_SLOTS
)
WEB_PIECES = _meta_pieces(
    {
        **_SERVER_CONSTANTS,
        "app_id": "acme-website",
        "platform": "web",
        "name_tracker": "sp",
        "v_tracker": "js-3.23.0",
        "page_url": "https://www.acme.example/help",
        "page_title": "Help Center",
        "page_urlscheme": "https",
        "page_urlhost": "www.acme.example",
        "page_urlport": "443",
        "page_urlpath": "/help",
        "br_cookies": "1",
        "dvce_screenwidth": "1920",
        "dvce_screenheight": "1080",
        "domain_sessionidx": "1",
    },
    ("user_ipaddress", "network_userid", "useragent", "br_lang", "os_timezone", "domain_sessionid"),
    SNOWPLOW_SLOTS,
)
# a server line's event_vendor, event_name and event_version, with what stands between them
# a server line's fields from derived_tstamp to event_fingerprint, around vendor, name, version
_DERIVED_TO_FINGERPRINT = tuple(
    SERVER_PIECES[0][UNSTRUCT_SLOTS.index(name) + 1]
    for name in ("derived_tstamp", "event_vendor", "event_name", "event_version")
)
assert all(_CONV not in p for p in _DERIVED_TO_FINGERPRINT)
WEB_CONTEXT = (
    '{"ip":"%s","library":{"name":"analytics.js","version":"next-1.70.0"},"locale":"%s",'
    '"page":{"path":"/help","referrer":"https://www.google.com/","title":"Help Center",'
    '"url":"https://www.acme.example/help"},"timezone":"%s","userAgent":"%s"}'
)
MOBILE_CONTEXT = (
    '{"app":{"build":"412","name":"Acme","namespace":"com.acme.app","version":"4.12.0"},'
    '"device":{"id":"%s","manufacturer":"%s","model":"%s","type":"%s"},'
    '"library":{"name":"rudder-%s-library","version":"1.20.0"},"locale":"%s",'
    '"network":{"carrier":"Orange","wifi":%s},"os":{"name":"%s","version":"%s"},'
    '"screen":{"density":3,"height":844,"width":390},"sessionId":%d,"timezone":"%s",'
    '"traits":{"anonymousId":"%s"}}'
)
SERVER_CONTEXT = {
    SEGMENT: '{"library":{"name":"analytics-node","version":"2.1.0"},"locale":"%s"}',
    RUDDERSTACK: '{"library":{"name":"@rudderstack/rudder-sdk-node","version":"2.0.7"},'
    '"locale":"%s"}',
}


class Context:
    """What stays the same across one conversation's lines: libraries, devices, base fields.

    A line is joined from pieces of constant text and the event's values. A time is three pieces
    (the text before it and its date, hh:mm:ss, milliseconds); most times of a conversation fall
    on the day it started (``base``: that day's first millisecond), so that the text before them
    ending with that day's date is made once here.
    """

    __slots__ = (
        "json_ctx", "rudder_id", "request_ip", "sdk", "sp_server", "_sp_web", "sp_ctx", "entity",
        "templates", "_web_values", "anon", "base", "day_plain", "day_iso", "sp_heads",
        "sp_heads_day", "sp_ids", "sp_tail",
    )  # fmt: skip

    def __init__(self, conv: Conversation, rng: random.Random) -> None:
        channel = CHANNELS[conv.channel]
        self.sdk = sdk = channel.sdk
        rnd = rng.random
        ip = f"203.0.{floor(rnd() * 256)}.{1 + floor(rnd() * 254)}"
        tz = TIMEZONES.get(conv.locale, "Europe/Berlin")
        ua = USER_AGENTS[floor(rnd() * len(USER_AGENTS))]
        if sdk == "web":
            self.json_ctx = WEB_CONTEXT % (ip, conv.locale, tz, ua)
        elif sdk == "mobile":
            make, model, kind, os_name, os_version = DEVICES[floor(rnd() * len(DEVICES))]
            self.json_ctx = MOBILE_CONTEXT % (
                uuid_from(rng), make, model, kind, kind, conv.locale,
                "true" if rnd() < 0.6 else "false", os_name, os_version, conv.start // 1000, tz,
                conv.anon,
            )  # fmt: skip
        else:
            self.json_ctx = SERVER_CONTEXT[channel.client_source] % conv.locale
        self.rudder_id = uuid_from(rng)
        self.request_ip = ip if sdk != "server" else f"34.{floor(rnd() * 256)}.0.7"
        session = uuid_from(rng)
        network_user = uuid_from(rng)
        server_ip = f"10.0.{floor(rnd() * 256)}.{1 + floor(rnd() * 254)}"
        self.sp_server = p = _fill(SERVER_PIECES, (server_ip, network_user, session))
        self._sp_web = None
        self._web_values = (ip, network_user, ua, conv.locale, tz, session)
        self.templates: dict[str, tuple[str, ...]] = {}  # source -> _track_pieces
        self.entity = conv.entity
        self.sp_ctx = _contexts(self.entity)
        self.anon = conv.anon
        day = conv.start // DAY_MS
        self.base = day * DAY_MS
        self.day_plain = date = _DAY_PLAIN.get(day) or _plain_day(day)
        self.day_iso = _DAY_ISO.get(day) or _iso_day(day)
        # the text before etl_tstamp, collector_tstamp, dvce_created_tstamp, dvce_sent_tstamp and
        # derived_tstamp in a server line (the one before dvce_sent_tstamp starts with the "}}"
        # that closes unstruct_event); the same ending with the conversation's first day
        self.sp_heads = h = (p[0], p[1], p[2], "}}" + p[8], p[9])
        self.sp_heads_day = (h[0] + date, h[1] + date, h[2] + date, h[3] + date, h[4] + date)
        self.sp_tail = p[14] + p[15]  # after event_fingerprint, when true_tstamp is empty
        # user_id -> a server line's text between event_id and unstruct_event, with the
        # conversation's anonymous id as domain_userid and its entity as contexts
        self.sp_ids: dict[str | None, str] = {}

    @property
    def sp_web(self) -> list[str]:
        """The JavaScript tracker's line pieces (page views, structured events)."""
        if self._sp_web is None:
            self._sp_web = _fill(WEB_PIECES, self._web_values)
        return self._sp_web


_CONTEXTS_HEAD = (
    '{"schema":"' + CONTEXTS_SCHEMA + '","data":[{"schema":"' + CONVERSATION_ENTITY_SCHEMA
    + '","data":'
)  # fmt: skip
_ENTITY_KEYS = ("conversation_id", "channel", "bot_version")


def _contexts(entity: dict) -> str:
    """The contexts field with one conversation entity."""
    if tuple(entity) == _ENTITY_KEYS:
        cid, channel, bot_version = entity.values()
        if cid.__class__ is str and channel.__class__ is str and bot_version.__class__ is str:
            # the world's entity: what dumps writes for it, without dumps' per-call setup
            return (
                f'{_CONTEXTS_HEAD}{{"conversation_id":{encode_text(cid)},'
                f'"channel":{encode_text(channel)},"bot_version":{encode_text(bot_version)}}}}}]}}'
            )
    return _CONTEXTS_HEAD + dumps(entity) + "}]}"


def _on_its_day(head: str, ms: int, days: dict, make_day) -> tuple[str, int]:
    """(head + the date of a time, the time's milliseconds within its day)."""
    d = ms // DAY_MS
    return head + (days.get(d) or make_day(d)), ms - d * DAY_MS


def _placed(head_on_base_day: str, head: str, t: int, base: int) -> tuple[str, int]:
    """An enriched line's text before a time, with its date, and the time's ms within its day;
    ``t`` in ms from ``base``, the first millisecond of the day ``head_on_base_day`` ends with."""
    if 0 <= t < DAY_MS:
        return head_on_base_day, t
    return _on_its_day(head, t + base, _DAY_PLAIN, _plain_day)


# --- rendering --------------------------------------------------------------------------------

# a track call: ``{`` anonymousId ``"context":..,"event":`` name ``,"integrations":{},``
# messageId ``"originalTimestamp":"`` time ``","properties":`` properties ``,"receivedAt":"`` time
# ``",`` (rudderId) ``"sentAt":"`` time ``",`` timestamp ``"type":"track","userId":`` id ``}``
# (Segment: ``,"version":2}``); the pieces around the values, by index:
(
    _HEAD, _BODY, _NO_ID, _ID, _AFTER_ID, _PROPERTIES, _RECEIVED, _SENT, _TIMESTAMP, _NULL_USER,
    _QUOTED_END, _NO_ID_DAY, _AFTER_ID_DAY, _RECEIVED_DAY, _SENT_DAY, _TIMESTAMP_DAY,
) = range(16)  # fmt: skip


def _track_pieces(c: Context, src: str) -> tuple[str, ...]:
    body = '"context":' + c.json_ctx + ',"event":'
    ids = ""
    if src == RUDDERSTACK:
        body = '"channel":"' + c.sdk + '",' + body
        ids = '"request_ip":"' + c.request_ip + '","rudderId":"' + c.rudder_id + '",'
    anon = c.anon
    end = "}" if src == RUDDERSTACK else ',"version":2}'
    no_id = ',"integrations":{},"originalTimestamp":"'
    after_id = '","originalTimestamp":"'
    received = ',"receivedAt":"'
    sent = '",' + ids + '"sentAt":"'
    timestamp = '","timestamp":"'
    day = c.day_iso
    return (
        ("{" if anon is None else '{"anonymousId":"' + anon + '",') + body,
        body,
        no_id,
        ',"integrations":{},"messageId":"',
        after_id,
        '","properties":',
        received,
        sent,
        timestamp,
        '","type":"track","userId":null' + end + "\n",
        '"' + end + "\n",
        no_id + day,
        after_id + day,
        received + day,
        sent + day,
        timestamp + day,
    )


def render_json(ev: Ev, c: Context, skew: int) -> tuple[str, int]:
    """One Segment or RudderStack message. Returns (line with its newline, event time).

    Ids (envelope, anonymous, user) are written without JSON escaping: the world makes them from
    letters, digits, '-' and '_' only.
    """
    src, kind = ev.src, ev.kind
    at, recv, lat = ev.at, ev.recv, ev.lat
    if ev.future:
        ts = eat = recv + ev.future
    else:
        ts = None if ev.no_ts else at
        eat = at
    props_json = ev.props_json
    if props_json is None:
        props = ev.props
        if src == SEGMENT:
            props = {CAMEL.get(k, k): v for k, v in props.items()}
        props_json = dumps(props)
    if kind != "track":
        return _render_other(ev, c, skew, ts, eat, props_json)
    p = c.templates.get(src)
    if p is None:
        p = c.templates[src] = _track_pieces(c, src)
    name = ev.name
    event = _NAMES.get(name)
    if event is None:
        event = _NAMES[name] = dumps(name)
    anon, eid, uid = ev.anon, ev.eid, ev.uid
    if anon is c.anon or anon == c.anon:
        head = p[_HEAD]
    else:
        head = ("{" if anon is None else '{"anonymousId":"' + anon + '",') + p[_BODY]
    base = c.base
    # originalTimestamp, receivedAt, sentAt, timestamp: (the text before + date, hh:mm:ss, .fffZ),
    # from the base day's first millisecond
    recv -= base
    t = at - base - lat + skew
    if eid is None:
        eid = ""
        before_id = ""
        if 0 <= t < DAY_MS:
            d1 = p[_NO_ID_DAY]
        else:
            d1, t = _on_its_day(p[_NO_ID], t + base, _DAY_ISO, _iso_day)
    else:
        before_id = p[_ID]
        if 0 <= t < DAY_MS:
            d1 = p[_AFTER_ID_DAY]
        else:
            d1, t = _on_its_day(p[_AFTER_ID], t + base, _DAY_ISO, _iso_day)
    h1, m1 = _HMS[t // 1000], _MS_ISO[t % 1000]
    t = recv
    if 0 <= t < DAY_MS:
        d2 = p[_RECEIVED_DAY]
    else:
        d2, t = _on_its_day(p[_RECEIVED], t + base, _DAY_ISO, _iso_day)
    h2, m2 = _HMS[t // 1000], _MS_ISO[t % 1000]
    t = recv - lat + skew
    if 0 <= t < DAY_MS:
        d3 = p[_SENT_DAY]
    else:
        d3, t = _on_its_day(p[_SENT], t + base, _DAY_ISO, _iso_day)
    h3, m3 = _HMS[t // 1000], _MS_ISO[t % 1000]
    if ts is None:
        d4 = h4 = m4 = ""
    else:
        t = ts - base
        if 0 <= t < DAY_MS:
            d4 = p[_TIMESTAMP_DAY]
        else:
            d4, t = _on_its_day(p[_TIMESTAMP], t + base, _DAY_ISO, _iso_day)
        h4, m4 = _HMS[t // 1000], _MS_ISO[t % 1000]
    if uid is None:
        user, uid, end = p[_NULL_USER], "", ""
    else:
        user, end = '","type":"track","userId":"', p[_QUOTED_END]
    line = "".join((
        head, event, before_id, eid, d1, h1, m1, p[_PROPERTIES], props_json, d2, h2, m2, d3, h3,
        m3, d4, h4, m4, user, uid, end,
    ))  # fmt: skip
    return line, eat


def _render_other(ev: Ev, c: Context, skew: int, ts, eat: int, props_json: str) -> tuple[str, int]:
    """A Segment or RudderStack message other than a track call."""
    src, kind = ev.src, ev.kind
    at, recv, lat = ev.at, ev.recv, ev.lat
    parts = ["{"]
    if ev.anon is not None:
        parts.append('"anonymousId":"' + ev.anon + '",')
    if src == RUDDERSTACK:
        parts.append('"channel":"' + c.sdk + '",')
    parts.append('"context":' + c.json_ctx + ",")
    if kind == "group":
        parts.append('"groupId":"grp_acme",')
    parts.append('"integrations":{},')
    if ev.eid is not None:
        parts.append('"messageId":"' + ev.eid + '",')
    if kind == "page" or kind == "screen":
        parts.append('"name":' + dumps(ev.name) + ",")
    parts.append('"originalTimestamp":"' + iso(at - lat + skew) + '",')
    if kind != "identify" and kind != "group":
        parts.append('"properties":' + props_json + ",")
    parts.append('"receivedAt":"' + iso(recv) + '",')
    if src == RUDDERSTACK:
        parts.append('"request_ip":"' + c.request_ip + '","rudderId":"' + c.rudder_id + '",')
    parts.append('"sentAt":"' + iso(recv - lat + skew) + '",')
    if ts is not None:
        parts.append('"timestamp":"' + iso(ts) + '",')
    if kind == "identify" or kind == "group":
        parts.append('"traits":' + props_json + ",")
    parts.append('"type":"' + kind + '",')
    parts.append('"userId":' + ("null" if ev.uid is None else '"' + ev.uid + '"'))
    parts.append(',"version":2}\n' if src == SEGMENT else "}\n")
    return "".join(parts), eat


_NAMES: dict[str, str] = {}
# (vendor, name, version) -> (unstruct_event up to the event's data, the server line's fields
# from after derived_tstamp to before event_fingerprint)
_SCHEMAS: dict[tuple[str, str, str], tuple[str, str]] = {}


def _schema(vendor: str, name: str, version: str) -> tuple[str, str]:
    head = (
        '{"schema":"' + UNSTRUCT_EVENT_SCHEMA + '","data":{"schema":"iglu:' + vendor + "/" + name
        + "/jsonschema/" + version + '","data":'
    )  # fmt: skip
    between = _DERIVED_TO_FINGERPRINT
    fields = between[0] + vendor + between[1] + name + between[2] + version + between[3]
    value = _SCHEMAS[(vendor, name, version)] = (head, fields)
    return value


def render_snowplow(ev: Ev, c: Context, skew: int, rng: random.Random) -> tuple[str, int]:
    """One enriched-event TSV line. Returns (line with its newline, event time)."""
    at, recv, lat = ev.at, ev.recv, ev.lat
    kind = ev.kind
    if ev.future:
        eat = recv + ev.future
        true_tstamp = plain(eat)  # as sent by the tracker
    else:
        eat = at
        true_tstamp = ""
    etl = 1_000 + floor(rng.random() * 120_000)  # the ETL ran after the collector received
    if kind != "unstruct":
        return _render_web(ev, c, skew, rng, recv + etl, eat, true_tstamp)
    base = c.base
    # etl_tstamp, collector_tstamp, dvce_created_tstamp, dvce_sent_tstamp, derived_tstamp:
    # (the text before + date, hh:mm:ss, .fff), from the base day's first millisecond
    recv -= base
    at -= base
    t1, t2, t3, t4, t5 = recv + etl, recv, at - lat + skew, recv - lat + skew, at
    if not skew and 0 <= lat and at <= recv and 0 <= t3 and t1 < DAY_MS:
        # the usual line: dvce_created the earliest time and etl the latest, on the base day
        d1, d2, d3, d4, d5 = c.sp_heads_day
    else:
        heads, days = c.sp_heads, c.sp_heads_day
        d1, t1 = _placed(days[0], heads[0], t1, base)
        d2, t2 = _placed(days[1], heads[1], t2, base)
        d3, t3 = _placed(days[2], heads[2], t3, base)
        d4, t4 = _placed(days[3], heads[3], t4, base)
        d5, t5 = _placed(days[4], heads[4], t5, base)
    h1, m1 = _HMS[t1 // 1000], _MS_PLAIN[t1 % 1000]
    h2, m2 = _HMS[t2 // 1000], _MS_PLAIN[t2 % 1000]
    h3, m3 = _HMS[t3 // 1000], _MS_PLAIN[t3 % 1000]
    h4, m4 = _HMS[t4 // 1000], _MS_PLAIN[t4 % 1000]
    if ev.no_ts:
        d5, h5, m5 = c.sp_heads[4], "", ""
    else:
        h5, m5 = _HMS[t5 // 1000], _MS_PLAIN[t5 % 1000]
    p = c.sp_server
    uid, anon = ev.uid, ev.anon
    ent = ev.ent
    if anon is c.anon and (ent is c.entity or (ent is not None and ent == c.entity)):
        ids = c.sp_ids.get(uid)
        if ids is None:
            ids = c.sp_ids[uid] = p[4] + (uid or "") + p[5] + (anon or "") + p[6] + c.sp_ctx + p[7]
    else:
        contexts = "" if ent is None else c.sp_ctx if ent == c.entity else _contexts(ent)
        ids = p[4] + (uid or "") + p[5] + (anon or "") + p[6] + contexts + p[7]
    vendor, name, version = ev.vendor, ev.name, ev.version
    head, fields = _SCHEMAS.get((vendor, name, version)) or _schema(vendor, name, version)
    # unstruct_event: head, the event's data, then the "}}" that d4 starts with
    line = "".join((
        d1, h1, m1, d2, h2, m2, d3, h3, m3, p[3], ev.eid or "", ids, head,
        ev.props_json or dumps(ev.props), d4, h4, m4, d5, h5, m5, fields,
        rng.getrandbits(128).to_bytes(16).hex(),
        p[14] + true_tstamp + p[15] if true_tstamp else c.sp_tail,
    ))  # fmt: skip
    return line, eat


def _render_web(ev: Ev, c: Context, skew: int, rng, etl: int, eat: int, true_tstamp: str):
    """A line of the JavaScript tracker (page view, structured event)."""
    at, recv, lat = ev.at, ev.recv, ev.lat
    kind = ev.kind
    ent = ev.ent
    contexts = "" if ent is None else c.sp_ctx if ent == c.entity else _contexts(ent)
    props = ev.props if kind == "struct" else {}
    p = c.sp_web
    line = "".join((
        p[0], plain(etl), p[1], plain(recv), p[2], plain(at - lat + skew), p[3], kind, p[4],
        ev.eid or "", p[5], ev.uid or "", p[6], ev.anon or "", p[7], contexts, p[8],
        props.get("category", ""), p[9], props.get("action", ""), p[10], props.get("label", ""),
        p[11], p[12], plain(recv - lat + skew), p[13], "" if ev.no_ts else plain(at), p[14],
        ev.vendor or "", p[15], ev.name or "", p[16], ev.version or "", p[17],
        rng.getrandbits(128).to_bytes(16).hex(), p[18], true_tstamp, p[19],
    ))  # fmt: skip
    return line, eat


def payload(ev: Ev) -> tuple:
    """What an event's line says beyond its envelope, as SPEC §4 compares two lines with the same
    id: Segment/RudderStack type, event and properties; Snowplow event and unstruct_event."""
    kind = ev.kind
    if ev.src == SNOWPLOW:
        if kind != "unstruct":
            return (kind, "")
        vendor, name, version = ev.vendor, ev.name, ev.version
        head = (_SCHEMAS.get((vendor, name, version)) or _schema(vendor, name, version))[0]
        return (kind, f"{head}{ev.props_json or dumps(ev.props)}}}}}")
    if kind == "identify" or kind == "group":
        return (kind, None, None)
    props_json = ev.props_json
    if props_json is None:
        props = ev.props
        if ev.src == SEGMENT:
            props = {CAMEL.get(k, k): v for k, v in props.items()}
        props_json = dumps(props)
    return (kind, ev.name if kind == "track" else None, props_json)


# --- corruption -------------------------------------------------------------------------------

LANDING_REASONS = {
    ("json", "truncated"): "invalid_json",
    ("json", "array"): "not_an_object",
    ("json", "null"): "not_an_object",
    ("json", "empty_object"): "empty_object",
    ("json", "invalid_utf8"): "invalid_utf8",
    ("tsv", "truncated"): "wrong_field_count",
    ("tsv", "missing_field"): "wrong_field_count",
    ("tsv", "extra_field"): "wrong_field_count",
    ("tsv", "invalid_utf8"): "invalid_utf8",
}
INVALID_BYTES = "\udcff\udcfe"  # written as the bytes FF FE (surrogateescape)


def corrupt(line: str, kind: str, rng: random.Random) -> str:
    """Damage a line the way broken exports are damaged. Never produces a landable line."""
    rnd = rng.random
    if kind == "truncated":
        if "\t" in line:
            return line[: 1 + floor(rnd() * (line.rfind("\t") - 1))]
        return line[: 1 + floor(rnd() * (len(line) - 2))]
    if kind == "array":
        return "[" + line + "]"
    if kind == "null":
        return "null"
    if kind == "empty_object":
        return "{}"
    if kind == "invalid_utf8":
        pos = 1 + floor(rnd() * (len(line) - 2))
        return line[:pos] + INVALID_BYTES + line[pos:]
    if kind == "missing_field":
        return line[: line.rfind("\t")]
    if kind == "extra_field":
        return line + "\t"
    raise ValueError(f"unknown corruption {kind!r}")
