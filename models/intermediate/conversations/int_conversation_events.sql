{{ config(
    materialized='incremental',
    incremental_strategy='append',
    on_schema_change='fail',
    pre_hook="{{ delete_unabsorbed_keys(ref('int_events_unioned'), ['source', 'event_id'], 'event_at') }}",
    post_hook=["{{ record_first_event_times() }}", "{{ record_build_watermark() }}"],
) }}

-- The chat events of every conversation with their own ids; int_conversations_assembled stitches
-- the conversation's user from them, so that a relink rewrites no event (DECISIONLOG D49). Kept
-- per event (D50): an incremental build rewrites the events of the staging rows classified since
-- its last build, whose envelope ids are the only ones whose first copy can have changed.

with

events as (
    select * from {{ ref('int_events_unioned') }}
),

-- incremental: the staging rows classified since this model's last build (every copy of an
-- envelope id is classified again when a new copy lands, SPEC §4)
select_chat_events as (
    select unabsorbed.*
    from ({{ unabsorbed_rows('events') }}) as unabsorbed
    where unabsorbed.event_class = 'chat'
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

        -- bookkeeping: the build that classified the event in staging (D49), the build that
        -- wrote the row (D27, D50), and the id's hash its primary-key test probes (D57)
        classified_at,
        {{ build_started_at() }} as reassembled_at,
        event_id_hash
    from select_chat_events
)

-- in event time order, so that the models after this one skip the row groups of events earlier
-- than the conversations they reassemble (D50)
select * from select_event_columns
order by event_at
