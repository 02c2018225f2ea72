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

from chat_analytics.formats import (
    CONTEXTS_SCHEMA,
    CONVERSATION_ENTITY_SCHEMA,
    SNOWPLOW_FIELDS,
    UNSTRUCT_EVENT_SCHEMA,
)
from chat_analytics.generate.world import (
    CHANNELS,
    DAY_MS,
    RUDDERSTACK,
    SEGMENT,
    Conversation,
    Ev,
    uuid_from,
)

# --- timestamps -------------------------------------------------------------------------------

_HMS = tuple(f"{h:02d}:{m:02d}:{s:02d}" for h in range(24) for m in range(60) for s in range(60))
_MS_ISO = tuple(f".{i:03d}Z" for i in range(1000))
_MS_PLAIN = tuple(f".{i:03d}" for i in range(1000))
_DAY_ISO: dict[int, str] = {}
_DAY_PLAIN: dict[int, str] = {}
_EPOCH = dt.date(1970, 1, 1)


def _day_prefix(day: int, sep: str) -> str:
    return (_EPOCH + dt.timedelta(days=day)).isoformat() + sep


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


def _meta_template(
    constants: dict[str, str], per_conversation: tuple[str, ...], slots: tuple[str, ...]
) -> str:
    """An enriched line with '%s' for per-conversation fields and '%%s' for per-event slots."""
    assert list(per_conversation) == sorted(per_conversation, key=_FIELD.__getitem__)
    fields = [""] * len(SNOWPLOW_FIELDS)
    for name, value in constants.items():
        fields[_FIELD[name]] = value.replace("%", "%%%%")
    for name in per_conversation:
        fields[_FIELD[name]] = "%s"
    for name in slots:
        fields[_FIELD[name]] = "%%s"
    return "\t".join(fields)


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
SERVER_META = _meta_template(
    {**_SERVER_CONSTANTS, "event": "unstruct"}, _PER_CONVERSATION, UNSTRUCT_SLOTS
)
WEB_META = _meta_template(
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
    """What stays the same across one conversation's lines: libraries, devices, base fields."""

    __slots__ = (
        "json_ctx", "rudder_id", "request_ip", "sdk", "sp_server", "_sp_web", "sp_ctx", "entity",
        "templates", "_web_values",
    )  # fmt: skip

    def __init__(self, conv: Conversation, rng: random.Random) -> None:
        channel = CHANNELS[conv.channel]
        self.sdk = sdk = channel.sdk
        rnd = rng.random
        ip = f"203.0.{int(rnd() * 256)}.{1 + int(rnd() * 254)}"
        tz = TIMEZONES.get(conv.locale, "Europe/Berlin")
        ua = USER_AGENTS[int(rnd() * len(USER_AGENTS))]
        if sdk == "web":
            self.json_ctx = WEB_CONTEXT % (ip, conv.locale, tz, ua)
        elif sdk == "mobile":
            make, model, kind, os_name, os_version = DEVICES[int(rnd() * len(DEVICES))]
            self.json_ctx = MOBILE_CONTEXT % (
                uuid_from(rng), make, model, kind, kind, conv.locale,
                "true" if rnd() < 0.6 else "false", os_name, os_version, conv.start // 1000, tz,
                conv.anon,
            )  # fmt: skip
        else:
            self.json_ctx = SERVER_CONTEXT[channel.client_source] % conv.locale
        self.rudder_id = uuid_from(rng)
        self.request_ip = ip if sdk != "server" else f"34.{int(rnd() * 256)}.0.7"
        session = uuid_from(rng)
        network_user = uuid_from(rng)
        server_ip = f"10.0.{int(rnd() * 256)}.{1 + int(rnd() * 254)}"
        self.sp_server = SERVER_META % (server_ip, network_user, session)
        self._sp_web = None
        self._web_values = (ip, network_user, ua, conv.locale, tz, session)
        self.templates: dict[str, str] = {}
        self.entity = conv.entity
        self.sp_ctx = _contexts(self.entity)

    @property
    def sp_web(self) -> str:
        """The JavaScript tracker's line template (page views, structured events)."""
        if self._sp_web is None:
            self._sp_web = WEB_META % tuple(v.replace("%", "%%") for v in self._web_values)
        return self._sp_web


def _contexts(entity: dict) -> str:
    return (
        '{"schema":"' + CONTEXTS_SCHEMA + '","data":[{"schema":"' + CONVERSATION_ENTITY_SCHEMA
        + '","data":' + dumps(entity) + "}]}"
    )  # fmt: skip


# --- rendering --------------------------------------------------------------------------------

_TRACK_SLOTS = (
    '{%s"context":CTX,"event":%s,"integrations":{},%s"originalTimestamp":"%s",'
    '"properties":%s,"receivedAt":"%s",IDS"sentAt":"%s",%s"type":"track","userId":%s'
)
_NAMES: dict[str, str] = {}


def _track_template(c: Context, src: str) -> str:
    """The line of a track call with %s slots for what changes between events."""
    head = _TRACK_SLOTS
    if src == RUDDERSTACK:
        head = head.replace('{%s"context"', '{%s"channel":"' + c.sdk + '","context"')
        ids = '"request_ip":"' + c.request_ip + '","rudderId":"' + c.rudder_id + '",'
        head = head.replace("IDS", ids) + "}"
    else:
        head = head.replace("IDS", "") + ',"version":2}'
    return head.replace("CTX", c.json_ctx.replace("%", "%%"))


def render_json(ev: Ev, c: Context, skew: int) -> tuple[str, int, tuple]:
    """One Segment or RudderStack message. Returns (line, event time, payload).

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
    props = ev.props
    if src == SEGMENT:
        props = {CAMEL.get(k, k): v for k, v in props.items()}
    props_json = dumps(props)
    if kind == "track":
        template = c.templates.get(src)
        if template is None:
            template = c.templates[src] = _track_template(c, src)
        name = ev.name
        event = _NAMES.get(name)
        if event is None:
            event = _NAMES[name] = dumps(name)
        line = template % (
            "" if ev.anon is None else '"anonymousId":"' + ev.anon + '",',
            event,
            "" if ev.eid is None else '"messageId":"' + ev.eid + '",',
            iso(at - lat + skew),
            props_json,
            iso(recv),
            iso(recv - lat + skew),
            "" if ts is None else '"timestamp":"' + iso(ts) + '",',
            "null" if ev.uid is None else '"' + ev.uid + '"',
        )
        return line, eat, (kind, name, props_json)
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
    if kind == "identify" or kind == "group":
        payload = (kind, None, None)
    else:
        parts.append('"properties":' + props_json + ",")
        payload = (kind, None, props_json)
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
    parts.append(',"version":2}' if src == SEGMENT else "}")
    return "".join(parts), eat, payload


def render_snowplow(ev: Ev, c: Context, skew: int, rng: random.Random) -> tuple[str, int, tuple]:
    """One enriched-event TSV line. Returns (line, event time, payload)."""
    at, recv, lat = ev.at, ev.recv, ev.lat
    kind = ev.kind
    ent = ev.ent
    if ev.future:
        eat = recv + ev.future
        true_tstamp = plain(eat)  # as sent by the tracker
    else:
        eat = at
        true_tstamp = ""
    contexts = (
        "" if ent is None else c.sp_ctx if ent is c.entity or ent == c.entity else _contexts(ent)
    )
    if kind == "unstruct":
        unstruct = (
            '{"schema":"' + UNSTRUCT_EVENT_SCHEMA + '","data":{"schema":"iglu:' + ev.vendor + "/"
            + ev.name + "/jsonschema/" + ev.version + '","data":' + dumps(ev.props) + "}}"
        )  # fmt: skip
        line = c.sp_server % (
            plain(recv + 1_000 + int(rng.random() * 120_000)),  # etl_tstamp
            plain(recv),
            plain(at - lat + skew),
            ev.eid or "",
            ev.uid or "",
            ev.anon or "",
            contexts,
            unstruct,
            plain(recv - lat + skew),
            "" if ev.no_ts else plain(at),
            ev.vendor,
            ev.name,
            ev.version,
            f"{rng.getrandbits(128):032x}",  # event_fingerprint
            true_tstamp,
        )
        return line, eat, (kind, unstruct)
    p = ev.props if kind == "struct" else {}
    line = c.sp_web % (
        plain(recv + 1_000 + int(rng.random() * 120_000)),
        plain(recv),
        plain(at - lat + skew),
        kind,
        ev.eid or "",
        ev.uid or "",
        ev.anon or "",
        contexts,
        p.get("category", ""),
        p.get("action", ""),
        p.get("label", ""),
        "",
        plain(recv - lat + skew),
        "" if ev.no_ts else plain(at),
        ev.vendor or "",
        ev.name or "",
        ev.version or "",
        f"{rng.getrandbits(128):032x}",
        true_tstamp,
    )
    return line, eat, (kind, "")


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
            return line[: 1 + int(rnd() * (line.rfind("\t") - 1))]
        return line[: 1 + int(rnd() * (len(line) - 2))]
    if kind == "array":
        return "[" + line + "]"
    if kind == "null":
        return "null"
    if kind == "empty_object":
        return "{}"
    if kind == "invalid_utf8":
        pos = 1 + int(rnd() * (len(line) - 2))
        return line[:pos] + INVALID_BYTES + line[pos:]
    if kind == "missing_field":
        return line[: line.rfind("\t")]
    if kind == "extra_field":
        return line + "\t"
    raise ValueError(f"unknown corruption {kind!r}")
