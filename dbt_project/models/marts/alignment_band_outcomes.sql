{#- Outcomes by plan version x alignment band, so a plan change shows as a new block of rows:
    win rate (closed deals, Wilson interval), mean discount of won deals, and the later value of the
    deals' accounts: account_value.horizon_value (revenue over var value_horizon_months from the
    account's first won deal), over the distinct accounts of the cell whose horizon is fully observed
    (right-censored accounts are counted, never averaged in). -#}
with deals as (
    select * from {{ ref('fct_deals') }}
),

account_value as (
    select account_id, horizon_value, is_horizon_observed
    from {{ ref('account_value') }}
),

deal_cells as (
    select
        plan_effective_from,
        alignment_band,
        count(*) as deals,
        sum(case when is_closed then 1 else 0 end) as deals_closed,
        sum(case when is_won then 1 else 0 end) as deals_won,
        {{ exact_avg("discount_pct") }} as avg_discount_pct
    from deals
    group by 1, 2
),

account_cells as (
    select
        cell_accounts.plan_effective_from,
        cell_accounts.alignment_band,
        count(*) as accounts,
        sum(case when account_value.is_horizon_observed then 1 else 0 end) as accounts_horizon_observed,
        {{ exact_avg('case when account_value.is_horizon_observed then account_value.horizon_value end') }} as mean_later_account_value,
        {{ exact_stddev_samp('case when account_value.is_horizon_observed then account_value.horizon_value end') }} as sd_later_account_value
    from (select distinct plan_effective_from, alignment_band, account_id from deals) as cell_accounts
    inner join account_value
        on cell_accounts.account_id = account_value.account_id
    group by 1, 2
)

select
    deal_cells.plan_effective_from,
    cast(deal_cells.alignment_band as {{ dbt.type_string() }}) as alignment_band,
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
                         'account_cells.accounts_horizon_observed') }} as {{ type_double() }}) as mean_later_account_value_ci_high
from deal_cells
inner join account_cells
    on deal_cells.alignment_band = account_cells.alignment_band
    and (deal_cells.plan_effective_from = account_cells.plan_effective_from
         or (deal_cells.plan_effective_from is null and account_cells.plan_effective_from is null))
