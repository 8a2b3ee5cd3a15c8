{#- After our first win against a competitor in a segment (won deal naming it, closed at t1), does
    that competitor show up more often, or cut its price more, in that segment? Descriptive:
      appearances_per_deal  deals naming the competitor / all deals of the segment, created before
                            t1 (before) or after it (after); Wilson interval
      price_cuts            competitor_price_cut events linked (deal_id) to a deal of the segment
                            that names the competitor, occurred before / after t1;
                            price_cuts_per_appearance = cuts / deals naming it, with a normal
                            (Poisson) interval cuts/n -/+ 1.96 sqrt(cuts)/n.
    A price cut recorded without a deal names no competitor and is not attributed.
    Competitor x segment pairs without a win have no t1: everything is 'before'. -#}
with deals as (
    select * from {{ ref('fct_deals') }}
),

price_cuts as (
    select events.occurred_at, deals.segment, deals.competitor
    from {{ ref('stg_negotiation_events') }} as events
    inner join deals
        on events.deal_id = deals.deal_id
    where events.event_type = 'competitor_price_cut'
      and deals.competitor is not null
),

pairs as (
    select
        competitor,
        segment,
        sum(case when is_won then 1 else 0 end) as wins_against,
        min(case when is_won then closed_at end) as first_win_at
    from deals
    where competitor is not null
    group by 1, 2
),

deal_counts as (
    select
        pairs.competitor,
        pairs.segment,
        sum(case when pairs.first_win_at is null or deals.created_at <= pairs.first_win_at then 1 else 0 end) as deals_before,
        sum(case when deals.created_at > pairs.first_win_at then 1 else 0 end) as deals_after,
        sum(case when (pairs.first_win_at is null or deals.created_at <= pairs.first_win_at)
                  and deals.competitor = pairs.competitor then 1 else 0 end) as appearances_before,
        sum(case when deals.created_at > pairs.first_win_at
                  and deals.competitor = pairs.competitor then 1 else 0 end) as appearances_after
    from pairs
    inner join deals
        on pairs.segment = deals.segment
    group by 1, 2
),

cut_counts as (
    select
        pairs.competitor,
        pairs.segment,
        sum(case when pairs.first_win_at is null or price_cuts.occurred_at <= pairs.first_win_at then 1 else 0 end) as price_cuts_before,
        sum(case when price_cuts.occurred_at > pairs.first_win_at then 1 else 0 end) as price_cuts_after
    from pairs
    inner join price_cuts
        on pairs.segment = price_cuts.segment
        and pairs.competitor = price_cuts.competitor
    group by 1, 2
)

select
    cast(pairs.competitor as {{ dbt.type_string() }}) as competitor,
    cast(pairs.segment as {{ dbt.type_string() }}) as segment,
    cast(pairs.wins_against as bigint) as wins_against,
    cast(pairs.first_win_at as date) as first_win_at,
    {% for side in ['before', 'after'] %}
    cast(deal_counts.deals_{{ side }} as bigint) as deals_{{ side }},
    cast(deal_counts.appearances_{{ side }} as bigint) as appearances_{{ side }},
    cast({{ ratio('deal_counts.appearances_' ~ side, 'deal_counts.deals_' ~ side) }} as {{ type_double() }}) as appearances_per_deal_{{ side }},
    cast({{ wilson_low('deal_counts.appearances_' ~ side, 'deal_counts.deals_' ~ side) }} as {{ type_double() }}) as appearances_per_deal_{{ side }}_ci_low,
    cast({{ wilson_high('deal_counts.appearances_' ~ side, 'deal_counts.deals_' ~ side) }} as {{ type_double() }}) as appearances_per_deal_{{ side }}_ci_high,
    cast(coalesce(cut_counts.price_cuts_{{ side }}, 0) as bigint) as price_cuts_{{ side }},
    cast({{ ratio('coalesce(cut_counts.price_cuts_' ~ side ~ ', 0)', 'deal_counts.appearances_' ~ side) }} as {{ type_double() }}) as price_cuts_per_appearance_{{ side }},
    cast(greatest(0.0, {{ ratio('coalesce(cut_counts.price_cuts_' ~ side ~ ', 0) - ' ~ wilson_z() ~ ' * sqrt(coalesce(cut_counts.price_cuts_' ~ side ~ ', 0))', 'deal_counts.appearances_' ~ side) }}) as {{ type_double() }}) as price_cuts_per_appearance_{{ side }}_ci_low,
    cast({{ ratio('coalesce(cut_counts.price_cuts_' ~ side ~ ', 0) + ' ~ wilson_z() ~ ' * sqrt(coalesce(cut_counts.price_cuts_' ~ side ~ ', 0))', 'deal_counts.appearances_' ~ side) }} as {{ type_double() }}) as price_cuts_per_appearance_{{ side }}_ci_high{{ ',' if not loop.last }}
    {% endfor %}
from pairs
inner join deal_counts
    on pairs.competitor = deal_counts.competitor
    and pairs.segment = deal_counts.segment
left join cut_counts
    on pairs.competitor = cut_counts.competitor
    and pairs.segment = cut_counts.segment
