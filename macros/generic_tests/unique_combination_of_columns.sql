{#- Fails with one row per combination of `combination_of_columns` that occurs more than once
    (the grain test of a model whose primary key spans several columns). -#}
{% test unique_combination_of_columns(model, combination_of_columns) -%}

with

duplicated_combinations as (
    select
        {{ combination_of_columns | join(',\n        ') }},
        count(*) as occurrences
    from {{ model }}
    group by {{ combination_of_columns | join(', ') }}
    having count(*) > 1
)

select * from duplicated_combinations

{%- endtest %}
