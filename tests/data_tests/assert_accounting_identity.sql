{{ config(severity='error') }}

{#- SPEC §4 accounting identity, per source: every row landed in raw is classified by staging
    exactly once, as chat, identity, unmapped, duplicate or rejected. The staging rows are read
    from int_events_unioned, the union every downstream model reads, so a row lost or doubled
    anywhere between raw and the interface fails it. That each row has exactly one of the five
    classes is held by the staging contracts (event_class NOT NULL) and by
    int_events_unioned_row_checks (event_class among the five), so the rows are counted here,
    not their classes, which would read event_class of every row at every build (DECISIONLOG
    D44). Returns the sources where it does not hold. -#}

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
        count(*) as staged_rows
    from events
    group by source
),

compared as (
    select
        coalesce(landed.source, classified.source) as source,  -- noqa: RF04
        coalesce(landed.landed_rows, 0) as landed_rows,
        coalesce(classified.staged_rows, 0) as staged_rows
    from landed
    full outer join classified on landed.source = classified.source
),

violations as (
    select *
    from compared
    where landed_rows <> staged_rows
)

select * from violations
