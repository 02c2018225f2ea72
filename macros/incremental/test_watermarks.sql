{#- Data tests that check only the rows written since they last passed (DECISIONLOG D35).

    A test opts in with a `where` config that compares a model's own write marker
    (`classified_at` in staging, `reassembled_at` in the conversation models: the start of the
    build that wrote the row) with the placeholder `__last_passed_at__`. The placeholder becomes
    the start of the last dbt invocation in which this very test passed, as recorded in
    `intermediate.test_watermarks` by the on-run-end hook; a test that has never passed (new,
    renamed, its arguments changed, or failing since) checks every row. A failure is therefore
    never forgotten: the rows it saw stay in scope until the test passes over them. -#}

{% macro test_watermarks_relation() -%}
    {{ return(bookkeeping_relation('test_watermarks')) }}
{%- endmacro %}


{#- on-run-start: the table, created once. -#}
{% macro create_test_watermarks() -%}
    {%- set relation = test_watermarks_relation() -%}
    create schema if not exists {{ relation.without_identifier() }};
    create table if not exists {{ relation }} (
        test_name {{ dbt.type_string() }} primary key,
        passed_at {{ dbt.type_timestamp() }} not null
    )
{%- endmacro %}


{#- on-run-end: every data test that passed in this invocation has checked every row written up
    to the invocation's start, and, when it reads incremental models that keep a build
    watermark, every row those models wrote from the rows stamped upstream up to their
    watermarks: the earliest of these instants is recorded. A test scoped by the stamps of rows
    upstream of what it tests (a mart's primary key, D46) thus still sees the rows a model
    absorbs later, when the model lagged its upstream while the test passed (`dbt test` alone
    after `dbt run` of the upstream models only). Tests that warned, failed, errored or were
    skipped keep their old watermark. Rows of tests the project no longer has (removed, renamed,
    their arguments changed) are deleted. -#}
{% macro record_passed_tests(results) -%}
    {%- if execute -%}
        {%- set relation = test_watermarks_relation() -%}
        {%- set passed = [] -%}
        {%- for result in results -%}
            {%- if result.node.resource_type == 'test' and result.status == 'pass' -%}
                {%- set read_models = [] -%}
                {%- for parent_id in result.node.depends_on.nodes -%}
                    {%- set parent = graph.nodes.get(parent_id) -%}
                    {%- if parent and parent.resource_type == 'model' -%}
                        {%- do read_models.append(parent.alias) -%}
                    {%- endif -%}
                {%- endfor -%}
                {%- for model_name in read_models or [none] -%}
                    {%- do passed.append((result.node.alias, model_name)) -%}
                {%- endfor -%}
            {%- endif -%}
        {%- endfor -%}
        {%- set known = [] -%}
        {%- for node in graph.nodes.values() -%}
            {%- if node.resource_type == 'test' -%}
                {%- do known.append(node.alias) -%}
            {%- endif -%}
        {%- endfor -%}
        {%- if passed %}
        insert or replace into {{ relation }} (test_name, passed_at)
        select
            passed.test_name,
            coalesce(min(
                case
                    when watermarks.classified_through < {{ build_started_at() }} then watermarks.classified_through
                    else {{ build_started_at() }}
                end
            ), {{ build_started_at() }}) as passed_at
        from (values
        {%- for name, model_name in passed %}
            ('{{ name }}', {{ "'" ~ model_name ~ "'" if model_name else "cast(null as " ~ dbt.type_string() ~ ")" }}){{ "," if not loop.last }}
        {%- endfor %}
        ) as passed (test_name, model_name)
        left join {{ build_watermarks_relation() }} as watermarks
            on passed.model_name = watermarks.model_name
        group by passed.test_name;
        {%- endif %}
        delete from {{ relation }}
        {%- if known %}
        where test_name not in (
            {%- for name in known %}
            '{{ name }}'{{ "," if not loop.last }}
            {%- endfor %}
        )
        {%- endif %}
    {%- endif -%}
{%- endmacro %}


{#- What last_passed_at() gives for a test that never passed: the epoch, as a timestamp literal. -#}
{% macro never_passed_at() -%}
    {{ return(epoch_timestamp()) }}
{%- endmacro %}


{#- A generic test's `changed_rows` argument as a condition on the rows written since the test
    last passed (`__last_passed_at__` replaced), or none when there is no argument or the test
    never passed: it then checks every row. A scope need not be a write marker that every row
    carries (int_conversations_changed is pruned, D48), so the epoch would not reach them all. -#}
{% macro changed_rows_since_last_pass(changed_rows) -%}
    {%- if not changed_rows -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set passed_at = last_passed_at() -%}
    {%- if passed_at == never_passed_at() -%}
        {{ return(none) }}
    {%- endif -%}
    {{ return(changed_rows | replace('__last_passed_at__', passed_at)) }}
{%- endmacro %}


{#- The start of the last invocation in which the test being rendered passed, as a timestamp
    literal (the epoch when it never did, when the table does not exist yet, and while dbt
    parses). -#}
{% macro last_passed_at() -%}
    {%- if not execute -%}
        {{ return(never_passed_at()) }}  {#- the test's own name is not known while dbt parses -#}
    {%- endif -%}
    {%- set table = test_watermarks_relation() -%}
    {{ return(recorded_timestamp(
        table,
        "select cast(passed_at as " ~ dbt.type_string() ~ ") from "
        ~ table
        ~ " where test_name = '" ~ this.identifier ~ "'"
    )) }}
{%- endmacro %}


{#- dbt wraps the relation of every generic test in this macro; here the `where` config may name
    `__last_passed_at__` (see above). Otherwise as dbt's own. -#}
{% macro get_where_subquery(relation) -%}
    {%- set where = config.get('where', '') -%}
    {%- if where and '__last_passed_at__' in where -%}
        {%- set where = where | replace('__last_passed_at__', last_passed_at()) -%}
    {%- endif -%}
    {%- if where -%}
        {%- set filtered -%}
            (select * from {{ relation }} where {{ where }}) dbt_subquery
        {%- endset -%}
        {%- do return(filtered) -%}
    {%- endif -%}
    {%- do return(relation) -%}
{%- endmacro %}
