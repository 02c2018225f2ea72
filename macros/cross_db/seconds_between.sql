{#- Fractional seconds from start_at to end_at: the difference of the two epochs, exact to the
    millisecond, never a count of second boundaries (dbt.datediff counts boundaries). -#}
{% macro seconds_between(start_at, end_at) -%}
    {{ return(adapter.dispatch('seconds_between', 'chat_analytics')(start_at, end_at)) }}
{%- endmacro %}

{% macro default__seconds_between(start_at, end_at) -%}
    (extract(epoch from ({{ end_at }})) - extract(epoch from ({{ start_at }})))
{%- endmacro %}

{% macro duckdb__seconds_between(start_at, end_at) -%}
    ((epoch_ms({{ end_at }}) - epoch_ms({{ start_at }})) / 1000.0)
{%- endmacro %}

{% macro spark__seconds_between(start_at, end_at) -%}
    ((unix_millis({{ end_at }}) - unix_millis({{ start_at }})) / 1000.0)
{%- endmacro %}
