{#- What followed the vendor's first escalation over the buyer's head at each account that had one
    (date e): the first buyer_management_took_over in (e, e + var takeover_window_months] and the
    first second_source_added in (e, e + var second_source_window_months]. is_observed: both
    follow-up windows end by the as-of date (later escalations are right-censored). Read by
    escalation_paths and open_deal_escalation_precedents. -#}
{%- set followup_months = [var('takeover_window_months') | int, var('second_source_window_months') | int] | max -%}

with as_of as (
    select * from {{ ref('int_as_of_date') }}
),

events as (
    select * from {{ ref('stg_negotiation_events') }}
),

escalations as (
    select account_id, min(occurred_at) as escalated_at
    from events
    where event_type = 'escalated_over_buyer'
    group by account_id
)

select
    escalations.account_id,
    escalations.escalated_at,
    {{ dbt.dateadd('month', followup_months, 'escalations.escalated_at') }} <= as_of.as_of_date as is_observed,
    min(case when events.event_type = 'buyer_management_took_over'
              and events.occurred_at <= {{ dbt.dateadd('month', var('takeover_window_months') | int, 'escalations.escalated_at') }}
        then events.occurred_at end) as took_over_at,
    min(case when events.event_type = 'second_source_added'
              and events.occurred_at <= {{ dbt.dateadd('month', var('second_source_window_months') | int, 'escalations.escalated_at') }}
        then events.occurred_at end) as second_source_at
from escalations
cross join as_of
left join events
    on escalations.account_id = events.account_id
    and events.occurred_at > escalations.escalated_at
group by 1, 2, 3
