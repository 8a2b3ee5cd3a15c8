{#- Every account x anchor month of the panel: the five event-study metrics in the
    var event_window_months (W) months before the anchor month and the W months after it (the anchor
    month itself is in neither window: it mixes before and after). A value is NULL when its window
    is not fully inside the panel (before the data starts / after the last complete month) or holds
    no deal to measure:
      gross_margin_pct  mean gross_margin_pct of won deals created in the window
      discount_pct      mean discount_pct of won deals created in the window
      win_rate          won / closed among deals created in the window
      cycle_days        mean cycle_days of closed deals created in the window
      monthly_revenue   window revenue / W (months without revenue count as 0)
    Only established account-months are kept: the account's first deal was created on or before
    the before window's first month (trust_event_study compares only such rows, treated and
    comparison alike, so a change is not just the relationship starting). Their windows lie on or
    after the first deal's month, so the panel is read from that month on: the months before an
    account's first deal (nearly half the panel at 100,000 accounts) are never windowed. -#}
{%- set window_months = var('event_window_months') | int -%}
{%- set sums = ['revenue', 'closed_deals', 'won_deals', 'cycle_days_sum', 'gross_margin_pct_sum',
                'gross_margin_pct_deals', 'discount_pct_sum', 'discount_pct_deals'] -%}
with first_deal_months as (
    select account_id, min(cast({{ dbt.date_trunc('month', 'created_at') }} as date)) as first_deal_month
    from {{ ref('fct_deals') }}
    group by account_id
),

panel as (
    {{ panel_from('first_deal_months', 'first_deal_month') }}
),

window_sums as (
    select
        account_id,
        segment,
        month,
        first_deal_month,
        {% for column in sums %}
        {{ trailing_sum(column, window_months) }} as before_{{ column }},
        {{ leading_sum(column, window_months) }} as after_{{ column }},
        {% endfor %}
        {{ trailing_months(window_months) }} as before_months,
        {{ leading_months(window_months) }} as after_months
    from panel
)

select
    window_sums.account_id,
    window_sums.segment,
    window_sums.month as anchor_month,
    {% for side in ['before', 'after'] %}
    case when {{ side }}_months = {{ window_months }} then
        {{ ratio(side ~ '_gross_margin_pct_sum', side ~ '_gross_margin_pct_deals') }} end as {{ side }}_gross_margin_pct,
    case when {{ side }}_months = {{ window_months }} then
        {{ ratio(side ~ '_discount_pct_sum', side ~ '_discount_pct_deals') }} end as {{ side }}_discount_pct,
    case when {{ side }}_months = {{ window_months }} then
        {{ win_rate(side ~ '_won_deals', side ~ '_closed_deals - ' ~ side ~ '_won_deals') }} end as {{ side }}_win_rate,
    case when {{ side }}_months = {{ window_months }} then
        {{ ratio(side ~ '_cycle_days_sum', side ~ '_closed_deals') }} end as {{ side }}_cycle_days,
    case when {{ side }}_months = {{ window_months }} then
        {{ side }}_revenue / {{ window_months }} end as {{ side }}_monthly_revenue{{ ',' if not loop.last }}
    {% endfor %}
from window_sums
-- established: the relationship existed for the whole before window
where window_sums.first_deal_month <= {{ dbt.dateadd('month', -window_months, 'window_sums.month') }}
