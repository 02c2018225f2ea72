{#- The daily conversation metrics, from `conversations` to `avg_first_response_seconds`, as
    aggregate select expressions over rows of int_conversations_assembled. Used by every daily mart
    that reports them (by channel, by intent), so each count and rate is defined exactly once. -#}
{% macro conversation_rate_columns() -%}
    {%- set counts = {
        'conversations': 'count(*)',
        'engaged_conversations': 'count(case when is_engaged then 1 end)',
        'escalated_conversations': "count(case when outcome = 'escalated' then 1 end)",
        'contained_conversations': "count(case when outcome = 'contained' then 1 end)",
        'in_progress_conversations': "count(case when outcome = 'in_progress' then 1 end)",
        'abandoned_conversations': "count(case when outcome = 'abandoned' then 1 end)",
        'resolved_conversations': 'count(case when is_engaged and is_resolved then 1 end)',
        'rated_conversations': 'count(csat_rating)',
        'satisfied_conversations': 'count(case when is_satisfied then 1 end)',
    } -%}
    {%- set rates = {
        'engagement_rate': ('engaged_conversations', 'conversations'),
        'escalation_rate': ('escalated_conversations', 'engaged_conversations'),
        'containment_rate': ('contained_conversations', 'engaged_conversations'),
        'abandonment_rate': ('abandoned_conversations', 'engaged_conversations'),
        'resolution_rate': ('resolved_conversations', 'engaged_conversations'),
    } -%}
    {%- for column_name, expression in counts.items() %}
    {{ expression }} as {{ column_name }},
    {%- endfor %}
    {%- for column_name, ratio in rates.items() %}
    {{ safe_divide(counts[ratio[0]], counts[ratio[1]]) }} as {{ column_name }},
    {%- endfor %}
    {{ safe_divide('sum(csat_rating)', counts['rated_conversations']) }} as csat_average,
    {{ safe_divide(counts['satisfied_conversations'], counts['rated_conversations']) }} as csat_score,
    {{ safe_divide(counts['rated_conversations'], counts['engaged_conversations']) }} as survey_response_rate,
    {{ safe_divide('sum(first_response_seconds)', 'count(first_response_seconds)') }} as avg_first_response_seconds
{%- endmacro %}
