{#- JSON access for staging, one small macro per operation so that the models never name an
    engine's JSON functions. DuckDB parses a document once into a struct of JSON fragments
    (json_transform); the default implementation is PostgreSQL's jsonb.
    Everywhere here a JSON `null` reads as SQL NULL, i.e. as an absent key. -#}

{#- A text column holding JSON as JSON, or NULL when the text is not valid JSON. -#}
{% macro json_parsed(text_expr) -%}
    {{ return(adapter.dispatch('json_parsed', 'chat_analytics')(text_expr)) }}
{%- endmacro %}

{% macro duckdb__json_parsed(text_expr) -%}
    try_cast({{ text_expr }} as json)
{%- endmacro %}

{% macro default__json_parsed(text_expr) -%}
    case when ({{ text_expr }}) is json then cast({{ text_expr }} as jsonb) end
{%- endmacro %}


{#- The members `keys` of a JSON object, parsed once; read them with json_field. An item of
    `keys` is a member name, or a mapping {name: [keys]} for a member that is itself an object
    whose members are wanted (read with json_field(json_field(fields, name), key)). -#}
{% macro json_object_fields(json_expr, keys) -%}
    {{ return(adapter.dispatch('json_object_fields', 'chat_analytics')(json_expr, keys)) }}
{%- endmacro %}

{% macro duckdb__json_object_fields(json_expr, keys) -%}
    json_transform({{ json_expr }}, '{{ duckdb_json_transform_spec(keys) }}')
{%- endmacro %}

{% macro default__json_object_fields(json_expr, keys) -%}
    cast({{ json_expr }} as jsonb)
{%- endmacro %}

{#- DuckDB json_transform structure for json_object_fields: leaves stay JSON fragments. -#}
{% macro duckdb_json_transform_spec(keys) -%}
    {%- set members = [] -%}
    {%- for key in keys -%}
        {%- if key is mapping -%}
            {%- for name, nested in key.items() -%}
                {%- do members.append('"' ~ name ~ '":' ~ duckdb_json_transform_spec(nested)) -%}
            {%- endfor -%}
        {%- else -%}
            {%- do members.append('"' ~ key ~ '":"JSON"') -%}
        {%- endif -%}
    {%- endfor -%}
    {{- '{' ~ members | join(',') ~ '}' -}}
{%- endmacro %}


{#- One member of the result of json_object_fields, as a JSON fragment (NULL when absent). -#}
{% macro json_field(fields_expr, key) -%}
    {{ return(adapter.dispatch('json_field', 'chat_analytics')(fields_expr, key)) }}
{%- endmacro %}

{% macro duckdb__json_field(fields_expr, key) -%}
    ({{ fields_expr }})."{{ key }}"
{%- endmacro %}

{% macro default__json_field(fields_expr, key) -%}
    nullif(({{ fields_expr }}) -> '{{ key }}', 'null'::jsonb)
{%- endmacro %}


{#- The members `keys` of the `data` of the first entity of a Snowplow self-describing array
    (`{"schema": …, "data": [{"schema": "iglu:…", "data": {…}}, …]}`) whose schema URI starts
    with `schema_prefix`, parsed once like json_object_fields; all NULL when there is none. -#}
{% macro json_entity_fields(contexts_expr, schema_prefix, keys) -%}
    {{ return(adapter.dispatch('json_entity_fields', 'chat_analytics')(contexts_expr, schema_prefix, keys)) }}
{%- endmacro %}

{% macro duckdb__json_entity_fields(contexts_expr, schema_prefix, keys) -%}
    {%- set spec = '{"data":[{"schema":"VARCHAR","data":' ~ duckdb_json_transform_spec(keys) ~ '}]}' -%}
    list_filter(
        json_transform({{ contexts_expr }}, '{{ spec }}').data,
        lambda entity: starts_with(entity.schema, '{{ schema_prefix }}')
    )[1].data
{%- endmacro %}

{% macro default__json_entity_fields(contexts_expr, schema_prefix, keys) -%}
    (
        jsonb_path_query_first(
            {{ contexts_expr }}, '$.data[*] ? (@.schema starts with "{{ schema_prefix }}")'
        ) -> 'data'
    )
{%- endmacro %}


{#- Typed reads of a JSON fragment: the value when the fragment has that JSON type, else NULL. -#}
{% macro json_value_string(json_expr) -%}
    {{ return(adapter.dispatch('json_value_string', 'chat_analytics')(json_expr)) }}
{%- endmacro %}

{% macro duckdb__json_value_string(json_expr) -%}
    case when json_type({{ json_expr }}) = 'VARCHAR' then json_extract_string({{ json_expr }}, '$') end
{%- endmacro %}

{% macro default__json_value_string(json_expr) -%}
    case when jsonb_typeof({{ json_expr }}) = 'string' then {{ json_expr }} #>> '{}' end
{%- endmacro %}


{% macro json_value_number(json_expr) -%}
    {{ return(adapter.dispatch('json_value_number', 'chat_analytics')(json_expr)) }}
{%- endmacro %}

{% macro duckdb__json_value_number(json_expr) -%}
    case
        when json_type({{ json_expr }}) in ('BIGINT', 'UBIGINT', 'DOUBLE')
            then try_cast(cast({{ json_expr }} as varchar) as double)
    end
{%- endmacro %}

{% macro default__json_value_number(json_expr) -%}
    case when jsonb_typeof({{ json_expr }}) = 'number' then cast({{ json_expr }} #>> '{}' as double precision) end
{%- endmacro %}


{% macro json_value_boolean(json_expr) -%}
    {{ return(adapter.dispatch('json_value_boolean', 'chat_analytics')(json_expr)) }}
{%- endmacro %}

{% macro duckdb__json_value_boolean(json_expr) -%}
    case when json_type({{ json_expr }}) = 'BOOLEAN' then cast({{ json_expr }} as varchar) = 'true' end
{%- endmacro %}

{% macro default__json_value_boolean(json_expr) -%}
    case when jsonb_typeof({{ json_expr }}) = 'boolean' then cast({{ json_expr }} #>> '{}' as boolean) end
{%- endmacro %}


{#- The text of a JSON string, or of a JSON number as written; NULL for anything else. -#}
{% macro json_value_text(json_expr) -%}
    {{ return(adapter.dispatch('json_value_text', 'chat_analytics')(json_expr)) }}
{%- endmacro %}

{% macro duckdb__json_value_text(json_expr) -%}
    case json_type({{ json_expr }})
        when 'VARCHAR' then json_extract_string({{ json_expr }}, '$')
        when 'BIGINT' then cast({{ json_expr }} as varchar)
        when 'UBIGINT' then cast({{ json_expr }} as varchar)
        when 'DOUBLE' then cast({{ json_expr }} as varchar)
    end
{%- endmacro %}

{% macro default__json_value_text(json_expr) -%}
    case when jsonb_typeof({{ json_expr }}) in ('string', 'number') then {{ json_expr }} #>> '{}' end
{%- endmacro %}
