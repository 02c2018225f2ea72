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
    from events
    where event_class = 'rejected'
)

select * from rejected
