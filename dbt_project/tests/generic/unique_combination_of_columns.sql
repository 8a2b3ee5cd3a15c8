{#- Fails for every combination of the columns that occurs more than once (a composite key). The
    columns are quoted for the engine, so a keyword column (window) works on DuckDB ("window") and
    Spark (`window`, where "window" would be a string constant). -#}
{% test unique_combination_of_columns(model, combination_of_columns) %}
{%- set columns = [] -%}
{%- for column in combination_of_columns -%}
    {%- do columns.append(adapter.quote(column)) -%}
{%- endfor %}
select {{ columns | join(', ') }}, count(*) as occurrences
from {{ model }}
group by {{ columns | join(', ') }}
having count(*) > 1
{% endtest %}
