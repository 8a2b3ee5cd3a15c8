{#- Use a model's custom schema as-is (staging, intermediate, main, analytics) instead of dbt's
    default "<target_schema>_<custom>", so the warehouse layout matches docs/architecture.md. -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema }}
    {%- else -%}
        {{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
