{#- Net and gross revenue retention by yearly cohort. An account's cohort_year is the calendar year of
    its first revenue month; its year k is the 12 months from first revenue month + 12k (account
    years, so a cohort's starting year is a full year for every account). A row (cohort, k) counts
    only accounts whose year k is complete by int_as_of_date.last_complete_month, and compares their
    year-k revenue with the same accounts' year-0 revenue:
      net_revenue_retention   = sum(revenue in year k) / sum(revenue in year 0)
      gross_revenue_retention = sum(min(revenue in year k, revenue in year 0)) / sum(revenue in year 0)
    Churned accounts stay in their cohort with 0 revenue.
      account_retention = accounts with revenue > 0 in year k / accounts, with its 95% Wilson interval
    (the accounts are the trials). NRR and GRR are ratios of sums over accounts: their 95% intervals are
    normal intervals with the delta-method standard error of a ratio of sums (macro ratio_of_sums_se),
    NULL below 2 accounts; is_small_sample below var min_closed_deals accounts. -#}
with panel as (
    -- dense: every account x month up to the last complete month, 0 where no revenue
    select
        account_id,
        month,
        revenue,
        min(case when revenue > 0 then month end) over (partition by account_id) as first_revenue_month
    from {{ ref('int_account_month_panel') }}
),

account_years as (
    select
        account_id,
        cast(extract(year from first_revenue_month) as bigint) as cohort_year,
        cast(floor({{ months_between('first_revenue_month', 'month') }} / 12.0) as bigint) as years_since_start,
        {{ exact_sum('revenue') }} as revenue,
        count(*) as months_observed
    from panel
    where month >= first_revenue_month
    group by 1, 2, 3
),

-- a year counts only when all its 12 months are observed (the panel ends at the last complete month)
paired as (
    select
        this_year.cohort_year,
        this_year.years_since_start,
        this_year.account_id,
        start_year.revenue as starting_revenue,
        this_year.revenue
    from account_years as this_year
    inner join account_years as start_year
        on this_year.account_id = start_year.account_id
        and start_year.years_since_start = 0
    where this_year.months_observed = 12
),

-- each row's group ratios, for the residuals of the ratio-of-sums standard error
group_ratios as (
    select
        cohort_year,
        years_since_start,
        {{ ratio(exact_sum('revenue'), exact_sum('starting_revenue')) }} as group_nrr,
        {{ ratio(exact_sum('least(revenue, starting_revenue)'), exact_sum('starting_revenue')) }} as group_grr
    from paired
    group by 1, 2
),

with_ratios as (
    select paired.*, group_ratios.group_nrr, group_ratios.group_grr
    from paired
    inner join group_ratios
        on paired.cohort_year = group_ratios.cohort_year
        and paired.years_since_start = group_ratios.years_since_start
),

retention as (
    select
        cohort_year,
        years_since_start,
        count(*) as accounts,
        {{ exact_sum('starting_revenue') }} as starting_revenue,
        {{ exact_sum('revenue') }} as revenue,
        sum(case when revenue > 0 then 1 else 0 end) as accounts_retained,
        {{ ratio(exact_sum('revenue'), exact_sum('starting_revenue')) }} as net_revenue_retention,
        {{ ratio(exact_sum('least(revenue, starting_revenue)'), exact_sum('starting_revenue')) }} as gross_revenue_retention,
        {{ ratio_of_sums_se(exact_sum('power(revenue - group_nrr * starting_revenue, 2)'), exact_sum('starting_revenue'), 'count(*)') }} as nrr_se,
        {{ ratio_of_sums_se(exact_sum('power(least(revenue, starting_revenue) - group_grr * starting_revenue, 2)'), exact_sum('starting_revenue'), 'count(*)') }} as grr_se
    from with_ratios
    group by 1, 2
)

select
    cohort_year,
    years_since_start,
    cast(accounts as bigint) as accounts,
    cast(accounts_retained as bigint) as accounts_retained,
    cast({{ ratio('accounts_retained', 'accounts') }} as {{ type_double() }}) as account_retention,
    cast({{ wilson_low('accounts_retained', 'accounts') }} as {{ type_double() }}) as account_retention_ci_low,
    cast({{ wilson_high('accounts_retained', 'accounts') }} as {{ type_double() }}) as account_retention_ci_high,
    accounts < {{ var('min_closed_deals') }} as is_small_sample,
    cast(starting_revenue as {{ type_double() }}) as starting_revenue,
    cast(revenue as {{ type_double() }}) as revenue,
    cast(net_revenue_retention as {{ type_double() }}) as net_revenue_retention,
    cast(net_revenue_retention - {{ wilson_z() }} * nrr_se as {{ type_double() }}) as net_revenue_retention_ci_low,
    cast(net_revenue_retention + {{ wilson_z() }} * nrr_se as {{ type_double() }}) as net_revenue_retention_ci_high,
    cast(gross_revenue_retention as {{ type_double() }}) as gross_revenue_retention,
    cast(gross_revenue_retention - {{ wilson_z() }} * grr_se as {{ type_double() }}) as gross_revenue_retention_ci_low,
    cast(gross_revenue_retention + {{ wilson_z() }} * grr_se as {{ type_double() }}) as gross_revenue_retention_ci_high
from retention
