with

segment_events as (
    select * from {{ ref('stg_segment__events') }}
),

rudderstack_events as (
    select * from {{ ref('stg_rudderstack__events') }}
),

snowplow_events as (
    select * from {{ ref('stg_snowplow__events') }}
),

-- the three have the same contracted columns, in the same order
unioned as (
    select * from segment_events
    union all
    select * from rudderstack_events
    union all
    select * from snowplow_events
)

select * from unioned  -- noqa: AM04
