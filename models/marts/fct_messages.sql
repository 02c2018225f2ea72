with

messages as (
    select * from {{ ref('int_messages_deduplicated') }}
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
