{{ config(
    materialized='incremental',
    incremental_strategy='append',
    on_schema_change='fail',
    pre_hook="{{ delete_changed_conversations(ref('int_conversations_changed')) }}",
    post_hook="{{ record_build_watermark() }}",
) }}

with

events as (
    select * from {{ ref('int_events_unioned') }}
),

identities as (
    select * from {{ ref('int_identities_stitched') }}
),

{%- if is_incremental() %}

-- the conversations logged as changed since this model's last build: all their events again
changed_conversations as (
    {{ conversations_to_reassemble(ref('int_conversations_changed')) }}
),
{%- endif %}

select_chat_events as (
    select * from events
    where
        event_class = 'chat'
    {%- if is_incremental() %}
        and conversation_id in (select changed.conversation_id from changed_conversations as changed)
    {%- endif %}
),

stitch_users as (
    select
        -- keys and lineage
        chat_events.source,
        chat_events.event_id,
        chat_events.load_id,
        chat_events.landed_at,

        -- time and event
        chat_events.event_at,
        chat_events.received_at,
        chat_events.event_name,

        -- identity: the event's own user id, else the user its anonymous id is linked to,
        -- else the anonymous id itself
        coalesce(chat_events.user_id, identities.user_id, chat_events.anonymous_id) as stitched_user_id,
        (chat_events.user_id is not null or identities.user_id is not null) as is_identified,

        -- conversation properties
        chat_events.conversation_id,
        chat_events.channel,
        chat_events.bot_version,
        chat_events.locale,
        chat_events.message_id,
        chat_events.sender,
        chat_events.message_length,
        chat_events.intent,
        chat_events.confidence,
        chat_events.is_fallback,
        chat_events.escalation_reason,
        chat_events.queue,
        chat_events.resolved_by,
        chat_events.rating,
        chat_events.ended_by,

        -- bookkeeping: the build that (re)assembled the row (DECISIONLOG D27)
        {{ build_started_at() }} as reassembled_at
    from select_chat_events as chat_events
    left join identities
        on chat_events.anonymous_id = identities.anonymous_id
)

select * from stitch_users

-- depends_on: {{ ref('int_conversations_changed') }}
