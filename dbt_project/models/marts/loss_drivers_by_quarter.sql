{#- Lost deals per driver (loss reason, competitor) and calendar quarter of closed_at: the trend
    of each driver; loss_drivers sums it over quarters. -#}
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
        close_quarter,
        count(*) as deals_lost,
        coalesce({{ exact_sum('lost_value') }}, 0) as value_lost
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
    cast({{ ratio('value_lost', 'sum(value_lost) over (partition by driver_kind, close_quarter)') }}
        as {{ type_double() }}) as share_of_quarter_value_lost
from drivers
