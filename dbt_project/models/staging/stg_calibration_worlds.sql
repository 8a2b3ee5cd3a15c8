{#- The calibration study's rows with what every summary needs per row: the base hypothesis, whether
    the test rejected at var('calibration_alpha'), whether the intervals cover the truth.
    The pipeline loads main.calibration_worlds before dbt runs (an empty table when there is no study);
    a dbt run on a warehouse without it (a hand-run dbt, a test fixture) gets an empty model, not a
    failure: the study is evidence about the method, not an input of this warehouse. -#}
{%- set calibration_worlds = source('calibration', 'calibration_worlds') -%}
{%- set loaded = load_relation(calibration_worlds) if execute else calibration_worlds -%}

{#- (name, type, expression): the one column list of both branches -#}
{%- set columns = [
    ('world', 'varchar', 'world'),
    ('stress', 'varchar', 'stress'),
    ('seed', 'bigint', 'seed'),
    ('hypothesis', 'varchar', 'hypothesis'),
    ('base_hypothesis', 'varchar', dbt.split_part('hypothesis', "':'", 1)),
    ('test', 'varchar', 'test'),
    ('truth', type_double(), 'truth'),
    ('estimate', type_double(), 'estimate'),
    ('ci_low', type_double(), 'ci_low'),
    ('ci_high', type_double(), 'ci_high'),
    ('bootstrap_ci_low', type_double(), 'bootstrap_ci_low'),
    ('bootstrap_ci_high', type_double(), 'bootstrap_ci_high'),
    ('p_value', type_double(), 'p_value'),
    ('supported', 'boolean', 'supported'),
    ('naive_estimate', type_double(), 'naive_estimate'),
    ('n_accounts', 'bigint', 'n_accounts'),
    ('accounts_per_world', 'bigint', 'accounts_per_world'),
    ('study_command', 'varchar', 'study_command'),
    ('studied_at', 'varchar', 'studied_at'),
    ('has_result', 'boolean', 'estimate is not null'),
    ('is_rejected', 'boolean', 'coalesce(p_value < ' ~ var('calibration_alpha') ~ ', false)'),
    ('covers_truth', 'boolean', 'coalesce(ci_low <= truth and truth <= ci_high, false)'),
    ('bootstrap_covers_truth', 'boolean',
     'coalesce(bootstrap_ci_low <= truth and truth <= bootstrap_ci_high, false)'),
] -%}

{%- if loaded is none %}
select
    {%- for name, type, expression in columns %}
    cast(null as {{ type }}) as {{ name }}{{ ',' if not loop.last }}
    {%- endfor %}
where 1 = 0
{%- else %}
select
    {%- for name, type, expression in columns %}
    {{ expression }} as {{ name }}{{ ',' if not loop.last }}
    {%- endfor %}
from {{ calibration_worlds }}
{%- endif %}
