{{ config(
    materialized='incremental',
    incremental_strategy='append',
    on_schema_change='fail',
    pre_hook="{{ delete_changed_conversations(ref('int_conversations_changed')) }}",
    post_hook="{{ record_build_watermark() }}",
) }}

-- The chat events of every conversation with their own ids; int_conversations_assembled stitches
-- the conversation's user from them, so that a relink rewrites no event (DECISIONLOG D49).

with

events as (
    select * from {{ ref('int_events_unioned') }}
),

{%- if is_incremental() %}

-- the conversations logged as changed since this model's last build: all their events again,
-- from the staging rows of the builds that classified them (D49)
changed_conversations as (
    {{ conversations_to_reassemble(ref('int_conversations_changed')) }}
),
{%- endif %}

select_chat_events as (
    select * from events
    where
        event_class = 'chat'
    {%- if is_incremental() %}
        and classified_at >= {{ earliest_classification_to_read(ref('int_conversations_changed'), 'int_conversations_assembled') }}
        and conversation_id in (select changed.conversation_id from changed_conversations as changed)
    {%- endif %}
),

select_event_columns as (
    select
        -- keys and lineage
        source,
        event_id,
        load_id,
        landed_at,

        -- time and event
        event_at,
        received_at,
        event_name,

        -- identity: the event's own ids (PII)
        user_id,
        anonymous_id,

        -- conversation properties
        conversation_id,
        channel,
        bot_version,
        locale,
        message_id,
        sender,
        message_length,
        intent,
        confidence,
        is_fallback,
        escalation_reason,
        queue,
        resolved_by,
        rating,
        ended_by,

        -- bookkeeping: the build that classified the event in staging (D49) and the build that
        -- (re)assembled the row (D27)
        classified_at,
        {{ build_started_at() }} as reassembled_at
    from select_chat_events
)

select * from select_event_columns

-- depends_on: {{ ref('int_conversations_changed') }}
