with

conversations as (
    select * from {{ ref('int_conversations_assembled') }}
),

aggregate_by_day_and_channel as (
    select
        conversation_date,
        channel,
        {{ conversation_rate_columns() }}
    from conversations
    group by conversation_date, channel
)

select * from aggregate_by_day_and_channel
