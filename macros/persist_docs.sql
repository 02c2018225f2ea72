{#- DuckDB: write only the comments that differ from the docs. dbt's own persist_docs comments the
    relation and every documented column after each build, so an incremental build that changes
    no description still rewrites them all (and asks twice for the columns). Here one query
    reads the stored comments; a comment is written when it is missing or differs, so a
    description edited in YAML reaches the warehouse with the next build, full refresh or not. -#}
{% macro duckdb__persist_docs(relation, model, for_relation, for_columns) -%}
    {%- set relation_docs = for_relation and config.persist_relation_docs() and model.description -%}
    {%- set column_docs = for_columns and config.persist_column_docs() and model.columns -%}
    {%- if not (relation_docs or column_docs) -%}
        {{ return('') }}
    {%- endif -%}

    {%- set stored = run_query(stored_comments_sql(relation)) -%}
    {%- set relation_comment = {'comment': none} -%}
    {%- set column_comments = {} -%}
    {%- for row in stored.rows -%}
        {%- if row[0] is none -%}
            {%- do relation_comment.update({'comment': row[1]}) -%}
        {%- else -%}
            {%- do column_comments.update({row[0]: row[1]}) -%}
        {%- endif -%}
    {%- endfor -%}

    {%- set statements = [] -%}
    {%- if relation_docs and (relation_comment.comment or '') != model.description -%}
        {%- do statements.append(duckdb__alter_relation_comment(relation, model.description)) -%}
    {%- endif -%}
    {%- if column_docs -%}
        {%- set existing = column_comments.keys() | list -%}
        {%- set documented = validate_doc_columns(relation, model.columns, existing) -%}
        {%- set by_lower_name = {} -%}
        {%- for name in existing -%}
            {%- do by_lower_name.update({name | lower: name}) -%}
        {%- endfor -%}
        {%- for name, column in documented.items() -%}
            {%- set stored_name = name if column.quote else by_lower_name[name | lower] -%}
            {%- if (column_comments[stored_name] or '') != (column.description or '') -%}
                {%- do statements.append(
                    'comment on column ' ~ relation ~ '.' ~ (adapter.quote(name) if column.quote else name)
                    ~ ' is ' ~ duckdb_escape_comment(column.description or '') ~ ';'
                ) -%}
            {%- endif -%}
        {%- endfor -%}
    {%- endif -%}
    {%- if statements -%}
        {%- do run_query(statements | join('\n')) -%}
    {%- endif -%}
{%- endmacro %}


{#- The stored comments of `relation`: a row with a NULL column name for the table or view
    itself, then one row per column. -#}
{% macro stored_comments_sql(relation) -%}
    {%- set same_relation -%}
        database_name = '{{ relation.database }}'
        and schema_name = '{{ relation.schema }}'
    {%- endset -%}
    select null as column_name, comment
    from duckdb_tables()
    where {{ same_relation }} and table_name = '{{ relation.identifier }}'
    union all
    select null as column_name, comment
    from duckdb_views()
    where {{ same_relation }} and view_name = '{{ relation.identifier }}'
    union all
    select column_name, comment
    from duckdb_columns()
    where {{ same_relation }} and table_name = '{{ relation.identifier }}'
{%- endmacro %}
