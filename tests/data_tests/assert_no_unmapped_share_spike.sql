{{ config(severity='warn') }}

{#- Event health: a source x received day whose share of unmapped rows is more than
    event_health_unmapped_spike_factor times the share over the event_health_trailing_days
    before it — typically a renamed event that the alias seed does not know yet. Days (and
    trailing windows) with fewer than event_health_min_daily_rows landed rows are not judged. -#}
{%- set min_rows = var('event_health_min_daily_rows') -%}

with

daily as (
    select * from {{ ref('event_quality_daily') }}
),

with_trailing as (
    select
        source,
        received_date,
        landed_rows,
        unmapped_rows,
        sum(landed_rows) over trailing_days as trailing_landed_rows,
        sum(unmapped_rows) over trailing_days as trailing_unmapped_rows
    from daily
    window trailing_days as (
        partition by source
        order by received_date
        range between interval '{{ var("event_health_trailing_days") }} days' preceding
        and interval '1 day' preceding
    )
),

violations as (
    select
        source,
        received_date,
        landed_rows,
        unmapped_rows,
        unmapped_rows * 1.0 / landed_rows as unmapped_share,
        trailing_unmapped_rows * 1.0 / trailing_landed_rows as trailing_unmapped_share
    from with_trailing
    where
        landed_rows >= {{ min_rows }}
        and trailing_landed_rows >= {{ min_rows }}
        and unmapped_rows * 1.0 / landed_rows
        > {{ var('event_health_unmapped_spike_factor') }} * trailing_unmapped_rows * 1.0 / trailing_landed_rows
)

select * from violations
