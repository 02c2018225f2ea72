{{ config(
    materialized='incremental',
    incremental_strategy='append',
    on_schema_change='fail',
    pre_hook="{{ delete_rewritten_conversations(ref('int_conversations_assembled'), ref('int_conversations_changed')) }}",
    post_hook="{{ record_build_watermark() }}",
) }}

with

conversations as (
    {{ unabsorbed_rows(ref('int_conversations_assembled'), 'reassembled_at') }}
),

select_conversation_columns as (
    select
        -- keys and dimensions
        conversation_id,
        conversation_date,
        started_at,
        has_start_event,
        channel,
        bot_version,
        user_key,

        -- messages and intents
        user_messages,
        bot_messages,
        agent_messages,
        intents_detected,
        fallback_intents,
        is_engaged,
        is_recognized,
        first_intent,

        -- escalation, resolution, outcome
        is_escalated,
        escalated_at,
        escalation_reason,
        is_resolved,
        resolved_at,
        resolved_by,
        has_human,
        outcome,

        -- satisfaction
        csat_rating,
        is_satisfied,

        -- durations
        first_response_seconds,
        seconds_to_escalation,
        seconds_to_resolution,
        last_event_at,
        duration_seconds
    from conversations
)

select * from select_conversation_columns

-- depends_on: {{ ref('int_conversations_changed') }}
