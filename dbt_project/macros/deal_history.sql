{#- The deal columns the deal history tracks (var deal_history_tracked_columns, dbt_project.yml), as
    (name, SQL type) pairs in the var's order. The models of the history select, cast and compare
    them from this list. -#}
{% macro deal_history_tracked_columns() -%}
    {%- set sql_types = {'string': dbt.type_string(), 'double': type_double(), 'date': 'date', 'boolean': 'boolean'} -%}
    {%- set columns = [] -%}
    {%- for name, type in var('deal_history_tracked_columns') -%}
        {%- if type not in sql_types -%}
            {{ exceptions.raise_compiler_error("var deal_history_tracked_columns: column " ~ name ~ " has type "
                ~ type ~ "; the types are " ~ (sql_types.keys() | list | join(', '))) }}
        {%- endif -%}
        {%- do columns.append((name, sql_types[type])) -%}
    {%- endfor -%}
    {{ return(columns) }}
{%- endmacro %}

{#- The columns of a deal's state in the history, in order: the key, its account, the tracked
    columns, whether the deal was in the export, and the export date the state was first seen. -#}
{% macro deal_history_state_columns() -%}
    {{ return(['deal_id', 'account_id'] + deal_history_tracked_columns() | map('first') | list + ['in_export', 'valid_from']) }}
{%- endmacro %}
