{#- Fails with one row per combination of `combination_of_columns` that occurs more than once
    (the grain test of a model whose primary key spans several columns; NULLs count as a value).

    With `changed_rows` (a condition naming `__last_passed_at__`, see test_watermarks.sql) only
    the combinations found among the rows written since the test last passed are checked, each
    against the whole table: a duplicate needs at least one row written since then, because the
    rows before were unique when the test passed. A test that never passed checks every
    combination.

    `changed_keys` is such a condition on the combination's columns alone (`message_key in
    (select … where reassembled_at > __last_passed_at__)`): the rows it selects are then every
    row of their combinations, and the test counts them in one pass over the table instead of
    finding the combinations first and counting them in a second. -#}
{% test unique_combination_of_columns(model, combination_of_columns, changed_rows=none, changed_keys=none) -%}

{%- if changed_rows and changed_keys -%}
    {{ exceptions.raise_compiler_error(
        "unique_combination_of_columns on " ~ model ~ ": give changed_rows or changed_keys, not both"
    ) }}
{%- endif -%}
{%- set changed = changed_rows_since_last_pass(changed_rows or changed_keys) %}

with

{% if changed and not changed_keys -%}
changed_combinations as (
    select distinct {{ combination_of_columns | join(', ') }}
    from {{ model }}
    where {{ changed }}
),

{% endif -%}
duplicated_combinations as (
    select
        {%- for column in combination_of_columns %}
        tested.{{ column }},
        {%- endfor %}
        count(*) as occurrences
    from (select * from {{ model }}) as tested  -- `model` may be a subquery with its own alias
    {%- if changed and changed_keys %}
    where {{ changed }}
    {%- elif changed %}
    inner join changed_combinations as changed
        on
        {%- for column in combination_of_columns %}
            {{ "and " if not loop.first }}tested.{{ column }} is not distinct from changed.{{ column }}
        {%- endfor %}
    {%- endif %}
    group by {% for column in combination_of_columns %}tested.{{ column }}{{ ", " if not loop.last }}{% endfor %}
    having count(*) > 1
)

select * from duplicated_combinations

{%- endtest %}
