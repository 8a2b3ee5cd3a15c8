{#- "Won the deal, lost the customer": won deals followed, within var won_lost_window_months (N)
    months of closing, by at least one trust-eroding event at the account AND a fall in the
    account's value: mean monthly revenue in the N months after the close month below the mean in
    the N months before it (the close month in neither; both windows fully observed; months
    without revenue count as 0). value_at_stake = (before - after) x N: the revenue the fall cost
    over the window. -#}
{%- set window_months = var('won_lost_window_months') | int -%}

with won_deals as (
    select * from {{ ref('fct_deals') }}
    where is_won and closed_at is not null
),

events as (
    select * from {{ ref('stg_negotiation_events') }}
    where polarity = 'trust_eroding'
),

revenue_windows as (
    select
        account_id,
        month,
        {{ trailing_sum('revenue', window_months) }} / {{ window_months }} as monthly_revenue_before,
        {{ leading_sum('revenue', window_months) }} / {{ window_months }} as monthly_revenue_after,
        {{ trailing_months(window_months) }} as before_months,
        {{ leading_months(window_months) }} as after_months
    from {{ ref('int_account_month_panel') }}
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
    cast(revenue_windows.monthly_revenue_before as {{ type_double() }}) as monthly_revenue_before,
    cast(revenue_windows.monthly_revenue_after as {{ type_double() }}) as monthly_revenue_after,
    cast(revenue_windows.monthly_revenue_after - revenue_windows.monthly_revenue_before as {{ type_double() }}) as monthly_revenue_change,
    cast((revenue_windows.monthly_revenue_before - revenue_windows.monthly_revenue_after) * {{ window_months }}
        as {{ type_double() }}) as value_at_stake
from won_deals
inner join eroding_after
    on won_deals.deal_id = eroding_after.deal_id
inner join revenue_windows
    on won_deals.account_id = revenue_windows.account_id
    and revenue_windows.month = cast({{ dbt.date_trunc('month', 'won_deals.closed_at') }} as date)
where revenue_windows.before_months = {{ window_months }}
  and revenue_windows.after_months = {{ window_months }}
  and revenue_windows.monthly_revenue_after < revenue_windows.monthly_revenue_before
