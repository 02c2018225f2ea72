{#- Lower-case hexadecimal SHA-256 of a text expression; NULL in, NULL out. -#}
{% macro sha256_hex(expression) -%}
    {{ return(adapter.dispatch('sha256_hex', 'chat_analytics')(expression)) }}
{%- endmacro %}

{% macro default__sha256_hex(expression) -%}
    encode(sha256(convert_to({{ expression }}, 'UTF8')), 'hex')
{%- endmacro %}

{% macro duckdb__sha256_hex(expression) -%}
    lower(sha256({{ expression }}))
{%- endmacro %}

{% macro spark__sha256_hex(expression) -%}
    lower(sha2({{ expression }}, 256))
{%- endmacro %}
