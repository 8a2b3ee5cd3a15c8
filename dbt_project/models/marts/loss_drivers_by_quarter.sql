{#- Lost deals per driver (loss reason, competitor) and calendar quarter of closed_at: the trend
    of each driver; loss_drivers sums it over quarters. value_lost is at list price, which overstates
    what a lost deal would have brought: expected_value_lost takes each lost deal at its final_amount
    where one was given, else at list x (1 - typical discount), the typical discount being the median
    discount_pct of the won deals of its segment (of all won deals when its segment has none). -#}
{% set driver_kinds = [('loss_reason', 'loss_reason', 'unknown'), ('competitor', 'competitor', 'none')] %}

with segment_discounts as (
    select segment, {{ median('discount_pct') }} as typical_discount
    from {{ ref('fct_deals') }}
    where discount_pct is not null
    group by segment
),

overall_discount as (
    select {{ median('discount_pct') }} as typical_discount
    from {{ ref('fct_deals') }}
    where discount_pct is not null
),

lost_deals as (
    select
        deals.*,
        {{ expected_deal_value('deals.final_amount', 'deals.list_amount',
                               'coalesce(segment_discounts.typical_discount, overall_discount.typical_discount)') }}
            as expected_value
    from {{ ref('fct_deals') }} as deals
    left join segment_discounts on deals.segment is not distinct from segment_discounts.segment
    cross join overall_discount
    where deals.is_closed and not deals.is_won
),

drivers as (
    {% for kind, column, null_label in driver_kinds %}
    select
        '{{ kind }}' as driver_kind,
        {{ dimension_value(column, null_label) }} as driver,
        close_quarter,
        count(*) as deals_lost,
        coalesce({{ exact_sum('lost_value') }}, 0) as value_lost,
        coalesce({{ exact_sum('expected_value') }}, 0) as expected_value_lost
    from lost_deals
    group by 1, 2, 3
    {% if not loop.last %}union all{% endif %}
    {% endfor %}
)

select
    cast(driver_kind as {{ dbt.type_string() }}) as driver_kind,
    cast(driver as {{ dbt.type_string() }}) as driver,
    cast(close_quarter as {{ dbt.type_string() }}) as close_quarter,
    cast(deals_lost as bigint) as deals_lost,
    cast(value_lost as {{ type_double() }}) as value_lost,
    cast(expected_value_lost as {{ type_double() }}) as expected_value_lost,
    cast({{ ratio('value_lost', exact_window_sum('value_lost', 'partition by driver_kind, close_quarter')) }}
        as {{ type_double() }}) as share_of_quarter_value_lost
from drivers
