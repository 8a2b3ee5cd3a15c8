{#- Our record on the closed deals comparable to each open deal, at every similarity level of
    macros/comparables.sql (one row per open deal and level). Attributes are compared as text,
    a missing value as 'unknown' (competitor: 'none'), so "no competitor" matches "no competitor".
      deals_closed / deals_won / win_rate with its 95% Wilson interval   all comparable closed deals
      median_discount_pct, median_gross_margin_pct                         their won deals
      median_cycle_days                                                    all of them
    is_chosen_level marks the level the brief uses: the tightest with at least
    var('min_comparable_deals') closed deals, else the loosest (segment), flagged small sample. -#}
{#- DuckDB cannot spill a grouped median: this model runs under its own, larger memory cap
    (DEALSCOPE_DUCKDB_MEDIANS_MEMORY_LIMIT, dealscope/warehouse.py), and the run's cap comes back after it. -#}
{%- if target.type == 'duckdb' %}
{{ config(pre_hook="SET memory_limit = '" ~ env_var('DEALSCOPE_DUCKDB_MEDIANS_MEMORY_LIMIT', '4GB') ~ "'",
          post_hook="SET memory_limit = '" ~ env_var('DEALSCOPE_DUCKDB_MEMORY_LIMIT', '2GB') ~ "'") }}
{%- endif %}
{%- set levels = comparable_levels() -%}
{%- set min_deals = var('min_comparable_deals') | int -%}

with deals as (
    select
        deal_id,
        is_closed,
        is_won,
        discount_pct,
        cycle_days,
        gross_margin_pct,
        {{ dimension_value('segment') }} as segment,
        {{ dimension_value('industry') }} as industry,
        {{ dimension_value('region') }} as region,
        {{ dimension_value('product_line') }} as product_line,
        {{ dimension_value('deal_type') }} as deal_type,
        {{ deal_size_band('list_amount') }} as size_band,
        {{ dimension_value('competitor', 'none') }} as competitor
    from {{ ref('fct_deals') }}
),

open_deals as (
    select * from deals where not is_closed
),

closed_deals as (
    select * from deals where is_closed
),

{{ similarity_level_ctes(
    levels, 'open_deals', 'closed_deals',
    aggregates=[
        'count(*) as deals_closed',
        'sum(case when is_won then 1 else 0 end) as deals_won',
        median('case when is_won then discount_pct end') ~ ' as median_discount_pct',
        median('cycle_days') ~ ' as median_cycle_days',
        median('case when is_won then gross_margin_pct end') ~ ' as median_gross_margin_pct',
    ],
    columns=[
        'coalesce(cells.deals_closed, 0) as deals_closed',
        'coalesce(cells.deals_won, 0) as deals_won',
        'cells.median_discount_pct',
        'cells.median_cycle_days',
        'cells.median_gross_margin_pct',
    ],
    count_column='deals_closed', minimum=min_deals) }}

select
    cast(by_level.deal_id as {{ dbt.type_string() }}) as deal_id,
    cast(by_level.similarity_level as integer) as similarity_level,
    cast(by_level.matched_on as {{ dbt.type_string() }}) as matched_on,
    by_level.is_chosen_level,
    cast(by_level.deals_closed as bigint) as deals_closed,
    cast(by_level.deals_won as bigint) as deals_won,
    cast({{ ratio('by_level.deals_won', 'by_level.deals_closed') }} as {{ type_double() }}) as win_rate,
    cast({{ wilson_low('by_level.deals_won', 'by_level.deals_closed') }} as {{ type_double() }}) as win_rate_ci_low,
    cast({{ wilson_high('by_level.deals_won', 'by_level.deals_closed') }} as {{ type_double() }}) as win_rate_ci_high,
    cast(by_level.median_discount_pct as {{ type_double() }}) as median_discount_pct,
    cast(by_level.median_cycle_days as {{ type_double() }}) as median_cycle_days,
    cast(by_level.median_gross_margin_pct as {{ type_double() }}) as median_gross_margin_pct,
    by_level.deals_closed < {{ min_deals }} as is_small_sample
from by_chosen_level as by_level
