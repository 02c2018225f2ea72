{#- numerator / denominator as a fractional number; NULL when the denominator is 0 or NULL. -#}
{% macro safe_divide(numerator, denominator) -%}
    (({{ numerator }}) * 1.0 / nullif({{ denominator }}, 0))
{%- endmacro %}
