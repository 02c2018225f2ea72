"""The vendors' own published examples (tests/fixtures/vendor_samples, origins in its README)
land with every field in the right column, plain and gzip."""

from __future__ import annotations

import gzip
import json
import shutil

import pytest

SAMPLES = "tests/fixtures/vendor_samples"


@pytest.fixture(scope="module", params=[False, True], ids=["plain", "gzip"])
def landed(request, tmp_path_factory, tools):
    tmp = tmp_path_factory.mktemp("vendor-gzip" if request.param else "vendor-plain")
    source = tools.REPO / SAMPLES
    exports = tmp / "vendor_samples"
    for path in sorted(source.glob("*/*")):
        target = exports / path.parent.name / path.name
        target.parent.mkdir(parents=True, exist_ok=True)
        if request.param:
            target.with_name(path.name + ".gz").write_bytes(gzip.compress(path.read_bytes()))
        else:
            shutil.copy(path, target)
    db = tmp / "warehouse.duckdb"
    result = tools.land([exports], db, tmp)
    assert result.returncode == 0, tools.describe(result)
    return db


def rows(tools, db, table) -> list[dict]:
    return tools.query(db, f"select * from raw.{table} order by line_number")


def test_segment_spec_examples(landed, tools):
    track, identify, page = rows(tools, landed, "segment_events")
    assert track["type"] == "track"
    assert track["event"] == "Course Clicked"
    assert track["message_id"] == "ajs-f8ca1e4de5024d9430b3928bd8ac6b96"
    assert track["anonymous_id"] == "23adfd82-aa0f-45a7-a756-24f2a7a4c895"
    assert track["user_id"] == "AiUGstSDIg"
    assert track["timestamp"] == "2015-12-12T19:11:01.249Z"
    assert track["original_timestamp"] == "2015-12-12T19:11:01.152Z"
    assert track["sent_at"] == "2015-12-12T19:11:01.169Z"
    assert track["received_at"] == "2015-12-12T19:11:01.266Z"
    assert json.loads(track["properties"]) == {"title": "Intro to Analytics"}
    context = json.loads(track["context"])
    assert context["library"] == {"name": "analytics.js", "version": "2.11.1"}
    assert context["ip"] == "108.0.78.21" and context["page"]["path"] == "/academy/"
    assert json.loads(track["integrations"]) == {}
    assert track["traits"] is None and track["version"] is None

    assert identify["type"] == "identify" and identify["event"] is None
    assert identify["user_id"] == "97980cfea0067"
    assert identify["version"] == "1.1"
    traits = json.loads(identify["traits"])
    assert traits["email"] == "peter@example.com" and traits["logins"] == 5
    assert traits["address"]["postalCode"] == "94103"
    assert json.loads(identify["integrations"]) == {
        "All": False,
        "Mixpanel": True,
        "Salesforce": True,
    }
    assert identify["properties"] is None

    assert page["type"] == "page" and page["event"] is None
    assert json.loads(page["properties"]) == {
        "title": "Welcome | Initech",
        "url": "http://www.example.com",
    }
    assert page["message_id"] == identify["message_id"] == "022bb90c-bbac-11e4-8dfc-aa07a5b093db"
    assert '"name":"Home"' in page["raw_line"]  # a field without a column stays in raw_line


def test_rudderstack_event_spec_examples(landed, tools):
    web, ortto = rows(tools, landed, "rudderstack_events")
    assert web["channel"] == "web" and web["type"] == "track"
    assert web["event"] == "Product Reviewed"
    assert web["message_id"] == "1578564113557-af022c68-429e-4af4-b99b-2b9174056383"
    assert web["anonymous_id"] == "78c53c15-32a1-4b65-adac-bec2d7bb8fab"
    assert web["original_timestamp"] == "2020-01-09T10:01:53.558Z"
    assert web["sent_at"] == "2020-01-09T10:02:03.257Z"
    assert web["timestamp"] is None and web["received_at"] is None and web["rudder_id"] is None
    assert json.loads(web["properties"])["rating"] == 2.0
    assert json.loads(web["context"])["library"]["name"] == "RudderLabs JavaScript SDK"

    assert ortto["rudder_id"] == "2e69b7d1-1511-4f10-bec9-43652ab8efe0"
    assert ortto["request_ip"] == "3.139.195.252"
    assert ortto["received_at"] == "2023-10-03T13:38:06.762Z"
    assert ortto["timestamp"] == "2023-10-17T13:38:01.768Z"
    assert ortto["event"] == "Resubscribe globally" and ortto["channel"] is None
    assert json.loads(ortto["properties"])["webhook_id"] == "651b8aec8002153e16319fd3"
    assert json.loads(ortto["integrations"]) == {"ortto": False}

    # the docs' Android sample, as published, has a trailing comma: not JSON
    (rejected,) = tools.query(landed, "select * from raw.rejected_lines")
    assert (rejected["source"], rejected["line_number"], rejected["reason"]) == (
        "rudderstack",
        3,
        "invalid_json",
    )
    assert b'"name":"generic_x86",}' in bytes(rejected["raw_bytes"])


def test_snowplow_python_sdk_full_event(landed, tools):
    (event,) = rows(tools, landed, "snowplow_events")
    assert event["app_id"] == "angry-birds"
    assert event["platform"] == "web"
    assert event["etl_tstamp"] == "2017-01-26 00:01:25.292"
    assert event["collector_tstamp"] == "2013-11-26 00:02:05"
    assert event["dvce_created_tstamp"] == "2013-11-26 00:03:57.885"
    assert event["event"] == "page_view"
    assert event["event_id"] == "c6ef3124-b53a-4b13-a233-0088f79dcbcb"
    assert event["txn_id"] == "41828"
    assert event["user_id"] == "jon.doe@email.com"
    assert event["domain_userid"] == "bc2e92ec6c204a14"
    assert event["network_userid"] == "ecdff4d0-9175-40ac-a8bb-325c49733607"
    assert (event["geo_latitude"], event["geo_longitude"]) == ("37.443604", "-122.4124")
    assert event["page_urlport"] == "80"
    assert event["page_referrer"] is None  # empty in the TSV
    assert event["br_features_pdf"] == "1" and event["br_features_flash"] == "0"
    assert event["dvce_sent_tstamp"] is None
    assert event["domain_sessionid"] == "2b15e5c8-d3b1-11e4-b9d6-1681e6b88ec1"
    assert event["derived_tstamp"] == "2013-11-26 00:03:57.886"
    assert (event["event_vendor"], event["event_name"]) == (
        "com.snowplowanalytics.snowplow",
        "link_click",
    )
    assert (event["event_format"], event["event_version"]) == ("jsonschema", "1-0-0")
    assert event["event_fingerprint"] == "e3dbfa9cca0412c3d4052863cefb547f"
    assert event["true_tstamp"] == "2013-11-26 00:03:57.886"
    unstruct = json.loads(event["unstruct_event"])
    assert unstruct["data"]["schema"] == (
        "iglu:com.snowplowanalytics.snowplow/link_click/jsonschema/1-0-1"
    )
    assert unstruct["data"]["data"]["targetUrl"] == "http://www.example.com"
    contexts = json.loads(event["contexts"])
    assert [entity["schema"] for entity in contexts["data"]] == [
        "iglu:org.schema/WebPage/jsonschema/1-0-0",
        "iglu:org.w3/PerformanceTiming/jsonschema/1-0-0",
    ]
    derived = json.loads(event["derived_contexts"])
    assert derived["data"][0]["data"]["useragentFamily"] == "IE"


def test_every_sample_line_is_accounted_for(landed, tools):
    loads = tools.query(landed, "select source, lines, landed_rows, rejected_lines from raw.loads")
    assert sorted(
        (r["source"], r["lines"], r["landed_rows"], r["rejected_lines"]) for r in loads
    ) == [
        ("rudderstack", 3, 2, 1),
        ("segment", 3, 3, 0),
        ("snowplow", 1, 1, 0),
    ]
