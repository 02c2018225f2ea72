{#- Every day from 2000-01-01 to 2100-12-31: decades of margin on both sides of any chatbot
    export, so MetricFlow can join metrics to days without data, offset them or accumulate them
    (DECISIONLOG). dbt's own date_spine keeps the model the same on every engine. -#}

with

days as (
    {{ dbt.date_spine("day", "cast('2000-01-01' as date)", "cast('2101-01-01' as date)") }}
),

cast_days_to_dates as (
    select cast(date_day as date) as date_day
    from days
)

select * from cast_days_to_dates
