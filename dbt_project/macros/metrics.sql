{#-
  Metric definitions: the one place each is written (docs/CONTRACT.md, "Strategic alignment" and
  section 3). Models call these macros; they never repeat the formulas.
-#}

{#- z for a two-sided 95% interval. -#}
{% macro wilson_z() -%}1.959964{%- endmacro %}

{#- Shared body of the Wilson score interval for successes out of trials; sign = -1 low, +1 high.
    NULL when trials = 0. Clamped to [0, 1] against floating-point noise at p = 0 or 1. -#}
{% macro _wilson_bound(successes, trials, sign, z) -%}
    case when {{ trials }} > 0 then
        least(1.0, greatest(0.0,
            (
                cast({{ successes }} as {{ type_double() }}) / {{ trials }}
                + ({{ z }} * {{ z }}) / (2.0 * {{ trials }})
                {{ '-' if sign < 0 else '+' }} {{ z }} * sqrt(
                    (cast({{ successes }} as {{ type_double() }}) / {{ trials }})
                    * (1.0 - cast({{ successes }} as {{ type_double() }}) / {{ trials }})
                    / {{ trials }}
                    + ({{ z }} * {{ z }}) / (4.0 * {{ trials }} * {{ trials }})
                )
            ) / (1.0 + ({{ z }} * {{ z }}) / {{ trials }})
        ))
    end
{%- endmacro %}

{#- Lower bound of the 95% Wilson score interval of successes / trials. -#}
{% macro wilson_low(successes, trials, z=none) -%}
    {{ _wilson_bound(successes, trials, -1, z if z is not none else wilson_z()) }}
{%- endmacro %}

{#- Upper bound of the 95% Wilson score interval of successes / trials. -#}
{% macro wilson_high(successes, trials, z=none) -%}
    {{ _wilson_bound(successes, trials, 1, z if z is not none else wilson_z()) }}
{%- endmacro %}

{#- Win rate over closed deals only: won / (won + lost); NULL with no closed deal. -#}
{% macro win_rate(won, lost) -%}
    case when ({{ won }}) + ({{ lost }}) > 0
        then cast({{ won }} as {{ type_double() }}) / (({{ won }}) + ({{ lost }}))
    end
{%- endmacro %}

{#- Discount off list price, for won deals with a positive list price; NULL otherwise
    (open/lost deals have no agreed price, and a zero list price has no discount). -#}
{% macro discount_pct(final_amount, list_amount, is_won) -%}
    case when {{ is_won }} and {{ list_amount }} > 0 and {{ final_amount }} is not null
        then 1.0 - cast({{ final_amount }} as {{ type_double() }}) / {{ list_amount }}
    end
{%- endmacro %}

{#- Alignment band of a score in [-1, 1]: aligned >= var alignment_aligned_threshold (0.5),
    partial 0 to that threshold, misaligned < 0, and 'no_plan' for a NULL score (deal created
    before the first plan). Rounded to 9 decimals first so that a weight ratio meant to be exactly
    0.5 or 0 is not pushed across a boundary by floating-point error. -#}
{% macro alignment_band(score) -%}
    case
        when {{ score }} is null then 'no_plan'
        when round({{ score }}, 9) >= {{ var('alignment_aligned_threshold') }} then 'aligned'
        when round({{ score }}, 9) >= 0 then 'partial'
        else 'misaligned'
    end
{%- endmacro %}

{#- Calendar quarter label such as '2024-Q3'; NULL for a NULL date. -#}
{% macro quarter_label(date_column) -%}
    case when {{ date_column }} is not null then
        {{ dbt.concat([
            dbt.cast('extract(year from ' ~ date_column ~ ')', dbt.type_string()),
            "'-Q'",
            dbt.cast('extract(quarter from ' ~ date_column ~ ')', dbt.type_string())
        ]) }}
    end
{%- endmacro %}

{#- Text for a dimension value in win_loss: NULL becomes the given placeholder. -#}
{% macro dimension_value(column, null_label='unknown') -%}
    coalesce({{ dbt.cast(column, dbt.type_string()) }}, '{{ null_label }}')
{%- endmacro %}

{#- 8-byte floating point for every metric: dbt.type_float renders FLOAT, 4 bytes on DuckDB. -#}
{% macro type_double() -%}
    {{ return(adapter.dispatch('type_double', 'dealscope')()) }}
{%- endmacro %}

{% macro default__type_double() -%}double precision{%- endmacro %}

{% macro duckdb__type_double() -%}double{%- endmacro %}

{#- ------------------------------------------------------------------------------------------
    Aggregate metrics. Each is written here once; marts call them.
------------------------------------------------------------------------------------------ -#}

{#- Safe ratio: numerator / denominator as a double, NULL when the denominator is 0 or NULL. -#}
{% macro ratio(numerator, denominator) -%}
    case when ({{ denominator }}) <> 0
        then cast({{ numerator }} as {{ type_double() }}) / ({{ denominator }})
    end
{%- endmacro %}

{#- Median of a column (an ordered-set aggregate, standard SQL). -#}
{% macro median(column) -%}
    percentile_cont(0.5) within group (order by {{ column }})
{%- endmacro %}

{#- Value win rate: list value of won deals / list value of closed deals. List price on both
    sides, so a discount does not read as a partial loss. -#}
{% macro value_win_rate(won_list_value, closed_list_value) -%}
    {{ ratio(won_list_value, closed_list_value) }}
{%- endmacro %}

{#- Deal velocity, value won per day of sales cycle: closed deals x win rate x average won size
    / median cycle days (= value_won / median_cycle_days). NULL without a won deal or a cycle > 0. -#}
{% macro deal_velocity(deals_closed, win_rate, value_won, deals_won, median_cycle_days) -%}
    case when ({{ deals_won }}) > 0 and ({{ median_cycle_days }}) > 0 then
        ({{ deals_closed }}) * ({{ win_rate }})
        * (cast({{ value_won }} as {{ type_double() }}) / ({{ deals_won }}))
        / ({{ median_cycle_days }})
    end
{%- endmacro %}

{#- Standard normal CDF, Abramowitz & Stegun 26.2.17 (absolute error < 7.5e-8); SQL has no erf. -#}
{% macro normal_cdf(x) -%}
    (case when ({{ x }}) >= 0 then 1.0 else 0.0 end
     + case when ({{ x }}) >= 0 then -1.0 else 1.0 end
       * exp(-0.5 * ({{ x }}) * ({{ x }})) / sqrt(2.0 * pi())
       * (1.0 / (1.0 + 0.2316419 * abs({{ x }})))
       * (0.319381530 + (1.0 / (1.0 + 0.2316419 * abs({{ x }})))
         * (-0.356563782 + (1.0 / (1.0 + 0.2316419 * abs({{ x }})))
           * (1.781477937 + (1.0 / (1.0 + 0.2316419 * abs({{ x }})))
             * (-1.821255978 + (1.0 / (1.0 + 0.2316419 * abs({{ x }}))) * 1.330274429)))))
{%- endmacro %}

{#- Two-sided p-value of a z statistic. -#}
{% macro two_sided_p_value(z) -%}
    case when ({{ z }}) is not null then 2.0 * (1.0 - {{ normal_cdf('abs(' ~ z ~ ')') }}) end
{%- endmacro %}

{#- z of a two-proportion test, cell vs the rest of its population (pooled standard error):
    (p_cell - p_rest) / sqrt(p_all (1 - p_all) (1/n_cell + 1/n_rest)). NULL when the rest is empty
    or p_all is 0 or 1 (no variance). -#}
{% macro two_proportion_z(cell_successes, cell_trials, all_successes, all_trials) -%}
    case when ({{ cell_trials }}) > 0 and ({{ all_trials }}) - ({{ cell_trials }}) > 0
              and ({{ all_successes }}) > 0 and ({{ all_successes }}) < ({{ all_trials }}) then
        (
            cast({{ cell_successes }} as {{ type_double() }}) / ({{ cell_trials }})
            - cast(({{ all_successes }}) - ({{ cell_successes }}) as {{ type_double() }})
              / (({{ all_trials }}) - ({{ cell_trials }}))
        ) / sqrt(
            (cast({{ all_successes }} as {{ type_double() }}) / ({{ all_trials }}))
            * (1.0 - cast({{ all_successes }} as {{ type_double() }}) / ({{ all_trials }}))
            * (1.0 / ({{ cell_trials }}) + 1.0 / (({{ all_trials }}) - ({{ cell_trials }})))
        )
    end
{%- endmacro %}

{#- Normal-approximation 95% interval of a mean: mean -/+ z sd / sqrt(n); NULL below 2 observations. -#}
{% macro mean_ci_low(mean, sd, n) -%}
    case when ({{ n }}) >= 2 then ({{ mean }}) - {{ wilson_z() }} * ({{ sd }}) / sqrt({{ n }}) end
{%- endmacro %}

{% macro mean_ci_high(mean, sd, n) -%}
    case when ({{ n }}) >= 2 then ({{ mean }}) + {{ wilson_z() }} * ({{ sd }}) / sqrt({{ n }}) end
{%- endmacro %}

{#- Discount factor of a cash flow months_after months after the start, at var annual_discount_rate
    compounded monthly in equivalent terms: (1 + annual_rate) ^ (-months_after / 12). -#}
{% macro discount_factor(months_after) -%}
    power(1.0 + {{ var('annual_discount_rate') }}, -cast({{ months_after }} as {{ type_double() }}) / 12.0)
{%- endmacro %}

{#- Whole calendar months from month_a to month_b (both first days of months). -#}
{% macro months_between(month_a, month_b) -%}
    {{ dbt.datediff(month_a, month_b, 'month') }}
{%- endmacro %}

{#- Sum of a monthly panel column over the `months` months before the current row (the current
    month excluded); the panel must be dense (one row per account and month). -#}
{% macro trailing_sum(column, months, partition='account_id') -%}
    sum({{ column }}) over (partition by {{ partition }} order by month
        rows between {{ months | int }} preceding and 1 preceding)
{%- endmacro %}

{#- Sum over the `months` months after the current row (the current month excluded). -#}
{% macro leading_sum(column, months, partition='account_id') -%}
    sum({{ column }}) over (partition by {{ partition }} order by month
        rows between 1 following and {{ months | int }} following)
{%- endmacro %}

{#- Panel rows present in those windows: equals `months` only when the window is fully observed. -#}
{% macro trailing_months(months, partition='account_id') -%}
    count(*) over (partition by {{ partition }} order by month
        rows between {{ months | int }} preceding and 1 preceding)
{%- endmacro %}

{% macro leading_months(months, partition='account_id') -%}
    count(*) over (partition by {{ partition }} order by month
        rows between 1 following and {{ months | int }} following)
{%- endmacro %}

{#- ------------------------------------------------------------------------------------------
    Reproducible aggregates. A floating-point sum depends on the order its terms are added in, and
    DuckDB's parallel aggregation adds them in a different order on every run, so two builds of
    the same input differed in the last digits (and a difference of two near-equal sums already in
    the 9th). These sum each term quantised to 1e-9 as a 128-bit integer, which is exact and
    order-free, so the result is the same bit for bit on every run (docs/metrics.md, "Precision").
------------------------------------------------------------------------------------------ -#}

{#- Terms are quantised to this many decimals: far below a cent and below any rate's meaning. -#}
{% macro exact_sum_decimals() -%}9{%- endmacro %}

{#- A value as the exact integer count of 1e-9 units that exact_sum adds up. -#}
{% macro exact_units(expression) -%}
    cast(round(({{ expression }}) * 1e{{ exact_sum_decimals() }}) as {{ type_exact_integer() }})
{%- endmacro %}

{#- An exact integer count of 1e-9 units (a sum of exact_units) back as a number. -#}
{% macro from_exact_units(units) -%}
    (cast({{ units }} as {{ type_double() }}) / 1e{{ exact_sum_decimals() }})
{%- endmacro %}

{#- Sum of a numeric expression, identical on every run; NULL when every term is NULL. -#}
{% macro exact_sum(expression) -%}
    {{ from_exact_units('sum(' ~ exact_units(expression) ~ ')') }}
{%- endmacro %}

{#- Mean of the non-NULL values of an expression, identical on every run; NULL when there are none. -#}
{% macro exact_avg(expression) -%}
    ({{ exact_sum(expression) }} / nullif(count({{ expression }}), 0))
{%- endmacro %}

{#- The same exact sum as a window function over `window` (e.g. 'partition by driver_kind'): a
    float window sum over a whole partition adds its rows in no fixed order either. -#}
{% macro exact_window_sum(expression, window) -%}
    (cast(sum(cast(round(({{ expression }}) * 1e{{ exact_sum_decimals() }}) as {{ type_exact_integer() }})) over ({{ window }}) as {{ type_double() }})
        / 1e{{ exact_sum_decimals() }})
{%- endmacro %}

{#- Sample standard deviation from exact sums of the values and their squares; NULL below 2 values.
    The one-pass formula loses digits only when the spread is tiny against the mean (not the case for
    the money and rate columns it is used on); the result is the same on every run. -#}
{% macro exact_stddev_samp(expression) -%}
    case when count({{ expression }}) >= 2 then
        sqrt(greatest(0.0,
            ({{ exact_sum('power(' ~ expression ~ ', 2)') }}
             - {{ exact_sum(expression) }} * {{ exact_sum(expression) }} / count({{ expression }}))
            / (count({{ expression }}) - 1)))
    end
{%- endmacro %}

{#- ------------------------------------------------------------------------------------------
    Multiple testing and intervals of means.
------------------------------------------------------------------------------------------ -#}

{#- Benjamini-Hochberg, step 1: p x m / i for the i-th smallest of m p-values (i from
    row_number() over (order by p), m = count of p-values tested). -#}
{% macro bh_scaled_p_value(p_value, p_rank, tested) -%}
    case when ({{ p_value }}) is not null
        then ({{ p_value }}) * ({{ tested }}) / ({{ p_rank }})
    end
{%- endmacro %}

{#- Benjamini-Hochberg, step 2 (a window expression): q_i = min over j >= i of p_j m / j, capped at
    1 (the step-up). Tied p-values get the q of the last of them, as in the textbook procedure. -#}
{% macro bh_q_value(scaled_p_value, p_value, p_rank) -%}
    case when ({{ p_value }}) is not null then least(1.0, min({{ scaled_p_value }}) over (
        order by ({{ p_value }}) desc nulls last, ({{ p_rank }}) desc
        rows between unbounded preceding and current row))
    end
{%- endmacro %}

{#- Two-sided 97.5% quantile of Student's t with df degrees of freedom: exact (6 decimals) for
    df <= 30, else the Cornish-Fisher expansion around z (error < 1e-5 from df 30 on). -#}
{% macro t_quantile_975(df) -%}
    {%- set exact = [12.706205, 4.302653, 3.182446, 2.776445, 2.570582, 2.446912, 2.364624, 2.306004,
                     2.262157, 2.228139, 2.200985, 2.178813, 2.160369, 2.144787, 2.131450, 2.119905,
                     2.109816, 2.100922, 2.093024, 2.085963, 2.079614, 2.073873, 2.068658, 2.063899,
                     2.059539, 2.055529, 2.051831, 2.048407, 2.045230, 2.042272] -%}
    case
        {% for quantile in exact -%}
        when ({{ df }}) = {{ loop.index }} then {{ quantile }}
        {% endfor -%}
        when ({{ df }}) > 30 then
            {{ wilson_z() }}
            + (power({{ wilson_z() }}, 3) + {{ wilson_z() }}) / (4.0 * ({{ df }}))
            + (5 * power({{ wilson_z() }}, 5) + 16 * power({{ wilson_z() }}, 3) + 3 * {{ wilson_z() }})
              / (96.0 * power({{ df }}, 2))
            + (3 * power({{ wilson_z() }}, 7) + 19 * power({{ wilson_z() }}, 5) + 17 * power({{ wilson_z() }}, 3)
               - 15 * {{ wilson_z() }}) / (384.0 * power({{ df }}, 3))
    end
{%- endmacro %}

{#- 95% t-interval of a mean: mean -/+ t(0.975, n - 1) sd / sqrt(n), sd the sample standard
    deviation; NULL below 2 observations. -#}
{% macro mean_t_ci_low(mean, sd, n) -%}
    case when ({{ n }}) >= 2 then ({{ mean }}) - {{ t_quantile_975('(' ~ n ~ ') - 1') }} * ({{ sd }}) / sqrt({{ n }}) end
{%- endmacro %}

{% macro mean_t_ci_high(mean, sd, n) -%}
    case when ({{ n }}) >= 2 then ({{ mean }}) + {{ t_quantile_975('(' ~ n ~ ') - 1') }} * ({{ sd }}) / sqrt({{ n }}) end
{%- endmacro %}

{#- Expected value of a lost deal: its final_amount where one was given, else list_amount x (1 -
    typical discount), the typical discount being the median discount_pct of won deals (see
    loss_drivers_by_quarter); a missing discount reads as none. NULL without either amount. -#}
{% macro expected_deal_value(final_amount, list_amount, typical_discount) -%}
    coalesce({{ final_amount }}, ({{ list_amount }}) * (1.0 - coalesce({{ typical_discount }}, 0.0)))
{%- endmacro %}

{#- Standard error of a ratio of sums R = sum(y) / sum(x) over n units (delta method, the survey
    "ratio estimator"): sqrt(n / (n - 1) x sum((y_i - R x_i)^2)) / sum(x); NULL below 2 units or
    when sum(x) is 0. -#}
{% macro ratio_of_sums_se(sum_squared_residuals, sum_x, n) -%}
    case when ({{ n }}) >= 2 and ({{ sum_x }}) <> 0 then
        sqrt(cast({{ n }} as {{ type_double() }}) / (({{ n }}) - 1) * ({{ sum_squared_residuals }})) / abs({{ sum_x }})
    end
{%- endmacro %}

{#- Every row of `relation` twice: once in the view 'all segments', once in its segment's view (the
    trust page's drop-down), with `columns` kept. `relation` needs a column `segment`. -#}
{% macro segment_views(relation, columns) -%}
    select 'all segments' as view, false as is_segment_view, {{ columns | join(', ') }} from {{ relation }}
    union all
    select segment as view, true as is_segment_view, {{ columns | join(', ') }} from {{ relation }}
{%- endmacro %}
