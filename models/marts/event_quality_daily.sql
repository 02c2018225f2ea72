{{ config(
    materialized='incremental',
    incremental_strategy='append',
    on_schema_change='fail',
    pre_hook="{{ delete_unabsorbed_keys(ref('int_events_unioned'), ['source', 'received_date']) }}",
    post_hook="{{ record_build_watermark() }}",
) }}

with

events as (
    select * from {{ ref('int_events_unioned') }}
),

measured as (
    select
        source,
        received_date,
        event_class,
        is_id_collision,
        case
            when event_class in ('chat', 'identity', 'unmapped')
                then {{ seconds_between('event_at', 'received_at') }}
        end as lateness_seconds
    from events
    {%- if is_incremental() %}
    -- the source x days that rows classified since the last build fall on, counted again in full
    where (source, received_date) in (
        select distinct unabsorbed.source, unabsorbed.received_date
        from ({{ unabsorbed_rows(ref('int_events_unioned')) }}) as unabsorbed
    )
    {%- endif %}
),

aggregated as (
    select
        source,
        received_date,
        -- rows by class: landed = chat + identity + unmapped + duplicate + rejected
        count(*) as landed_rows,
        count(case when event_class = 'chat' then 1 end) as chat_rows,
        count(case when event_class = 'identity' then 1 end) as identity_rows,
        count(case when event_class = 'unmapped' then 1 end) as unmapped_rows,
        count(case when event_class = 'duplicate' then 1 end) as duplicate_rows,
        count(case when event_class = 'rejected' then 1 end) as rejected_rows,
        count(case when is_id_collision then 1 end) as id_collisions,
        -- lateness of the events kept (received_at - event_at)
        percentile_cont(0.5) within group (order by lateness_seconds) as median_lateness_seconds,
        percentile_cont(0.95) within group (order by lateness_seconds) as p95_lateness_seconds
    from measured
    group by source, received_date
)

select * from aggregated
