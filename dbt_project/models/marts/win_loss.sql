{#- Win/loss per dimension x value over closed deals (won or lost). Each entry of
    win_loss_dimensions: (dimension name, expression on fct_deals, label for NULL). -#}
{% set win_loss_dimensions = [
    ('overall', "'all'", 'all'),
    ('segment', 'segment', 'unknown'),
    ('industry', 'industry', 'unknown'),
    ('region', 'region', 'unknown'),
    ('deal_type', 'deal_type', 'unknown'),
    ('product_line', 'product_line', 'unknown'),
    ('owner', 'owner', 'unknown'),
    ('competitor', 'competitor', 'none'),
    ('alignment_band', 'alignment_band', 'no_plan'),
    ('flagged_strategic', dbt.cast_bool_to_text('flagged_strategic'), 'false'),
    ('close_quarter', 'close_quarter', 'unknown'),
] %}

with closed_deals as (
    select * from {{ ref('fct_deals') }}
    where stage in ('won', 'lost')
),

deal_cells as (
    {% for dimension, expression, null_label in win_loss_dimensions %}
    select
        '{{ dimension }}' as dimension,
        {{ dimension_value(expression, null_label) }} as value,
        is_won,
        final_amount,
        list_amount
    from closed_deals
    {% if not loop.last %}union all{% endif %}
    {% endfor %}
),

cell_counts as (
    select
        dimension,
        value,
        count(*) as deals_closed,
        sum(case when is_won then 1 else 0 end) as deals_won,
        sum(case when is_won then 0 else 1 end) as deals_lost,
        coalesce(sum(case when is_won then final_amount end), 0) as value_won,
        coalesce(sum(case when is_won then 0 else list_amount end), 0) as value_lost
    from deal_cells
    group by dimension, value
)

select
    cast(dimension as {{ dbt.type_string() }}) as dimension,
    cast(value as {{ dbt.type_string() }}) as value,
    cast(deals_closed as bigint) as deals_closed,
    cast(deals_won as bigint) as deals_won,
    cast(deals_lost as bigint) as deals_lost,
    cast({{ win_rate('deals_won', 'deals_lost') }} as {{ type_double() }}) as win_rate,
    cast({{ wilson_low('deals_won', 'deals_closed') }} as {{ type_double() }}) as win_rate_ci_low,
    cast({{ wilson_high('deals_won', 'deals_closed') }} as {{ type_double() }}) as win_rate_ci_high,
    cast(value_won as {{ type_double() }}) as value_won,
    cast(value_lost as {{ type_double() }}) as value_lost,
    deals_closed < {{ var('min_closed_deals') }} as is_small_sample
from cell_counts
