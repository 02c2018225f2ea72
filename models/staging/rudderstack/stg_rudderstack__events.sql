{#- RudderStack sends property names in snake_case. -#}
{%- set property_keys = {
    'conversation_id': 'conversation_id',
    'channel': 'channel',
    'bot_version': 'bot_version',
    'locale': 'locale',
    'message_id': 'message_id',
    'sender': 'sender',
    'message_length': 'message_length',
    'message_body': 'message_body',
    'intent': 'intent',
    'confidence': 'confidence',
    'is_fallback': 'is_fallback',
    'reason': 'reason',
    'queue': 'queue',
    'resolved_by': 'resolved_by',
    'rating': 'rating',
    'score': 'score',
    'ended_by': 'ended_by',
} -%}

with

source as (
    {{ landed_rows_to_classify(source('raw', 'rudderstack_events'), 'message_id') }}
),

event_aliases as (
    select * from {{ ref('event_aliases') }}
),

{{ tracking_sdk_extracted_ctes('source', 'rudderstack', property_keys) }}

classified as (
    {{ classified_events(
        'extracted',
        'event_aliases',
        payload_columns=['payload_type', 'payload_event', 'payload_properties']
    ) }}
)

select * from classified
