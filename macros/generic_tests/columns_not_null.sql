{#- Fails with every row in which any of `columns` is NULL: one test for the required columns of
    a table, where per-column not_null tests would each cost a node of their own. -#}
{% test columns_not_null(model, columns) -%}

{%- if not columns -%}
    {{ exceptions.raise_compiler_error("columns_not_null needs at least one column") }}
{%- endif %}

with

rows_with_nulls as (
    select *
    from {{ model }}
    where
        {%- for column in columns %}
        {{ 'or ' if not loop.first }}{{ column }} is null
        {%- endfor %}
)

select * from rows_with_nulls

{%- endtest %}
