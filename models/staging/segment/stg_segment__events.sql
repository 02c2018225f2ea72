{#- Segment sends property names in camelCase. -#}
{%- set property_keys = {
    'conversation_id': 'conversationId',
    'channel': 'channel',
    'bot_version': 'botVersion',
    'locale': 'locale',
    'message_id': 'messageId',
    'sender': 'sender',
    'message_length': 'messageLength',
    'message_body': 'messageBody',
    'intent': 'intent',
    'confidence': 'confidence',
    'is_fallback': 'isFallback',
    'reason': 'reason',
    'queue': 'queue',
    'resolved_by': 'resolvedBy',
    'rating': 'rating',
    'score': 'score',
    'ended_by': 'endedBy',
} -%}

with

source as (
    {{ landed_rows_to_classify(source('raw', 'segment_events'), 'message_id') }}
),

event_aliases as (
    select * from {{ ref('event_aliases') }}
),

{{ tracking_sdk_extracted_ctes('source', 'segment', property_keys) }}

classified as (
    {{ classified_events(
        'extracted',
        'event_aliases',
        payload_columns=['payload_type', 'payload_event', 'payload_properties']
    ) }}
)

select * from classified
