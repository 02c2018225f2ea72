{#- The shared half of every stg_<source>__events model (SPEC §3–§4): from the rows of a
    per-source `extracted` relation it returns one row per landed row, with the canonical name,
    typed and validated properties and the classification chat | identity | unmapped |
    duplicate | rejected. Column contract of `extracted` and of the result: _staging_macros.yml. -#}
{% macro classified_events(extracted, event_aliases, payload_columns) -%}

{%- set tolerance_minutes = var('future_timestamp_tolerance_minutes') -%}
{%- set fallback_intents = var('fallback_intents') -%}
{%- if fallback_intents is string -%}
    {%- set fallback_intents = fallback_intents.split(',') | map('trim') | list -%}
{%- endif -%}
{#- Which chat events carry which property (SPEC §3); `none` = every chat event. -#}
{%- set property_events = {
    'conversation_id': none,
    'channel': none,
    'bot_version': none,
    'locale': none,
    'message_id': ['message_sent', 'intent_detected'],
    'sender': ['message_sent'],
    'message_length': ['message_sent'],
    'intent': ['intent_detected'],
    'confidence': ['intent_detected'],
    'is_fallback': ['intent_detected'],
    'escalation_reason': ['conversation_escalated'],
    'queue': ['conversation_escalated'],
    'resolved_by': ['conversation_resolved'],
    'rating': ['satisfaction_rated'],
    'ended_by': ['conversation_ended'],
} -%}

with

identified as (
    select
        extracted.*,
        case when trim(extracted.event_id) <> '' then extracted.event_id end as envelope_id,
        case
            when extracted.is_chat_candidate then {{ normalised_event_name('extracted.raw_event_name') }}
        end as alias_lookup_name,
        {{ payload_fingerprint(payload_columns) }} as payload_fingerprint
    from {{ extracted }} as extracted
),

ranked as (
    select
        *,
        row_number() over by_envelope_id as copy_number,
        first_value(payload_fingerprint) over by_envelope_id as first_payload_fingerprint
    from identified
    window by_envelope_id as (
        partition by envelope_id
        order by received_at asc nulls last, load_id asc, line_number asc
    )
),

mapped as (
    select
        ranked.*,
        aliases.canonical_event,
        aliases.default_sender
    from ranked
    left join {{ event_aliases }} as aliases
        on ranked.alias_lookup_name = aliases.normalised_name
),

typed as (
    select
        *,
        {{ json_value_text('prop_conversation_id') }} as conversation_id_text,
        {{ json_value_text('prop_channel') }} as channel_text,
        {{ json_value_text('prop_bot_version') }} as bot_version_text,
        {{ json_value_text('prop_locale') }} as locale_text,
        {{ json_value_text('prop_message_id') }} as message_id_text,
        {{ json_value_string('prop_sender') }} as sender_text,
        {{ json_value_number('prop_message_length') }} as message_length_number,
        {{ json_value_string('prop_message_body') }} as message_body_text,
        {{ json_value_string('prop_intent') }} as intent_text,
        {{ json_value_number('prop_confidence') }} as confidence_number,
        {{ json_value_boolean('prop_is_fallback') }} as is_fallback_boolean,
        {{ json_value_text('prop_reason') }} as reason_text,
        {{ json_value_text('prop_queue') }} as queue_text,
        {{ json_value_string('prop_resolved_by') }} as resolved_by_text,
        {{ json_value_string('prop_ended_by') }} as ended_by_text,
        {#- `rating` wins over the legacy `score` whenever it is present, valid or not. -#}
        case
            when prop_rating is not null then {{ json_value_number('prop_rating') }}
            else {{ json_value_number('prop_score') }}
        end as rating_number
    from mapped
),

validated as (
    select
        *,
        -- required properties: NULL here means missing or invalid
        case when trim(conversation_id_text) <> '' then conversation_id_text end as checked_conversation_id,
        case
            when prop_sender is null then default_sender
            when sender_text in ('user', 'bot', 'agent') then sender_text
        end as checked_sender,
        case when trim(intent_text) <> '' then intent_text end as checked_intent,
        case
            when rating_number between 1 and 5 and rating_number = floor(rating_number)
                then cast(rating_number as {{ dbt.type_int() }})
        end as checked_rating,
        -- optional properties: invalid values read NULL, the event is kept
        case when trim(channel_text) <> '' then channel_text end as checked_channel,
        case when trim(bot_version_text) <> '' then bot_version_text end as checked_bot_version,
        case when trim(locale_text) <> '' then locale_text end as checked_locale,
        case when trim(message_id_text) <> '' then message_id_text end as checked_message_id,
        case
            when prop_message_length is null then cast(length(message_body_text) as {{ dbt.type_int() }})
            when
                message_length_number between 0 and 2147483647
                and message_length_number = floor(message_length_number)
                then cast(message_length_number as {{ dbt.type_int() }})
        end as checked_message_length,
        case when confidence_number between 0 and 1 then confidence_number end as checked_confidence,
        case
            when prop_is_fallback is not null then is_fallback_boolean
            {%- if fallback_intents | length > 0 %}
            when trim(intent_text) <> '' then intent_text in ('{{ fallback_intents | join("', '") }}')
            {%- else %}
            when trim(intent_text) <> '' then false
            {%- endif %}
        end as checked_is_fallback,
        case when trim(reason_text) <> '' then reason_text end as checked_escalation_reason,
        case when trim(queue_text) <> '' then queue_text end as checked_queue,
        case when resolved_by_text in ('bot', 'agent') then resolved_by_text end as checked_resolved_by,
        case when ended_by_text in ('user', 'bot', 'agent', 'timeout') then ended_by_text end as checked_ended_by
    from typed
),

judged as (
    select
        *,
        case
            when envelope_id is null then 'missing_event_id'
            when copy_number > 1 then null
            when event_at is null then 'invalid_timestamp'
            when event_at > {{ dbt.dateadd('minute', tolerance_minutes, 'received_at') }} then 'future_timestamp'
            when canonical_event is null then null
            when checked_conversation_id is null then 'missing_conversation_id'
            when canonical_event = 'message_sent' and checked_sender is null then 'invalid_sender'
            when canonical_event = 'intent_detected' and checked_intent is null then 'invalid_intent'
            when canonical_event = 'satisfaction_rated' and checked_rating is null then 'invalid_rating'
        end as rejection_reason
    from validated
),

classified as (
    select
        *,
        case
            when envelope_id is null then 'rejected'
            when copy_number > 1 then 'duplicate'
            when rejection_reason is not null then 'rejected'
            when canonical_event is not null then 'chat'
            when is_identify then 'identity'
            else 'unmapped'
        end as event_class,
        coalesce(
            envelope_id is not null
            and copy_number > 1
            and payload_fingerprint <> first_payload_fingerprint,
            false
        ) as is_id_collision
    from judged
),

projected as (
    select
        -- lineage
        source,
        load_id,
        file_name,
        line_number,
        landed_at,
        -- classification
        envelope_id as event_id,
        event_class,
        rejection_reason,
        is_id_collision,
        -- time
        event_at,
        received_at,
        cast(coalesce(received_at, landed_at) as date) as received_date,
        -- taxonomy
        raw_event_name,
        canonical_event as event_name,
        -- identity (PII)
        case when trim(user_id) <> '' then user_id end as user_id,
        case when trim(anonymous_id) <> '' then anonymous_id end as anonymous_id,
        -- properties (chat events only)
        {%- for property, events in property_events.items() %}
        case
            when event_class = 'chat'
                {%- if events is not none %}
                and canonical_event in ('{{ events | join("', '") }}')
                {%- endif %}
                then checked_{{ property }}
        end as {{ property }},
        {%- endfor %}
        -- incremental bookkeeping: the conversation the row names whatever its class, the
        -- build that classified it, and its envelope id hashed (where later loads look for
        -- earlier copies of their ids, D55)
        checked_conversation_id as payload_conversation_id,
        {{ build_started_at() }} as classified_at,
        {{ hash64('envelope_id') }} as event_id_hash
    from classified
)

select * from projected

{%- endmacro %}


{#- A fingerprint of the payload columns of a row: equal payloads give equal fingerprints, and
    different ones (for all practical purposes) different fingerprints. Compared between the
    copies of one envelope id to count id collisions. -#}
{% macro payload_fingerprint(columns) -%}
    {{ return(adapter.dispatch('payload_fingerprint', 'chat_analytics')(columns)) }}
{%- endmacro %}

{% macro duckdb__payload_fingerprint(columns) -%}
    hash({{ columns | join(', ') }})
{%- endmacro %}

{% macro default__payload_fingerprint(columns) -%}
    {%- set quoted = [] -%}
    {%- for column in columns -%}
        {%- do quoted.append(
            "coalesce('\"' || replace(cast(" ~ column ~ " as " ~ dbt.type_string() ~ "), '\"', '\"\"') || '\"', 'null')"
        ) -%}
    {%- endfor -%}
    {{ dbt.hash(quoted | join(" || '|' || ")) }}
{%- endmacro %}
