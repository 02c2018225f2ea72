{{ config(
    materialized='incremental',
    incremental_strategy='append',
    on_schema_change='fail',
    pre_hook="{{ delete_changed_conversations(ref('int_conversations_changed')) }}",
    post_hook="{{ record_build_watermark() }}",
) }}

with

messages as (
    {{ reassembled_rows(ref('int_messages_deduplicated'), ref('int_conversations_changed')) }}
),

select_message_columns as (
    select
        message_key,
        conversation_id,
        message_id,
        sender,
        sent_at,
        message_length,
        reporting_events
    from messages
)

select * from select_message_columns

-- depends_on: {{ ref('int_conversations_changed') }}
