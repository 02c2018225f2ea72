{{ config(severity='warn') }}

{#- Event health: volume. Every source x received day from the source's first to its last day
    (a day with no rows counts as 0) is compared with the same weekday of the four weeks before
    it — weekday seasonality is the largest regular swing in chat traffic — by a robust z-score,
    0.6745 x (rows - median) / MAD, where median and MAD (median absolute deviation) are over
    those weeks. The MAD is floored at event_health_volume_min_spread x median (four quiet,
    near-identical weeks would otherwise make any wobble an anomaly). A day is flagged when
    |z| > event_health_volume_max_z and at least three of the four weeks are known; weeks whose
    median is below event_health_min_daily_rows are too small to judge. DECISIONLOG D21. -#}
with

daily as (
    select * from {{ ref('event_quality_daily') }}
),

calendar as (
    select * from {{ ref('metricflow_time_spine') }}
),

source_ranges as (
    select
        source,
        min(received_date) as first_received_date,
        max(received_date) as last_received_date
    from daily
    group by source
),

daily_volumes as (
    select
        source_ranges.source,
        calendar.date_day as received_date,
        coalesce(daily.landed_rows, 0) as landed_rows
    from source_ranges
    inner join calendar
        on calendar.date_day between source_ranges.first_received_date and source_ranges.last_received_date
    left join daily
        on
            source_ranges.source = daily.source
            and calendar.date_day = daily.received_date
),

-- the same weekday of each of the four weeks before
dated_volumes as (
    select
        *,
        cast({{ dbt.dateadd('day', -7, 'received_date') }} as date) as one_week_before,
        cast({{ dbt.dateadd('day', -14, 'received_date') }} as date) as two_weeks_before,
        cast({{ dbt.dateadd('day', -21, 'received_date') }} as date) as three_weeks_before,
        cast({{ dbt.dateadd('day', -28, 'received_date') }} as date) as four_weeks_before
    from daily_volumes
),

same_weekdays as (
    select
        judged.source,
        judged.received_date,
        judged.landed_rows,
        earlier.landed_rows as earlier_landed_rows
    from dated_volumes as judged
    inner join daily_volumes as earlier
        on
            judged.source = earlier.source
            and earlier.received_date in (
                judged.one_week_before,
                judged.two_weeks_before,
                judged.three_weeks_before,
                judged.four_weeks_before
            )
),

weekday_medians as (
    select
        source,
        received_date,
        landed_rows,
        count(*) as known_weeks,
        percentile_cont(0.5) within group (order by earlier_landed_rows) as median_landed_rows
    from same_weekdays
    group by source, received_date, landed_rows
),

weekday_spreads as (
    select
        medians.source,
        medians.received_date,
        medians.landed_rows,
        medians.known_weeks,
        medians.median_landed_rows,
        percentile_cont(0.5) within group (
            order by abs(same_weekdays.earlier_landed_rows - medians.median_landed_rows)
        ) as median_absolute_deviation
    from weekday_medians as medians
    inner join same_weekdays
        on
            medians.source = same_weekdays.source
            and medians.received_date = same_weekdays.received_date
    group by
        medians.source,
        medians.received_date,
        medians.landed_rows,
        medians.known_weeks,
        medians.median_landed_rows
),

scored as (
    select
        *,
        0.6745 * (landed_rows - median_landed_rows) / greatest(
            median_absolute_deviation,
            {{ var('event_health_volume_min_spread') }} * median_landed_rows
        ) as robust_z_score
    from weekday_spreads
    where
        known_weeks >= 3
        and median_landed_rows >= {{ var('event_health_min_daily_rows') }}
),

violations as (
    select * from scored
    where abs(robust_z_score) > {{ var('event_health_volume_max_z') }}
)

select * from violations
