{#- The intent a conversation is reported under in intent_metrics_daily: its first intent, or
    '(none)' when no intent was detected. -#}
{% macro intent_label(first_intent) -%}
    coalesce({{ first_intent }}, '(none)')
{%- endmacro %}
