{#- Snowplow sends property names in snake_case, each one in the event's own data or, failing
    that, in the conversation entity attached in `contexts` (any 1-x-x version of it). -#}
{%- set property_keys = [
    'conversation_id',
    'channel',
    'bot_version',
    'locale',
    'message_id',
    'sender',
    'message_length',
    'message_body',
    'intent',
    'confidence',
    'is_fallback',
    'reason',
    'queue',
    'resolved_by',
    'rating',
    'score',
    'ended_by',
] -%}
{%- set chat_vendor = 'com.acme.chat' -%}
{%- set conversation_entity_prefix = 'iglu:com.acme.chat/conversation/jsonschema/1-' -%}

with

source as (
    {{ landed_rows_to_classify(source('raw', 'snowplow_events'), 'event_id') }}
),

event_aliases as (
    select * from {{ ref('event_aliases') }}
),

parsed as (
    select
        *,
        {{ parsed_utc_timestamp('true_tstamp') }} as true_at,
        {{ parsed_utc_timestamp('derived_tstamp') }} as derived_at,
        {{ parsed_utc_timestamp('collector_tstamp') }} as collector_at,
        {{ parsed_utc_timestamp('dvce_sent_tstamp') }} as device_sent_at,
        {{ parsed_utc_timestamp('dvce_created_tstamp') }} as device_created_at,
        {{ json_parsed('unstruct_event') }} as unstruct_event_json,
        {{ json_parsed('contexts') }} as contexts_json
    from source
),

unwrapped as (
    select
        *,
        {{ json_object_fields('unstruct_event_json', [{'data': ['schema', {'data': property_keys}]}]) }}
            as unstruct_event_fields,
        {{ json_entity_fields('contexts_json', conversation_entity_prefix, property_keys) }}
            as entity_fields
    from parsed
),

opened as (
    select
        *,
        {{ json_value_string(json_field(json_field('unstruct_event_fields', 'data'), 'schema')) }} as event_schema,
        {{ json_field(json_field('unstruct_event_fields', 'data'), 'data') }} as event_data_fields
    from unwrapped
),

named as (
    select
        *,
        {{ dbt.split_part('event_schema', "'/'", 1) }} = 'iglu:{{ chat_vendor }}' as is_chat_vendor,
        {{ dbt.split_part('event_schema', "'/'", 2) }} as schema_name
    from opened
),

extracted as (
    select
        -- lineage
        'snowplow' as source,  -- noqa: RF04
        load_id,
        file_name,
        line_number,
        landed_at,
        -- envelope
        event_id,
        coalesce(event = 'unstruct' and is_chat_vendor, false) as is_chat_candidate,
        false as is_identify,
        coalesce(case when event = 'unstruct' then schema_name end, event_name, event) as raw_event_name,
        user_id,
        domain_userid as anonymous_id,
        -- time: the tracker's own time if sent, else the device clock corrected by its skew
        coalesce(
            true_at,
            derived_at,
            collector_at - (device_sent_at - device_created_at),
            collector_at
        ) as event_at,
        collector_at as received_at,
        -- properties as JSON fragments: the event's own data first, else the conversation entity
        {%- for key in property_keys %}
            coalesce(
                {{ json_field('event_data_fields', key) }},
                {{ json_field('entity_fields', key) }}
            ) as prop_{{ key }},
        {%- endfor %}
        -- payload compared between copies of one event_id
        event as payload_event,
        unstruct_event as payload_unstruct_event
    from named
),

classified as (
    {{ classified_events(
        'extracted',
        'event_aliases',
        payload_columns=['payload_event', 'payload_unstruct_event']
    ) }}
)

select * from classified
