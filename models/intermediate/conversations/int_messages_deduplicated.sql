{{ config(
    materialized='incremental',
    incremental_strategy='append',
    on_schema_change='fail',
    pre_hook="{{ delete_changed_conversations(ref('int_conversations_changed')) }}",
    post_hook="{{ record_build_watermark() }}",
) }}

{%- set earliest = 'event_at asc, received_at asc nulls last, source asc, event_id asc' -%}

with

conversation_events as (
    {{ changed_conversation_events(ref('int_conversation_events'), ref('int_conversations_changed')) }}
),


select_message_events as (
    select
        source,
        event_id,
        event_at,
        received_at,
        conversation_id,
        message_id,
        sender,
        message_length
    from conversation_events
    where
        event_name = 'message_sent'
),

key_messages as (
    select
        *,
        -- one message per message_id within a conversation; an event without one is its own message
        {{ dbt.hash(
            "case when message_id is not null then "
            ~ dbt.concat(["'message|'", "conversation_id", "'|'", "message_id"])
            ~ " else "
            ~ dbt.concat(["'event|'", "source", "'|'", "event_id"])
            ~ " end"
        ) }} as message_key
    from select_message_events
),

collapse_message_reports as (
    select
        message_key,
        conversation_id,
        message_id,
        -- the earliest report's sender, and the earliest length reported
        {{ first_by('sender', earliest) }} as sender,
        min(event_at) as sent_at,
        {{ first_by('message_length', earliest, 'message_length is not null') }} as message_length,
        count(*) as reporting_events,
        {{ build_started_at() }} as reassembled_at
    from key_messages
    group by message_key, conversation_id, message_id
)

select * from collapse_message_reports

-- depends_on: {{ ref('int_conversations_changed') }}
