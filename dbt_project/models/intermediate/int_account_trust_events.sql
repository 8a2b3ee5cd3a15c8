{#- Trust events per account: every event at the account, with or without a deal.
    Every account has a row (0 counts, NULL dates when none). -#}
with accounts as (
    select account_id from {{ ref('stg_accounts') }}
),

events as (
    select * from {{ ref('int_trust_events') }}
),

counts as (
    select
        account_id,
        sum(case when polarity = 'trust_eroding' then 1 else 0 end) as trust_eroding_events,
        sum(case when polarity = 'trust_building' then 1 else 0 end) as trust_building_events,
        sum(case when polarity = 'competitive' then 1 else 0 end) as competitive_events,
        count(*) as total_events,
        min(occurred_at) as first_event_at,
        max(occurred_at) as last_event_at,
        min(case when polarity = 'trust_eroding' then occurred_at end) as first_trust_eroding_at,
        max(case when polarity = 'trust_eroding' then occurred_at end) as last_trust_eroding_at,
        min(case when polarity = 'trust_building' then occurred_at end) as first_trust_building_at,
        max(case when polarity = 'trust_building' then occurred_at end) as last_trust_building_at
    from events
    group by account_id
)

select
    accounts.account_id,
    cast(coalesce(counts.trust_eroding_events, 0) as bigint) as trust_eroding_events,
    cast(coalesce(counts.trust_building_events, 0) as bigint) as trust_building_events,
    cast(coalesce(counts.competitive_events, 0) as bigint) as competitive_events,
    cast(coalesce(counts.total_events, 0) as bigint) as total_events,
    counts.first_event_at,
    counts.last_event_at,
    counts.first_trust_eroding_at,
    counts.last_trust_eroding_at,
    counts.first_trust_building_at,
    counts.last_trust_building_at
from accounts
left join counts
    on accounts.account_id = counts.account_id
