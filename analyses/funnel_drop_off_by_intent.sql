-- Where conversations leave the funnel, by first intent: the share of engaged conversations of
-- each intent that were recognized, resolved and rated. Compile with `dbt compile` and run the
-- SQL in target/compiled against the build database or the published file.
with

conversations as (
    select * from {{ ref('fct_conversations') }}
),

summarise_intents as (
    select
        {{ intent_label('first_intent') }} as intent,
        count(*) filter (where is_engaged) as engaged_conversations,
        count(*) filter (where is_engaged and is_recognized) as recognized_conversations,
        count(*) filter (where is_engaged and is_resolved) as resolved_conversations,
        count(*) filter (where is_engaged and csat_rating is not null) as rated_conversations
    from conversations
    group by {{ intent_label('first_intent') }}
),

derive_shares as (
    select
        intent,
        engaged_conversations,
        recognized_conversations / nullif(engaged_conversations, 0) as recognized_share,
        resolved_conversations / nullif(engaged_conversations, 0) as resolved_share,
        rated_conversations / nullif(engaged_conversations, 0) as rated_share
    from summarise_intents
)

select * from derive_shares
order by engaged_conversations desc
