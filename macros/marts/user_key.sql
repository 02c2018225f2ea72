{#- The user key of a stitched user id: sha256(pii_salt || id), NULL when the id is NULL. -#}
{% macro user_key(stitched_user_id) -%}
    {{ sha256_hex(dbt.concat([dbt.string_literal(var('pii_salt')), stitched_user_id])) }}
{%- endmacro %}
