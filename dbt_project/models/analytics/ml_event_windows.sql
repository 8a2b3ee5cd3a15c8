{#-
  The within-account design for trust-eroding events (docs/statistics.md, section 3a): one row per
  customer account and calendar month e that can serve in a stacked event study, either as a
  treated unit (exactly one trust-eroding event in month e) or as a clean comparison (none), with
  no other trust-eroding event in the k months before or after e. For each row:
    before  = revenue in [e - k, e)            (the account must have revenue in all k months, all
                                                of them on or after it became a customer)
    after   = revenue in [e + 1, e + k]        (the event month itself is left out; zeros = churn)
    lead    = revenue in [e - 2k, e - k)       (the pre-trend check compares lead with before)
  k = var('event_window_months', default 6). Only rows whose after-window ends on or before the
  data's last month (`ml_account_features.data_last_month`) are kept: no partial outcome.
-#}
{{ config(materialized='table') }}

{%- set k = var('event_window_months', 6) | int -%}

with accounts as (
    select account_id, segment, industry, region, log_employee_count, customer_since, data_last_month
    from {{ ref('ml_account_features') }}
    where is_customer
),

-- A kept row's windows reach back to its lead window, at most 2k months before a month at least k
-- into the relationship: months earlier than k before customer_since are never read.
panel as (
    select p.account_id, p.month, p.revenue, p.trust_eroding_events
    from {{ ref('int_account_month_panel') }} as p
    inner join accounts as a on a.account_id = p.account_id
    where {{ dbt.datediff('a.customer_since', 'p.month', 'month') }} >= -{{ k }}
),

windowed as (
    select
        account_id,
        month as event_month,
        trust_eroding_events as events_in_event_month,
        coalesce(sum(trust_eroding_events) over (
            partition by account_id order by month rows between {{ k }} preceding and 1 preceding), 0) as events_before,
        coalesce(sum(trust_eroding_events) over (
            partition by account_id order by month rows between 1 following and {{ k }} following), 0) as events_after,
        coalesce(sum(trust_eroding_events) over (
            partition by account_id order by month rows between {{ 2 * k }} preceding and {{ k + 1 }} preceding), 0)
            as events_lead,
        coalesce(sum(revenue) over (
            partition by account_id order by month rows between {{ k }} preceding and 1 preceding), 0) as revenue_before,
        coalesce(sum(revenue) over (
            partition by account_id order by month rows between 1 following and {{ k }} following), 0) as revenue_after,
        coalesce(sum(revenue) over (
            partition by account_id order by month rows between {{ 2 * k }} preceding and {{ k + 1 }} preceding), 0)
            as revenue_lead,
        coalesce(sum(case when revenue > 0 then 1 else 0 end) over (
            partition by account_id order by month rows between {{ k }} preceding and 1 preceding), 0)
            as active_months_before,
        coalesce(sum(case when revenue > 0 then 1 else 0 end) over (
            partition by account_id order by month rows between {{ 2 * k }} preceding and {{ k + 1 }} preceding), 0)
            as active_months_lead
    from panel
)

select
    w.account_id,
    w.event_month,
    cast(w.events_in_event_month = 1 as boolean) as is_treated,
    cast({{ k }} as integer) as window_months,
    cast(w.revenue_before as {{ type_double() }}) as revenue_before,
    cast(w.revenue_after as {{ type_double() }}) as revenue_after,
    cast(w.revenue_lead as {{ type_double() }}) as revenue_lead,
    -- the pre-trend check may use the row: a full active lead window without trust-eroding events
    cast(w.active_months_lead = {{ k }} and w.events_lead = 0 as boolean) as is_lead_clean,
    {{ dbt.datediff('a.customer_since', 'w.event_month', 'month') }} as tenure_months,
    a.segment,
    a.industry,
    a.region,
    a.log_employee_count
from windowed as w
inner join accounts as a on a.account_id = w.account_id
where w.events_in_event_month <= 1
  and w.events_before = 0
  and w.events_after = 0
  and w.active_months_before = {{ k }}
  -- the before-window lies inside the customer relationship: an export may carry revenue months
  -- from before the first won deal, which are not the relationship being measured
  and {{ dbt.datediff('a.customer_since', 'w.event_month', 'month') }} >= {{ k }}
  and cast({{ dbt.dateadd('month', k, 'w.event_month') }} as date) <= a.data_last_month
