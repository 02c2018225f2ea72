{#- Schemas are named exactly raw / staging / intermediate / marts: a custom schema replaces the
    target schema instead of being prefixed with it (dbt's default would give main_staging). -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema }}
    {%- else -%}
        {{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
