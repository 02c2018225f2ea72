{{ config(
    materialized='incremental',
    incremental_strategy='append',
    on_schema_change='fail',
    pre_hook="{{ delete_changed_conversations(ref('int_events_unioned')) }}",
    post_hook="{{ record_build_watermark() }}",
) }}

with

messages as (
    select * from {{ ref('int_messages_deduplicated') }}
),
{%- if is_incremental() %}

-- the conversations that rows classified since the last build touch
changed_conversations as (
    {{ changed_conversation_ids(ref('int_events_unioned')) }}
),
{%- endif %}

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
    {%- if is_incremental() %}
    where conversation_id in (select changed.conversation_id from changed_conversations as changed)
    {%- endif %}
)

select * from select_message_columns

-- depends_on: {{ ref('int_events_unioned') }}
