{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key='anonymous_id',
    on_schema_change='fail',
    post_hook=[
        "{{ delete_lost_identity_links() }}",
        "{{ record_build_watermark() }}",
    ],
) }}

-- An incremental build works out again the links of the anonymous ids that rows classified since
-- its last build carry together with a user id, from the stored link and those rows alone
-- (DECISIONLOG D39). Only when the row behind a stored link was classified again and no longer
-- links as it did (D53) are all the rows of that anonymous id read again.

{#- the classes of the rows that link an anonymous id to a user id -#}
{%- set linking_classes = "('identity', 'chat', 'unmapped')" %}

with

events as (
    select * from {{ ref('int_events_unioned') }}
),

{%- if is_incremental() %}

unabsorbed as (
    {{ unabsorbed_rows(ref('int_events_unioned')) }}
),

-- the anonymous ids that a row classified since the last build carries with a user id
linking_anonymous_ids as (
    {{ linking_anonymous_ids(ref('int_events_unioned')) }}
),

stored_links as (
    select stored.*
    from {{ this }} as stored
    inner join linking_anonymous_ids as linking
        on stored.anonymous_id = linking.anonymous_id
),

-- stored links whose row was classified again and no longer links as it did (a copy of it that
-- landed is now the first, or it is not a linking row any more): worked out from every row of
-- the anonymous id. A row classified again that still links with the stored values (a later
-- copy landed as a duplicate) keeps the link among the rows it is worked out from (D53).
links_to_rebuild as (
    select stored_links.anonymous_id
    from stored_links
    where
        exists (
            select 1
            from unabsorbed
            where
                unabsorbed.source = stored_links.link_source
                and unabsorbed.event_id = stored_links.link_event_id
        )
        and not exists (
            select 1
            from unabsorbed
            where
                unabsorbed.source = stored_links.link_source
                and unabsorbed.event_id = stored_links.link_event_id
                and unabsorbed.event_class in {{ linking_classes }}
                and unabsorbed.anonymous_id = stored_links.anonymous_id
                and unabsorbed.user_id = stored_links.user_id
                and unabsorbed.event_at = stored_links.linked_at
                and unabsorbed.received_at is not distinct from stored_links.link_received_at
        )
),

-- the rows a link is worked out from: those classified since the last build, and every row of
-- an anonymous id whose stored link is worked out again
candidate_rows as (
    select * from unabsorbed
    where anonymous_id not in (select rebuild.anonymous_id from links_to_rebuild as rebuild)
    union all
    select * from events
    where anonymous_id in (select rebuild.anonymous_id from links_to_rebuild as rebuild)
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
    from {{ 'candidate_rows' if is_incremental() else 'events' }}
    where
        event_class in {{ linking_classes }}
        and anonymous_id is not null
        and user_id is not null
    {%- if is_incremental() %}
    -- the stored link still links (its row was not classified again): it competes with the new rows
    union all
    select
        anonymous_id,
        user_id,
        linked_at as event_at,
        link_received_at as received_at,
        link_source as source,
        link_event_id as event_id
    from stored_links
    where anonymous_id not in (select rebuild.anonymous_id from links_to_rebuild as rebuild)
    {%- endif %}
),

rank_identity_links as (
    select
        *,
        row_number() over (
            partition by anonymous_id
            order by event_at desc, received_at desc nulls first, source desc, event_id desc
        ) as latest_link_rank
    from select_identity_links
),

pick_latest_links as (
    select
        anonymous_id,
        user_id,
        event_at as linked_at,
        received_at as link_received_at,
        source as link_source,
        event_id as link_event_id
    from rank_identity_links
    where latest_link_rank = 1
),

{%- if is_incremental() %}

-- a rebuilt anonymous id with no linking row left: a row without user, which replaces the stored
-- link and which the post-hook then deletes
add_lost_links as (
    select * from pick_latest_links
    union all
    select
        rebuild.anonymous_id,
        null as user_id,
        null as linked_at,
        null as link_received_at,
        null as link_source,
        null as link_event_id
    from links_to_rebuild as rebuild
    where rebuild.anonymous_id not in (select latest.anonymous_id from pick_latest_links as latest)
),

{%- endif %}

-- relinked_at moves when the linked user changes (or the anonymous id is linked for the first time)
{%- set relinked_at -%}
    {%- if is_incremental() -%}
        case
            when links.user_id is not distinct from stored_links.user_id then stored_links.relinked_at
            else {{ build_started_at() }}
        end
    {%- else -%}
        {{ build_started_at() }}
    {%- endif -%}
{%- endset %}
stamp_relinks as (
    select
        links.*,
        {{ relinked_at }} as relinked_at
    from {{ 'add_lost_links' if is_incremental() else 'pick_latest_links' }} as links
    {%- if is_incremental() %}
    left join stored_links
        on links.anonymous_id = stored_links.anonymous_id
    {%- endif %}
)

select * from stamp_relinks
