{#-
  The account value forecast's features (models/forecast.py, docs/statistics.md section 8): one row
  per cutoff and active account. With E = the month after the data's last month and H = var
  `forecast_horizon_months`, the cutoffs are E - 2H (period 'train'), E - H ('evaluation') and E
  ('forecast'). Every feature at a cutoff c uses only what is known before c; the target is the
  revenue in [c, c + H), NULL at E (not observed yet). An account is active at c if it had revenue
  in the 12 months before c.
-#}
{%- set horizon_months = var('forecast_horizon_months', 12) | int -%}
{#- the cutoff shifted by whole months (dbt's cross-database dateadd: the model runs on Spark too) -#}
{%- set cutoff_minus_3m = dbt.dateadd('month', -3, 'c.cutoff_month') -%}
{%- set cutoff_minus_12m = dbt.dateadd('month', -12, 'c.cutoff_month') -%}
{%- set cutoff_minus_24m = dbt.dateadd('month', -24, 'c.cutoff_month') -%}
{%- set cutoff_plus_horizon = dbt.dateadd('month', horizon_months, 'c.cutoff_month') -%}

with monthly as (
    select account_id, month, revenue from {{ ref('int_account_monthly_value') }}
),

data_end as (
    select cast({{ dbt.dateadd('month', 1, 'max(month)') }} as date) as end_month from monthly
),

periods as (
    select 'train' as period, 2 as horizons_back
    union all select 'evaluation', 1
    union all select 'forecast', 0
),

cutoffs as (
    select periods.period,
           cast({{ dbt.dateadd('month', '-' ~ horizon_months ~ ' * periods.horizons_back', 'data_end.end_month') }}
                as date) as cutoff_month,
           periods.period <> 'forecast' as is_observed
    from data_end
    cross join periods
    where data_end.end_month is not null
),

history as (
    select c.period, c.cutoff_month, m.account_id,
           sum(case when m.month >= {{ cutoff_minus_3m }} then m.revenue else 0 end) as revenue_last_3m,
           sum(case when m.month >= {{ cutoff_minus_12m }} then m.revenue else 0 end) as revenue_last_12m,
           sum(case when m.month >= {{ cutoff_minus_24m }} and m.month < {{ cutoff_minus_12m }}
                    then m.revenue else 0 end) as revenue_prior_12m,
           count(case when m.month >= {{ cutoff_minus_12m }} and m.revenue > 0 then 1 end)
               as active_months_last_12m,
           {{ dbt.datediff('min(case when m.revenue > 0 then m.month end)', 'c.cutoff_month', 'month') }} as tenure_months
    from cutoffs as c
    inner join monthly as m on m.month < c.cutoff_month
    group by c.period, c.cutoff_month, m.account_id
),

deals as (
    select c.period, d.account_id,
           count(case when d.is_won and d.closed_at >= {{ cutoff_minus_12m }}
                           and d.closed_at < c.cutoff_month then 1 end) as deals_won_last_12m,
           sum(case when d.is_won and d.closed_at >= {{ cutoff_minus_12m }}
                         and d.closed_at < c.cutoff_month
                    then coalesce(d.final_amount, 0) else 0 end) as value_won_last_12m,
           avg(case when d.created_at >= {{ cutoff_minus_24m }} and d.created_at < c.cutoff_month
                    then d.alignment_score end) as mean_alignment_last_24m
    from cutoffs as c
    cross join {{ ref('fct_deals') }} as d
    group by c.period, d.account_id
),

events as (
    select c.period, e.account_id,
           count(case when e.polarity = 'trust_eroding' then 1 end) as trust_eroding_last_12m,
           count(case when e.polarity = 'trust_building' then 1 end) as trust_building_last_12m
    from cutoffs as c
    inner join {{ ref('stg_negotiation_events') }} as e
        on e.occurred_at >= {{ cutoff_minus_12m }} and e.occurred_at < c.cutoff_month
    group by c.period, e.account_id
),

target as (
    select c.period, m.account_id, sum(m.revenue) as actual_value
    from cutoffs as c
    inner join monthly as m
        on m.month >= c.cutoff_month and m.month < {{ cutoff_plus_horizon }}
    group by c.period, m.account_id
)

select h.period, h.cutoff_month, {{ horizon_months }} as horizon_months,
       h.account_id, a.segment, a.industry, a.region,
       case when a.employee_count is not null then ln(1 + a.employee_count) end as log_employee_count,
       h.revenue_last_3m, h.revenue_last_12m, h.revenue_prior_12m, h.active_months_last_12m, h.tenure_months,
       coalesce(d.deals_won_last_12m, 0) as deals_won_last_12m,
       coalesce(d.value_won_last_12m, 0) as value_won_last_12m,
       d.mean_alignment_last_24m,
       coalesce(e.trust_eroding_last_12m, 0) as trust_eroding_last_12m,
       coalesce(e.trust_building_last_12m, 0) as trust_building_last_12m,
       case when c.is_observed then coalesce(t.actual_value, 0) end as actual_value
from history as h
inner join cutoffs as c on c.period = h.period
inner join {{ ref('stg_accounts') }} as a on a.account_id = h.account_id
left join deals as d on d.period = h.period and d.account_id = h.account_id
left join events as e on e.period = h.period and e.account_id = h.account_id
left join target as t on t.period = h.period and t.account_id = h.account_id
where h.revenue_last_12m > 0
