{#- Loss reasons and competitors ranked by the value lost (sum of fct_deals.lost_value: the list
    price of lost deals). A lost deal with no reason is driver 'unknown', with no competitor 'none'. -#}
{% set driver_kinds = [('loss_reason', 'loss_reason', 'unknown'), ('competitor', 'competitor', 'none')] %}

with lost_deals as (
    select * from {{ ref('fct_deals') }}
    where is_closed and not is_won
),

drivers as (
    {% for kind, column, null_label in driver_kinds %}
    select
        '{{ kind }}' as driver_kind,
        {{ dimension_value(column, null_label) }} as driver,
        count(*) as deals_lost,
        coalesce(sum(lost_value), 0) as value_lost
    from lost_deals
    group by 1, 2
    {% if not loop.last %}union all{% endif %}
    {% endfor %}
)

select
    cast(driver_kind as {{ dbt.type_string() }}) as driver_kind,
    cast(driver as {{ dbt.type_string() }}) as driver,
    cast(deals_lost as bigint) as deals_lost,
    cast(value_lost as {{ type_double() }}) as value_lost,
    cast({{ ratio('value_lost', 'sum(value_lost) over (partition by driver_kind)') }} as {{ type_double() }}) as share_of_value_lost,
    cast(rank() over (partition by driver_kind order by value_lost desc) as bigint) as rank
from drivers
