{#- Incremental bookkeeping (SPEC §6). Every staging row carries `classified_at`, the start of the
    build that (re)classified it. Each incremental model downstream records in
    `intermediate.build_watermarks` the start of the last build it completed in; the rows it still
    has to absorb are those classified after that. A model that fails keeps its old watermark and
    catches up in the next build; absorbing a row twice gives the same result. -#}

{% macro build_started_at() -%}
    cast('{{ run_started_at.strftime("%Y-%m-%d %H:%M:%S.%f") }}' as {{ dbt.type_timestamp() }})
{%- endmacro %}


{#- A bookkeeping table of the build in schema `intermediate` (not a model: hooks keep it). -#}
{% macro bookkeeping_relation(identifier) -%}
    {{ return(api.Relation.create(
        database=target.database,
        schema='intermediate',
        identifier=identifier
    )) }}
{%- endmacro %}


{% macro build_watermarks_relation() -%}
    {{ return(bookkeeping_relation('build_watermarks')) }}
{%- endmacro %}


{#- on-run-start: the watermark table, created once. -#}
{% macro create_build_watermarks() -%}
    {%- set relation = build_watermarks_relation() -%}
    create schema if not exists {{ relation.without_identifier() }};
    create table if not exists {{ relation }} (
        model_name {{ dbt.type_string() }} primary key,
        classified_through {{ dbt.type_timestamp() }} not null
    )
{%- endmacro %}


{#- post-hook of every incremental model after staging (full refresh included): it has absorbed
    every row classified up to this build's start. -#}
{% macro record_build_watermark() -%}
    {%- set relation = build_watermarks_relation() -%}
    delete from {{ relation }} where model_name = '{{ this.identifier }}';
    insert into {{ relation }} (model_name, classified_through)
    values ('{{ this.identifier }}', {{ build_started_at() }})
{%- endmacro %}


{#- The rows of `rows` stamped (`stamp_column`: `classified_at` of staging rows, `reassembled_at`
    of conversation models) after this model's watermark, which it has not absorbed yet: all of
    them on a full build. -#}
{% macro unabsorbed_rows(rows, stamp_column='classified_at') -%}
    select * from {{ rows }}
    {%- if is_incremental() %}
    where {{ stamp_column }} > {{ build_watermark() }}
    {%- endif %}
{%- endmacro %}


{#- The epoch as a timestamp literal: the watermark of a model or test that has none yet. -#}
{% macro epoch_timestamp() -%}
    {{ return("cast('1970-01-01' as " ~ dbt.type_timestamp() ~ ")") }}
{%- endmacro %}


{#- The timestamp that `query` (one value, cast to a string) reads from the bookkeeping table
    `relation`, as a timestamp literal worked out when the node is rendered for execution; the
    epoch while dbt parses, when the table does not exist yet, or when the query finds no row or
    NULL. -#}
{% macro recorded_timestamp(relation, query) -%}
    {%- set epoch = epoch_timestamp() -%}
    {%- if not execute
        or adapter.get_relation(relation.database, relation.schema, relation.identifier) is none -%}
        {{ return(epoch) }}
    {%- endif -%}
    {%- set found = run_query(query) -%}
    {%- if found.rows | length == 0 or found.rows[0][0] is none -%}
        {{ return(epoch) }}
    {%- endif -%}
    {{ return("cast('" ~ found.rows[0][0] ~ "' as " ~ dbt.type_timestamp() ~ ")") }}
{%- endmacro %}


{#- This model's watermark (the epoch when it has none yet), as a timestamp literal: read from
    `intermediate.build_watermarks` when the model is rendered for execution, so that DuckDB can
    compare it with the min/max statistics of each row group and skip the row groups written
    before it (rows are (re)written at the end of the table, so the new ones are in the last few).
    While dbt parses the project it stays a subquery. -#}
{% macro build_watermark() -%}
    {%- set epoch = epoch_timestamp() -%}
    {%- set lookup -%}
        select watermarks.classified_through
        from {{ build_watermarks_relation() }} as watermarks
        where watermarks.model_name = '{{ this.identifier }}'
    {%- endset -%}
    {%- if execute -%}
        {%- set found = run_query(
            "select cast(classified_through as " ~ dbt.type_string() ~ ") from ("
            ~ lookup ~ ") as watermark"
        ) -%}
        {%- if found.rows | length > 0 -%}
            cast('{{ found.rows[0][0] }}' as {{ dbt.type_timestamp() }})
        {%- else -%}
            {{ epoch }}
        {%- endif -%}
    {%- else -%}
        coalesce(({{ lookup }}), {{ epoch }})
    {%- endif -%}
{%- endmacro %}


{#- The conversations an incremental build has to reassemble from their events
    (int_conversations_changed logs them once per build): those that a row classified since this
    model's watermark belongs or belonged to (`payload_conversation_id` is the same whatever the
    row's class, so a chat row that became a duplicate still names its conversation). A
    conversation whose anonymous id was only linked to another user is not reassembled: its
    user is updated in place in int_conversations_assembled (D49). -#}
{% macro changed_conversation_ids(events) -%}
    select distinct unabsorbed.payload_conversation_id as conversation_id
    from ({{ unabsorbed_rows(events) }}) as unabsorbed
    where unabsorbed.payload_conversation_id is not null
{%- endmacro %}


{#- pre-hook of int_conversations_changed: on an incremental build, delete the rows logged no later
    than the oldest watermark of what reads the log: the models (their build watermarks) and the
    data tests scoped by it that have passed before (the watermarks of their last passes, D48).
    Each reads only the rows logged after its own watermark, so none reads these again; a model
    that failed or was left out of a build, or a test that failed since it last passed, keeps
    its old watermark, and with it the rows it has not seen yet. While any of the models has no
    watermark, nothing is deleted; a test that never passed checks every row, not the log. -#}
{% macro delete_absorbed_changes() -%}
    {%- if is_incremental() and execute %}
    {%- set models = [] %}
    {%- set tests = [] %}
    {%- for node in graph.nodes.values() %}
        {%- if model.unique_id in node.depends_on.nodes %}
            {%- if node.resource_type == 'model' %}
                {%- do models.append(node.alias or node.name) %}
            {%- elif node.resource_type == 'test' %}
                {%- do tests.append(node.alias or node.name) %}
            {%- endif %}
        {%- endif %}
    {%- endfor %}
    {%- if models %}
    delete from {{ this }}
    where changed_at <= (
        select case when count(watermarks.model_name) = count(*) then min(watermarks.classified_through) end
        from (
            {%- for reader in models %}
            select '{{ reader }}' as model_name{{ " union all" if not loop.last }}
            {%- endfor %}
        ) as readers
        left join {{ build_watermarks_relation() }} as watermarks
            on readers.model_name = watermarks.model_name
    )
    {%- if tests %}
    and not exists (
        select 1
        from {{ test_watermarks_relation() }} as passes
        where
            passes.test_name in (
                {%- for test in tests %}
                '{{ test }}'{{ "," if not loop.last }}
                {%- endfor %}
            )
            and passes.passed_at < {{ this }}.changed_at
    )
    {%- endif %}
    {%- endif %}
    {%- endif %}
{%- endmacro %}


{#- The conversations a model kept per conversation reassembles in this build: those logged in
    `changes` (int_conversations_changed) since the model's watermark. -#}
{% macro conversations_to_reassemble(changes) -%}
    select distinct logged.conversation_id
    from {{ changes }} as logged
    where logged.changed_at > {{ build_watermark() }}
{%- endmacro %}


{#- The rows of `assembled` (a model kept per conversation, with `reassembled_at`) that this model
    reads: all of them on a full build; on an incremental build, those of the conversations it
    reassembles. Each such conversation was reassembled upstream after this model's watermark,
    so its rows are among the last ones written, and the row groups before them are skipped. -#}
{% macro reassembled_rows(assembled, changes) -%}
    select * from {{ assembled }}
    {%- if is_incremental() %}
    where
        reassembled_at > {{ build_watermark() }}
        and conversation_id in ({{ conversations_to_reassemble(changes) }})
    {%- endif %}
{%- endmacro %}


{#- The events of `events` (int_conversation_events, kept per event) that a model kept per
    conversation reads: all of them on a full build; on an incremental build, every event of the
    conversations it reassembles, whichever build wrote it (D50), and none earlier than the
    earliest first event of those conversations, so that DuckDB skips the row groups of earlier
    events from their min/max statistics (the events are written in event time order). -#}
{% macro changed_conversation_events(events, changes) -%}
    select * from {{ events }}
    {%- if is_incremental() %}
    where
        event_at >= {{ earliest_event_to_read(changes) }}
        and conversation_id in ({{ conversations_to_reassemble(changes) }})
    {%- endif %}
{%- endmacro %}


{#- The bookkeeping table of the time of each conversation's first event, kept by
    int_conversation_events (`record_first_event_times`). -#}
{% macro first_event_times_relation() -%}
    {{ return(bookkeeping_relation('conversation_first_events')) }}
{%- endmacro %}


{#- post-hook of int_conversation_events (in its transaction, so that the table always covers the
    events it holds): a full build records each conversation's earliest event time; an
    incremental build appends the earliest of the events it wrote for each conversation. The
    earliest row of a conversation is then no later than any of its events (an event deleted
    since may have been earlier; that only widens a read). -#}
{% macro record_first_event_times() -%}
    {%- set relation = first_event_times_relation() -%}
    {%- set exists = adapter.get_relation(relation.database, relation.schema, relation.identifier) is not none -%}
    {%- if is_incremental() and exists %}
    insert into {{ relation }} (conversation_id, first_event_at)
    select conversation_id, min(event_at)
    from {{ this }}
    where reassembled_at = {{ build_started_at() }}
    group by conversation_id
    {%- else %}
    create or replace table {{ relation }} as
    select conversation_id, min(event_at) as first_event_at
    from {{ this }}
    group by conversation_id
    {%- endif %}
{%- endmacro %}


{#- The earliest first event time among the conversations this model reassembles (D50), as a
    timestamp literal worked out when the model is rendered for execution: no event of those
    conversations is earlier. The epoch (every event) while dbt parses, when the bookkeeping
    table is missing, or when there is no such conversation. -#}
{% macro earliest_event_to_read(changes) -%}
    {%- set relation = first_event_times_relation() -%}
    {%- set bound -%}
        select cast(min(starts.first_event_at) as {{ dbt.type_string() }})
        from {{ relation }} as starts
        where starts.conversation_id in ({{ conversations_to_reassemble(changes) }})
    {%- endset -%}
    {{ return(recorded_timestamp(relation, bound)) }}
{%- endmacro %}


{#- pre-hook of fct_conversations, which reads the rows of `assembled` (int_conversations_assembled)
    stamped since its watermark: reassembled, judged again as as_of moved, or given a new user in
    place (D49). On an incremental build, remove the rows of those conversations and of those
    logged in `changes` since its watermark (which covers a conversation left with no events, no
    longer in `assembled`). -#}
{% macro delete_rewritten_conversations(assembled, changes) -%}
    {%- if is_incremental() %}
    delete from {{ this }}
    where
        conversation_id in ({{ conversations_to_reassemble(changes) }})
        or conversation_id in (
            select rewritten.conversation_id
            from ({{ unabsorbed_rows(assembled, 'reassembled_at') }}) as rewritten
        )
    {%- endif %}
{%- endmacro %}


{#- pre-hook of a model kept per conversation: on an incremental build, remove the rows of the
    conversations it is about to reassemble (in the build's transaction; the model then appends
    their new rows, and a conversation left with no events simply stays removed). -#}
{% macro delete_changed_conversations(changes) -%}
    {%- if is_incremental() %}
    delete from {{ this }}
    where conversation_id in ({{ conversations_to_reassemble(changes) }})
    {%- endif %}
{%- endmacro %}


{#- The landed rows a staging model classifies: on an incremental build, the rows of the loads it
    has not seen yet and every earlier row that shares an envelope id with them (SPEC §4: which
    copy is the first one, and whether the others collide, is decided among all copies). The
    loads are compared as distinct ids (a few hundred), not row by row. The earlier copies are
    looked for among the rows already classified, by the hash of their id (`event_id_hash`, one
    narrow column) rather than by the id itself, and each match is confirmed on the id: reading
    every earlier id took most of an incremental staging build (DECISIONLOG D55). An id that is
    blank has no hash and no copies (its rows are rejected whatever else lands). -#}
{% macro landed_rows_to_classify(landed, envelope_id) -%}
    {%- if is_incremental() %}
    {{ return(adapter.dispatch('landed_rows_to_classify', 'chat_analytics')(landed, envelope_id)) }}
    {%- else %}
    select * from {{ landed }}
    {%- endif %}
{%- endmacro %}

{#- The opening CTEs of both versions below: `new_loads` (the loads the staging model has not
    classified yet), `new_envelope_ids` (the distinct envelope ids of their rows, with their
    hashes) and `hash_matches` (the classified rows whose id hashes as a new id does, found on
    that one integer column; each is confirmed on the id by the version using it). -#}
{% macro classification_candidates(landed, envelope_id) -%}
    new_loads as (
        select landed_loads.load_id
        from (select distinct landed_load_ids.load_id from {{ landed }} as landed_load_ids) as landed_loads
        where landed_loads.load_id not in (select distinct classified.load_id from {{ this }} as classified)
    ),

    new_envelope_ids as (
        select distinct
            new_rows.{{ envelope_id }} as event_id,
            {{ hash64('new_rows.' ~ envelope_id) }} as event_id_hash
        from {{ landed }} as new_rows
        where new_rows.load_id in (select new_loads.load_id from new_loads)
    ),

    hash_matches as (
        select
            classified.load_id,
            classified.line_number
        from {{ this }} as classified
        where classified.event_id_hash in (select new_envelope_ids.event_id_hash from new_envelope_ids)
    )
{%- endmacro %}

{% macro default__landed_rows_to_classify(landed, envelope_id) -%}
    with {{ classification_candidates(landed, envelope_id) }}

    select * from {{ landed }}
    where load_id in (select new_loads.load_id from new_loads)
    union all
    select landed_rows.*
    from {{ landed }} as landed_rows
    inner join hash_matches
        on
            landed_rows.load_id = hash_matches.load_id
            and landed_rows.line_number = hash_matches.line_number
    where landed_rows.{{ envelope_id }} in (select new_envelope_ids.event_id from new_envelope_ids)
{%- endmacro %}

{#- DuckDB: the hash matches are located in the landed table on its two integer columns and
    fetched by rowid, so that neither the ids nor the wide table are read in full; the id is
    confirmed on the few rows fetched. -#}
{% macro duckdb__landed_rows_to_classify(landed, envelope_id) -%}
    with {{ classification_candidates(landed, envelope_id) }},

    earlier_copies as (
        select copies.rowid as landed_row
        from {{ landed }} as copies
        inner join hash_matches
            on
                copies.load_id = hash_matches.load_id
                and copies.line_number = hash_matches.line_number
    )

    select * from {{ landed }}
    where load_id in (select new_loads.load_id from new_loads)
    union all
    select * from {{ landed }}
    where
        rowid in (select earlier_copies.landed_row from earlier_copies)
        and {{ envelope_id }} in (select new_envelope_ids.event_id from new_envelope_ids)
{%- endmacro %}


{#- The anonymous ids that a row classified since this model's watermark carries together with a
    user id: their link is worked out again. -#}
{% macro linking_anonymous_ids(events) -%}
    select distinct unabsorbed.anonymous_id
    from ({{ unabsorbed_rows(events) }}) as unabsorbed
    where unabsorbed.anonymous_id is not null and unabsorbed.user_id is not null
{%- endmacro %}


{#- The anonymous ids whose linked user changed since this model's watermark: int_identities_stitched
    stamps `relinked_at` when it links an anonymous id for the first time or to another user;
    an anonymous id that a row classified since then carries with a user id but that has no link
    (any more) is counted too. -#}
{% macro relinked_anonymous_ids(events, identities) -%}
    select relinked.anonymous_id
    from {{ identities }} as relinked
    where relinked.relinked_at > {{ build_watermark() }}
    union
    select linking.anonymous_id
    from ({{ linking_anonymous_ids(events) }}) as linking
    where not exists (
        select 1
        from {{ identities }} as linked
        where linked.anonymous_id = linking.anonymous_id
    )
{%- endmacro %}


{#- The anonymous ids relinked since this model's watermark with the user each is linked to now
    (null when it has no link any more). -#}
{% macro relinked_users(events, identities) -%}
    select
        relinked.anonymous_id,
        links.user_id
    from ({{ relinked_anonymous_ids(events, identities) }}) as relinked
    left join {{ identities }} as links
        on relinked.anonymous_id = links.anonymous_id
{%- endmacro %}


{#- post-hook of int_conversations_assembled, before its watermark is recorded (D49): a stored
    conversation whose user event (its earliest event with an id) carries no user id of its own
    and an anonymous id relinked since the model's watermark takes its new user in place, stamped
    with this build's start in `reassembled_at` when the user changes, so that the models after
    it rewrite it. -#}
{% macro restitch_relinked_conversations(events, identities) -%}
    {%- if is_incremental() %}
    {%- set new_user_key = user_key(stitched_user_id(
        'conversations.user_event_user_id', 'relinks.user_id', 'conversations.user_event_anonymous_id'
    )) %}
    update {{ this }} as conversations
    set
        user_key = {{ new_user_key }},
        is_identified = relinks.user_id is not null,
        reassembled_at = {{ build_started_at() }}
    from ({{ relinked_users(events, identities) }}) as relinks
    where
        conversations.user_event_user_id is null
        and conversations.user_event_anonymous_id = relinks.anonymous_id
        and (
            conversations.user_key is distinct from {{ new_user_key }}
            or conversations.is_identified is distinct from (relinks.user_id is not null)
        )
    {%- endif %}
{%- endmacro %}


{#- post-hook of int_identities_stitched: an anonymous id whose stored link was worked out again
    from all its rows and that has no linking row left is written without a user; remove it. -#}
{% macro delete_lost_identity_links() -%}
    delete from {{ this }} where user_id is null
{%- endmacro %}


{#- pre-hook of a model kept per landed row, per event or per day: on an incremental build,
    remove its rows whose key (`key_columns`, columns of both it and `events`) a row classified
    since its watermark has; the model then appends them again from their current rows. With
    `earliest_column` (a column of both whose value a stored row shares with an unabsorbed row of
    its key), only rows no earlier than the earliest value among the unabsorbed rows are
    compared, so that DuckDB skips the row groups before it (worked out when rendered for
    execution). -#}
{% macro delete_unabsorbed_keys(events, key_columns, earliest_column=none) -%}
    {%- if is_incremental() %}
    {%- set earliest = none %}
    {%- if earliest_column and execute %}
        {%- set found = run_query(
            "select cast(min(unabsorbed." ~ earliest_column ~ ") as " ~ dbt.type_string() ~ ") from ("
            ~ unabsorbed_rows(events) ~ ") as unabsorbed"
        ) %}
        {%- set earliest = found.rows[0][0] if found.rows | length > 0 else none %}
    {%- endif %}
    delete from {{ this }}
    using (
        select distinct {{ key_columns | join(', ') }}
        from ({{ unabsorbed_rows(events) }}) as unabsorbed
    ) as changed_keys
    where
        {%- for column in key_columns %}
        {{ this }}.{{ column }} = changed_keys.{{ column }}{{ " and" if not loop.last }}
        {%- endfor %}
        {%- if earliest is not none %}
        and {{ this }}.{{ earliest_column }} >= cast('{{ earliest }}' as {{ dbt.type_timestamp() }})
        {%- endif %}
    {%- endif %}
{%- endmacro %}


{#- Whether a conversation whose last event is at `last_event_at` is still open at `as_of`
    (in_progress rather than abandoned, SPEC §5): its last event is less than
    `conversation_timeout_minutes` before as_of. -#}
{% macro is_open_at(last_event_at, as_of) -%}
    {{ last_event_at }} > {{ dbt.dateadd('minute', -1 * var('conversation_timeout_minutes'), as_of) }}
{%- endmacro %}


{#- post-hook of int_conversations_assembled: as_of moves with every build, so on an incremental
    build every in_progress / abandoned conversation kept from earlier builds is judged again
    against the new as_of (the conversations reassembled in this build already were). A row
    whose outcome changes gets this build's start in `reassembled_at`, so that fct_conversations,
    the marts aggregated from it and the data tests scoped to the rows written since they last
    passed see it (D35). -#}
{% macro reevaluate_open_conversations() -%}
    {%- if is_incremental() %}
    update {{ this }} as conversations
    set
        outcome = case when {{ is_open_at('conversations.last_event_at', 'latest.as_of') }} then 'in_progress' else 'abandoned' end,
        reassembled_at = {{ build_started_at() }}
    from (select max(last_event_at) as as_of from {{ this }}) as latest
    where
        conversations.outcome in ('in_progress', 'abandoned')
        and conversations.outcome
        <> case when {{ is_open_at('conversations.last_event_at', 'latest.as_of') }} then 'in_progress' else 'abandoned' end
    {%- endif %}
{%- endmacro %}


{#- The keys of a mart aggregated from int_conversations_assembled (a day and channel, a day and
    intent, a user) that an incremental build computes again: the keys of every conversation
    rewritten or judged again since this model's watermark (`reassembled_at`), and every stored
    key whose count of conversations (`counted`, on the stored rows that `stored_filter` selects)
    differs from a recount, which is how a key that a conversation left is found (its date,
    channel, intent or user changed, or it has no rows any more). With both, every other key's
    conversations are the ones it was computed from. `keys`: column name -> expression over the
    conversation rows; `row_filter`: the rows the mart aggregates. -#}
{% macro keys_to_recompute(conversations, keys, counted='conversations', stored_filter=none, row_filter=none) -%}
    select
        {%- for name, expression in keys.items() %}
        {{ expression }} as {{ name }}{{ ',' if not loop.last }}
        {%- endfor %}
    from {{ conversations }}
    where
        reassembled_at > {{ build_watermark() }}
        {%- if row_filter %}
        and {{ row_filter }}
        {%- endif %}
    union
    select
        {%- for name in keys %}
        stored.{{ name }}{{ ',' if not loop.last }}
        {%- endfor %}
    from (
        select
            {%- for name in keys %}
            {{ name }},
            {%- endfor %}
            {{ counted }} as conversations_counted
        from {{ this }}
        {%- if stored_filter %}
        where {{ stored_filter }}
        {%- endif %}
    ) as stored
    left join (
        select
            {%- for name, expression in keys.items() %}
            {{ expression }} as {{ name }},
            {%- endfor %}
            count(*) as conversations_counted
        from {{ conversations }}
        {%- if row_filter %}
        where {{ row_filter }}
        {%- endif %}
        group by
            {%- for expression in keys.values() %}
            {{ expression }}{{ ',' if not loop.last }}
            {%- endfor %}
    ) as recounted
        on
            {%- for name in keys %}
            {{ 'and ' if not loop.first }}stored.{{ name }} is not distinct from recounted.{{ name }}
            {%- endfor %}
    where recounted.conversations_counted is distinct from stored.conversations_counted
{%- endmacro %}


{#- pre-hook of those marts: on an incremental build, delete the rows of the keys to compute
    again (in the build's transaction); the model then appends the keys it no longer has. -#}
{% macro delete_keys_to_recompute(conversations, keys, counted='conversations', stored_filter=none, row_filter=none) -%}
    {%- if is_incremental() %}
    delete from {{ this }}
    using ({{ keys_to_recompute(conversations, keys, counted, stored_filter, row_filter) }}) as recomputed
    where
        {%- for name in keys %}
        {{ 'and ' if not loop.first }}{{ this }}.{{ name }} is not distinct from recomputed.{{ name }}
        {%- endfor %}
    {%- endif %}
{%- endmacro %}


{#- The rows of `rows` (a CTE with the key columns) that such a mart aggregates: all of them on a
    full build; on an incremental build, after its pre-hook, those of the keys it no longer has. -#}
{% macro rows_of_missing_keys(rows, key_columns) -%}
    select * from {{ rows }} as candidate_rows
    {%- if is_incremental() %}
    where not exists (
        select 1
        from {{ this }} as kept
        where
            {%- for name in key_columns %}
            {{ 'and ' if not loop.first }}kept.{{ name }} is not distinct from candidate_rows.{{ name }}
            {%- endfor %}
    )
    {%- endif %}
{%- endmacro %}
