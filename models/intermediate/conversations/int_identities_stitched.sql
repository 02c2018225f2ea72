{{ config(
    materialized='incremental',
    incremental_strategy='append',
    on_schema_change='fail',
    pre_hook="{{ delete_relinked_identities(ref('int_events_unioned')) }}",
    post_hook="{{ record_build_watermark() }}",
) }}

with

events as (
    select * from {{ ref('int_events_unioned') }}
),

{%- if is_incremental() %}

-- the anonymous ids that a row classified since the last build links to a user
linking_anonymous_ids as (
    {{ linking_anonymous_ids(ref('int_events_unioned')) }}
),
{%- endif %}

select_identity_links as (
    select
        anonymous_id,
        user_id,
        event_at,
        received_at,
        source,
        event_id
    from events
    where
        event_class in ('identity', 'chat', 'unmapped')
        and anonymous_id is not null
        and user_id is not null
    {%- if is_incremental() %}
        and anonymous_id in (select linking.anonymous_id from linking_anonymous_ids as linking)
    {%- endif %}
),

rank_identity_links as (
    select
        *,
        row_number() over (
            partition by anonymous_id
            order by event_at desc, received_at desc nulls first, source desc, event_id desc
        ) as latest_link_rank,
        count(*) over (partition by anonymous_id) as linking_events
    from select_identity_links
),

pick_latest_links as (
    select
        anonymous_id,
        user_id,
        event_at as linked_at,
        linking_events
    from rank_identity_links
    where latest_link_rank = 1
)

select * from pick_latest_links
