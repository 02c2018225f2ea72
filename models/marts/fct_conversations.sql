{{ config(
    materialized='incremental',
    incremental_strategy='append',
    on_schema_change='fail',
    pre_hook="{{ delete_changed_conversations(ref('int_events_unioned')) }}",
    post_hook=["{{ record_build_watermark() }}", "{{ reevaluate_open_conversations() }}"],
) }}

with

conversations as (
    select * from {{ ref('int_conversations_assembled') }}
),
{%- if is_incremental() %}

-- the conversations that rows classified since the last build touch
changed_conversations as (
    {{ changed_conversation_ids(ref('int_events_unioned')) }}
),
{%- endif %}

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
    {%- if is_incremental() %}
    where conversation_id in (select changed.conversation_id from changed_conversations as changed)
    {%- endif %}
)

select * from select_conversation_columns

-- depends_on: {{ ref('int_events_unioned') }}
