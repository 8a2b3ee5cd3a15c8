{#- Trust events per deal: only events that name the deal (negotiation_events.deal_id). Events
    recorded at the account without a deal are not guessed onto a deal by date; they count at
    the account level (int_account_trust_events). Every deal has a row (0 when none). -#}
with deals as (
    select deal_id, account_id from {{ ref('stg_deals') }}
),

events as (
    select * from {{ ref('int_trust_events') }}
    where deal_id is not null
),

counts as (
    select
        deal_id,
        sum(case when polarity = 'trust_eroding' then 1 else 0 end) as trust_eroding_events,
        sum(case when polarity = 'trust_building' then 1 else 0 end) as trust_building_events,
        sum(case when polarity = 'competitive' then 1 else 0 end) as competitive_events,
        count(*) as total_events
    from events
    group by deal_id
)

select
    deals.deal_id,
    deals.account_id,
    cast(coalesce(counts.trust_eroding_events, 0) as bigint) as trust_eroding_events,
    cast(coalesce(counts.trust_building_events, 0) as bigint) as trust_building_events,
    cast(coalesce(counts.competitive_events, 0) as bigint) as competitive_events,
    cast(coalesce(counts.total_events, 0) as bigint) as total_events
from deals
left join counts
    on deals.deal_id = counts.deal_id
