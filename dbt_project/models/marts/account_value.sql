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
        avg(alignment_score) as mean_alignment
    from {{ ref('fct_deals') }}
    group by account_id
),

-- Active window: the as-of month and the (active_months - 1) months before it.
monthly_value as (
    select
        monthly.*,
        monthly.month >= {{ dbt.dateadd('month', 1 - var('active_months') | int, dbt.date_trunc('month', 'as_of.as_of_date')) }}
            and monthly.month <= as_of.as_of_date as is_in_active_window
    from {{ ref('int_account_monthly_value') }} as monthly
    cross join as_of
),

value_summary as (
    select
        account_id,
        sum(revenue) as lifetime_revenue,
        sum(gross_margin) as lifetime_gross_margin,
        max(case when is_in_active_window and revenue > 0 then 1 else 0 end) as active_flag,
        max(case when revenue > 0 then month end) as last_revenue_month
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
    cast(as_of.as_of_date as date) as as_of_date
from accounts
cross join as_of
cross join revenue_source
left join deal_summary
    on accounts.account_id = deal_summary.account_id
left join value_summary
    on accounts.account_id = value_summary.account_id
inner join trust_events
    on accounts.account_id = trust_events.account_id
