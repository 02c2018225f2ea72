{{ config(severity='error') }}

{#- SPEC §4 accounting identity, per source: every row landed in raw is classified by staging
    exactly once, as chat, identity, unmapped, duplicate or rejected. The staging rows are read
    from int_events_unioned, the union every downstream model reads, so a row lost or doubled
    anywhere between raw and the interface fails it. Returns the sources where it does not hold. -#}

with

landed as (
    select
        'segment' as source,  -- noqa: RF04
        count(*) as landed_rows
    from {{ source('raw', 'segment_events') }}
    union all
    select
        'rudderstack' as source,  -- noqa: RF04
        count(*) as landed_rows
    from {{ source('raw', 'rudderstack_events') }}
    union all
    select
        'snowplow' as source,  -- noqa: RF04
        count(*) as landed_rows
    from {{ source('raw', 'snowplow_events') }}
),

events as (
    select * from {{ ref('int_events_unioned') }}
),

classified as (
    select
        source,
        count(*) as staged_rows,
        count(case when event_class = 'chat' then 1 end) as chat_rows,
        count(case when event_class = 'identity' then 1 end) as identity_rows,
        count(case when event_class = 'unmapped' then 1 end) as unmapped_rows,
        count(case when event_class = 'duplicate' then 1 end) as duplicate_rows,
        count(case when event_class = 'rejected' then 1 end) as rejected_rows
    from events
    group by source
),

compared as (
    select
        coalesce(landed.source, classified.source) as source,  -- noqa: RF04
        coalesce(landed.landed_rows, 0) as landed_rows,
        coalesce(classified.staged_rows, 0) as staged_rows,
        coalesce(classified.chat_rows, 0) as chat_rows,
        coalesce(classified.identity_rows, 0) as identity_rows,
        coalesce(classified.unmapped_rows, 0) as unmapped_rows,
        coalesce(classified.duplicate_rows, 0) as duplicate_rows,
        coalesce(classified.rejected_rows, 0) as rejected_rows
    from landed
    full outer join classified on landed.source = classified.source
),

violations as (
    select *
    from compared
    where
        landed_rows <> staged_rows
        or landed_rows
        <> chat_rows + identity_rows + unmapped_rows + duplicate_rows + rejected_rows
)

select * from violations
