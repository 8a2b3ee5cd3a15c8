{#- Loss reasons and competitors ranked by the expected value lost (final amount where known, else
    list x (1 - typical discount): loss_drivers_by_quarter); value_lost at list price and its rank are
    kept beside it, since list price overstates what was lost. A lost deal with no reason is driver 'unknown', with no competitor 'none'.
    The totals over all quarters of loss_drivers_by_quarter, so both marts count the same deals. -#}
with drivers as (
    select
        driver_kind,
        driver,
        sum(deals_lost) as deals_lost,
        {{ exact_sum('value_lost') }} as value_lost,
        {{ exact_sum('expected_value_lost') }} as expected_value_lost
    from {{ ref('loss_drivers_by_quarter') }}
    group by 1, 2
)

select
    cast(driver_kind as {{ dbt.type_string() }}) as driver_kind,
    cast(driver as {{ dbt.type_string() }}) as driver,
    cast(deals_lost as bigint) as deals_lost,
    cast(value_lost as {{ type_double() }}) as value_lost,
    cast({{ ratio('value_lost', exact_window_sum('value_lost', 'partition by driver_kind')) }} as {{ type_double() }}) as share_of_value_lost,
    cast(expected_value_lost as {{ type_double() }}) as expected_value_lost,
    cast({{ ratio('expected_value_lost', exact_window_sum('expected_value_lost', 'partition by driver_kind')) }}
        as {{ type_double() }}) as share_of_expected_value_lost,
    cast(rank() over (partition by driver_kind order by expected_value_lost desc, value_lost desc) as bigint) as rank,
    cast(rank() over (partition by driver_kind order by value_lost desc) as bigint) as list_value_rank
from drivers
