{#-
  Strategic alignment and the outcomes by alignment band, written once. The warehouse models
  (stg_strategy_plan, int_deal_alignment, alignment_band_outcomes) call these macros, and so does
  `dealscope whatif` (macro whatif_sql) to score the history under a draft plan with the same SQL.
  Relations are passed as text: a ref(), a source(), a table name or a parenthesised subquery.
-#}

{#- A plan file's rows (raw.strategy_plan's columns) as plan entries: the matching key is the value
    lower-cased and trimmed (plan values match deal attributes case-insensitively), weight defaults to 1. -#}
{% macro strategy_plan_entries(raw_plan) -%}
select
    effective_from,
    dimension,
    value,
    lower(trim(value)) as value_key,
    stance,
    coalesce(weight, 1.0) as weight,
    _row_number as source_row_number
from {{ raw_plan }}
{%- endmacro %}

{#- Strategic alignment of every deal of `deals` (deal_id, account_id, created_at, product_line,
    deal_type) whose account is in `accounts` (account_id, segment, industry, region), under the plan
    entries `plan_entries` (strategy_plan_entries' columns); docs/CONTRACT.md, "Strategic alignment".
    The plan version in force at created_at is the latest effective_from <= created_at; for each
    dimension that version names the deal scores +weight (target), -weight (avoid) or 0 (its value is
    not named); the sum is divided by the sum over those dimensions of the dimension's largest weight.
    No version yet -> NULL score, band 'no_plan'. -#}
{% macro deal_alignment(deals, accounts, plan_entries) -%}
{%- set deal_dimensions = {
    'segment': 'alignment_accounts.segment',
    'industry': 'alignment_accounts.industry',
    'region': 'alignment_accounts.region',
    'product_line': 'alignment_deals.product_line',
    'deal_type': 'alignment_deals.deal_type',
} -%}
with alignment_deals as (
    select * from {{ deals }}
),

alignment_accounts as (
    select * from {{ accounts }}
),

-- A value written twice in one version with different case ('Retail', 'retail') is one plan
-- entry after case-insensitive matching: the first row in the file counts.
plan_entries as (
    select effective_from, dimension, value, value_key, stance, weight
    from (
        select
            *,
            row_number() over (
                partition by effective_from, dimension, value_key
                order by source_row_number
            ) as entry_rank
        from {{ plan_entries }}
    ) as ranked_plan
    where entry_rank = 1
),

plan_versions as (
    select distinct effective_from from plan_entries
),

-- The denominator: per version, the sum over named dimensions of the dimension's largest weight.
version_scale as (
    select effective_from, {{ exact_sum('max_weight') }} as max_total_weight
    from (
        select effective_from, dimension, max(weight) as max_weight
        from plan_entries
        group by effective_from, dimension
    ) as dimension_scale
    group by effective_from
),

{#- A deal's alignment depends only on the plan version in force at its creation date and on its
    five matched values (its profile): each distinct profile is scored once (a few thousand at a
    million deals) and every deal takes its profile's score. A deal whose account is not in
    `accounts` matches nothing, as an inner join to it would give. -#}
creation_plans as (
    select
        creation_dates.created_at,
        max(plan_versions.effective_from) as plan_effective_from
    from (select distinct created_at from alignment_deals) as creation_dates
    left join plan_versions
        on plan_versions.effective_from <= creation_dates.created_at
    group by creation_dates.created_at
),

deal_profiles as (
    select
        alignment_deals.deal_id,
        alignment_deals.account_id,
        alignment_deals.created_at,
        creation_plans.plan_effective_from,
        {%- for dimension, column in deal_dimensions.items() %}
        case when alignment_accounts.account_id is not null
            then lower(trim({{ column }})) end as {{ dimension }}_key{% if not loop.last %},{% endif %}
        {%- endfor %}
    from alignment_deals
    inner join creation_plans
        on alignment_deals.created_at is not distinct from creation_plans.created_at
    left join alignment_accounts
        on alignment_deals.account_id = alignment_accounts.account_id
),

profiles as (
    select distinct plan_effective_from{% for dimension in deal_dimensions %}, {{ dimension }}_key{% endfor %}
    from deal_profiles
    where plan_effective_from is not null
),

profile_attributes as (
    {% for dimension in deal_dimensions %}
    select
        profiles.*,
        '{{ dimension }}' as dimension,
        {{ dimension }}_key as value_key
    from profiles
    {% if not loop.last %}union all{% endif %}
    {% endfor %}
),

matches as (
    select
        profile_attributes.plan_effective_from,
        {%- for dimension in deal_dimensions %}
        profile_attributes.{{ dimension }}_key,
        {%- endfor %}
        plan_entries.dimension,
        plan_entries.value,
        plan_entries.stance,
        case plan_entries.stance
            when 'target' then plan_entries.weight
            when 'avoid' then -plan_entries.weight
            else 0
        end as signed_weight,
        {{ dbt.concat(['plan_entries.dimension', "'='", 'plan_entries.value']) }} as matched_entry
    from profile_attributes
    inner join plan_entries
        on plan_entries.effective_from = profile_attributes.plan_effective_from
        and plan_entries.dimension = profile_attributes.dimension
        and plan_entries.value_key = profile_attributes.value_key
),

profile_matches as (
    select
        plan_effective_from,
        {%- for dimension in deal_dimensions %}
        {{ dimension }}_key,
        {%- endfor %}
        {{ exact_sum('signed_weight') }} as signed_weight,
        {{ sorted_text_list("case when stance = 'target' then matched_entry end", "'; '") }} as matched_targets,
        {{ sorted_text_list("case when stance = 'avoid' then matched_entry end", "'; '") }} as matched_avoids
    from matches
    group by plan_effective_from{% for dimension in deal_dimensions %}, {{ dimension }}_key{% endfor %}
),

scored as (
    select
        deal_profiles.deal_id,
        deal_profiles.account_id,
        deal_profiles.created_at,
        deal_profiles.plan_effective_from,
        case when deal_profiles.plan_effective_from is not null
            then cast(coalesce(profile_matches.signed_weight, 0) as {{ type_double() }})
                / nullif(version_scale.max_total_weight, 0)
        end as alignment_score,
        profile_matches.matched_targets,
        profile_matches.matched_avoids
    from deal_profiles
    left join version_scale
        on deal_profiles.plan_effective_from = version_scale.effective_from
    left join profile_matches
        on deal_profiles.plan_effective_from = profile_matches.plan_effective_from
        {%- for dimension in deal_dimensions %}
        and deal_profiles.{{ dimension }}_key is not distinct from profile_matches.{{ dimension }}_key
        {%- endfor %}
)

select
    deal_id,
    account_id,
    created_at,
    plan_effective_from,
    alignment_score,
    {{ alignment_band('alignment_score') }} as alignment_band,
    matched_targets,
    matched_avoids
from scored
{%- endmacro %}

{#- Outcomes by alignment band, grouped by `group_columns` (a list; the last is the band column
    alignment_band): win rate of closed deals (Wilson interval), value won and lost, the mean won deal
    value, discount and gross margin of won deals (t intervals), and the later value of the deals'
    accounts: `account_value`.horizon_value over the distinct accounts of the cell whose horizon is
    fully observed (right-censored accounts are counted, never averaged in; normal interval).
    `deals` needs fct_deals' columns account_id, is_closed, is_won, won_value, lost_value,
    final_amount, discount_pct and gross_margin_pct besides the group columns. -#}
{% macro alignment_band_outcomes(deals, account_value, group_columns) -%}
{%- set keys = group_columns | join(', ') -%}
with band_deals as (
    select * from {{ deals }}
),

band_account_value as (
    select account_id, horizon_value, is_horizon_observed
    from {{ account_value }}
),

deal_cells as (
    select
        {{ keys }},
        count(*) as deals,
        sum(case when is_closed then 1 else 0 end) as deals_closed,
        sum(case when is_won then 1 else 0 end) as deals_won,
        {{ exact_avg("discount_pct") }} as avg_discount_pct,
        {{ exact_stddev_samp("discount_pct") }} as sd_discount_pct,
        count(discount_pct) as deals_with_discount,
        {{ exact_sum("won_value") }} as value_won,
        {{ exact_sum("lost_value") }} as value_lost,
        {{ exact_avg("case when is_won then final_amount end") }} as mean_won_value,
        {{ exact_stddev_samp("case when is_won then final_amount end") }} as sd_won_value,
        {{ exact_avg("case when is_won then gross_margin_pct end") }} as avg_gross_margin_pct,
        {{ exact_stddev_samp("case when is_won then gross_margin_pct end") }} as sd_gross_margin_pct,
        count(case when is_won then gross_margin_pct end) as deals_with_margin
    from band_deals
    group by {{ keys }}
),

account_cells as (
    select
        {% for column in group_columns %}cell_accounts.{{ column }},{% endfor %}
        count(*) as accounts,
        sum(case when band_account_value.is_horizon_observed then 1 else 0 end) as accounts_horizon_observed,
        {{ exact_avg('case when band_account_value.is_horizon_observed then band_account_value.horizon_value end') }} as mean_later_account_value,
        {{ exact_stddev_samp('case when band_account_value.is_horizon_observed then band_account_value.horizon_value end') }} as sd_later_account_value
    from (select distinct {{ keys }}, account_id from band_deals) as cell_accounts
    inner join band_account_value
        on cell_accounts.account_id = band_account_value.account_id
    group by {% for column in group_columns %}cell_accounts.{{ column }}{% if not loop.last %}, {% endif %}{% endfor %}
)

select
    {% for column in group_columns[:-1] %}deal_cells.{{ column }},
    {% endfor -%}
    cast(deal_cells.{{ group_columns[-1] }} as {{ dbt.type_string() }}) as {{ group_columns[-1] }},
    cast(deal_cells.deals as bigint) as deals,
    cast(deal_cells.deals_closed as bigint) as deals_closed,
    cast(deal_cells.deals_won as bigint) as deals_won,
    cast({{ win_rate('deal_cells.deals_won', 'deal_cells.deals_closed - deal_cells.deals_won') }} as {{ type_double() }}) as win_rate,
    cast({{ wilson_low('deal_cells.deals_won', 'deal_cells.deals_closed') }} as {{ type_double() }}) as win_rate_ci_low,
    cast({{ wilson_high('deal_cells.deals_won', 'deal_cells.deals_closed') }} as {{ type_double() }}) as win_rate_ci_high,
    cast(deal_cells.avg_discount_pct as {{ type_double() }}) as avg_discount_pct,
    cast(account_cells.accounts as bigint) as accounts,
    cast(account_cells.accounts_horizon_observed as bigint) as accounts_horizon_observed,
    cast(account_cells.mean_later_account_value as {{ type_double() }}) as mean_later_account_value,
    cast({{ mean_ci_low('account_cells.mean_later_account_value', 'account_cells.sd_later_account_value',
                        'account_cells.accounts_horizon_observed') }} as {{ type_double() }}) as mean_later_account_value_ci_low,
    cast({{ mean_ci_high('account_cells.mean_later_account_value', 'account_cells.sd_later_account_value',
                         'account_cells.accounts_horizon_observed') }} as {{ type_double() }}) as mean_later_account_value_ci_high,
    cast({{ mean_t_ci_low('deal_cells.avg_discount_pct', 'deal_cells.sd_discount_pct', 'deal_cells.deals_with_discount') }} as {{ type_double() }}) as avg_discount_pct_ci_low,
    cast({{ mean_t_ci_high('deal_cells.avg_discount_pct', 'deal_cells.sd_discount_pct', 'deal_cells.deals_with_discount') }} as {{ type_double() }}) as avg_discount_pct_ci_high,
    cast(deal_cells.value_won as {{ type_double() }}) as value_won,
    cast(deal_cells.value_lost as {{ type_double() }}) as value_lost,
    cast(deal_cells.mean_won_value as {{ type_double() }}) as mean_won_value,
    cast({{ mean_t_ci_low('deal_cells.mean_won_value', 'deal_cells.sd_won_value', 'deal_cells.deals_won') }} as {{ type_double() }}) as mean_won_value_ci_low,
    cast({{ mean_t_ci_high('deal_cells.mean_won_value', 'deal_cells.sd_won_value', 'deal_cells.deals_won') }} as {{ type_double() }}) as mean_won_value_ci_high,
    cast(deal_cells.avg_gross_margin_pct as {{ type_double() }}) as avg_gross_margin_pct,
    cast({{ mean_t_ci_low('deal_cells.avg_gross_margin_pct', 'deal_cells.sd_gross_margin_pct', 'deal_cells.deals_with_margin') }} as {{ type_double() }}) as avg_gross_margin_pct_ci_low,
    cast({{ mean_t_ci_high('deal_cells.avg_gross_margin_pct', 'deal_cells.sd_gross_margin_pct', 'deal_cells.deals_with_margin') }} as {{ type_double() }}) as avg_gross_margin_pct_ci_high
from deal_cells
inner join account_cells
    on {% for column in group_columns %}deal_cells.{{ column }} is not distinct from account_cells.{{ column }}{% if not loop.last %}
    and {% endif %}{% endfor %}
{%- endmacro %}

{#- The relation names the what-if's SQL reads and writes in its scratch database
    (dealscope/whatif.py builds those relations under these names and checks they match). -#}
{% macro whatif_relations() -%}
    {{ return({
        'raw_plan': 'raw.strategy_plan',
        'deals': 'whatif_deals',
        'accounts': 'whatif_accounts',
        'plan_entries': 'whatif_plan_entries',
        'scenario_deals': 'whatif_scenario_deals',
        'account_value': 'wh.main.account_value',
    }) }}
{%- endmacro %}

{#- The SQL `dealscope whatif` runs, rendered from the macros above, by statement: the draft plan's
    entries, the alignment of every deal under them, an account's mean alignment and band, and the
    outcomes by plan and band. The model whatif_statements keeps them in the warehouse; the macro
    whatif_sql prints them for a warehouse built before that model existed. -#}
{% macro whatif_statements(relations) -%}
    {{ return({
        'plan_entries': strategy_plan_entries(relations['raw_plan']),
        'deal_alignment': deal_alignment(relations['deals'], relations['accounts'], relations['plan_entries']),
        'account_mean_alignment': exact_avg('alignment_score'),
        'account_band': alignment_band('mean_alignment'),
        'band_outcomes': alignment_band_outcomes(relations['scenario_deals'], relations['account_value'],
                                                 ['plan', 'alignment_band']),
    }) }}
{%- endmacro %}

{% macro whatif_sql(raw_plan, deals, accounts, plan_entries, scenario_deals, account_value) -%}
    {%- set relations = {
        'raw_plan': raw_plan, 'deals': deals, 'accounts': accounts, 'plan_entries': plan_entries,
        'scenario_deals': scenario_deals, 'account_value': account_value,
    } -%}
    {%- do print(tojson(whatif_statements(relations))) -%}
{%- endmacro %}

{#- The non-NULL values of a text expression, sorted, joined by `separator` (an SQL literal); NULL
    when there is none. dbt.listagg with an ORDER BY on other adapters; on DuckDB a sorted list,
    the same text: an ordered string_agg over a million groups took three times as long. -#}
{% macro sorted_text_list(expression, separator) -%}
    {{ return(adapter.dispatch('sorted_text_list', 'dealscope')(expression, separator)) }}
{%- endmacro %}

{% macro default__sorted_text_list(expression, separator) -%}
    {{ dbt.listagg(expression, separator, 'order by ' ~ expression) }}
{%- endmacro %}

{% macro duckdb__sorted_text_list(expression, separator) -%}
    array_to_string(list_sort(list({{ expression }}) filter (where ({{ expression }}) is not null)), {{ separator }})
{%- endmacro %}
