{{ config(severity='warn') }}

{#- Event health: a source x received day where staging rejected more than
    event_health_max_rejection_rate of the landed rows (days with fewer than
    event_health_min_daily_rows landed rows are not judged). event_rejections says which rows
    and why. -#}

with

daily as (
    select * from {{ ref('event_quality_daily') }}
),

violations as (
    select
        source,
        received_date,
        landed_rows,
        rejected_rows,
        rejected_rows * 1.0 / landed_rows as rejection_rate
    from daily
    where
        landed_rows >= {{ var('event_health_min_daily_rows') }}
        and rejected_rows * 1.0 / landed_rows > {{ var('event_health_max_rejection_rate') }}
)

select * from violations
