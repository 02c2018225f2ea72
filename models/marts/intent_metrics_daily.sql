{{ config(
    materialized='incremental',
    incremental_strategy='append',
    on_schema_change='fail',
    pre_hook="{{ delete_keys_to_recompute(ref('int_conversations_assembled'), {'conversation_date': 'conversation_date', 'intent': intent_label('first_intent')}) }}",
    post_hook="{{ record_build_watermark() }}",
) }}

-- incremental: only the days and intents that a conversation rewritten since the last build
-- touches now or touched before (DECISIONLOG D38)

with

conversations as (
    select * from {{ ref('int_conversations_assembled') }}
),

label_intents as (
    select
        *,
        {{ intent_label('first_intent') }} as intent
    from conversations
),

select_keys_to_compute as (
    {{ rows_of_missing_keys('label_intents', ['conversation_date', 'intent']) }}
),

aggregate_by_day_and_intent as (
    select
        conversation_date,
        intent,
        {{ conversation_rate_columns() }}
    from select_keys_to_compute
    group by conversation_date, intent
)

select * from aggregate_by_day_and_intent
