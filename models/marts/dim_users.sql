{{ config(
    materialized='incremental',
    incremental_strategy='append',
    on_schema_change='fail',
    pre_hook="{{ delete_keys_to_recompute(ref('int_conversations_assembled'), {'user_key': 'user_key'}, row_filter='user_key is not null') }}",
    post_hook="{{ record_build_watermark() }}",
) }}

-- incremental: only the users of the conversations rewritten since the last build, now or
-- before (DECISIONLOG D38)

with

conversations as (
    select * from {{ ref('int_conversations_assembled') }}
    where user_key is not null
),

select_users_to_compute as (
    {{ rows_of_missing_keys('conversations', ['user_key']) }}
),

summarise_users as (
    select
        user_key,
        count(case when is_identified then 1 end) > 0 as is_identified,
        min(started_at) as first_conversation_at,
        max(started_at) as last_conversation_at,
        count(*) as conversations,
        count(case when is_engaged then 1 end) as engaged_conversations,
        count(case when outcome = 'escalated' then 1 end) as escalated_conversations,
        count(csat_rating) as rated_conversations
    from select_users_to_compute
    group by user_key
)

select * from summarise_users
