{#- An ISO-8601 text timestamp as a UTC `timestamp` (without time zone); NULL when it does not
    parse. A zone designator (`Z`, `+02:00`, `-0500`, `+02`) is honoured; a text without one is
    read as UTC. The result never depends on the session's TimeZone setting. -#}
{% macro parsed_iso8601_timestamp(text_expr) -%}
    {{ return(adapter.dispatch('parsed_iso8601_timestamp', 'chat_analytics')(text_expr)) }}
{%- endmacro %}

{% macro duckdb__parsed_iso8601_timestamp(text_expr) -%}
    {#- `Z` (the common case) is dropped and the rest read as UTC, without time-zone arithmetic;
        any other zone goes through timestamptz and its epoch, which no session setting changes. -#}
    case
        when {{ text_expr }} like '%Z' or {{ text_expr }} like '%z'
            then try_cast(left({{ text_expr }}, length({{ text_expr }}) - 1) as timestamp)
        when regexp_matches({{ text_expr }}, '\d:\d\d(:\d\d([.,]\d+)?)? ?[+-]\d\d(:?\d\d)?$')
            then make_timestamp(epoch_us(try_cast({{ text_expr }} as timestamptz)))
        else try_cast({{ text_expr }} as timestamp)
    end
{%- endmacro %}

{% macro default__parsed_iso8601_timestamp(text_expr) -%}
    case
        when {{ text_expr }} ~ '\d:\d\d(:\d\d([.,]\d+)?)? ?([zZ]|[+-]\d\d(:?\d\d)?)$'
            then cast({{ text_expr }} as timestamp with time zone) at time zone 'UTC'
        else cast({{ text_expr }} as timestamp)
    end
{%- endmacro %}


{#- A text timestamp already in UTC (Snowplow's `YYYY-MM-DD HH:MM:SS[.fff]`) as a `timestamp`;
    NULL when it does not parse. -#}
{% macro parsed_utc_timestamp(text_expr) -%}
    {{ return(adapter.dispatch('parsed_utc_timestamp', 'chat_analytics')(text_expr)) }}
{%- endmacro %}

{% macro duckdb__parsed_utc_timestamp(text_expr) -%}
    try_cast({{ text_expr }} as timestamp)
{%- endmacro %}

{% macro default__parsed_utc_timestamp(text_expr) -%}
    {{ dbt.safe_cast(text_expr, api.Column.translate_type('timestamp')) }}
{%- endmacro %}
