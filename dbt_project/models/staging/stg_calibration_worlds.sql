{#- The calibration study's rows with what every summary needs per row: the base hypothesis, whether
    the test rejected at var('calibration_alpha'), whether the intervals cover the truth.
    The pipeline loads main.calibration_worlds before dbt runs (an empty table when there is no study);
    a dbt run on a warehouse without it (a hand-run dbt, a test fixture) gets an empty model, not a
    failure: the study is evidence about the method, not an input of this warehouse. -#}
{%- set calibration_worlds = source('calibration', 'calibration_worlds') -%}
{%- set loaded = load_relation(calibration_worlds) if execute else calibration_worlds -%}

{%- if loaded is none %}
select
    cast(null as {{ dbt.type_string() }}) as world,
    cast(null as {{ dbt.type_string() }}) as stress,
    cast(null as bigint) as seed,
    cast(null as {{ dbt.type_string() }}) as hypothesis,
    cast(null as {{ dbt.type_string() }}) as base_hypothesis,
    cast(null as {{ dbt.type_string() }}) as test,
    cast(null as {{ type_double() }}) as truth,
    cast(null as {{ type_double() }}) as estimate,
    cast(null as {{ type_double() }}) as ci_low,
    cast(null as {{ type_double() }}) as ci_high,
    cast(null as {{ type_double() }}) as bootstrap_ci_low,
    cast(null as {{ type_double() }}) as bootstrap_ci_high,
    cast(null as {{ type_double() }}) as p_value,
    cast(null as boolean) as supported,
    cast(null as {{ type_double() }}) as naive_estimate,
    cast(null as bigint) as n_accounts,
    cast(null as bigint) as accounts_per_world,
    cast(null as {{ dbt.type_string() }}) as study_command,
    cast(null as {{ dbt.type_string() }}) as studied_at,
    cast(null as boolean) as has_result,
    cast(null as boolean) as is_rejected,
    cast(null as boolean) as covers_truth,
    cast(null as boolean) as bootstrap_covers_truth
where 1 = 0
{%- else %}
select
    world,
    stress,
    seed,
    hypothesis,
    {{ dbt.split_part('hypothesis', "':'", 1) }} as base_hypothesis,
    test,
    truth,
    estimate,
    ci_low,
    ci_high,
    bootstrap_ci_low,
    bootstrap_ci_high,
    p_value,
    supported,
    naive_estimate,
    n_accounts,
    accounts_per_world,
    study_command,
    studied_at,
    estimate is not null as has_result,
    coalesce(p_value < {{ var('calibration_alpha') }}, false) as is_rejected,
    coalesce(ci_low <= truth and truth <= ci_high, false) as covers_truth,
    coalesce(bootstrap_ci_low <= truth and truth <= bootstrap_ci_high, false) as bootstrap_covers_truth
from {{ calibration_worlds }}
{%- endif %}
