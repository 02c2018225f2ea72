{#- Aggregate: `value` of the first row of the group in the order `order_by` (a comma-separated
    ORDER BY list such as "event_at asc, received_at asc nulls last"), among the rows where
    `condition` holds; NULL when none does. The first row's value is returned even when it is
    NULL, as a row_number() = 1 pick would. -#}
{% macro first_by(value, order_by, condition='true') -%}
    {{ return(adapter.dispatch('first_by', 'chat_analytics')(value, order_by, condition)) }}
{%- endmacro %}

{% macro default__first_by(value, order_by, condition) -%}
    (array_agg({{ value }} order by {{ order_by }}) filter (where {{ condition }}))[1]
{%- endmacro %}

{% macro duckdb__first_by(value, order_by, condition) -%}
    first({{ value }} order by {{ order_by }}) filter (where {{ condition }})
{%- endmacro %}

{#- Spark has no ordered aggregates: min_by / max_by over a struct of the ORDER BY terms, each
    preceded by its null flag so that NULLs sort as the term asks (NULLS LAST when it does not
    say, as in DuckDB). All terms must share one direction. -#}
{% macro spark__first_by(value, order_by, condition) -%}
    {%- set keys = [] -%}
    {%- set directions = [] -%}
    {%- for term in order_by.split(',') -%}
        {%- set words = term.split() -%}
        {%- set descending = 'desc' in (words | map('lower') | list) -%}
        {%- set lowered = term | lower -%}
        {%- set nulls_first = 'nulls first' in lowered -%}
        {%- do directions.append(descending) -%}
        {#- min_by puts false before true, max_by true before false -#}
        {%- set null_flag = (words[0] ~ ' is null') if (nulls_first == descending) else (words[0] ~ ' is not null') -%}
        {%- do keys.append(null_flag) -%}
        {%- do keys.append(words[0]) -%}
    {%- endfor -%}
    {%- if directions | unique | list | length > 1 -%}
        {{ exceptions.raise_compiler_error("first_by on Spark needs one direction for every ORDER BY term: " ~ order_by) }}
    {%- endif -%}
    {{ 'max_by' if directions[0] else 'min_by' }}({{ value }}, struct({{ keys | join(', ') }})) filter (where {{ condition }})
{%- endmacro %}
