{#- Fails with every row that breaks one of several row checks, each failing row listing the
    conditions it breaks in `failed_checks`: one test (one query, one dbt node) for the accepted
    values, ranges and rules between columns of a model, where a test per check would cost a
    node each (DECISIONLOG D43).

    - `not_null`: columns that must hold a value.
    - `accepted_values`: column -> the values it may take (a string is quoted, a number not).
    - `ranges`: column -> {min_value, max_value}, inclusive; either bound may be left out.
    - `expressions`: SQL conditions every row must meet, such as a reference to another table
      (`load_id in (select load_id from …)`, as dbt's relationships test).

    A NULL passes every check but `not_null`, as in dbt's accepted_values and relationships and
    the project's accepted_range and expression_is_true.

    `changed_rows` (a condition naming `__last_passed_at__`, see test_watermarks.sql) limits the
    checks to the rows written since the test last passed, as the `where` config does; unlike
    that config it may name other models with `ref`, which the test then depends on. A test that
    never passed checks every row. -#}
{% test row_checks(model, not_null=none, accepted_values=none, ranges=none, expressions=none, changed_rows=none) -%}

{%- set conditions = [] -%}
{%- for column in not_null or [] -%}
    {%- do conditions.append(column ~ ' is not null') -%}
{%- endfor -%}
{%- for column, values in (accepted_values or {}).items() -%}
    {%- set listed = [] -%}
    {%- for value in values -%}
        {%- do listed.append("'" ~ value | replace("'", "''") ~ "'" if value is string else value | string) -%}
    {%- endfor -%}
    {%- do conditions.append(column ~ ' in (' ~ listed | join(', ') ~ ')') -%}
{%- endfor -%}
{%- for column, bounds in (ranges or {}).items() -%}
    {%- set parts = [] -%}
    {%- if bounds.get('min_value') is not none -%}
        {%- do parts.append(column ~ ' >= ' ~ bounds.get('min_value')) -%}
    {%- endif -%}
    {%- if bounds.get('max_value') is not none -%}
        {%- do parts.append(column ~ ' <= ' ~ bounds.get('max_value')) -%}
    {%- endif -%}
    {%- if not parts -%}
        {{ exceptions.raise_compiler_error("row_checks: the range of " ~ column ~ " needs min_value, max_value or both") }}
    {%- endif -%}
    {%- do conditions.append(parts | join(' and ')) -%}
{%- endfor -%}
{%- for expression in expressions or [] -%}
    {%- do conditions.append(expression | trim | replace('\n', ' ')) -%}
{%- endfor -%}
{%- if not conditions -%}
    {{ exceptions.raise_compiler_error("row_checks needs not_null, accepted_values, ranges or expressions") }}
{%- endif -%}
{%- set changed = changed_rows_since_last_pass(changed_rows) %}

with

failing_rows as (
    select *
    from {{ model }}
    where
        {%- if changed %}
        ({{ changed }})
        and (
        {%- endif %}
        {%- for condition in conditions %}
        {{ 'or ' if not loop.first }}not coalesce({{ condition }}, true)
        {%- endfor %}
        {%- if changed %}
        )
        {%- endif %}
)

select
    concat_ws(
        '; '
        {%- for condition in conditions %},
        case when not coalesce({{ condition }}, true) then '{{ condition | replace("'", "''") }}' end
        {%- endfor %}
    ) as failed_checks,
    failing_rows.*
from failing_rows

{%- endtest %}
