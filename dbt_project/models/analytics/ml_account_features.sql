{#-
  One row per account with at least one deal: features from the account's
  observation window, outcome from the window that follows it.

  The customer relationship starts when the account's first deal is won: every
  account's outcome window starts the same number of months after that, so accounts
  are compared at the same customer tenure. Accounts never won are not customers
  (`is_customer` false, no windows): excluded from the tests and counted, a selection
  made before any outcome. Windows are aligned to calendar months so that no revenue
  month straddles the boundary between observation and outcome:
    anchor_date           = the account's first deal created_at
    customer_since        = first day of the month of the first won deal's closed_at
    observation_start     = first day of the anchor's month
    observation_end       = customer_since + observation_months      (exclusive)
    outcome_end           = observation_end + outcome_months         (exclusive)
  Deals and events count from anchor_date (inclusive) to observation_end (exclusive);
  revenue months from observation_start to observation_end. The outcome sums the
  months in [observation_end, outcome_end). A deal counts as won in the window only
  if it also closed before observation_end: nothing known after the window enters
  a feature.
-#}
{{ config(materialized='table') }}

{%- set observation_months = var('observation_months', 12) | int -%}
{%- set outcome_months = var('outcome_months', 12) | int -%}
{#- The within-account design (docs/statistics.md) splits the observation window's customer months in
    two halves: revenue in the second half is the "before", the outcome window the "after"; the first
    half against the second is its pre-trend check. -#}
{%- set half_observation_months = (observation_months // 2) -%}
{#- One count column per event type, named n_<polarity>__<event_type>; event types
    outside this list still count in the per-polarity totals. -#}
{%- set event_types_by_polarity = var('ml_event_types', {
    'trust_eroding': ['escalated_over_buyer', 'buyer_management_took_over', 'commitment_broken',
                      'concession_reneged', 'second_source_added', 'surprise_price_increase'],
    'trust_building': ['commitment_kept', 'joint_planning', 'executive_sponsor_aligned',
                       'value_review_delivered', 'concession_reciprocated'],
    'competitive': ['competitor_price_cut'],
}) -%}

with deals as (
    select account_id, created_at, closed_at, is_won, final_amount, alignment_score, flagged_strategic
    from {{ ref('fct_deals') }}
),

anchors as (
    select account_id,
           min(created_at) as anchor_date,
           min(case when is_won then closed_at end) as first_won_at
    from deals
    group by account_id
),

anchor_months as (
    select account_id, anchor_date,
           cast({{ dbt.date_trunc('month', 'anchor_date') }} as date) as observation_start,
           cast({{ dbt.date_trunc('month', 'first_won_at') }} as date) as customer_since
    from anchors
),

windows as (
    select account_id, anchor_date, observation_start, customer_since,
           customer_since is not null as is_customer,
           cast({{ dbt.dateadd('month', observation_months, 'customer_since') }} as date) as observation_end,
           cast({{ dbt.dateadd('month', observation_months + outcome_months, 'customer_since') }} as date) as outcome_end,
           cast({{ dbt.dateadd('month', half_observation_months, 'customer_since') }} as date) as observation_midpoint,
           -- the negative-control window: the outcome_months after the outcome window (nothing in it can
           -- have caused the outcome)
           cast({{ dbt.dateadd('month', observation_months + 2 * outcome_months, 'customer_since') }} as date)
               as future_end
    from anchor_months
),

value_coverage as (
    select max(month) as value_last_month
    from {{ ref('int_account_monthly_value') }}
),

as_of_month as (
    select cast({{ dbt.date_trunc('month', 'as_of_date') }} as date) as as_of_month
    from {{ ref('int_as_of_date') }}
),

-- The last month both the value data and the warehouse's as-of date cover: an outcome window
-- ending after it is right-censored (NULL when there is no value data: everything is censored).
data_coverage as (
    select
        case
            when v.value_last_month is null then null
            when a.as_of_month is null or v.value_last_month <= a.as_of_month then v.value_last_month
            else a.as_of_month
        end as data_last_month
    from value_coverage as v
    cross join as_of_month as a
),

observed_windows as (
    select
        w.account_id, w.anchor_date, w.observation_start, w.customer_since, w.is_customer,
        w.observation_end, w.outcome_end, w.observation_midpoint, w.future_end, c.data_last_month,
        -- observed when the outcome window's last month is on or before the data's last month
        coalesce(w.outcome_end <= cast({{ dbt.dateadd('month', 1, 'c.data_last_month') }} as date), false)
            as is_outcome_observed,
        coalesce(w.future_end <= cast({{ dbt.dateadd('month', 1, 'c.data_last_month') }} as date), false)
            as is_future_observed
    from windows as w
    cross join data_coverage as c
),

deal_features as (
    select
        w.account_id,
        count(d.account_id) as deals_created,
        count(d.alignment_score) as n_deals_scored,
        {{ exact_avg('d.alignment_score') }} as mean_alignment,
        sum(case when d.flagged_strategic then 1 else 0 end) as deals_flagged_strategic,
        sum(case when d.is_won and d.closed_at < w.observation_end then 1 else 0 end) as deals_won,
        {{ exact_sum('case when d.is_won and d.closed_at < w.observation_end
                 then coalesce(d.final_amount, 0) else 0 end') }} as value_won
    from windows as w
    left join deals as d
        on d.account_id = w.account_id
       and d.created_at >= w.anchor_date
       and d.created_at < w.observation_end
    group by w.account_id
),

event_features as (
    select
        w.account_id,
        sum(case when e.polarity = 'trust_eroding' then 1 else 0 end) as n_trust_eroding_events,
        sum(case when e.polarity = 'trust_eroding' then coalesce(e.severity, 1) else 0 end) as trust_eroding_severity,
        sum(case when e.polarity = 'trust_building' then 1 else 0 end) as n_trust_building_events,
        sum(case when e.polarity = 'trust_building' then coalesce(e.severity, 1) else 0 end) as trust_building_severity,
        sum(case when e.polarity = 'competitive' then 1 else 0 end) as n_competitive_events
        {%- for polarity, event_types in event_types_by_polarity.items() %}
        {%- for event_type in event_types %},
        sum(case when e.event_type = '{{ event_type }}' then 1 else 0 end) as n_{{ polarity }}__{{ event_type }}
        {%- endfor %}
        {%- endfor %}
    from windows as w
    left join {{ ref('int_trust_events') }} as e
        on e.account_id = w.account_id
       and e.occurred_at >= w.anchor_date
       and e.occurred_at < w.observation_end
    group by w.account_id
),

-- Negative control ("future treatment"): deals and trust-eroding events of the window after the outcome window.
future_deal_features as (
    select w.account_id, {{ exact_avg('d.alignment_score') }} as mean_alignment_future
    from windows as w
    left join deals as d
        on d.account_id = w.account_id
       and d.created_at >= w.outcome_end
       and d.created_at < w.future_end
    group by w.account_id
),

future_event_features as (
    select w.account_id, sum(case when e.polarity = 'trust_eroding' then 1 else 0 end) as n_trust_eroding_events_future
    from windows as w
    left join {{ ref('int_trust_events') }} as e
        on e.account_id = w.account_id
       and e.occurred_at >= w.outcome_end
       and e.occurred_at < w.future_end
    group by w.account_id
),

value_features as (
    select
        w.account_id,
        {{ exact_sum('case when v.month < w.observation_end then v.revenue else 0 end') }} as early_revenue,
        {{ exact_sum('case when v.month < w.observation_end then v.gross_margin else 0 end') }} as early_gross_margin,
        {{ exact_sum('case when v.month >= w.observation_end then v.revenue else 0 end') }} as outcome_revenue_to_date,
        {{ exact_sum('case when v.month >= w.observation_end then v.gross_margin else 0 end') }} as outcome_gross_margin_to_date,
        {{ exact_sum('case when v.month >= w.customer_since and v.month < w.observation_midpoint
                 then v.revenue else 0 end') }} as revenue_observation_first_half,
        {{ exact_sum('case when v.month >= w.observation_midpoint and v.month < w.observation_end
                 then v.revenue else 0 end') }} as revenue_observation_second_half,
        sum(case when v.month >= w.customer_since and v.month < w.observation_midpoint and v.revenue > 0
                 then 1 else 0 end) as active_months_observation_first_half,
        sum(case when v.month >= w.observation_midpoint and v.month < w.observation_end and v.revenue > 0
                 then 1 else 0 end) as active_months_observation_second_half,
        max(case when v.month = cast({{ dbt.dateadd('month', -1, 'w.outcome_end') }} as date) and v.revenue > 0
                 then 1 else 0 end) = 1 as is_active_at_outcome_end
    from windows as w
    left join {{ ref('int_account_monthly_value') }} as v
        on v.account_id = w.account_id
       and v.month >= w.observation_start
       and v.month < w.outcome_end
    group by w.account_id
),

assembled as (
    select
        w.account_id,
        a.segment,
        a.industry,
        a.region,
        a.employee_count,
        case when a.employee_count is not null then ln(1 + a.employee_count) end as log_employee_count,
        cast(extract(year from coalesce(w.customer_since, w.anchor_date)) as integer) as cohort_year,
        w.anchor_date,
        w.customer_since,
        w.is_customer,
        -- months from the first deal to the first win: how long the account was a prospect (exposure)
        {{ dbt.datediff('w.observation_start', 'w.customer_since', 'month') }} as months_to_first_win,
        w.observation_start,
        w.observation_end,
        w.outcome_end,
        w.data_last_month,
        w.is_outcome_observed,
        df.mean_alignment,
        df.n_deals_scored,
        df.deals_created,
        df.deals_flagged_strategic,
        df.deals_won,
        df.value_won,
        coalesce(ef.n_trust_eroding_events, 0) as n_trust_eroding_events,
        coalesce(ef.trust_eroding_severity, 0) as trust_eroding_severity,
        coalesce(ef.n_trust_building_events, 0) as n_trust_building_events,
        coalesce(ef.trust_building_severity, 0) as trust_building_severity,
        coalesce(ef.n_competitive_events, 0) as n_competitive_events,
        {%- for polarity, event_types in event_types_by_polarity.items() %}
        {%- for event_type in event_types %}
        coalesce(ef.n_{{ polarity }}__{{ event_type }}, 0) as n_{{ polarity }}__{{ event_type }},
        {%- endfor %}
        {%- endfor %}
        coalesce(vf.early_revenue, 0) as early_revenue,
        coalesce(vf.early_gross_margin, 0) as early_gross_margin,
        -- NULL while the outcome window is still open: a partial sum must not pass for an outcome
        case when w.is_outcome_observed then coalesce(vf.outcome_revenue_to_date, 0) end as outcome_revenue,
        case when w.is_outcome_observed then coalesce(vf.outcome_gross_margin_to_date, 0) end as outcome_gross_margin,
        w.observation_midpoint,
        coalesce(vf.revenue_observation_first_half, 0) as revenue_observation_first_half,
        coalesce(vf.revenue_observation_second_half, 0) as revenue_observation_second_half,
        coalesce(vf.active_months_observation_first_half, 0) as active_months_observation_first_half,
        coalesce(vf.active_months_observation_second_half, 0) as active_months_observation_second_half,
        {{ dbt.datediff('w.customer_since', 'w.observation_midpoint', 'month') }} as months_observation_first_half,
        {{ dbt.datediff('w.observation_midpoint', 'w.observation_end', 'month') }} as months_observation_second_half,
        coalesce(vf.is_active_at_outcome_end, false) as is_active_at_outcome_end,
        w.future_end,
        w.is_future_observed,
        case when w.is_future_observed then fd.mean_alignment_future end as mean_alignment_future,
        case when w.is_future_observed then coalesce(fe.n_trust_eroding_events_future, 0) end as n_trust_eroding_events_future
    from observed_windows as w
    inner join {{ ref('stg_accounts') }} as a on a.account_id = w.account_id
    left join deal_features as df on df.account_id = w.account_id
    left join event_features as ef on ef.account_id = w.account_id
    left join value_features as vf on vf.account_id = w.account_id
    left join future_deal_features as fd on fd.account_id = w.account_id
    left join future_event_features as fe on fe.account_id = w.account_id
)

select * from assembled
