{#- The user key of a stitched user id: sha256(pii_salt || id), NULL when the id is NULL. -#}
{% macro user_key(stitched_user_id) -%}
    {{ sha256_hex(dbt.concat([dbt.string_literal(var('pii_salt')), stitched_user_id])) }}
{%- endmacro %}


{#- A conversation's stitched user id from the ids of its user event (SPEC §5): its own user id,
    else the user its anonymous id is linked to, else the anonymous id. -#}
{% macro stitched_user_id(own_user_id, linked_user_id, anonymous_id) -%}
    coalesce({{ own_user_id }}, {{ linked_user_id }}, {{ anonymous_id }})
{%- endmacro %}
