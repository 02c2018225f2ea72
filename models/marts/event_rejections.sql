{{ config(
    materialized='incremental',
    incremental_strategy='append',
    on_schema_change='fail',
    pre_hook="{{ delete_unabsorbed_keys(ref('int_events_unioned'), ['source', 'load_id', 'line_number']) }}",
    post_hook="{{ record_build_watermark() }}",
) }}

with

events as (
    select * from {{ ref('int_events_unioned') }}
),

rejected as (
    select
        source,
        load_id,
        file_name,
        line_number,
        event_id,
        rejection_reason as reason,
        received_at
    from ({{ unabsorbed_rows('events') }}) as unabsorbed
    where event_class = 'rejected'
)

select * from rejected
