{{ config(
    materialized='incremental',
    incremental_strategy='append',
    on_schema_change='fail',
    pre_hook="{{ delete_keys_to_recompute(ref('int_conversations_assembled'), {'conversation_date': 'conversation_date', 'channel': 'channel'}, stored_filter='step_number = 1') }}",
    post_hook="{{ record_build_watermark() }}",
) }}

-- incremental: only the days and channels that a conversation rewritten since the last build
-- touches now or touched before (DECISIONLOG D38); step 1 counts every conversation of a key

with

conversations as (
    select * from {{ ref('int_conversations_assembled') }}
),

select_keys_to_compute as (
    {{ rows_of_missing_keys('conversations', ['conversation_date', 'channel']) }}
),

funnel_steps as (
    select
        1 as step_number,
        'started' as step_name
    union all
    select
        2 as step_number,
        'engaged' as step_name
    union all
    select
        3 as step_number,
        'recognized' as step_name
    union all
    select
        4 as step_number,
        'resolved' as step_name
    union all
    select
        5 as step_number,
        'rated' as step_name
),

set_funnel_deadlines as (
    select
        conversation_date,
        channel,
        engaged_at,
        recognized_at,
        resolved_at,
        rated_at,
        {{ dbt.dateadd('hour', var('funnel_window_hours'), 'started_at') }} as funnel_deadline_at
    from select_keys_to_compute
),

-- a step is reached when the previous one was and its milestone fell within the window;
-- the milestones' own order is not required
flag_reached_steps as (
    select
        conversation_date,
        channel,
        coalesce(engaged_at <= funnel_deadline_at, false) as has_reached_engaged,
        coalesce(
            engaged_at <= funnel_deadline_at
            and recognized_at <= funnel_deadline_at,
            false
        ) as has_reached_recognized,
        coalesce(
            engaged_at <= funnel_deadline_at
            and recognized_at <= funnel_deadline_at
            and resolved_at <= funnel_deadline_at,
            false
        ) as has_reached_resolved,
        coalesce(
            engaged_at <= funnel_deadline_at
            and recognized_at <= funnel_deadline_at
            and resolved_at <= funnel_deadline_at
            and rated_at <= funnel_deadline_at,
            false
        ) as has_reached_rated
    from set_funnel_deadlines
),

count_reached_steps as (
    select
        conversation_date,
        channel,
        count(*) as started_conversations,
        count(case when has_reached_engaged then 1 end) as engaged_conversations,
        count(case when has_reached_recognized then 1 end) as recognized_conversations,
        count(case when has_reached_resolved then 1 end) as resolved_conversations,
        count(case when has_reached_rated then 1 end) as rated_conversations
    from flag_reached_steps
    group by conversation_date, channel
),

unpivot_steps as (
    select
        step_counts.conversation_date,
        step_counts.channel,
        funnel_steps.step_number,
        funnel_steps.step_name,
        case funnel_steps.step_number
            when 1 then step_counts.started_conversations
            when 2 then step_counts.engaged_conversations
            when 3 then step_counts.recognized_conversations
            when 4 then step_counts.resolved_conversations
            when 5 then step_counts.rated_conversations
        end as conversations,
        step_counts.started_conversations
    from count_reached_steps as step_counts
    cross join funnel_steps
),

find_previous_steps as (
    select
        *,
        coalesce(
            lag(conversations) over (partition by conversation_date, channel order by step_number),
            conversations
        ) as previous_step_conversations
    from unpivot_steps
),

compute_conversions as (
    select
        conversation_date,
        channel,
        step_number,
        step_name,
        conversations,
        {{ safe_divide('conversations', 'previous_step_conversations') }} as conversion_from_previous,
        {{ safe_divide('conversations', 'started_conversations') }} as conversion_from_start
    from find_previous_steps
)

select * from compute_conversions
