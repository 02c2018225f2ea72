{{ config(
    materialized='incremental',
    incremental_strategy='append',
    on_schema_change='fail',
    pre_hook="{{ delete_keys_to_recompute(ref('int_conversations_assembled'), {'conversation_date': 'conversation_date', 'channel': 'channel'}) }}",
    post_hook="{{ record_build_watermark() }}",
) }}

-- incremental: only the days and channels that a conversation rewritten since the last build
-- touches now or touched before (DECISIONLOG D38)

with

conversations as (
    select * from {{ ref('int_conversations_assembled') }}
),

select_keys_to_compute as (
    {{ rows_of_missing_keys('conversations', ['conversation_date', 'channel']) }}
),

aggregate_by_day_and_channel as (
    select
        conversation_date,
        channel,
        {{ conversation_rate_columns() }}
    from select_keys_to_compute
    group by conversation_date, channel
)

select * from aggregate_by_day_and_channel
