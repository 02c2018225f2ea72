"""The export formats of SPEC §2, as data: the one place that names their fields.

Both the synthetic generator (which writes these formats) and the lander (which reads them) use
these names; neither reaches into the other.
"""

from __future__ import annotations

SOURCES = ("segment", "rudderstack", "snowplow")
"""Every supported source, also the folder names that identify a file's source."""

FILE_EXTENSIONS = {"segment": "jsonl", "rudderstack": "jsonl", "snowplow": "tsv"}

# Snowplow's canonical enriched event TSV: 131 tab-separated fields, in this order, no header.
SNOWPLOW_FIELDS: tuple[str, ...] = (
    "app_id", "platform", "etl_tstamp", "collector_tstamp", "dvce_created_tstamp", "event",
    "event_id", "txn_id", "name_tracker", "v_tracker", "v_collector", "v_etl", "user_id",
    "user_ipaddress", "user_fingerprint", "domain_userid", "domain_sessionidx", "network_userid",
    "geo_country", "geo_region", "geo_city", "geo_zipcode", "geo_latitude", "geo_longitude",
    "geo_region_name", "ip_isp", "ip_organization", "ip_domain", "ip_netspeed", "page_url",
    "page_title", "page_referrer", "page_urlscheme", "page_urlhost", "page_urlport",
    "page_urlpath", "page_urlquery", "page_urlfragment", "refr_urlscheme", "refr_urlhost",
    "refr_urlport", "refr_urlpath", "refr_urlquery", "refr_urlfragment", "refr_medium",
    "refr_source", "refr_term", "mkt_medium", "mkt_source", "mkt_term", "mkt_content",
    "mkt_campaign", "contexts", "se_category", "se_action", "se_label", "se_property", "se_value",
    "unstruct_event", "tr_orderid", "tr_affiliation", "tr_total", "tr_tax", "tr_shipping",
    "tr_city", "tr_state", "tr_country", "ti_orderid", "ti_sku", "ti_name", "ti_category",
    "ti_price", "ti_quantity", "pp_xoffset_min", "pp_xoffset_max", "pp_yoffset_min",
    "pp_yoffset_max", "useragent", "br_name", "br_family", "br_version", "br_type",
    "br_renderengine", "br_lang", "br_features_pdf", "br_features_flash", "br_features_java",
    "br_features_director", "br_features_quicktime", "br_features_realplayer",
    "br_features_windowsmedia", "br_features_gears", "br_features_silverlight", "br_cookies",
    "br_colordepth", "br_viewwidth", "br_viewheight", "os_name", "os_family", "os_manufacturer",
    "os_timezone", "dvce_type", "dvce_ismobile", "dvce_screenwidth", "dvce_screenheight",
    "doc_charset", "doc_width", "doc_height", "tr_currency", "tr_total_base", "tr_tax_base",
    "tr_shipping_base", "ti_currency", "ti_price_base", "base_currency", "geo_timezone",
    "mkt_clickid", "mkt_network", "etl_tags", "dvce_sent_tstamp", "refr_domain_userid",
    "refr_dvce_tstamp", "derived_contexts", "domain_sessionid", "derived_tstamp", "event_vendor",
    "event_name", "event_format", "event_version", "event_fingerprint", "true_tstamp",
)  # fmt: skip
SNOWPLOW_FIELD_COUNT = 131

# Envelope fields of Segment and RudderStack JSON messages: raw column name -> JSON key.
# Scalars land as VARCHAR (timestamps as the text sent; staging parses them), objects as JSON.
SEGMENT_SCALARS = {
    "type": "type",
    "message_id": "messageId",
    "anonymous_id": "anonymousId",
    "user_id": "userId",
    "event": "event",
    "timestamp": "timestamp",
    "original_timestamp": "originalTimestamp",
    "sent_at": "sentAt",
    "received_at": "receivedAt",
    "version": "version",
    "project_id": "projectId",
}
SEGMENT_OBJECTS = {
    "properties": "properties",
    "traits": "traits",
    "context": "context",
    "integrations": "integrations",
}
RUDDERSTACK_SCALARS = {
    **SEGMENT_SCALARS,
    "rudder_id": "rudderId",
    "channel": "channel",
    "request_ip": "request_ip",
}
RUDDERSTACK_OBJECTS = dict(SEGMENT_OBJECTS)

CHAT_VENDOR = "com.acme.chat"
CONVERSATION_ENTITY_SCHEMA = "iglu:com.acme.chat/conversation/jsonschema/1-0-0"
UNSTRUCT_EVENT_SCHEMA = "iglu:com.snowplowanalytics.snowplow/unstruct_event/jsonschema/1-0-0"
CONTEXTS_SCHEMA = "iglu:com.snowplowanalytics.snowplow/contexts/jsonschema/1-0-1"

assert len(SNOWPLOW_FIELDS) == SNOWPLOW_FIELD_COUNT
assert SNOWPLOW_FIELDS[52] == "contexts" and SNOWPLOW_FIELDS[58] == "unstruct_event"
assert SNOWPLOW_FIELDS[119] == "dvce_sent_tstamp" and SNOWPLOW_FIELDS[124] == "derived_tstamp"
assert SNOWPLOW_FIELDS[130] == "true_tstamp"
