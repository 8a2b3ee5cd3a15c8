{#- Which of our moves precede trust-building events and expansion deals? Descriptive, by calendar
    month. A move is an event of a type in var our_move_event_types, or a won deal of a deal_type
    (month of closed_at). For each move, each account's first such month m counts once, if the
    var move_window_months (N) months after it are fully observed; the outcome is a trust-building
    event / a new expansion deal (created) in months m+1 .. m+N (the move's own month is left out,
    so the move cannot count as its own outcome).
    Baseline: every account-month from the account's first deal month on whose next N months are
    observed, with the same outcome definition: how often the outcome follows an arbitrary month.
    Shares have 95% Wilson intervals; the baseline's counts account-months, which overlap, so its
    interval is narrower than the truth. -#}
{%- set window_months = var('move_window_months') | int -%}

with moves as (
    select
        'event_type' as move_kind,
        event_type as move,
        account_id,
        min(cast({{ dbt.date_trunc('month', 'occurred_at') }} as date)) as move_month
    from {{ ref('stg_negotiation_events') }}
    where event_type in (
        {%- for event_type in var('our_move_event_types') %}'{{ event_type }}'{{ ', ' if not loop.last }}{% endfor -%}
    )
    group by 1, 2, 3
    union all
    select
        'deal_type',
        deal_type,
        account_id,
        min(cast({{ dbt.date_trunc('month', 'closed_at') }} as date))
    from {{ ref('fct_deals') }}
    where is_won
    group by 1, 2, 3
),

first_deal_months as (
    select account_id, min(cast({{ dbt.date_trunc('month', 'created_at') }} as date)) as first_deal_month
    from {{ ref('fct_deals') }}
    group by 1
),

-- A month's outcome window looks only forward, so an account's panel is read from the first month
-- a move or the baseline asks about (its first move or first deal): earlier months change nothing.
needed_from as (
    select account_id, min(month) as from_month
    from (
        select account_id, move_month as month from moves
        union all
        select account_id, first_deal_month from first_deal_months
    ) as needed
    group by 1
),

panel as (
    {{ panel_from('needed_from', 'from_month') }}
),

outcome_windows as (
    select
        account_id,
        month,
        {{ leading_sum('trust_building_events', window_months) }} > 0 as has_trust_building_after,
        {{ leading_sum('expansion_deals_created', window_months) }} > 0 as has_expansion_after,
        {{ leading_months(window_months) }} = {{ window_months }} as is_observed
    from panel
),

move_outcomes as (
    select
        moves.move_kind,
        moves.move,
        count(*) as accounts,
        sum(case when outcome_windows.has_trust_building_after then 1 else 0 end) as accounts_with_trust_building,
        sum(case when outcome_windows.has_expansion_after then 1 else 0 end) as accounts_with_expansion
    from moves
    inner join outcome_windows
        on moves.account_id = outcome_windows.account_id
        and moves.move_month = outcome_windows.month
    where outcome_windows.is_observed
    group by 1, 2
),

baseline as (
    select
        count(*) as baseline_account_months,
        sum(case when outcome_windows.has_trust_building_after then 1 else 0 end) as baseline_with_trust_building,
        sum(case when outcome_windows.has_expansion_after then 1 else 0 end) as baseline_with_expansion
    from outcome_windows
    inner join first_deal_months
        on outcome_windows.account_id = first_deal_months.account_id
        and outcome_windows.month >= first_deal_months.first_deal_month
    where outcome_windows.is_observed
)

select
    cast(move_outcomes.move_kind as {{ dbt.type_string() }}) as move_kind,
    cast(move_outcomes.move as {{ dbt.type_string() }}) as move,
    cast(move_outcomes.accounts as bigint) as accounts,
    {% for outcome in ['trust_building', 'expansion'] %}
    cast(move_outcomes.accounts_with_{{ outcome }} as bigint) as accounts_with_{{ outcome }},
    cast({{ ratio('move_outcomes.accounts_with_' ~ outcome, 'move_outcomes.accounts') }} as {{ type_double() }}) as share_with_{{ outcome }},
    cast({{ wilson_low('move_outcomes.accounts_with_' ~ outcome, 'move_outcomes.accounts') }} as {{ type_double() }}) as share_with_{{ outcome }}_ci_low,
    cast({{ wilson_high('move_outcomes.accounts_with_' ~ outcome, 'move_outcomes.accounts') }} as {{ type_double() }}) as share_with_{{ outcome }}_ci_high,
    cast({{ ratio('baseline.baseline_with_' ~ outcome, 'baseline.baseline_account_months') }} as {{ type_double() }}) as baseline_share_with_{{ outcome }},
    cast({{ wilson_low('baseline.baseline_with_' ~ outcome, 'baseline.baseline_account_months') }} as {{ type_double() }}) as baseline_share_with_{{ outcome }}_ci_low,
    cast({{ wilson_high('baseline.baseline_with_' ~ outcome, 'baseline.baseline_account_months') }} as {{ type_double() }}) as baseline_share_with_{{ outcome }}_ci_high,
    {% endfor %}
    cast(baseline.baseline_account_months as bigint) as baseline_account_months,
    {{ window_months }} as window_months
from move_outcomes
cross join baseline
