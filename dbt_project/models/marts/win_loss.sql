{#- Win/loss per dimension x value over closed deals (won or lost). Each entry of
    win_loss_dimensions: (dimension name, expression on fct_deals, label for NULL, only when recorded).
    A dimension marked "only when recorded" (the optional owner team columns) is left out entirely
    when no closed deal has a value for it; when some have, the others form its 'unknown' cell. -#}
{% set win_loss_dimensions = [
    ('overall', "'all'", 'all'),
    ('segment', 'segment', 'unknown'),
    ('industry', 'industry', 'unknown'),
    ('region', 'region', 'unknown'),
    ('deal_type', 'deal_type', 'unknown'),
    ('product_line', 'product_line', 'unknown'),
    ('owner', 'owner', 'unknown'),
    ('owner_team', 'owner_team', 'unknown', true),
    ('owner_manager', 'owner_manager', 'unknown', true),
    ('owner_office', 'owner_office', 'unknown', true),
    ('competitor', 'competitor', 'none'),
    ('alignment_band', 'alignment_band', 'no_plan'),
    ('flagged_strategic', dbt.cast_bool_to_text('flagged_strategic'), 'false'),
    ('close_quarter', 'close_quarter', 'unknown'),
] %}

with closed_deals as (
    select * from {{ ref('fct_deals') }}
    where is_closed
),

deal_cells as (
    {% for entry in win_loss_dimensions %}
    {% set dimension, expression, null_label = entry[0], entry[1], entry[2] %}
    select
        '{{ dimension }}' as dimension,
        {{ dimension_value(expression, null_label) }} as value,
        is_won,
        won_value,
        lost_value,
        list_amount,
        final_amount,
        gross_margin_pct,
        discount_pct,
        cycle_days
    from closed_deals
    {% if entry | length > 3 and entry[3] %}
    where (select count({{ expression }}) from closed_deals) > 0
    {% endif %}
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
        coalesce({{ exact_sum('won_value') }}, 0) as value_won,
        coalesce({{ exact_sum('lost_value') }}, 0) as value_lost,
        sum(case when not is_won and list_amount is null then 1 else 0 end) as lost_deals_without_list_amount,
        coalesce({{ exact_sum('case when is_won then list_amount end') }}, 0) as won_list_value,
        coalesce({{ exact_sum('list_amount') }}, 0) as closed_list_value,
        {{ exact_avg('discount_pct') }} as avg_discount_pct,
        {{ exact_stddev_samp('discount_pct') }} as sd_discount_pct,
        count(discount_pct) as deals_with_discount,
        {{ median('cycle_days') }} as median_cycle_days,
        avg(cycle_days) as mean_cycle_days,
        {{ exact_stddev_samp('cycle_days') }} as sd_cycle_days,
        count(cycle_days) as deals_with_cycle,
        {{ exact_avg('case when is_won then final_amount end') }} as avg_won_value,
        {{ exact_stddev_samp('case when is_won then final_amount end') }} as sd_won_value,
        count(case when is_won then final_amount end) as won_deals_with_value,
        {{ exact_avg('case when is_won then gross_margin_pct end') }} as avg_gross_margin_pct,
        {{ exact_stddev_samp('case when is_won then gross_margin_pct end') }} as sd_gross_margin_pct,
        count(case when is_won then gross_margin_pct end) as won_deals_with_margin
    from deal_cells
    group by dimension, value
),

-- Every cell against the company's overall rate: a two-proportion z test of the cell against the
-- rest of the closed deals (pooled), so "how surely" is a p-value.
compared as (
    select
        cell_counts.*,
        {{ win_rate('cell_counts.deals_won', 'cell_counts.deals_lost') }} as win_rate,
        {{ win_rate('cell_counts.deals_won', 'cell_counts.deals_lost') }}
            - {{ win_rate('overall.deals_won', 'overall.deals_lost') }} as win_rate_diff_vs_overall,
        case when cell_counts.dimension <> 'overall' then
            {{ two_proportion_z('cell_counts.deals_won', 'cell_counts.deals_closed',
                                'overall.deals_won', 'overall.deals_closed') }}
        end as diff_z,
        -- 1.96 standard errors of (cell - overall) = (1 - n_cell / n_all) x SE(cell - rest):
        -- the margin the gap must exceed to be sure at the 5% level.
        {{ wilson_z() }} * (1.0 - cast(cell_counts.deals_closed as {{ type_double() }}) / overall.deals_closed)
            * sqrt(
                {{ ratio('overall.deals_won', 'overall.deals_closed') }}
                * (1.0 - {{ ratio('overall.deals_won', 'overall.deals_closed') }})
                * (1.0 / cell_counts.deals_closed
                   + {{ ratio('1.0', 'overall.deals_closed - cell_counts.deals_closed') }})
            ) as diff_margin_95
    from cell_counts
    cross join (select * from cell_counts where dimension = 'overall') as overall
),

assured as (
    select
        *,
        -- The part of the gap that is sure at 95%: sign(gap) x max(|gap| - margin, 0); 0 when not
        -- significant, NULL for the overall row and a dimension with a single value.
        case when diff_z is not null then
            sign(win_rate_diff_vs_overall) * greatest(abs(win_rate_diff_vs_overall) - diff_margin_95, 0)
        end as assured_diff_vs_overall,
        {{ two_sided_p_value('diff_z') }} as diff_p_value
    from compared
),

-- Benjamini-Hochberg over every tested cell of the table (all dimensions together: the page reads
-- them as one list of strengths and weaknesses), so the flags keep the false discovery rate at
-- var fdr_q_threshold instead of letting ~5% of the cells through by chance.
ranked_p as (
    select
        *,
        count(diff_p_value) over () as cells_tested,
        row_number() over (order by diff_p_value nulls last, dimension, value) as p_rank
    from assured
),

adjusted as (
    select
        *,
        {{ bh_q_value(bh_scaled_p_value('diff_p_value', 'p_rank', 'cells_tested'), 'diff_p_value', 'p_rank') }}
            as q_value
    from ranked_p
),

flagged as (
    select
        *,
        coalesce(q_value < {{ var('fdr_q_threshold') }} and win_rate_diff_vs_overall > 0, false) as is_strength,
        coalesce(q_value < {{ var('fdr_q_threshold') }} and win_rate_diff_vs_overall < 0, false) as is_weakness
    from adjusted
)

select
    cast(dimension as {{ dbt.type_string() }}) as dimension,
    cast(value as {{ dbt.type_string() }}) as value,
    cast(deals_closed as bigint) as deals_closed,
    cast(deals_won as bigint) as deals_won,
    cast(deals_lost as bigint) as deals_lost,
    cast(win_rate as {{ type_double() }}) as win_rate,
    cast({{ wilson_low('deals_won', 'deals_closed') }} as {{ type_double() }}) as win_rate_ci_low,
    cast({{ wilson_high('deals_won', 'deals_closed') }} as {{ type_double() }}) as win_rate_ci_high,
    cast(value_won as {{ type_double() }}) as value_won,
    -- unknown (NULL), not 0, when no lost deal of the cell has a list price
    cast(case when deals_lost = 0 or lost_deals_without_list_amount < deals_lost then value_lost end
        as {{ type_double() }}) as value_lost,
    cast(lost_deals_without_list_amount as bigint) as lost_deals_without_list_amount,
    deals_closed < {{ var('min_closed_deals') }} as is_small_sample,
    cast({{ value_win_rate('won_list_value', 'closed_list_value') }} as {{ type_double() }}) as value_win_rate,
    cast(avg_discount_pct as {{ type_double() }}) as avg_discount_pct,
    cast({{ mean_t_ci_low('avg_discount_pct', 'sd_discount_pct', 'deals_with_discount') }} as {{ type_double() }}) as avg_discount_pct_ci_low,
    cast({{ mean_t_ci_high('avg_discount_pct', 'sd_discount_pct', 'deals_with_discount') }} as {{ type_double() }}) as avg_discount_pct_ci_high,
    cast(median_cycle_days as {{ type_double() }}) as median_cycle_days,
    cast(mean_cycle_days as {{ type_double() }}) as mean_cycle_days,
    cast({{ mean_t_ci_low('mean_cycle_days', 'sd_cycle_days', 'deals_with_cycle') }} as {{ type_double() }}) as mean_cycle_days_ci_low,
    cast({{ mean_t_ci_high('mean_cycle_days', 'sd_cycle_days', 'deals_with_cycle') }} as {{ type_double() }}) as mean_cycle_days_ci_high,
    cast(avg_won_value as {{ type_double() }}) as avg_won_value,
    cast({{ mean_t_ci_low('avg_won_value', 'sd_won_value', 'won_deals_with_value') }} as {{ type_double() }}) as avg_won_value_ci_low,
    cast({{ mean_t_ci_high('avg_won_value', 'sd_won_value', 'won_deals_with_value') }} as {{ type_double() }}) as avg_won_value_ci_high,
    cast(avg_gross_margin_pct as {{ type_double() }}) as avg_gross_margin_pct,
    cast({{ mean_t_ci_low('avg_gross_margin_pct', 'sd_gross_margin_pct', 'won_deals_with_margin') }} as {{ type_double() }}) as avg_gross_margin_pct_ci_low,
    cast({{ mean_t_ci_high('avg_gross_margin_pct', 'sd_gross_margin_pct', 'won_deals_with_margin') }} as {{ type_double() }}) as avg_gross_margin_pct_ci_high,
    cast({{ deal_velocity('deals_closed', 'win_rate', 'value_won', 'deals_won', 'median_cycle_days') }}
        as {{ type_double() }}) as deal_velocity,
    cast(win_rate_diff_vs_overall as {{ type_double() }}) as win_rate_diff_vs_overall,
    cast(diff_z as {{ type_double() }}) as diff_z,
    cast(diff_p_value as {{ type_double() }}) as diff_p_value,
    cast(q_value as {{ type_double() }}) as q_value,
    is_strength,
    is_weakness,
    cast(cells_tested as bigint) as cells_tested,
    -- what testing every cell at the 5% level with no correction would flag on chance alone
    cast(0.05 * cells_tested as {{ type_double() }}) as flags_expected_by_chance_uncorrected,
    cast(assured_diff_vs_overall as {{ type_double() }}) as assured_diff_vs_overall,
    -- 1 = the most surely established strength of the dimension, last = the most surely established
    -- weakness: by assured_diff_vs_overall, then by diff_z (ties among non-significant cells).
    cast(rank() over (
        partition by dimension
        order by assured_diff_vs_overall desc nulls last, diff_z desc nulls last
    ) as bigint) as strength_rank
from flagged
