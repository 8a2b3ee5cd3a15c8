{#- The SQL of `dealscope whatif`, rendered from macros/alignment.sql by this build, one row per
    statement: the what-if then needs no dbt start, and scores a draft with the very SQL that
    built this warehouse's alignment marts. -#}
{%- set relations = whatif_relations() -%}
{%- set statements = whatif_statements(relations) -%}
{% for name, text in statements.items() %}
select
    cast('{{ name }}' as {{ dbt.type_string() }}) as statement,
    cast('{{ text | replace("'", "''") }}' as {{ dbt.type_string() }}) as sql_text,
    cast('{{ tojson(relations) | replace("'", "''") }}' as {{ dbt.type_string() }}) as relations
{% if not loop.last %}union all{% endif %}
{% endfor %}
