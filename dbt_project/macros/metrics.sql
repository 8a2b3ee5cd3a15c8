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
