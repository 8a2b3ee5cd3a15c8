{#- Dense monthly panel: one row per account and calendar month, from the first month found in the
    data to int_as_of_date.last_complete_month, with the monthly sums every window metric needs
    (trust_event_study, won_deal_lost_customer, move_precedents, escalation_paths). Months without
    activity hold 0, so a window sum over N rows is an N-month sum. Deal measures sit in the month
    the deal was created (the month it was negotiated in). -#}
with recursive as_of as (
    select * from {{ ref('int_as_of_date') }}
),

deals as (
    select * from {{ ref('fct_deals') }}
),

events as (
    select * from {{ ref('int_trust_events') }}
),

monthly_value as (
    select * from {{ ref('int_account_monthly_value') }}
),

first_month as (
    select min(data_month) as first_month
    from (
        select cast({{ dbt.date_trunc('month', 'created_at') }} as date) as data_month from deals
        union all
        select cast({{ dbt.date_trunc('month', 'occurred_at') }} as date) from events
        union all
        select month from monthly_value
    ) as data_months
),

-- Month spine (macros/engines.sql: by recursion, or Spark's sequence).
months as (
    {{ month_spine('months', 'first_month.first_month', 'as_of.last_complete_month', 'first_month', 'as_of') }}
),

deal_months as (
    select
        account_id,
        cast({{ dbt.date_trunc('month', 'created_at') }} as date) as month,
        count(*) as deals_created,
        sum(case when is_closed then 1 else 0 end) as closed_deals,
        sum(case when is_won then 1 else 0 end) as won_deals,
        sum(case when is_closed then cycle_days end) as cycle_days_sum,
        {{ exact_sum('case when is_won and gross_margin_pct is not null then gross_margin_pct end') }} as gross_margin_pct_sum,
        sum(case when is_won and gross_margin_pct is not null then 1 else 0 end) as gross_margin_pct_deals,
        {{ exact_sum('case when discount_pct is not null then discount_pct end') }} as discount_pct_sum,
        sum(case when discount_pct is not null then 1 else 0 end) as discount_pct_deals,
        sum(case when deal_type = 'expansion' then 1 else 0 end) as expansion_deals_created
    from deals
    group by 1, 2
),

event_months as (
    select
        account_id,
        cast({{ dbt.date_trunc('month', 'occurred_at') }} as date) as month,
        sum(case when polarity = 'trust_eroding' then 1 else 0 end) as trust_eroding_events,
        sum(case when polarity = 'trust_building' then 1 else 0 end) as trust_building_events
    from events
    group by 1, 2
)

select
    accounts.account_id,
    accounts.segment,
    months.month,
    cast(coalesce(monthly_value.revenue, 0) as {{ type_double() }}) as revenue,
    cast(coalesce(monthly_value.gross_margin, 0) as {{ type_double() }}) as gross_margin,
    cast(coalesce(deal_months.deals_created, 0) as bigint) as deals_created,
    cast(coalesce(deal_months.closed_deals, 0) as bigint) as closed_deals,
    cast(coalesce(deal_months.won_deals, 0) as bigint) as won_deals,
    cast(coalesce(deal_months.cycle_days_sum, 0) as {{ type_double() }}) as cycle_days_sum,
    cast(coalesce(deal_months.gross_margin_pct_sum, 0) as {{ type_double() }}) as gross_margin_pct_sum,
    cast(coalesce(deal_months.gross_margin_pct_deals, 0) as bigint) as gross_margin_pct_deals,
    cast(coalesce(deal_months.discount_pct_sum, 0) as {{ type_double() }}) as discount_pct_sum,
    cast(coalesce(deal_months.discount_pct_deals, 0) as bigint) as discount_pct_deals,
    cast(coalesce(deal_months.expansion_deals_created, 0) as bigint) as expansion_deals_created,
    cast(coalesce(event_months.trust_eroding_events, 0) as bigint) as trust_eroding_events,
    cast(coalesce(event_months.trust_building_events, 0) as bigint) as trust_building_events
from {{ ref('stg_accounts') }} as accounts
cross join months
left join monthly_value
    on accounts.account_id = monthly_value.account_id
    and months.month = monthly_value.month
left join deal_months
    on accounts.account_id = deal_months.account_id
    and months.month = deal_months.month
left join event_months
    on accounts.account_id = event_months.account_id
    and months.month = event_months.month
