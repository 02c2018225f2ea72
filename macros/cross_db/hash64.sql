{#- A 64-bit integer hash of a text expression, as a signed bigint; NULL in, NULL out. Equal texts
    hash equal; different texts almost never do, so a match is confirmed on the text itself. -#}
{% macro hash64(expression) -%}
    case when {{ expression }} is not null then {{ adapter.dispatch('hash64', 'chat_analytics')(expression) }} end
{%- endmacro %}

{% macro default__hash64(expression) -%}
    hashtextextended({{ expression }}, 0)
{%- endmacro %}

{#- DuckDB's hash is an unsigned 64-bit integer: shifted right once, it fits a bigint. -#}
{% macro duckdb__hash64(expression) -%}
    cast(hash({{ expression }}) >> 1 as bigint)
{%- endmacro %}

{% macro spark__hash64(expression) -%}
    xxhash64({{ expression }})
{%- endmacro %}
