{#- The parsing and extraction shared by Segment and RudderStack, whose messages have the same
    envelope (Segment spec) and differ only in the property names they send. Returns the CTEs
    `parsed` and `extracted`, each followed by a comma, ready for classified_events. -#}
{% macro tracking_sdk_extracted_ctes(raw_events, source_name, property_keys) -%}
parsed as (
    select
        *,
        {{ parsed_iso8601_timestamp('"timestamp"') }} as parsed_timestamp,
        {{ parsed_iso8601_timestamp('original_timestamp') }} as parsed_original_timestamp,
        {{ parsed_iso8601_timestamp('sent_at') }} as parsed_sent_at,
        {{ parsed_iso8601_timestamp('received_at') }} as parsed_received_at,
        {{ json_object_fields('properties', property_keys.values() | list) }} as property_fields
    from {{ raw_events }}
),

extracted as (
    select
        -- lineage
        '{{ source_name }}' as source,  -- noqa: RF04
        load_id,
        file_name,
        line_number,
        landed_at,
        -- envelope
        message_id as event_id,
        coalesce(type = 'track', false) as is_chat_candidate,
        coalesce(type = 'identify', false) as is_identify,
        case when type = 'track' then event else type end as raw_event_name,
        user_id,
        anonymous_id,
        -- time: the client clock corrected by the clock skew seen at send time
        coalesce(
            parsed_timestamp,
            parsed_received_at - (parsed_sent_at - parsed_original_timestamp),
            parsed_original_timestamp
        ) as event_at,
        parsed_received_at as received_at,
        -- properties as JSON fragments
        {%- for name, key in property_keys.items() %}
            {{ json_field('property_fields', key) }} as prop_{{ name }},
        {%- endfor %}
        -- payload compared between copies of one messageId
        type as payload_type,
        event as payload_event,
        cast(properties as varchar) as payload_properties
    from parsed
),
{%- endmacro %}
