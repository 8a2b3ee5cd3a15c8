{#- What followed a vendor escalation over the buyer's head, per account (its first
    escalated_over_buyer, date e; int_account_escalations). Only escalations whose follow-up windows
    end by the as-of date are counted (later ones are right-censored and left out;
    escalations_censored counts them).
      took over      a buyer_management_took_over event in (e, e + var takeover_window_months]
      second source  a second_source_added event in (e, e + var second_source_window_months]
      months to second source  days from e to the first such event / (365.25 / 12)
      margin before  sum(gross_margin) / sum(revenue) over the var event_window_months (W) months
                     before e's month, pooled over the group's accounts with both windows observed
      margin after   the same over the W months after the month of the path's last event (the
                     second source if it came, else the takeover, else the escalation)
    Groups: all escalated accounts, those with / without a takeover, those with a second source. -#}
{%- set window_months = var('event_window_months') | int -%}

with followed as (
    select * from {{ ref('int_account_escalations') }}
),

-- The windows are read at an escalation's month and its path's last month (not earlier): an account's
-- panel is read from W months before the first of them, all that their before windows reach.
first_anchor_months as (
    select account_id,
           min(least(cast({{ dbt.date_trunc('month', 'escalated_at') }} as date),
                     cast({{ dbt.date_trunc('month', 'coalesce(second_source_at, took_over_at, escalated_at)') }} as date)))
               as first_anchor_month
    from followed
    group by 1
),

panel as (
    {{ panel_from('first_anchor_months', 'first_anchor_month', window_months) }}
),

margin_windows as (
    select
        account_id,
        month,
        {{ trailing_sum('revenue', window_months) }} as before_revenue,
        {{ trailing_sum('gross_margin', window_months) }} as before_gross_margin,
        {{ trailing_months(window_months) }} as before_months,
        {{ leading_sum('revenue', window_months) }} as after_revenue,
        {{ leading_sum('gross_margin', window_months) }} as after_gross_margin,
        {{ leading_months(window_months) }} as after_months
    from panel
),

paths as (
    select
        followed.*,
        followed.took_over_at is not null as took_over,
        followed.second_source_at is not null as added_second_source,
        {{ dbt.datediff('followed.escalated_at', 'followed.second_source_at', 'day') }} / (365.25 / 12) as months_to_second_source,
        before_window.before_revenue,
        before_window.before_gross_margin,
        after_window.after_revenue,
        after_window.after_gross_margin,
        coalesce(before_window.before_months = {{ window_months }}, false)
            and coalesce(after_window.after_months = {{ window_months }}, false) as has_margin_windows
    from followed
    left join margin_windows as before_window
        on followed.account_id = before_window.account_id
        and before_window.month = cast({{ dbt.date_trunc('month', 'followed.escalated_at') }} as date)
    left join margin_windows as after_window
        on followed.account_id = after_window.account_id
        and after_window.month = cast({{ dbt.date_trunc('month',
            'coalesce(followed.second_source_at, followed.took_over_at, followed.escalated_at)') }} as date)
    where followed.is_observed
),

grouped as (
    select 'all_escalated' as account_group, * from paths
    union all
    select 'with_takeover', * from paths where took_over
    union all
    select 'without_takeover', * from paths where not took_over
    union all
    select 'with_second_source', * from paths where added_second_source
),

summary as (
    select
        account_group,
        count(*) as accounts,
        sum(case when took_over then 1 else 0 end) as accounts_with_takeover,
        sum(case when added_second_source then 1 else 0 end) as accounts_with_second_source,
        {{ median('months_to_second_source') }} as median_months_to_second_source,
        sum(case when has_margin_windows then 1 else 0 end) as accounts_with_margin,
        {{ ratio(exact_sum('case when has_margin_windows then before_gross_margin end'),
                 exact_sum('case when has_margin_windows then before_revenue end')) }} as margin_before_pct,
        {{ ratio(exact_sum('case when has_margin_windows then after_gross_margin end'),
                 exact_sum('case when has_margin_windows then after_revenue end')) }} as margin_after_pct
    from grouped
    group by 1
),

censored as (
    select count(*) as escalations_censored from followed where not is_observed
)

select
    cast(summary.account_group as {{ dbt.type_string() }}) as account_group,
    cast(summary.accounts as bigint) as accounts,
    cast(summary.accounts_with_takeover as bigint) as accounts_with_takeover,
    cast({{ ratio('summary.accounts_with_takeover', 'summary.accounts') }} as {{ type_double() }}) as share_with_takeover,
    cast({{ wilson_low('summary.accounts_with_takeover', 'summary.accounts') }} as {{ type_double() }}) as share_with_takeover_ci_low,
    cast({{ wilson_high('summary.accounts_with_takeover', 'summary.accounts') }} as {{ type_double() }}) as share_with_takeover_ci_high,
    cast(summary.accounts_with_second_source as bigint) as accounts_with_second_source,
    cast({{ ratio('summary.accounts_with_second_source', 'summary.accounts') }} as {{ type_double() }}) as share_with_second_source,
    cast({{ wilson_low('summary.accounts_with_second_source', 'summary.accounts') }} as {{ type_double() }}) as share_with_second_source_ci_low,
    cast({{ wilson_high('summary.accounts_with_second_source', 'summary.accounts') }} as {{ type_double() }}) as share_with_second_source_ci_high,
    cast(summary.median_months_to_second_source as {{ type_double() }}) as median_months_to_second_source,
    cast(summary.accounts_with_margin as bigint) as accounts_with_margin,
    cast(summary.margin_before_pct as {{ type_double() }}) as margin_before_pct,
    cast(summary.margin_after_pct as {{ type_double() }}) as margin_after_pct,
    cast(summary.margin_after_pct - summary.margin_before_pct as {{ type_double() }}) as margin_change,
    cast(censored.escalations_censored as bigint) as escalations_censored
from summary
cross join censored
