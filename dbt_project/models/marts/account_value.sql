with accounts as (
    select * from {{ ref('stg_accounts') }}
),

as_of as (
    select * from {{ ref('int_as_of_date') }}
),

revenue_source as (
    select * from {{ ref('int_revenue_source') }}
),

deal_summary as (
    select
        account_id,
        min(created_at) as first_deal_at,
        count(*) as deals_total,
        sum(case when is_won then 1 else 0 end) as deals_won,
        {{ exact_avg('alignment_score') }} as mean_alignment,
        min(case when is_won then closed_at end) as first_won_at
    from {{ ref('fct_deals') }}
    group by account_id
),

-- Active window: the as-of month and the (active_months - 1) months before it.
-- Horizon: var value_horizon_months months from the month of the first won deal (inclusive).
monthly_value as (
    select
        monthly.*,
        monthly.month >= {{ dbt.dateadd('month', 1 - var('active_months') | int, dbt.date_trunc('month', 'as_of.as_of_date')) }}
            and monthly.month <= as_of.as_of_date as is_in_active_window,
        monthly.month >= {{ dbt.date_trunc('month', 'deal_summary.first_won_at') }}
            and monthly.month < {{ dbt.dateadd('month', var('value_horizon_months') | int, dbt.date_trunc('month', 'deal_summary.first_won_at')) }}
            as is_in_horizon,
        {{ months_between(
            'min(case when monthly.revenue > 0 then monthly.month end) over (partition by monthly.account_id)',
            'monthly.month') }} as months_since_first_revenue
    from {{ ref('int_account_monthly_value') }} as monthly
    cross join as_of
    left join deal_summary
        on monthly.account_id = deal_summary.account_id
),

value_summary as (
    select
        account_id,
        {{ exact_sum('revenue') }} as lifetime_revenue,
        {{ exact_sum('gross_margin') }} as lifetime_gross_margin,
        max(case when is_in_active_window and revenue > 0 then 1 else 0 end) as active_flag,
        max(case when revenue > 0 then month end) as last_revenue_month,
        min(case when revenue > 0 then month end) as first_revenue_month,
        -- months before the first revenue month hold no revenue, so they add nothing
        {{ exact_sum('case when months_since_first_revenue >= 0
            then revenue * ' ~ discount_factor('months_since_first_revenue') ~ ' end') }} as discounted_lifetime_value,
        {{ exact_sum('case when months_since_first_revenue >= 0
            then gross_margin * ' ~ discount_factor('months_since_first_revenue') ~ ' end') }} as discounted_lifetime_gross_margin,
        {{ exact_sum('case when is_in_horizon then revenue else 0 end') }} as horizon_revenue
    from monthly_value
    group by account_id
),

trust_events as (
    select * from {{ ref('int_account_trust_events') }}
)

select
    cast(accounts.account_id as {{ dbt.type_string() }}) as account_id,
    cast(accounts.account_name as {{ dbt.type_string() }}) as account_name,
    cast(accounts.segment as {{ dbt.type_string() }}) as segment,
    cast(accounts.industry as {{ dbt.type_string() }}) as industry,
    cast(accounts.region as {{ dbt.type_string() }}) as region,
    cast(accounts.employee_count as bigint) as employee_count,
    cast(accounts.created_at as date) as account_created_at,
    cast(deal_summary.first_deal_at as date) as first_deal_at,
    cast({{ dbt.datediff('deal_summary.first_deal_at', 'as_of.as_of_date', 'month') }} as bigint) as tenure_months,
    cast(coalesce(deal_summary.deals_total, 0) as bigint) as deals_total,
    cast(coalesce(deal_summary.deals_won, 0) as bigint) as deals_won,
    cast(coalesce(value_summary.lifetime_revenue, 0) as {{ type_double() }}) as lifetime_revenue,
    cast(coalesce(value_summary.lifetime_gross_margin, 0) as {{ type_double() }}) as lifetime_gross_margin,
    cast(value_summary.last_revenue_month as date) as last_revenue_month,
    trust_events.trust_eroding_events,
    trust_events.trust_building_events,
    trust_events.competitive_events,
    cast(deal_summary.mean_alignment as {{ type_double() }}) as mean_alignment,
    coalesce(value_summary.active_flag, 0) = 1 as is_active,
    cast(revenue_source.value_source as {{ dbt.type_string() }}) as value_source,
    cast(as_of.as_of_date as date) as as_of_date,
    cast(value_summary.first_revenue_month as date) as first_revenue_month,
    cast(coalesce(value_summary.discounted_lifetime_value, 0) as {{ type_double() }}) as discounted_lifetime_value,
    cast(coalesce(value_summary.discounted_lifetime_gross_margin, 0) as {{ type_double() }}) as discounted_lifetime_gross_margin,
    cast(deal_summary.first_won_at as date) as first_won_at,
    cast(case when horizon.is_horizon_observed then coalesce(value_summary.horizon_revenue, 0) end
        as {{ type_double() }}) as horizon_value,
    coalesce(horizon.is_horizon_observed, false) as is_horizon_observed,
    cast(case
        when deal_summary.first_won_at is null then 'no_won_deal'
        when horizon.is_horizon_observed then 'observed'
        else 'censored'
    end as {{ dbt.type_string() }}) as horizon_status,
    -- had revenue once, none in the active window
    value_summary.last_revenue_month is not null and coalesce(value_summary.active_flag, 0) = 0 as is_churned
from accounts
cross join as_of
cross join revenue_source
left join deal_summary
    on accounts.account_id = deal_summary.account_id
left join value_summary
    on accounts.account_id = value_summary.account_id
left join (
    -- the horizon's last month must be complete by the as-of date (else right-censored)
    select
        deal_summary.account_id,
        {{ dbt.dateadd('month', var('value_horizon_months') | int - 1, dbt.date_trunc('month', 'deal_summary.first_won_at')) }}
            <= as_of.last_complete_month as is_horizon_observed
    from deal_summary
    cross join as_of
    where deal_summary.first_won_at is not null
) as horizon
    on accounts.account_id = horizon.account_id
inner join trust_events
    on accounts.account_id = trust_events.account_id
