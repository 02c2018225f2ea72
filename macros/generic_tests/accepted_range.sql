{#- Fails with every row whose `column_name` lies outside [min_value, max_value] (either bound
    optional; strict bounds with inclusive=false). NULLs pass: pair with not_null if needed. -#}
{% test accepted_range(model, column_name, min_value=none, max_value=none, inclusive=true) -%}

{%- if min_value is none and max_value is none -%}
    {{ exceptions.raise_compiler_error("accepted_range needs min_value, max_value or both") }}
{%- endif -%}
{%- set lower = '>=' if inclusive else '>' -%}
{%- set upper = '<=' if inclusive else '<' -%}

with

out_of_range as (
    select *
    from {{ model }}
    where
        {{ column_name }} is not null
        and not (
            true
            {%- if min_value is not none %}
            and {{ column_name }} {{ lower }} {{ min_value }}
            {%- endif %}
            {%- if max_value is not none %}
            and {{ column_name }} {{ upper }} {{ max_value }}
            {%- endif %}
        )
)

select * from out_of_range

{%- endtest %}
