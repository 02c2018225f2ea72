{{ config(
    materialized='incremental',
    incremental_strategy='append',
    on_schema_change='fail',
    pre_hook="{{ delete_changed_conversations(ref('int_conversations_changed')) }}",
    post_hook=[
        "{{ restitch_relinked_conversations(ref('int_events_unioned'), ref('int_identities_stitched')) }}",
        "{{ record_build_watermark() }}",
        "{{ reevaluate_open_conversations() }}",
    ],
) }}

{%- set earliest = 'event_at asc, received_at asc nulls last, source asc, event_id asc' -%}
{%- set latest = 'event_at desc, received_at desc nulls first, source desc, event_id desc' -%}
{%- set user_event = 'user_id is not null or anonymous_id is not null' -%}

with

conversation_events as (
    {{ changed_conversation_events(ref('int_conversation_events'), ref('int_conversations_changed')) }}
),

identities as (
    select * from {{ ref('int_identities_stitched') }}
),

messages as (
    {{ reassembled_rows(ref('int_messages_deduplicated'), ref('int_conversations_changed')) }}
),

flag_events as (
    select
        *,
        coalesce(event_name = 'intent_detected' and not is_fallback, false) as is_recognized_intent,
        case when event_name = 'conversation_started' then 0 else 1 end as start_event_priority
    from conversation_events
),

summarise_events as (
    select
        conversation_id,

        -- time span
        min(case when event_name = 'conversation_started' then event_at end) as first_start_event_at,
        min(event_at) as first_event_at,
        max(event_at) as last_event_at,

        -- attributes: the earliest conversation_started that carries one, else the earliest event
        {{ first_by('channel', 'start_event_priority asc, ' ~ earliest, 'channel is not null') }} as channel,
        {{ first_by('bot_version', 'start_event_priority asc, ' ~ earliest, 'bot_version is not null') }}
            as bot_version,

        -- user event: the earliest event that carries any id, whose ids the user is stitched from
        {{ first_by('user_id', earliest, user_event) }} as user_event_user_id,
        {{ first_by('anonymous_id', earliest, user_event) }} as user_event_anonymous_id,

        -- intents
        count(case when event_name = 'intent_detected' then 1 end) as intents_detected,
        count(case when event_name = 'intent_detected' and is_fallback then 1 end) as fallback_intents,
        min(case when is_recognized_intent then event_at end) as recognized_at,
        {{ first_by('intent', earliest, 'is_recognized_intent') }} as first_intent,

        -- escalation and resolution: the earliest of each
        min(case when event_name = 'conversation_escalated' then event_at end) as escalated_at,
        {{ first_by('escalation_reason', earliest, "event_name = 'conversation_escalated'") }}
            as escalation_reason,
        min(case when event_name = 'conversation_resolved' then event_at end) as resolved_at,
        {{ first_by('resolved_by', earliest, "event_name = 'conversation_resolved'") }} as resolved_by,

        -- satisfaction: the latest rating counts, the first one is the funnel milestone
        {{ first_by('rating', latest, "event_name = 'satisfaction_rated'") }} as csat_rating,
        min(case when event_name = 'satisfaction_rated' then event_at end) as rated_at
    from flag_events
    group by conversation_id
),

flag_messages as (
    select
        conversation_id,
        sender,
        sent_at,
        min(case when sender = 'user' then sent_at end) over (partition by conversation_id) as first_user_message_at
    from messages
),

summarise_messages as (
    select
        conversation_id,
        count(case when sender = 'user' then 1 end) as user_messages,
        count(case when sender = 'bot' then 1 end) as bot_messages,
        count(case when sender = 'agent' then 1 end) as agent_messages,
        min(first_user_message_at) as engaged_at,
        min(case when sender in ('bot', 'agent') and sent_at >= first_user_message_at then sent_at end)
            as first_response_at
    from flag_messages
    group by conversation_id
),

-- the user: the user event's own user id, else the user its anonymous id is linked to, else the
-- anonymous id itself (a relink updates it in place, D49)
stitch_user as (
    select
        events.*,
        {{ stitched_user_id('events.user_event_user_id', 'identities.user_id', 'events.user_event_anonymous_id') }}
            as stitched_user_id,
        (events.user_event_user_id is not null or identities.user_id is not null) as is_identified
    from summarise_events as events
    left join identities
        on events.user_event_anonymous_id = identities.anonymous_id
),

join_messages as (
    select
        events.*,
        coalesce(messages.user_messages, 0) as user_messages,
        coalesce(messages.bot_messages, 0) as bot_messages,
        coalesce(messages.agent_messages, 0) as agent_messages,
        messages.engaged_at,
        messages.first_response_at
    from stitch_user as events
    left join summarise_messages as messages
        on events.conversation_id = messages.conversation_id
),

-- as_of: the latest event_at among all valid chat events, i.e. the latest last_event_at of all
-- conversations (on an incremental build: of these and of the ones kept from earlier builds)
find_as_of as (
    select max(all_conversations.last_event_at) as as_of
    from (
        select assembled.last_event_at from join_messages as assembled
        {%- if is_incremental() %}
        union all
        select kept.last_event_at from {{ this }} as kept
        {%- endif %}
    ) as all_conversations
),

derive_flags as (
    select
        join_messages.*,
        coalesce(join_messages.first_start_event_at, join_messages.first_event_at) as started_at,
        join_messages.first_start_event_at is not null as has_start_event,
        join_messages.user_messages >= 1 as is_engaged,
        join_messages.escalated_at is not null as is_escalated,
        join_messages.resolved_at is not null as is_resolved,
        (
            join_messages.escalated_at is not null
            or join_messages.agent_messages > 0
            or coalesce(join_messages.resolved_by = 'agent', false)
        ) as has_human,
        find_as_of.as_of
    from join_messages
    cross join find_as_of
),

derive_outcomes as (
    select
        *,
        case
            when not is_engaged then 'not_engaged'
            when has_human then 'escalated'
            when is_resolved then 'contained'
            when {{ is_open_at('last_event_at', 'as_of') }} then 'in_progress'
            else 'abandoned'
        end as outcome
    from derive_flags
),

assemble_conversations as (
    select
        -- keys and dimensions
        conversation_id,
        cast(started_at as date) as conversation_date,
        started_at,
        has_start_event,
        coalesce(channel, 'unknown') as channel,
        coalesce(bot_version, 'unknown') as bot_version,
        {{ user_key('stitched_user_id') }} as user_key,

        -- messages and intents
        user_messages,
        bot_messages,
        agent_messages,
        intents_detected,
        fallback_intents,
        is_engaged,
        recognized_at is not null as is_recognized,
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
        csat_rating >= 4 as is_satisfied,

        -- durations
        {{ seconds_between('engaged_at', 'first_response_at') }} as first_response_seconds,
        {{ seconds_between('started_at', 'escalated_at') }} as seconds_to_escalation,
        {{ seconds_between('started_at', 'resolved_at') }} as seconds_to_resolution,
        last_event_at,
        {{ seconds_between('started_at', 'last_event_at') }} as duration_seconds,

        -- beyond fct_conversations: user identification, funnel milestones
        is_identified,
        user_event_user_id,
        user_event_anonymous_id,
        engaged_at,
        first_response_at,
        recognized_at,
        rated_at,

        -- bookkeeping: the build that (re)assembled the row (D27)
        {{ build_started_at() }} as reassembled_at
    from derive_outcomes
)

select * from assemble_conversations

-- depends_on: {{ ref('int_conversations_changed') }}
-- depends_on: {{ ref('int_events_unioned') }}
