{#- Loss reasons and competitors ranked by the value lost (sum of fct_deals.lost_value: the list
    price of lost deals). A lost deal with no reason is driver 'unknown', with no competitor 'none'.
    The totals over all quarters of loss_drivers_by_quarter, so both marts count the same deals. -#}
with drivers as (
    select
        driver_kind,
        driver,
        sum(deals_lost) as deals_lost,
        {{ exact_sum('value_lost') }} as value_lost
    from {{ ref('loss_drivers_by_quarter') }}
    group by 1, 2
)

select
    cast(driver_kind as {{ dbt.type_string() }}) as driver_kind,
    cast(driver as {{ dbt.type_string() }}) as driver,
    cast(deals_lost as bigint) as deals_lost,
    cast(value_lost as {{ type_double() }}) as value_lost,
    cast({{ ratio('value_lost', 'sum(value_lost) over (partition by driver_kind)') }} as {{ type_double() }}) as share_of_value_lost,
    cast(rank() over (partition by driver_kind order by value_lost desc) as bigint) as rank
from drivers
