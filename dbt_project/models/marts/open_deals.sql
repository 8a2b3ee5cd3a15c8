{#- Every open deal with what a reviewer checks before calling it strategic: its fit with the
    plan in force on its creation date (fct_deals), our record on comparable closed deals at the
    chosen similarity level (open_deal_comparables) and its account's trust history
    (account_trust_timeline), as flags:
      flag_strategic_not_fitting  flagged strategic but misaligned with the plan
      flag_weak_record            the comparable deals' win rate is clearly below the company's
                                  (its 95% interval ends below the overall win rate)
      flag_small_sample           fewer than var('min_comparable_deals') comparable closed deals
      flag_recent_trust_erosion   a trust-eroding event at the account in the
                                  var('takeover_window_months') months up to the as-of date
      flag_second_source          the account has added a second source before
    stage_age_days: days from created_at to the as-of date. -#}
{%- set recent_months = var('takeover_window_months') | int -%}

with open_deals as (
    select * from {{ ref('fct_deals') }} where not is_closed
),

as_of as (
    select as_of_date from {{ ref('int_as_of_date') }}
),

overall as (
    select win_rate as company_win_rate from {{ ref('win_loss') }} where dimension = 'overall'
),

comparables as (
    select * from {{ ref('open_deal_comparables') }} where is_chosen_level
),

account_history as (
    select
        timeline.account_id,
        sum(case when timeline.polarity = 'trust_eroding' then 1 else 0 end) as trust_eroding_events,
        sum(case when timeline.polarity = 'trust_eroding'
                  and timeline.occurred_at > {{ dbt.dateadd('month', -recent_months, 'as_of.as_of_date') }}
            then 1 else 0 end) as recent_trust_eroding_events,
        sum(case when timeline.polarity = 'trust_building' then 1 else 0 end) as trust_building_events,
        sum(case when timeline.event_type = 'escalated_over_buyer' then 1 else 0 end) as escalations,
        sum(case when timeline.event_type = 'buyer_management_took_over' then 1 else 0 end) as takeovers,
        sum(case when timeline.event_type = 'second_source_added' then 1 else 0 end) as second_sources
    from {{ ref('account_trust_timeline') }} as timeline
    cross join as_of
    group by timeline.account_id
)

select
    open_deals.deal_id,
    open_deals.account_id,
    open_deals.owner,
    open_deals.segment,
    open_deals.industry,
    open_deals.region,
    open_deals.product_line,
    open_deals.deal_type,
    open_deals.competitor,
    open_deals.created_at,
    cast({{ dbt.datediff('open_deals.created_at', 'as_of.as_of_date', 'day') }} as bigint) as stage_age_days,
    open_deals.list_amount,
    cast({{ deal_size_band('open_deals.list_amount') }} as {{ dbt.type_string() }}) as size_band,
    coalesce(open_deals.flagged_strategic, false) as flagged_strategic,
    open_deals.plan_effective_from,
    open_deals.alignment_score,
    open_deals.alignment_band,
    open_deals.matched_targets,
    open_deals.matched_avoids,
    comparables.similarity_level,
    comparables.matched_on,
    comparables.deals_closed as comparable_deals_closed,
    comparables.win_rate as comparable_win_rate,
    comparables.win_rate_ci_low as comparable_win_rate_ci_low,
    comparables.win_rate_ci_high as comparable_win_rate_ci_high,
    overall.company_win_rate,
    cast(coalesce(account_history.trust_eroding_events, 0) as bigint) as account_trust_eroding_events,
    cast(coalesce(account_history.recent_trust_eroding_events, 0) as bigint) as account_recent_trust_eroding_events,
    cast(coalesce(account_history.trust_building_events, 0) as bigint) as account_trust_building_events,
    cast(coalesce(account_history.escalations, 0) as bigint) as account_escalations,
    cast(coalesce(account_history.takeovers, 0) as bigint) as account_takeovers,
    cast(coalesce(account_history.second_sources, 0) as bigint) as account_second_sources,
    coalesce(open_deals.flagged_strategic and open_deals.alignment_band = 'misaligned', false)
        as flag_strategic_not_fitting,
    coalesce(comparables.win_rate_ci_high < overall.company_win_rate, false) as flag_weak_record,
    coalesce(comparables.is_small_sample, true) as flag_small_sample,
    coalesce(account_history.recent_trust_eroding_events, 0) > 0 as flag_recent_trust_erosion,
    coalesce(account_history.second_sources, 0) > 0 as flag_second_source
from open_deals
cross join as_of
left join overall
    on true
left join comparables
    on open_deals.deal_id = comparables.deal_id
left join account_history
    on open_deals.account_id = account_history.account_id
