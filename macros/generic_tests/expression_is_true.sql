{#- Fails with every row for which `expression` is false. A NULL result passes, as in
    dbt_utils: write `x is not null and …` to require a value. Attached to a column, the
    expression is appended to the column name (`column_name ~ ' ' ~ expression`), e.g.
    expression: ">= 0". -#}
{% test expression_is_true(model, expression, column_name=none) -%}

{%- set condition = expression if column_name is none else column_name ~ ' ' ~ expression -%}

with

violations as (
    select *
    from {{ model }}
    where not ({{ condition }})
)

select * from violations

{%- endtest %}
