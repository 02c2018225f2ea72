{#- SPEC §3 name normalisation: camelCase split into words (a lower-case letter or digit
    followed by an upper-case letter), lower-cased, every run of non-alphanumerics turned into
    `_`, leading and trailing `_` dropped. `Message Sent`, `messageSent`, `message-sent` and
    ` MESSAGE_SENT ` all read `message_sent`; a name with no letter or digit reads NULL. -#}
{% macro normalised_event_name(name_expr) -%}
    {{ return(adapter.dispatch('normalised_event_name', 'chat_analytics')(name_expr)) }}
{%- endmacro %}

{% macro duckdb__normalised_event_name(name_expr) -%}
    {#- A name that is already normalised (the usual case for Snowplow's Iglu names) skips the
        three rewrites: one cheap match instead of them on every row. -#}
    case
        when regexp_full_match({{ name_expr }}, '[a-z0-9]+(_[a-z0-9]+)*') then {{ name_expr }}
        else {{ default__normalised_event_name(name_expr) }}
    end
{%- endmacro %}

{% macro default__normalised_event_name(name_expr) -%}
    nullif(
        trim(
            regexp_replace(
                lower(regexp_replace({{ name_expr }}, '([a-z0-9])([A-Z])', '\1_\2', 'g')),
                '[^a-z0-9]+', '_', 'g'
            ),
            '_'
        ),
        ''
    )
{%- endmacro %}

{% macro spark__normalised_event_name(name_expr) -%}
    nullif(
        regexp_replace(
            regexp_replace(
                lower(regexp_replace({{ name_expr }}, '([a-z0-9])([A-Z])', '$1_$2')),
                '[^a-z0-9]+', '_'
            ),
            '^_+|_+$', ''
        ),
        ''
    )
{%- endmacro %}
