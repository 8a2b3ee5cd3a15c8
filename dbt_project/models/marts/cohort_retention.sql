{#- Net and gross revenue retention by yearly cohort. An account's cohort_year is the calendar year of
    its first revenue month; its year k is the 12 months from first revenue month + 12k (account
    years, so a cohort's starting year is a full year for every account). A row (cohort, k) counts
    only accounts whose year k is complete by int_as_of_date.last_complete_month, and compares their
    year-k revenue with the same accounts' year-0 revenue:
      net_revenue_retention   = sum(revenue in year k) / sum(revenue in year 0)
      gross_revenue_retention = sum(min(revenue in year k, revenue in year 0)) / sum(revenue in year 0)
    Churned accounts stay in their cohort with 0 revenue. -#}
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
)

select
    cohort_year,
    years_since_start,
    cast(count(*) as bigint) as accounts,
    cast({{ exact_sum('starting_revenue') }} as {{ type_double() }}) as starting_revenue,
    cast({{ exact_sum('revenue') }} as {{ type_double() }}) as revenue,
    cast({{ ratio(exact_sum('revenue'), exact_sum('starting_revenue')) }} as {{ type_double() }}) as net_revenue_retention,
    cast({{ ratio(exact_sum('least(revenue, starting_revenue)'), exact_sum('starting_revenue')) }} as {{ type_double() }}) as gross_revenue_retention
from paired
group by 1, 2
