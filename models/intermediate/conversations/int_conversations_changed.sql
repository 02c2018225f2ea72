{{ config(
    materialized='incremental',
    incremental_strategy='append',
    on_schema_change='fail',
    pre_hook="{{ delete_absorbed_changes() }}",
    post_hook="{{ record_build_watermark() }}",
) }}

-- The build's log of conversations to reassemble (DECISIONLOG D27): worked out once per build and
-- read by every model kept per conversation, each from its own watermark on. A full build logs
-- every conversation, so that a model built incrementally after it reassembles all of them. The
-- rows every model has absorbed are deleted before the next build logs its own.

with

events as (
    select * from {{ ref('int_events_unioned') }}
),

-- incremental: the conversations that rows classified since this model's last build touch;
-- full: every conversation
changed_conversations as (
    {%- if is_incremental() %}
        {{ changed_conversation_ids(ref('int_events_unioned')) }}
    {%- else %}
        select distinct events.payload_conversation_id as conversation_id
        from events
        where events.payload_conversation_id is not null
    {%- endif %}
),

log_changes as (
    select
        changed.conversation_id,
        {{ build_started_at() }} as changed_at
    from changed_conversations as changed
)

select * from log_changes
