{#- "Won the deal, lost the customer": won deals followed, within var won_lost_window_months (N)
    months of closing, by at least one trust-eroding event at the account AND a fall in the
    account's value: mean monthly revenue in the N months after the close month below the mean in
    the N months before it (the close month in neither; both windows fully observed; months
    without revenue count as 0). value_at_stake = (baseline - after) x N: the revenue the fall cost
    over the window.
    The baseline is the account's own mean monthly revenue before the close ('own_revenue_before')
    when it had any. An account's first won deal usually has none (the relationship starts with it),
    so comparing with its own past could never list it: there the baseline is what comparable
    accounts earned after a comparable start ('peer_first_wins'): the mean, over the other accounts of
    the same segment whose first won deal closed in the same calendar quarter and whose after window
    is observed, of their mean monthly revenue in the N months after their first win's close month.
    Without such a peer the first win is not judged. -#}
{%- set window_months = var('won_lost_window_months') | int -%}

with won_deals as (
    select
        *,
        row_number() over (partition by account_id order by closed_at, deal_id) = 1 as is_first_won_deal,
        {{ quarter_label('closed_at') }} as won_quarter
    from {{ ref('fct_deals') }}
    where is_won and closed_at is not null
),

events as (
    select * from {{ ref('stg_negotiation_events') }}
    where polarity = 'trust_eroding'
),

-- The windows are read at won deals' close months: an account's panel is read from N months before
-- its first, all that their before windows reach.
first_close_months as (
    select account_id, min(cast({{ dbt.date_trunc('month', 'closed_at') }} as date)) as first_close_month
    from won_deals
    group by 1
),

panel as (
    {{ panel_from('first_close_months', 'first_close_month', window_months) }}
),

revenue_windows as (
    select
        account_id,
        month,
        {{ trailing_sum('revenue', window_months) }} / {{ window_months }} as monthly_revenue_before,
        {{ leading_sum('revenue', window_months) }} / {{ window_months }} as monthly_revenue_after,
        {{ trailing_months(window_months) }} as before_months,
        {{ leading_months(window_months) }} as after_months
    from panel
),

eroding_after as (
    select
        won_deals.deal_id,
        count(*) as trust_eroding_events_after,
        min(events.occurred_at) as first_eroding_event_at,
        {{ dbt.listagg('distinct events.event_type', "', '", 'order by events.event_type') }} as eroding_event_types
    from won_deals
    inner join events
        on won_deals.account_id = events.account_id
        and events.occurred_at > won_deals.closed_at
        and events.occurred_at <= {{ dbt.dateadd('month', window_months, 'won_deals.closed_at') }}
    group by won_deals.deal_id
),

windows_at_close as (
    select
        won_deals.deal_id,
        won_deals.account_id,
        won_deals.segment,
        won_deals.won_quarter,
        won_deals.is_first_won_deal,
        case when revenue_windows.before_months = {{ window_months }}
            then revenue_windows.monthly_revenue_before end as monthly_revenue_before,
        case when revenue_windows.after_months = {{ window_months }}
            then revenue_windows.monthly_revenue_after end as monthly_revenue_after
    from won_deals
    inner join revenue_windows
        on won_deals.account_id = revenue_windows.account_id
        and revenue_windows.month = cast({{ dbt.date_trunc('month', 'won_deals.closed_at') }} as date)
),

-- For each first won deal: the other accounts of its segment with a first win in the same quarter. An
-- account has one first won deal, so its peers are its group's first wins less its own: the group's
-- exact sum and count less its own term (a join of every first win with every other in its group grows
-- with the square of the group, 16,000 first wins per segment and quarter at 1,000,000 accounts).
first_win_groups as (
    select
        segment,
        won_quarter,
        sum({{ exact_units('monthly_revenue_after') }}) as revenue_after_units,
        count(*) as accounts
    from windows_at_close
    where is_first_won_deal
      and monthly_revenue_after is not null
    group by segment, won_quarter
),

peer_baselines as (
    select
        first_win.deal_id,
        {{ from_exact_units('first_win_groups.revenue_after_units - coalesce('
                            ~ exact_units('first_win.monthly_revenue_after') ~ ', 0)') }}
            / (first_win_groups.accounts - case when first_win.monthly_revenue_after is null then 0 else 1 end)
            as monthly_revenue_baseline,
        first_win_groups.accounts - case when first_win.monthly_revenue_after is null then 0 else 1 end
            as peer_accounts
    from windows_at_close as first_win
    inner join first_win_groups
        on first_win_groups.segment is not distinct from first_win.segment
        and first_win_groups.won_quarter = first_win.won_quarter
    where first_win.is_first_won_deal
      and first_win_groups.accounts > case when first_win.monthly_revenue_after is null then 0 else 1 end
),

baselines as (
    select
        windows_at_close.*,
        case
            when windows_at_close.monthly_revenue_before > 0 then 'own_revenue_before'
            when peer_baselines.deal_id is not null then 'peer_first_wins'
        end as baseline_kind,
        case
            when windows_at_close.monthly_revenue_before > 0 then windows_at_close.monthly_revenue_before
            else peer_baselines.monthly_revenue_baseline
        end as monthly_revenue_baseline,
        case when not (windows_at_close.monthly_revenue_before > 0)
            or windows_at_close.monthly_revenue_before is null then peer_baselines.peer_accounts end as peer_accounts
    from windows_at_close
    left join peer_baselines on windows_at_close.deal_id = peer_baselines.deal_id
)

select
    cast(won_deals.deal_id as {{ dbt.type_string() }}) as deal_id,
    cast(won_deals.account_id as {{ dbt.type_string() }}) as account_id,
    cast(won_deals.segment as {{ dbt.type_string() }}) as segment,
    cast(won_deals.owner as {{ dbt.type_string() }}) as owner,
    cast(won_deals.deal_type as {{ dbt.type_string() }}) as deal_type,
    cast(won_deals.closed_at as date) as closed_at,
    cast(won_deals.final_amount as {{ type_double() }}) as final_amount,
    cast(eroding_after.trust_eroding_events_after as bigint) as trust_eroding_events_after,
    cast(eroding_after.first_eroding_event_at as date) as first_eroding_event_at,
    cast(eroding_after.eroding_event_types as {{ dbt.type_string() }}) as eroding_event_types,
    cast(baselines.monthly_revenue_before as {{ type_double() }}) as monthly_revenue_before,
    cast(baselines.monthly_revenue_after as {{ type_double() }}) as monthly_revenue_after,
    won_deals.is_first_won_deal,
    cast(baselines.baseline_kind as {{ dbt.type_string() }}) as baseline_kind,
    cast(baselines.monthly_revenue_baseline as {{ type_double() }}) as monthly_revenue_baseline,
    cast(baselines.peer_accounts as bigint) as peer_accounts,
    cast(baselines.monthly_revenue_after - baselines.monthly_revenue_baseline as {{ type_double() }}) as monthly_revenue_change,
    cast((baselines.monthly_revenue_baseline - baselines.monthly_revenue_after) * {{ window_months }}
        as {{ type_double() }}) as value_at_stake
from won_deals
inner join eroding_after
    on won_deals.deal_id = eroding_after.deal_id
inner join baselines
    on won_deals.deal_id = baselines.deal_id
where baselines.baseline_kind is not null
  and baselines.monthly_revenue_after < baselines.monthly_revenue_baseline
