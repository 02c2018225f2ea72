with

conversations as (
    select * from {{ ref('int_conversations_assembled') }}
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
    from conversations
    where user_key is not null
    group by user_key
)

select * from summarise_users
