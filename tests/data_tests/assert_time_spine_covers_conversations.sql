{{ config(severity='warn') }}

{#- The semantic layer's time spine has a day for every conversation_date (DECISIONLOG). A
    conversation outside it still counts in every metric, but MetricFlow queries that join the
    spine (days without data, offsets, cumulative windows) would miss it. Returns the dates that
    are not covered. -#}

with

conversations as (
    select * from {{ ref('fct_conversations') }}
),

time_spine as (
    select * from {{ ref('metricflow_time_spine') }}
),

find_uncovered_dates as (
    select distinct conversations.conversation_date
    from conversations
    left join time_spine
        on conversations.conversation_date = time_spine.date_day
    where time_spine.date_day is null
)

select * from find_uncovered_dates
