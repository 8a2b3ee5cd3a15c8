{#-
  What differs between the engines dealscope runs on (DuckDB, Spark): small adapter-dispatched
  macros, so every model is written once. docs/scale-out.md lists what each replaces.
-#}

{#- An integer type wide enough for exact sums of values quantised to 1e-9 (macro exact_sum):
    DuckDB's 128-bit HUGEINT; elsewhere a 38-digit decimal, the widest exact type of Spark and
    most warehouses. -#}
{% macro type_exact_integer() -%}
    {{ return(adapter.dispatch('type_exact_integer', 'dealscope')()) }}
{%- endmacro %}

{% macro default__type_exact_integer() -%}decimal(38, 0){%- endmacro %}

{% macro duckdb__type_exact_integer() -%}hugeint{%- endmacro %}

{#- Spark spells the 8-byte float DOUBLE (it has no DOUBLE PRECISION). -#}
{% macro spark__type_double() -%}double{%- endmacro %}

{#- Spark engine only: the raw tables the loader wrote as Parquet (one folder per table under
    var raw_parquet_dir) become Spark tables in schema raw, replaced on every run. Called from
    on-run-start; does nothing on DuckDB, where the loader writes raw.* itself. -#}
{% macro register_raw_parquet_tables() -%}
    {{ return(adapter.dispatch('register_raw_parquet_tables', 'dealscope')()) }}
{%- endmacro %}

{% macro default__register_raw_parquet_tables() -%}
    select 1
{%- endmacro %}

{% macro spark__register_raw_parquet_tables() -%}
    {%- set folder = var('raw_parquet_dir', none) -%}
    {%- if execute -%}
        {%- if folder is none -%}
            {{ exceptions.raise_compiler_error("the spark target needs var raw_parquet_dir (the folder of the loader's Parquet tables)") }}
        {%- endif -%}
        {%- for table in var('raw_tables') -%}
            {#- a plain name is a raw table; "schema.table" a source the pipeline writes elsewhere -#}
            {%- set name = table if '.' in table else 'raw.' ~ table -%}
            {%- do run_query('create database if not exists ' ~ name.split('.')[0]) -%}
            {%- do run_query('drop table if exists ' ~ name) -%}
            {%- do run_query("create table " ~ name ~ " using parquet location '" ~ folder ~ "/" ~ table ~ "'") -%}
            {#- dbt listed the schemas before this hook ran: without this, load_relation (used by
                stg_calibration_worlds) would not see the table and read it as absent -#}
            {%- do adapter.cache_added(api.Relation.create(schema=name.split('.')[0], identifier=name.split('.')[1], type='table')) -%}
        {%- endfor -%}
    {%- endif -%}
    select 1
{%- endmacro %}

{#- dbt's Spark listagg ignores the order: collect the values, sort them, join them. Every model
    orders a list by its own values, which this reproduces; NULL (not '') when no value is given,
    as string_agg. A leading 'distinct ' keeps each value once. -#}
{% macro spark__listagg(measure, delimiter_text, order_by_clause, limit_num) -%}
    {%- set distinct = (measure | trim | lower).startswith('distinct ') -%}
    {%- set value = (measure | trim)[9:] if distinct else measure -%}
    case when count({{ measure }}) > 0 then
        array_join(
            {%- if order_by_clause %} array_sort({% endif -%}
            {{ 'collect_set' if distinct else 'collect_list' }}({{ value }})
            {%- if order_by_clause %}){% endif -%}, {{ delimiter_text }})
    end
{%- endmacro %}

{#- Spark has no unsized VARCHAR and no TIMESTAMP WITH TIME ZONE: the column types of the marts'
    contracts (YAML data_type), cast by dbt when it checks a contract, read VARCHAR as Spark's STRING
    and TIMESTAMP WITH TIME ZONE as Spark's TIMESTAMP (an instant, like DuckDB's TIMESTAMPTZ). -#}
{% macro spark__cast(field, type) -%}
    {%- set spark_types = {'varchar': 'string', 'text': 'string',
                           'timestamp with time zone': 'timestamp', 'timestamptz': 'timestamp'} -%}
    cast({{ field }} as {{ spark_types.get(type | trim | lower, type) }})
{%- endmacro %}

{#- The body of CTE `spine_cte`: one row per first day of a month (column month) from start_month
    to end_month, both first days of months found in the relations start_from and end_from (one
    row each); no row when start_month > end_month. Standard SQL builds it by recursion (the model
    says `with recursive`); Spark cannot join a recursive reference here, and has sequence(). -#}
{% macro month_spine(spine_cte, start_month, end_month, start_from, end_from) -%}
    {{ return(adapter.dispatch('month_spine', 'dealscope')(spine_cte, start_month, end_month, start_from, end_from)) }}
{%- endmacro %}

{% macro default__month_spine(spine_cte, start_month, end_month, start_from, end_from) -%}
    select {{ start_month }} as month
    from {{ start_from }}
    cross join {{ end_from }}
    where {{ start_month }} <= {{ end_month }}
    union all
    select cast({{ dbt.dateadd('month', 1, spine_cte ~ '.month') }} as date)
    from {{ spine_cte }}
    cross join {{ end_from }}
    where {{ spine_cte }}.month < {{ end_month }}
{%- endmacro %}

{% macro spark__month_spine(spine_cte, start_month, end_month, start_from, end_from) -%}
    select explode(sequence({{ start_month }}, {{ end_month }}, interval 1 month)) as month
    from {{ start_from }}
    cross join {{ end_from }}
    where {{ start_month }} <= {{ end_month }}
{%- endmacro %}

{#- dbt-spark's datediff is two terms without parentheses (`x + y`), so `datediff(...) / 12.0`
    divides only the second, and counts 2 months from Jan 31 to Feb 28 (both month ends). DuckDB
    counts calendar boundaries crossed; this does the same, in one parenthesised expression. The
    models use day, month and year. -#}
{% macro spark__datediff(first_date, second_date, datepart) -%}
    {%- if datepart == 'day' -%}
        datediff(to_date({{ second_date }}), to_date({{ first_date }}))
    {%- elif datepart == 'month' -%}
        ((year({{ second_date }}) - year({{ first_date }})) * 12 + month({{ second_date }}) - month({{ first_date }}))
    {%- elif datepart == 'year' -%}
        (year({{ second_date }}) - year({{ first_date }}))
    {%- else -%}
        {{ exceptions.raise_compiler_error("datediff on Spark: datepart '" ~ datepart ~ "' is not written (day, month, year are)") }}
    {%- endif -%}
{%- endmacro %}
