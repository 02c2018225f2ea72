with

conversations as (
    select * from {{ ref('int_conversations_assembled') }}
),

label_intents as (
    select
        *,
        coalesce(first_intent, '(none)') as intent
    from conversations
),

aggregate_by_day_and_intent as (
    select
        conversation_date,
        intent,
        {{ conversation_rate_columns() }}
    from label_intents
    group by conversation_date, intent
)

select * from aggregate_by_day_and_intent
